#!/usr/bin/env bash
# Real-browser end-to-end test of the auth server's browser sign-in (authorization code + PKCE + OpenID
# Connect), for CI.
#
# Proves, in headless Chromium driven by playwright-core (scripts/browser/signin.mjs): the login page
# (framing forbidden by X-Frame-Options and CSP), signing in through its form with the CSRF token the page
# carries, the consent page, "Allow" landing on the client's redirect URI with code, state and iss, the code
# exchanged with its PKCE verifier for access, refresh and ID tokens (nonce, aud, iss, email), a second
# authorization in the same browser going straight back (session cookie + remembered consent), and a wrong
# password shown inline. One line per check (PASS/FAIL), then "N passed, M failed"; exits non-zero on any
# failure. Screenshots and the server's log go to ${BROWSER_OUT:-target/browser}.
#
# Needs: curl, apt-get (installs Debian's chromium, and Node.js/npm, when missing; as root or with sudo),
# npm (installs the pinned playwright-core into target/tools once). Runs as root too (Chromium gets
# --no-sandbox then).
#
# Usage: scripts/browser/run.sh [AUTH_SERVER_BINARY]
#   without an argument it builds target/release/auth-server (cargo build --release --locked).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

PLAYWRIGHT_VERSION=1.65.1                   # needs Node.js 20 or newer
TOOLS=${TOOLS:-$root/target/tools}          # target/ is not committed
OUT=${BROWSER_OUT:-$root/target/browser}
READY_TIMEOUT=${READY_TIMEOUT:-60}          # seconds for /health/ready
SCRIPT_TIMEOUT=${SCRIPT_TIMEOUT:-180}       # seconds for the whole browser script

# --- What the test needs, installed only when missing (a no-op the second time) ---------------------------
sudo=""
((EUID == 0)) || sudo=sudo
apt_updated=false
apt_install() {
    $apt_updated || $sudo apt-get update -qq
    apt_updated=true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $chromium ]]; then
    echo "== installing Debian's chromium"
    apt_install chromium
    chromium=$(command -v chromium)
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "== installing Node.js and npm"
    apt_install nodejs npm
