// Talking to oidc-provider over HTTP as its clients do (used by check.mjs): user tokens through the real
// authorization code flow with PKCE (devInteractions' login and consent forms submitted like a browser would,
// redirects followed by hand with a cookie jar), client_credentials tokens, revocation, introspection, and the
// test-only introspection counter. Node.js 20+ (global fetch), no dependency.

import { createHash, randomBytes } from "node:crypto";

const STEP_TIMEOUT_MS = 10_000;

export const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/** A minimal cookie jar: name=value per cookie, for one origin (everything here is on 127.0.0.1). */
class CookieJar {
  #cookies = new Map();
  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a) || (/^\s*expires\s*=/i.test(a) && Date.parse(a.split("=")[1]) < Date.now()));
      if (expired || value === "") this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

const decodeHtml = (s) =>
  s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** The first <form> of an HTML page: its action and its named inputs (value or ""). */
function parseForm(html, baseUrl) {
  const form = html.match(/<form\b([^>]*)>([\s\S]*?)<\/form>/i);
  if (!form) return undefined;
  const action = form[1].match(/\baction="([^"]*)"/i)?.[1];
  const method = form[1].match(/\bmethod="([^"]*)"/i)?.[1] ?? "get";
  const fields = {};
  for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = input[1].match(/\bname="([^"]*)"/i)?.[1];
    if (name) fields[decodeHtml(name)] = decodeHtml(input[1].match(/\bvalue="([^"]*)"/i)?.[1] ?? "");
  }
  return { action: new URL(decodeHtml(action ?? ""), baseUrl).href, method: method.toLowerCase(), fields };
}

export class OidcProvider {
  constructor({ issuer, web, svc, rs, redirectUri }) {
    this.issuer = issuer.replace(/\/+$/, "");
    this.web = web; // { id, secret }
    this.svc = svc;
    this.rs = rs;
    this.redirectUri = redirectUri;
  }

  async discovery() {
    if (!this.metadata) {
      const response = await fetch(`${this.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
      if (response.status !== 200) throw new Error(`oidc-provider discovery answered ${response.status}`);
      this.metadata = await response.json();
    }
    return this.metadata;
  }

  async #post(url, client, form) {
    const response = await fetch(url, {
      method: "POST",
      headers: { Authorization: basic(client.id, client.secret), "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(form),
      redirect: "manual",
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  }

  /**
   * A user's access token through the authorization code flow with PKCE, as the `web` client: the
   * authorization request, devInteractions' login form (any login; it becomes `sub`) and consent form, the
   * redirect to the client with code, state and iss, and the code exchanged at the token endpoint.
   */
  async userToken(login, scope) {
    const md = await this.discovery();
    const verifier = randomBytes(32).toString("base64url");
    const state = randomBytes(16).toString("base64url");
    const authorize = new URL(md.authorization_endpoint);
    for (const [name, value] of Object.entries({
      response_type: "code",
      client_id: this.web.id,
      redirect_uri: this.redirectUri,
      scope,
      state,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    })) {
      authorize.searchParams.set(name, value);
    }

    const jar = new CookieJar();
    let request = { url: authorize.href, method: "GET" };
    const trail = [];
    let callback;
    for (let step = 0; step < 20 && !callback; step++) {
      trail.push(`${request.method} ${new URL(request.url).pathname}`);
      const response = await fetch(request.url, {
        method: request.method,
        headers: { Cookie: jar.header(), ...(request.body ? { "Content-Type": "application/x-www-form-urlencoded" } : {}) },
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      });
      jar.store(response);
      const text = await response.text();
      if (response.status >= 300 && response.status < 400) {
        const location = new URL(response.headers.get("location"), request.url);
        if (location.href.startsWith(this.redirectUri)) callback = location;
        else request = { url: location.href, method: "GET" };
        continue;
      }
      if (response.status !== 200) throw new Error(`${trail.at(-1)} answered ${response.status}: ${text.slice(0, 300)}`);
      const form = parseForm(text, request.url);
      if (!form) throw new Error(`${trail.at(-1)}: no form on the page: ${text.slice(0, 300)}`);
      const fields = { ...form.fields };
      if ("login" in fields) fields.login = login;
      if ("password" in fields) fields.password = "any-password";
      request = { url: form.action, method: form.method.toUpperCase(), body: new URLSearchParams(fields).toString() };
    }
    if (!callback) throw new Error(`no redirect to the client after ${trail.join(" -> ")}`);
    const params = callback.searchParams;
    if (params.get("error")) throw new Error(`authorization error ${params.get("error")}: ${params.get("error_description")}`);
    if (params.get("state") !== state) throw new Error(`state ${params.get("state")}, sent ${state}`);
    if (params.get("iss") !== md.issuer) throw new Error(`iss ${params.get("iss")}, not ${md.issuer}`);
    const code = params.get("code");
    if (!code) throw new Error(`no code in ${callback.href}`);

    const answer = await this.#post(md.token_endpoint, this.web, {
      grant_type: "authorization_code",
      code,
      redirect_uri: this.redirectUri,
      code_verifier: verifier,
    });
    if (answer.status !== 200 || !answer.json?.access_token) {
      throw new Error(`token endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    }
    return answer.json; // access_token, token_type, expires_in, scope, id_token (with openid)
  }

  /** An access token for the `svc` client itself (grant_type=client_credentials): it belongs to no user. */
  async clientToken(scope) {
    const md = await this.discovery();
    const answer = await this.#post(md.token_endpoint, this.svc, { grant_type: "client_credentials", scope });
    if (answer.status !== 200 || !answer.json?.access_token) {
      throw new Error(`token endpoint (client_credentials) answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    }
    return answer.json;
  }

  /** Revokes a token at the real revocation endpoint, as `client` (the one it was issued to). */
  async revoke(token, client = this.web) {
    const md = await this.discovery();
    const answer = await this.#post(md.revocation_endpoint, client, { token, token_type_hint: "access_token" });
    if (answer.status !== 200) throw new Error(`revocation endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }

  /** The real introspection answer for `token`, asked as the resource server's client (rs-id). */
  async introspect(token, client = this.rs) {
    const md = await this.discovery();
    const answer = await this.#post(md.introspection_endpoint, client, { token });
    if (answer.status !== 200 || typeof answer.json?.active !== "boolean") {
      throw new Error(`introspection endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    }
    return answer.json;
  }

  /** How many POSTs the introspection endpoint has received so far (the provider's test-only counter). */
  async introspectionCount() {
    const response = await fetch(`${this.issuer}/test/introspections`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
    if (response.status !== 200) throw new Error(`/test/introspections answered ${response.status}`);
    return (await response.json()).count;
  }
}
