#!/usr/bin/env bash
# One-command local run: builds both servers, starts the auth server on $AUTH_PORT (8000) and the resource
# server on $RS_PORT (8001) with SQLite files under data/, bootstraps the tutorial client (rs-id /
# rs-secret), waits until both are ready and stops both on Ctrl-C or SIGTERM. The per-IP rate limits keep
# their defaults (on); the auth server trusts the resource server's X-Forwarded-For (both on this host).
# Needs Rust 1.95+, a C compiler, libpq's development files and curl; it says which one is missing.
# Any AUTH_SERVER__* / RESOURCE_SERVER__* variable already set wins over the defaults below.
set -euo pipefail
cd "$(dirname "$0")/.."

AUTH_PORT=${AUTH_PORT:-8000}
RS_PORT=${RS_PORT:-8001}
READY_TIMEOUT=${READY_TIMEOUT:-60}   # seconds to wait for /health/ready on both servers

# What the build and this script need, named plainly rather than met as a linker error half-way through.
missing=()
command -v cargo >/dev/null || missing+=("cargo: Rust 1.95 or newer, from https://rustup.rs")
command -v cc >/dev/null || missing+=("cc: a C compiler and linker (Debian/Ubuntu: apt install build-essential)")
command -v curl >/dev/null || missing+=("curl (Debian/Ubuntu: apt install curl)")
if command -v ldconfig >/dev/null && ! ldconfig -p 2>/dev/null | grep -q 'libpq\.so '; then
    missing+=("libpq with its development files (Debian/Ubuntu: apt install libpq-dev)")
