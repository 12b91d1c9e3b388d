// Browser sign-in, end to end, in headless Chromium driven by playwright-core (started by
// scripts/browser/run.sh, which starts the auth server with the `demo-web` client and signs the user up).
//
// Authorization code + PKCE (S256) + OpenID Connect as a real browser meets it: the login page (framing
// forbidden, CSRF field), a wrong password said inline, signing in by clicking, the consent page, "Allow"
// landing on the client's redirect URI with code, state and iss (RFC 9207), the code exchanged for tokens
// (ID token: nonce, aud, iss, email), a second authorization going straight back (session cookie and
// remembered consent), and the cookies' attributes. One "PASS <check>" or "FAIL <check>: <why>" line per
// check (a check after a failed one, which needs it, is "SKIP"); exits 1 on any failure.
//
// Environment: AUTH_URL, CALLBACK_URL (http://127.0.0.1:PORT/callback, registered for demo-web; this
// script listens on it), USER_EMAIL, USER_PASSWORD, OUT (screenshot folder), CHROMIUM (the browser binary),
// PLAYWRIGHT_DIR (folder whose node_modules holds playwright-core), SCRIPT_TIMEOUT (seconds, overall).
// Node.js 20+, no other dependency.

import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.log(`FAIL environment: ${name} is not set`);
    process.exit(1);
  }
  return value;
};
const AUTH_URL = env("AUTH_URL").replace(/\/+$/, "");
const CALLBACK_URL = env("CALLBACK_URL");
const USER_EMAIL = env("USER_EMAIL");
const USER_PASSWORD = env("USER_PASSWORD");
const OUT = env("OUT");
const CHROMIUM = env("CHROMIUM");
const PLAYWRIGHT_DIR = env("PLAYWRIGHT_DIR");
const SCRIPT_TIMEOUT = Number(process.env.SCRIPT_TIMEOUT || 180);

const CLIENT_ID = "demo-web";
const CLIENT_SECRET = "demo-web-secret";
const CLIENT_NAME = "Demo web app";
const SCOPES = ["openid", "email", "read"];
const STEP_TIMEOUT_MS = 15_000; // any one browser action or page

const require = createRequire(path.join(path.resolve(PLAYWRIGHT_DIR), "package.json"));
const { chromium } = require("playwright-core");

// --- Results -----------------------------------------------------------------------------------------------
let failed = 0;
let blocked = false; // a check failed; the ones after it need what it should have given
let currentPage; // screenshotted as OUT/failed.png when a check fails
const shot = (page, name) => page.screenshot({ path: path.join(OUT, name), fullPage: true });

/** Runs `fn` as one check, unless an earlier one failed; returns its value, or undefined. */
async function check(name, fn) {
  if (blocked) {
    console.log(`SKIP ${name} (an earlier check failed)`);
    return undefined;
  }
  try {
    const value = await fn();
    console.log(`PASS ${name}`);
    return value;
  } catch (error) {
    failed++;
    blocked = true;
    console.log(`FAIL ${name}: ${oneLine(error)}`);
    await currentPage?.screenshot({ path: path.join(OUT, "failed.png"), fullPage: true, timeout: 5000 }).catch(() => {});
    return undefined;
  }
}
const oneLine = (error) => String(error?.message ?? error).split("\n").filter(Boolean).slice(0, 3).join(" | ");
function expect(condition, why) {
  if (!condition) throw new Error(why);
}
const show = (value) => JSON.stringify(value);

// --- OAuth helpers -----------------------------------------------------------------------------------------
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
function newRequest() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const url = new URL(`${AUTH_URL}/o/authorize/`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: CALLBACK_URL,
    scope: SCOPES.join(" "),
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  })) {
    url.searchParams.set(name, value);
  }
  return { verifier, state, nonce, url: url.href };
}

