// A real, third-party RFC 7662 authorization server for the resource server's interoperability test: panva's
// oidc-provider (OpenID Certified), started by scripts/interop/oidc-provider/run.sh.
//
// Configuration: opaque access tokens (no resource indicators, no JWT format), introspection, revocation and
// the client_credentials grant enabled, devInteractions on (its login form accepts any login, which becomes the
// token's `sub`), scopes `openid read write`, the default in-memory adapter (nothing outlives the process).
//
// Clients (all client_secret_basic):
//   rs-id   the resource server: introspects (any client's tokens) and owns no tokens of its own
//   web     a web app: authorization code + PKCE for user tokens, revokes its own tokens
//   svc     a service: client_credentials only, scope `read` (a token that belongs to no user)
//
// The only addition is a counter, not an answer: a Koa middleware in front of the provider counts the POSTs
// to the introspection endpoint and `GET /test/introspections` returns {"count": N}. Every token and every
// introspection / revocation answer comes from oidc-provider itself.
//
// Environment: PORT (required; the issuer is http://127.0.0.1:PORT), REDIRECT_URI (the web client's
// registered redirect URI; nothing needs to listen on it), RS_CLIENT_SECRET, WEB_CLIENT_SECRET,
// SVC_CLIENT_SECRET. Prints "listening <issuer>" once it accepts connections.

import Provider from "oidc-provider";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    console.error(`provider.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};
const PORT = Number(env("PORT"));
const ISSUER = `http://127.0.0.1:${PORT}`;
const REDIRECT_URI = env("REDIRECT_URI", `http://127.0.0.1:${PORT}/test/callback`);

const INTROSPECTION_PATH = "/token/introspection";
const REVOCATION_PATH = "/token/revocation";

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: "rs-id",
      client_secret: env("RS_CLIENT_SECRET", "rs-secret"),
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: "web",
      client_secret: env("WEB_CLIENT_SECRET", "web-secret"),
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      redirect_uris: [REDIRECT_URI],
      scope: "openid read write",
    },
    {
      client_id: "svc",
      client_secret: env("SVC_CLIENT_SECRET", "svc-secret"),
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: "read",
    },
  ],
  // `read` and `write` are listed here (not behind a resource indicator), so they are granted on the
  // authorization code's access token, which then stays an opaque token.
  scopes: ["openid", "read", "write"],
  claims: { openid: ["sub"] },
  pkce: { required: () => true },
  routes: { introspection: INTROSPECTION_PATH, revocation: REVOCATION_PATH },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // The resource server may introspect any token; any other client only its own.
      allowedPolicy: async (ctx, client, token) => client.clientId === "rs-id" || client.clientId === token.clientId,
    },
    revocation: {
      enabled: true,
      // The default: only the client a token was issued to revokes it.
      allowedPolicy: async (ctx, client, token) => client.clientId === token.clientId,
    },
    resourceIndicators: { enabled: false }, // no resource indicator: access tokens stay opaque
  },
  // The default account model (devInteractions' login becomes the account id, i.e. `sub`), said explicitly.
  findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  ttl: { AccessToken: 600, ClientCredentials: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;

let introspections = 0;
provider.use(async (ctx, next) => {
  if (ctx.method === "GET" && ctx.path === "/test/introspections") {
    ctx.set("Cache-Control", "no-store");
    ctx.body = { count: introspections };
    return;
  }
  if (ctx.method === "POST" && ctx.path === INTROSPECTION_PATH) introspections++;
  await next();
});

const server = provider.listen(PORT, "127.0.0.1", () => console.log(`listening ${ISSUER}`));
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