fi
if ((${#missing[@]})); then
    printf 'run.sh needs:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
fi

cargo build --release --locked --bin auth-server --bin resource-server
mkdir -p data

# The authorization server, with the tutorial's confidential client created (or reset) at start-up.
export AUTH_SERVER__HTTP__HOST=${AUTH_SERVER__HTTP__HOST:-127.0.0.1}
export AUTH_SERVER__HTTP__PORT=$AUTH_PORT
export AUTH_SERVER__DATABASE__URL=${AUTH_SERVER__DATABASE__URL:-sqlite://data/auth-server.sqlite3}
export AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID=${AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID:-rs-id}
export AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET=${AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET:-rs-secret}
export AUTH_SERVER__CLIENTS__TUTORIAL__NAME=${AUTH_SERVER__CLIENTS__TUTORIAL__NAME:-resource-server}
export AUTH_SERVER__CLIENTS__TUTORIAL__GRANT_TYPES=${AUTH_SERVER__CLIENTS__TUTORIAL__GRANT_TYPES:-password,refresh_token,client_credentials}
export AUTH_SERVER__CLIENTS__TUTORIAL__SCOPES=${AUTH_SERVER__CLIENTS__TUTORIAL__SCOPES:-read,write,introspection}
# A browser sign-in client (authorization code + PKCE, OpenID Connect) for the walkthrough and Postman's
# "Authorization Code (With PKCE)" helper, whose callback is https://oauth.pstmn.io/v1/callback.
export AUTH_SERVER__CLIENTS__DEMO__CLIENT_ID=${AUTH_SERVER__CLIENTS__DEMO__CLIENT_ID:-demo-web}
export AUTH_SERVER__CLIENTS__DEMO__CLIENT_SECRET=${AUTH_SERVER__CLIENTS__DEMO__CLIENT_SECRET:-demo-web-secret}
export AUTH_SERVER__CLIENTS__DEMO__NAME=${AUTH_SERVER__CLIENTS__DEMO__NAME:-Demo web app}
export AUTH_SERVER__CLIENTS__DEMO__GRANT_TYPES=${AUTH_SERVER__CLIENTS__DEMO__GRANT_TYPES:-authorization_code,refresh_token}
export AUTH_SERVER__CLIENTS__DEMO__SCOPES=${AUTH_SERVER__CLIENTS__DEMO__SCOPES:-openid,email,profile,read,write}
export AUTH_SERVER__CLIENTS__DEMO__REDIRECT_URIS=${AUTH_SERVER__CLIENTS__DEMO__REDIRECT_URIS:-http://127.0.0.1:8080/callback,https://oauth.pstmn.io/v1/callback}
export AUTH_SERVER__CLIENTS__DEMO__POST_LOGOUT_REDIRECT_URIS=${AUTH_SERVER__CLIENTS__DEMO__POST_LOGOUT_REDIRECT_URIS:-http://127.0.0.1:8080/}
export AUTH_SERVER__CLIENTS__DEMO__ALLOWED_ORIGINS=${AUTH_SERVER__CLIENTS__DEMO__ALLOWED_ORIGINS:-http://127.0.0.1:8080}
# The resource server below runs on this host and forwards each end user's address (X-Forwarded-For) on the
# account calls it proxies: trusted, so that the per-IP rate limit (on by default) counts each user apart.
export AUTH_SERVER__HTTP__TRUSTED_PROXIES=${AUTH_SERVER__HTTP__TRUSTED_PROXIES:-127.0.0.1,::1}

# The resource server introspects tokens at the auth server above, as that same client. It has no built-in
# client secret: both halves of the pair are always given here.
export RESOURCE_SERVER__HTTP__HOST=${RESOURCE_SERVER__HTTP__HOST:-127.0.0.1}
export RESOURCE_SERVER__HTTP__PORT=$RS_PORT
export RESOURCE_SERVER__DATABASE__URL=${RESOURCE_SERVER__DATABASE__URL:-sqlite://data/resource-server.sqlite3}
export RESOURCE_SERVER__AUTH__BASE_URL=${RESOURCE_SERVER__AUTH__BASE_URL:-http://127.0.0.1:$AUTH_PORT}
export RESOURCE_SERVER__AUTH__CLIENT_ID=${RESOURCE_SERVER__AUTH__CLIENT_ID:-$AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID}
export RESOURCE_SERVER__AUTH__CLIENT_SECRET=${RESOURCE_SERVER__AUTH__CLIENT_SECRET:-$AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET}
export RUST_LOG=${RUST_LOG:-info}

pids=()
stop() {
    trap - INT TERM EXIT
    if ((${#pids[@]})); then
        echo "Stopping servers (pids ${pids[*]})..."
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each server's log lines carry a prefix so the two streams can be told apart.
target/release/auth-server > >(sed -u 's/^/[auth] /') 2>&1 &
pids+=($!)
target/release/resource-server > >(sed -u 's/^/[rs]   /') 2>&1 &
pids+=($!)

# Bounded wait for readiness; a server that exits early fails at once instead of after the timeout.
wait_ready() { # NAME URL PID
    local deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fs -o /dev/null "$2"; do
        if ! kill -0 "$3" 2>/dev/null; then
            echo "ERROR: $1 exited during start-up (see its log above)" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "ERROR: $1 not ready at $2 after ${READY_TIMEOUT}s" >&2
            exit 1
        fi
        sleep 0.5
    done
}
wait_ready auth-server "http://127.0.0.1:$AUTH_PORT/health/ready" "${pids[0]}"
wait_ready resource-server "http://127.0.0.1:$RS_PORT/health/ready" "${pids[1]}"

cat <<MSG

Both servers are ready:
  auth server      http://127.0.0.1:$AUTH_PORT   (client rs-id / rs-secret)
  resource server  http://127.0.0.1:$RS_PORT

Try next, in another terminal:
  AUTH_URL=http://127.0.0.1:$AUTH_PORT RS_URL=http://127.0.0.1:$RS_PORT scripts/demo.sh    # the whole tutorial
  curl -s -X POST http://127.0.0.1:$RS_PORT/users/signup/ -H 'Content-Type: application/json' \\
       -d '{"email":"me@example.com","password":"Blue-Otter-731","password2":"Blue-Otter-731"}'
  curl -s -X POST http://127.0.0.1:$RS_PORT/users/token/ -H 'Content-Type: application/json' \\
       -d '{"email":"me@example.com","password":"Blue-Otter-731"}'
  curl -s http://127.0.0.1:$RS_PORT/items/ -H "Authorization: Bearer ACCESS_TOKEN"
Postman: import postman/oauth-demo.postman_collection.json and postman/local.postman_environment.json.

Press Ctrl-C to stop both servers.
MSG

# Runs until Ctrl-C / SIGTERM, or until either server exits on its own (then the other is stopped too).
set +e
wait -n "${pids[@]}"
status=$?
set -e
echo "A server exited (status $status); stopping the other." >&2
exit "$status"