fi
if (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
    echo "playwright-core $PLAYWRIGHT_VERSION needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
fi
# One folder per pinned version: changing the pin installs the new one beside the old.
pw_dir=$TOOLS/playwright-core-$PLAYWRIGHT_VERSION
if [[ ! -f $pw_dir/node_modules/playwright-core/package.json ]]; then
    echo "== installing playwright-core@$PLAYWRIGHT_VERSION into $pw_dir"
    mkdir -p "$pw_dir"
    # playwright-core downloads no browser; the variable makes sure of it.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$pw_dir" --no-audit --no-fund --loglevel=error \
        --save-exact "playwright-core@$PLAYWRIGHT_VERSION"
fi
echo "chromium: $("$chromium" --version 2>/dev/null | head -n 1) ($chromium)"
echo "node: $(node --version), playwright-core: $(node -p "require('$pw_dir/node_modules/playwright-core/package.json').version")"

# --- The auth server ---------------------------------------------------------------------------------------
if (($# >= 1)); then
    server=$(realpath "$1")
else
    cargo build --release --locked --bin auth-server
    server=$root/target/release/auth-server
fi
[[ -x $server ]] || { echo "not an executable: $server" >&2; exit 1; }

mkdir -p "$OUT"
rm -f "$OUT"/*.png "$OUT/auth-server.log"   # no screenshot of an earlier run passes for this one's
tmp=$(mktemp -d)
server_pid=""
cleanup() {
    local status=$?
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two free ports, the auth server's and the callback's (the redirect URI must be registered before the
# browser script listens on it).
read -r port cb_port < <(node -e '
const net = require("node:net");
const servers = [net.createServer(), net.createServer()];
let bound = 0;
for (const s of servers) s.listen(0, "127.0.0.1", () => {
  if (++bound === 2) { console.log(servers.map((x) => x.address().port).join(" ")); servers.forEach((x) => x.close()); }
});')
auth=http://127.0.0.1:$port
callback=http://127.0.0.1:$cb_port/callback

# Exactly these variables (no AUTH_SERVER__* of the caller's leaks in); the browser client as scripts/run.sh
# defines DEMO, its URIs on the callback port. Started in $tmp so it writes nothing into the repository.
# No per-IP rate limit: every sign-in here comes from 127.0.0.1.
(cd "$tmp" && exec env -i PATH="$PATH" HOME="$HOME" RUST_LOG="${RUST_LOG:-info}" \
    AUTH_SERVER__HTTP__HOST=127.0.0.1 \
    AUTH_SERVER__HTTP__PORT="$port" \
    AUTH_SERVER__DATABASE__URL="sqlite://$tmp/auth.sqlite3" \
    AUTH_SERVER__SECURITY__BCRYPT_COST=4 \
    AUTH_SERVER__RATE_LIMIT__ENABLED=false \
    AUTH_SERVER__CLIENTS__DEMO__CLIENT_ID=demo-web \
    AUTH_SERVER__CLIENTS__DEMO__CLIENT_SECRET=demo-web-secret \
    AUTH_SERVER__CLIENTS__DEMO__NAME="Demo web app" \
    AUTH_SERVER__CLIENTS__DEMO__GRANT_TYPES=authorization_code,refresh_token \
    AUTH_SERVER__CLIENTS__DEMO__SCOPES=openid,email,profile,read,write \
    AUTH_SERVER__CLIENTS__DEMO__REDIRECT_URIS="$callback" \
    AUTH_SERVER__CLIENTS__DEMO__POST_LOGOUT_REDIRECT_URIS="http://127.0.0.1:$cb_port/" \
    AUTH_SERVER__CLIENTS__DEMO__ALLOWED_ORIGINS="http://127.0.0.1:$cb_port" \
    "$server") >"$OUT/auth-server.log" 2>&1 &
server_pid=$!

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
summary() { echo "$passed passed, $failed failed"; }

deadline=$((SECONDS + READY_TIMEOUT))
until curl -fs -o /dev/null --max-time 5 "$auth/health/ready"; do
    if ! kill -0 "$server_pid" 2>/dev/null || ((SECONDS >= deadline)); then
        fail "auth server ready at $auth/health/ready: $(kill -0 "$server_pid" 2>/dev/null && echo "not after ${READY_TIMEOUT}s" || echo "it exited")"
        tail -n 30 "$OUT/auth-server.log" | sed 's/^/    /'
        summary
        exit 1
    fi
    sleep 0.3
done
pass "auth server ready at $auth/health/ready"

email=browser-user@example.com
password=correct-horse-battery
code=$(curl -sS --max-time 15 -o "$tmp/signup.json" -w '%{http_code}' -X POST "$auth/users/signup/" \
    -H 'Content-Type: application/json' \
    -d "{\"email\": \"$email\", \"password\": \"$password\", \"password2\": \"$password\"}") || code=000
if [[ $code == 201 ]]; then
    pass "POST /users/signup/ creates $email (201)"
else
    fail "POST /users/signup/ creates $email: HTTP $code $(head -c 300 "$tmp/signup.json" 2>/dev/null)"
    summary
    exit 1
fi

# --- The browser -------------------------------------------------------------------------------------------
# The script has its own overall deadline; timeout is the backstop should Node itself hang.
set +e
AUTH_URL=$auth CALLBACK_URL=$callback USER_EMAIL=$email USER_PASSWORD=$password OUT=$OUT \
    CHROMIUM=$chromium PLAYWRIGHT_DIR=$pw_dir SCRIPT_TIMEOUT=$SCRIPT_TIMEOUT \
    timeout -k 5 "$((SCRIPT_TIMEOUT + 10))" node scripts/browser/signin.mjs 2>&1 | tee "$tmp/signin.log"
status=${PIPESTATUS[0]}
set -e
passed=$((passed + $(grep -c '^PASS ' "$tmp/signin.log" || true)))
failed=$((failed + $(grep -c '^FAIL ' "$tmp/signin.log" || true)))
if ((status != 0 && failed == 0)); then fail "signin.mjs exited with status $status"; fi

echo "Screenshots and the server's log:"
for f in "$OUT"/*.png "$OUT/auth-server.log"; do [[ -e $f ]] && echo "  ${f#"$root"/}"; done
summary
((failed == 0))