async function exchange(code, verifier) {
  const response = await fetch(`${AUTH_URL}/o/token/`, {
    method: "POST",
    headers: {
      Authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`,
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: CALLBACK_URL, code_verifier: verifier }),
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
  });
  const text = await response.text();
  expect(response.status === 200, `POST /o/token/ answered ${response.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text);
  for (const field of ["access_token", "refresh_token", "id_token"]) {
    expect(typeof body[field] === "string" && body[field], `no ${field} in ${Object.keys(body).join(", ")}`);
  }
  return body;
}

function claims(jwt) {
  const parts = jwt.split(".");
  expect(parts.length === 3, `the id_token is not a JWS compact serialization (${parts.length} parts)`);
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

function checkIdToken(idToken, nonce, issuer) {
  const c = claims(idToken);
  expect(c.nonce === nonce, `nonce ${show(c.nonce)}, sent ${show(nonce)}`);
  const audience = Array.isArray(c.aud) ? c.aud : [c.aud];
  expect(audience.length === 1 && audience[0] === CLIENT_ID, `aud ${show(c.aud)}, not ${show(CLIENT_ID)}`);
  expect(c.iss === issuer, `iss ${show(c.iss)}, the issuer is ${show(issuer)}`);
  expect(c.email === USER_EMAIL, `email ${show(c.email)}, not ${show(USER_EMAIL)}`);
  expect(typeof c.sub === "string" && c.sub, "no sub");
  expect(typeof c.exp === "number" && c.exp > Date.now() / 1000, `exp ${show(c.exp)} is not in the future`);
  return c;
}

// --- The client's redirect URI -----------------------------------------------------------------------------
const callbacks = []; // the query of every /callback request, in order
const escape = (s) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
function startCallbackServer() {
  const target = new URL(CALLBACK_URL);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, CALLBACK_URL);
    if (url.pathname !== target.pathname) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    const query = Object.fromEntries(url.searchParams);
    callbacks.push(query);
    const rows = Object.entries(query)
      .map(([name, value]) => `<tr><th>${escape(name)}</th><td><code>${escape(name === "code" ? `${value.slice(0, 8)}…` : value)}</code></td></tr>`)
      .join("");
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed in</title></head>
<body style="font-family: sans-serif; margin: 2rem"><h1>signed in</h1><p>The demo client received:</p>
<table>${rows}</table></body></html>`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(target.port), target.hostname, () => resolve(server));
  });
}

// --- The checks --------------------------------------------------------------------------------------------
let browser;
let callbackServer;

/** Waits for the answer to the form `click` submits (a POST navigation of the page), then for its load. */
async function submit(page, click) {
  const answer = page.waitForResponse(
    (r) => r.request().isNavigationRequest() && r.request().method() === "POST" && r.url().startsWith(`${AUTH_URL}/o/authorize/`),
  );
  await click();
  const response = await answer;
  await page.waitForLoadState("load");
  return response;
}

async function run() {
  mkdirSync(OUT, { recursive: true });
  callbackServer = await startCallbackServer();
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: root ? ["--no-sandbox"] : [] });
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  currentPage = page;

  const issuer = await check("discovery names the issuer", async () => {
    const response = await fetch(`${AUTH_URL}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
    expect(response.status === 200, `/.well-known/openid-configuration answered ${response.status}`);
    const { issuer } = await response.json();
    expect(typeof issuer === "string" && issuer, "no issuer");
    expect(issuer === AUTH_URL, `issuer ${show(issuer)} is not AUTH_URL ${show(AUTH_URL)}`);
    return issuer;
  });

  const first = newRequest();
  await check("the login page: 200, X-Frame-Options DENY, CSP frame-ancestors 'none', email, password and CSRF fields", async () => {
    const response = await page.goto(first.url);
    expect(response, "no response");
    const headers = await response.allHeaders();
    expect(response.status() === 200, `status ${response.status()}: ${(await response.text()).slice(0, 200)}`);
    expect(response.url().startsWith(`${AUTH_URL}/o/authorize/`), `ended at ${response.url()}`);
    expect(headers["x-frame-options"] === "DENY", `X-Frame-Options ${show(headers["x-frame-options"])}`);
    const csp = headers["content-security-policy"] ?? "";
    expect(csp.includes("frame-ancestors 'none'"), `Content-Security-Policy ${show(csp)}`);
    expect(headers["cache-control"] === "no-store", `Cache-Control ${show(headers["cache-control"])}`);
    const form = page.locator('form[action="/o/authorize/"]');
    expect((await form.count()) === 1, "no form posting to /o/authorize/");
    expect((await form.locator('input[name="email"]').count()) === 1, "no input[name=email]");
    expect((await form.locator('input[name="password"][type="password"]').count()) === 1, "no input[name=password][type=password]");
    const csrf = form.locator('input[type="hidden"][name="csrfmiddlewaretoken"]');
    expect((await csrf.count()) === 1, "no hidden csrfmiddlewaretoken");
    expect(/^[A-Za-z0-9_-]{20,}$/.test(await csrf.inputValue()), "the csrfmiddlewaretoken is empty or malformed");
    expect((await form.locator('input[type="hidden"][name="state"]').inputValue()) === first.state, "the form does not carry the request's state");
    const lead = await page.locator("p.lead").innerText();
    expect(lead.includes(CLIENT_NAME), `the page does not name the client: ${show(lead)}`);
    await shot(page, "1-login.png");
  });

  await check("a wrong password is said on the login page, which shows the form again", async () => {
    await page.fill('input[name="email"]', USER_EMAIL);
    await page.fill('input[name="password"]', `${USER_PASSWORD}-wrong`);
    const response = await submit(page, () => page.click('button[type="submit"]'));
    expect(response.status() === 200, `status ${response.status()}`);
    const error = page.locator('p.error[role="alert"]');
    expect((await error.count()) === 1, "no p.error[role=alert] on the page");
    const text = (await error.innerText()).trim();
    expect(text === "The email or the password is wrong.", `the error says ${show(text)}`);
    expect(await page.locator('input[name="password"]').isVisible(), "the login form is not shown again");
    expect((await page.inputValue('input[name="email"]')) === USER_EMAIL, "the email typed is not kept");
    expect((await page.inputValue('input[name="password"]')) === "", "the password field is not empty again");
    const session = (await context.cookies(AUTH_URL)).find((c) => c.name === "sessionid");
    expect(!session, "a wrong password gave a session cookie");
    await shot(page, "2-login-error.png");
  });

  await check(`signing in shows the consent page naming "${CLIENT_NAME}" and the scopes ${SCOPES.join(", ")}`, async () => {
    await page.fill('input[name="email"]', USER_EMAIL);
    await page.fill('input[name="password"]', USER_PASSWORD);
    const response = await submit(page, () => page.getByRole("button", { name: "Sign in" }).click());
    expect(response.status() === 200, `status ${response.status()}`);
    const headers = await response.allHeaders();
    expect(headers["x-frame-options"] === "DENY", `X-Frame-Options ${show(headers["x-frame-options"])} on the consent page`);
    expect((await page.locator('input[name="password"]').count()) === 0, "still the login page (wrong credentials?)");
    const title = (await page.locator("h1").innerText()).trim();
    expect(title === CLIENT_NAME, `the heading is ${show(title)}`);
    const lead = await page.locator("p.lead").innerText();
    expect(lead.includes(USER_EMAIL), `the page does not name the account: ${show(lead)}`);
    const listed = (await page.locator("ul.scopes li code").allInnerTexts()).map((s) => s.trim());
    expect(
      listed.length === SCOPES.length && SCOPES.every((s) => listed.includes(s)),
      `the scopes listed are ${show(listed)}, asked ${show(SCOPES)}`,
    );
    const descriptions = (await page.locator("ul.scopes li strong").allInnerTexts()).map((s) => s.trim());
    expect(descriptions.every((d, i) => d && d !== listed[i]), `a scope has no description: ${show(descriptions)}`);
    for (const action of ["allow", "deny"]) {
      expect((await page.locator(`button[name="action"][value="${action}"]`).count()) === 1, `no ${action} button`);
    }
    await shot(page, "3-consent.png");
  });

  const code = await check("Allow lands on the redirect URI with code, the same state and iss (RFC 9207)", async () => {
    const before = callbacks.length;
    await page.locator('button[name="action"][value="allow"]').click();
    await page.waitForURL((url) => url.href.startsWith(CALLBACK_URL));
    await page.waitForLoadState("load");
    expect(callbacks.length === before + 1, `the callback was called ${callbacks.length - before} times`);
    const query = callbacks.at(-1);
    const seen = Object.fromEntries(new URL(page.url()).searchParams);
    expect(show(seen) === show(query), "the page's URL and the query the callback got differ");
    expect(!query.error, `error ${show(query.error)}: ${query.error_description}`);
    expect(query.code, `no code in ${show(Object.keys(query))}`);
    expect(query.state === first.state, `state ${show(query.state)}, sent ${show(first.state)}`);
    expect(query.iss === issuer, `iss ${show(query.iss)}, the issuer is ${show(issuer)}`);
    expect((await page.locator("h1").innerText()).trim() === "signed in", "the callback page is not shown");
    await shot(page, "4-callback.png");
    return query.code;
  });

  await check("the code and its PKCE verifier give access, refresh and ID tokens (nonce, aud, iss, email)", async () => {
    const tokens = await exchange(code, first.verifier);
    expect(/^bearer$/i.test(tokens.token_type ?? ""), `token_type ${show(tokens.token_type)}`);
    checkIdToken(tokens.id_token, first.nonce, issuer);
  });

  await check("a second authorization in the same browser goes straight back with a code (no login, no consent)", async () => {
    const second = newRequest();
    const before = callbacks.length;
    const pages = []; // every document the page showed, and its status
    const onResponse = (r) => {
      if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) pages.push(`${r.status()} ${r.url().split("?")[0]}`);
    };
    page.on("response", onResponse);
    try {
      const response = await page.goto(second.url);
      await page.waitForLoadState("load");
      expect(response && response.url().startsWith(CALLBACK_URL), `ended at ${response?.url()} (${response?.status()})`);
    } finally {
      page.off("response", onResponse);
    }
    const expected = [`302 ${AUTH_URL}/o/authorize/`, `200 ${CALLBACK_URL}`];
    expect(show(pages) === show(expected), `the browser went through ${show(pages)}`);
    expect(callbacks.length === before + 1, `the callback was called ${callbacks.length - before} times`);
    const query = callbacks.at(-1);
    expect(query.code && query.code !== code, `code ${show(query.code)}`);
    expect(query.state === second.state, `state ${show(query.state)}, sent ${show(second.state)}`);
    expect(query.iss === issuer, `iss ${show(query.iss)}`);
    const tokens = await exchange(query.code, second.verifier);
    checkIdToken(tokens.id_token, second.nonce, issuer);
  });

  await check("cookies: sessionid HttpOnly SameSite=Lax, csrftoken HttpOnly SameSite=Strict, neither Secure on http", async () => {
    const cookies = await context.cookies(AUTH_URL);
    const describe = (c) => `${c.name} httpOnly=${c.httpOnly} sameSite=${c.sameSite} secure=${c.secure} path=${c.path}`;
    const session = cookies.find((c) => c.name === "sessionid");
    expect(session, `no sessionid cookie; the browser has ${show(cookies.map((c) => c.name))}`);
    expect(session.httpOnly && session.sameSite === "Lax" && session.path === "/", describe(session));
    expect(/^[A-Za-z0-9_-]{43}$/.test(session.value), "the session id is not 256 bits in base64url");
    const csrf = cookies.find((c) => c.name === "csrftoken");
    expect(csrf, "no csrftoken cookie");
    expect(csrf.httpOnly && csrf.sameSite === "Strict", describe(csrf));
    expect(!session.secure && !csrf.secure, "a Secure cookie on an http issuer would never be sent back");
  });
}

// --- Overall deadline, clean-up ----------------------------------------------------------------------------
async function close() {
  await browser?.close().catch(() => {});
  callbackServer?.closeAllConnections?.();
  await new Promise((resolve) => (callbackServer ? callbackServer.close(() => resolve()) : resolve()));
}

const deadline = setTimeout(async () => {
  console.log(`FAIL the browser checks finish within SCRIPT_TIMEOUT=${SCRIPT_TIMEOUT}s: still running`);
  setTimeout(() => process.exit(1), 3000).unref();
  await close();
  process.exit(1);
}, SCRIPT_TIMEOUT * 1000);

try {
  await run();
} catch (error) {
  failed++;
  console.log(`FAIL setting up the browser and the callback listener: ${oneLine(error)}`);
}
clearTimeout(deadline);
await close();
process.exit(failed ? 1 : 0);
