// The resource server against oidc-provider, one running pair (started by scripts/interop/oidc-provider/run.sh).
//
// Tokens come from oidc-provider over HTTP (oauth.mjs): user tokens by the authorization code flow with PKCE,
// a service token by client_credentials; the resource server checks them at oidc-provider's introspection
// endpoint as rs-id. Checks: the items API with a user token (list, create, the owner is the user's sub), the
// negative cache (a junk token twice costs one introspection, counted by the provider), scopes (`read` only
// cannot write; a token of no user cannot read), revocation at the provider seen within the cache TTL, and the
// account proxies against a server without such endpoints (501, or the provider's own 4xx for the password
// grant). One "ok - <check>" or "not ok - <check>: <why>" line per check; exits 1 on any failure.
//
// Environment: RS_URL, ISSUER, REDIRECT_URI (the web client's), RS_CLIENT_SECRET, WEB_CLIENT_SECRET,
// SVC_CLIENT_SECRET, LABEL (prefixed to every line), REVOKE_DEADLINE_MS (default 10000). Node.js 20+.

import { randomBytes } from "node:crypto";
import { OidcProvider } from "./oauth.mjs";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (!value) {
    console.log(`not ok - environment: ${name} is not set`);
    process.exit(1);
  }
  return value;
};
const RS_URL = env("RS_URL").replace(/\/+$/, "");
const LABEL = process.env.LABEL ? `[${process.env.LABEL}] ` : "";
const REVOKE_DEADLINE_MS = Number(process.env.REVOKE_DEADLINE_MS || 10_000);
const STEP_TIMEOUT_MS = 10_000;

const op = new OidcProvider({
  issuer: env("ISSUER"),
  redirectUri: env("REDIRECT_URI"),
  rs: { id: "rs-id", secret: env("RS_CLIENT_SECRET") },
  web: { id: "web", secret: env("WEB_CLIENT_SECRET") },
  svc: { id: "svc", secret: env("SVC_CLIENT_SECRET") },
});

// --- Results -----------------------------------------------------------------------------------------------
let failed = 0;
const oneLine = (error) => String(error?.message ?? error).split("\n").filter(Boolean).slice(0, 3).join(" | ");
const show = (value) => JSON.stringify(value);
function expect(condition, why) {
  if (!condition) throw new Error(why);
}

/** Runs `fn` as one check; "ok - name[: detail]" with the string it returns, else "not ok - name: why". */
async function check(name, fn) {
  try {
    const detail = await fn();
    console.log(`ok - ${LABEL}${name}${typeof detail === "string" && detail ? ` (${detail})` : ""}`);
    return true;
  } catch (error) {
    failed++;
    console.log(`not ok - ${LABEL}${name}: ${oneLine(error)}`);
    return false;
  }
}

// --- The resource server -----------------------------------------------------------------------------------
/** One request to the resource server: status, headers, text, and the JSON body when there is one. */
async function rs(method, path, { token, json, headers = {} } = {}) {
  const response = await fetch(`${RS_URL}${path}`, {
    method,
    headers: {
      Accept: "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(json ? { "Content-Type": "application/json" } : {}),
      ...headers,
    },
    body: json ? JSON.stringify(json) : undefined,
    redirect: "manual",
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body, what: `${method} ${path}` };
}
const answered = (r) => `${r.what} answered ${r.status} ${r.text.slice(0, 300)}`;
const isJson = (r) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(r.headers.get("content-type") ?? "");

function expectStatus(r, status) {
  expect(r.status === status, `${answered(r)} (expected ${status})`);
}

/** The RFC 6750 error of a 401/403: WWW-Authenticate (Bearer, error="...") and the JSON body's `error`. */
function expectBearerError(r, status, error) {
  expectStatus(r, status);
  const challenge = r.headers.get("www-authenticate") ?? "";
  expect(/^Bearer\b/i.test(challenge), `WWW-Authenticate ${show(challenge)} is not a Bearer challenge`);
  expect(challenge.includes(`error="${error}"`), `WWW-Authenticate ${show(challenge)} has no error="${error}"`);
  expect(isJson(r), `Content-Type ${show(r.headers.get("content-type"))} is not JSON`);
  expect(r.body?.error === error, `body ${r.text.slice(0, 300)} has no "error": "${error}"`);
}

/** An item's owner as the resource server shows it (`user` in this project's DRF shape, else `owner`). */
const ownerOf = (item) => item?.user ?? item?.owner;
const ownerNames = (owner) =>
  owner && typeof owner === "object" ? Object.values(owner).filter((v) => typeof v === "string") : [owner];

// --- The checks --------------------------------------------------------------------------------------------
const run = randomBytes(4).toString("hex");
const alice = `interop-alice-${run}`; // devInteractions' login: becomes the tokens' `sub`
const bob = `interop-bob-${run}`;
const carol = `interop-carol-${run}`;
const tokens = {};

async function main() {
  await check("GET /health/ready: the resource server sees the database and oidc-provider", async () => {
    const r = await rs("GET", "/health/ready");
    expectStatus(r, 200);
  });

  await check("oidc-provider issues a user token by authorization code + PKCE, opaque, and its introspection vouches for it", async () => {
    const answer = await op.userToken(alice, "openid read write");
    expect(answer.access_token.split(".").length !== 3, "the access token looks like a JWT, not an opaque token");
    const info = await op.introspect(answer.access_token);
    expect(info.active === true && info.sub === alice, `introspection answered ${show(info)}`);
    expect(new Set(info.scope.split(" ")).has("write"), `scope ${show(info.scope)} lacks write`);
    tokens.readWrite = answer.access_token;
    return `sub ${alice}, scope "${info.scope}"`;
  });

  // The list is the project's documented shape (README, OpenAPI): a JSON array in id order, the total in
  // X-Total-Count, `Link: <...>; rel="next"` while more follow.
  await check("GET /items/ with the user's read+write token: 200, a JSON array with X-Total-Count", async () => {
    expect(tokens.readWrite, "no user token (an earlier check failed)");
    const r = await rs("GET", "/items/", { token: tokens.readWrite });
    expectStatus(r, 200);
    expect(isJson(r) && Array.isArray(r.body), `not a JSON array: ${r.text.slice(0, 300)}`);
    const total = r.headers.get("x-total-count");
    expect(/^\d+$/.test(total ?? ""), `X-Total-Count ${show(total)}`);
    return `X-Total-Count ${total}`;
  });

  const itemName = `interop item ${run}`;
  let itemId;
  await check("POST /items/ with the user's token: 201, the item belongs to the user (owner shown as the sub)", async () => {
    expect(tokens.readWrite, "no user token (an earlier check failed)");
    const r = await rs("POST", "/items/", { token: tokens.readWrite, json: { name: itemName, description: "from oidc-provider's user", price: "9.99" } });
    expectStatus(r, 201);
    console.log(`# ${LABEL}201 body: ${r.text.slice(0, 500)}`);
    expect(r.body?.name === itemName, `name ${show(r.body?.name)}, sent ${show(itemName)}`);
    expect(r.body?.price === "9.99", `price ${show(r.body?.price)}, sent "9.99"`);
    const owner = ownerOf(r.body);
    expect(owner !== undefined, `no user/owner in ${r.text.slice(0, 300)}`);
    expect(ownerNames(owner).includes(alice), `owner ${show(owner)} does not name the sub ${show(alice)}`);
    itemId = r.body.id;
    return `owner ${show(owner)}`;
  });

  await check("GET /items/ lists the new item with its owner", async () => {
    expect(itemId !== undefined, "no item (an earlier check failed)");
    const r = await rs("GET", "/items/?limit=1000", { token: tokens.readWrite });
    expectStatus(r, 200);
    const item = Array.isArray(r.body) ? r.body.find((i) => i.id === itemId) : undefined;
    expect(item, `item ${itemId} is not in ${r.text.slice(0, 300)}`);
    expect(ownerNames(ownerOf(item)).includes(alice), `owner ${show(ownerOf(item))} does not name ${show(alice)}`);
  });

  await check("a junk token: 401 invalid_token twice, one introspection (the negative cache answers the second)", async () => {
    const junk = `junk-${randomBytes(24).toString("base64url")}`;
    const before = await op.introspectionCount();
    const first = await rs("GET", "/items/", { token: junk });
    expectBearerError(first, 401, "invalid_token");
    const second = await rs("GET", "/items/", { token: junk });
    expectBearerError(second, 401, "invalid_token");
    const after = await op.introspectionCount();
    expect(after - before === 1, `oidc-provider's introspection endpoint was called ${after - before} times for two requests (expected 1)`);
    return `WWW-Authenticate: ${first.headers.get("www-authenticate")}`;
  });

  await check("a read-only user token: GET /items/ 200, POST /items/ 403 insufficient_scope", async () => {
    const answer = await op.userToken(bob, "openid read");
    expect(!new Set(answer.scope.split(" ")).has("write"), `oidc-provider granted ${show(answer.scope)}`);
    const list = await rs("GET", "/items/", { token: answer.access_token });
    expectStatus(list, 200);
    const r = await rs("POST", "/items/", { token: answer.access_token, json: { name: `read-only ${run}`, description: "", price: "1.00" } });
    expectBearerError(r, 403, "insufficient_scope");
    return `WWW-Authenticate: ${r.headers.get("www-authenticate")}`;
  });

  await check("a client_credentials token (no user): GET /items/ 403 insufficient_scope", async () => {
    const answer = await op.clientToken("read");
    expect(answer.scope === "read", `oidc-provider granted ${show(answer.scope)}`);
    const r = await rs("GET", "/items/", { token: answer.access_token });
    expectStatus(r, 403);
    expect(isJson(r), `Content-Type ${show(r.headers.get("content-type"))} is not JSON`);
    expect(r.body?.error === "insufficient_scope", `body ${r.text.slice(0, 300)} has no "error": "insufficient_scope"`);
    return show(r.body?.error_description ?? "");
  });

  await check(`revoked at oidc-provider: 200 before, 401 invalid_token within ${REVOKE_DEADLINE_MS / 1000} s`, async () => {
    const { access_token: token } = await op.userToken(carol, "openid read");
    const before = await rs("GET", "/items/", { token });
    expectStatus(before, 200);
    await op.revoke(token);
    const revokedAt = Date.now();
    const info = await op.introspect(token);
    expect(info.active === false, `oidc-provider still vouches for the revoked token: ${show(info)}`);
    let last;
    while (Date.now() - revokedAt < REVOKE_DEADLINE_MS) {
      last = await rs("GET", "/items/", { token });
      if (last.status !== 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(last && last.status !== 200, `still ${answered(last)} ${REVOKE_DEADLINE_MS} ms after the revocation`);
    expectBearerError(last, 401, "invalid_token");
    return `refused after ${Date.now() - revokedAt} ms`;
  });

  await check("POST /users/signup/: 501 JSON (oidc-provider has no signup endpoint)", async () => {
    const r = await rs("POST", "/users/signup/", { json: { email: "a@example.com", password: "a-long-password-1" } });
    expectStatus(r, 501);
    expect(isJson(r), `Content-Type ${show(r.headers.get("content-type"))} is not JSON`);
    expect(typeof r.body?.error === "string" && r.body.error, `no "error" string in ${r.text.slice(0, 300)}`);
    return r.text.slice(0, 200);
  });

  await check("PUT /users/password/ with a user token: 501 JSON (no password-change endpoint)", async () => {
    expect(tokens.readWrite, "no user token (an earlier check failed)");
    const r = await rs("PUT", "/users/password/", { token: tokens.readWrite, json: { old_password: "old-password-1", new_password: "new-password-2" } });
    expectStatus(r, 501);
    expect(isJson(r), `Content-Type ${show(r.headers.get("content-type"))} is not JSON`);
    expect(typeof r.body?.error === "string" && r.body.error, `no "error" string in ${r.text.slice(0, 300)}`);
    return r.text.slice(0, 200);
  });

  await check("POST /users/token/: the password grant oidc-provider refuses comes back as a 4xx JSON error, not 500", async () => {
    const r = await rs("POST", "/users/token/", { json: { email: "x", password: "y" } });
    expect(r.status >= 400 && r.status < 500, `${answered(r)} (expected 4xx)`);
    expect(isJson(r), `Content-Type ${show(r.headers.get("content-type"))} is not JSON`);
    expect(typeof r.body?.error === "string" && r.body.error, `no "error" string in ${r.text.slice(0, 300)}`);
    return `${r.status} ${r.text.slice(0, 200)}`;
  });
}

try {
  await main();
} catch (error) {
  failed++;
  console.log(`not ok - ${LABEL}check.mjs: ${oneLine(error)}`);
}
process.exit(failed ? 1 : 0);
