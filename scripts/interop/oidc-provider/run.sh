#!/usr/bin/env bash
# Interoperability test, for CI: the resource server against a real third-party RFC 7662 authorization server,
# panva's oidc-provider (OpenID Certified; pinned in package.json, installed here with npm ci).
#
# oidc-provider (provider.mjs) issues opaque access tokens: user tokens by the authorization code flow with
# PKCE through its development login and consent forms, driven over HTTP by check.mjs, and client_credentials
# tokens; the resource server introspects them at oidc-provider's own introspection endpoint as rs-id
# (client_secret_basic). Nothing is stubbed: every token and every introspection or revocation answer is
# oidc-provider's. The checks (check.mjs) run twice, against a fresh pair each time:
#   sqlite    endpoints by discovery; the resource server starts first and must wait for oidc-provider
#             (not listening meanwhile), then come up once it answers;
#   postgres  explicit introspection and token URLs, discovery off; a throwaway database (dropped at the end).
#             Skipped, said so, when PostgreSQL does not answer on 127.0.0.1:5432, unless REQUIRE_POSTGRES=1.
# One "ok - <check>" / "not ok - <check>: <why>" line per check, then "N passed, M failed"; exits non-zero on
# any failure (with the tail of both servers' logs).
#
# Needs: node 20+ and npm, curl, psql and pg_isready (for the PostgreSQL run). oidc-provider 9.x names Node.js 22
# LTS as its minimum but runs on 20 (it prints "Unsupported runtime", a warning only); 8.x is the last line that
# names 20.
#
# Usage: scripts/interop/oidc-provider/run.sh [RESOURCE_SERVER_BINARY]   (default target/release/resource-server)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."

READY_TIMEOUT=${READY_TIMEOUT:-20}          # seconds for a server to answer
CHECK_TIMEOUT=${CHECK_TIMEOUT:-60}          # seconds for one check.mjs run
INTEROP_LOGS=${INTEROP_LOGS:-}              # a folder: both servers' logs are copied there at the end
DISCOVERY_DELAY=${DISCOVERY_DELAY:-1.5}     # seconds the resource server waits alone for oidc-provider
PG_HOST=${PG_HOST:-127.0.0.1} PG_PORT=${PG_PORT:-5432}  # the PostgreSQL run: trust auth as postgres

rs_bin=${1:-target/release/resource-server}
[[ -x $rs_bin ]] || { echo "not an executable: $rs_bin" >&2; exit 1; }
rs_bin=$(realpath "$rs_bin")

if (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
    echo "oidc-provider needs Node.js 20 or newer; this is $(node --version)" >&2
    exit 1
fi
echo "== npm ci (scripts/interop/oidc-provider)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "node: $(node --version), oidc-provider: $(cd "$here" && node -p 'require("./node_modules/oidc-provider/package.json").version')"
echo "resource server: $rs_bin"

tmp=$(mktemp -d)
provider_pid="" rs_pid="" pg_db=""
psql_cmd=(psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres)
# shellcheck source=../lib.sh
source "$here/../lib.sh"
stop_servers() {
    stop "$rs_pid"; rs_pid=""
    stop "$provider_pid"; provider_pid=""
}
cleanup() {
    local status=$?
    stop_servers
    if [[ -n $INTEROP_LOGS ]]; then mkdir -p "$INTEROP_LOGS" && cp "$tmp"/*.log "$INTEROP_LOGS"/ 2>/dev/null || true; fi
    if [[ -n $pg_db ]]; then "${psql_cmd[@]}" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

logs() { # LABEL: the tail of both servers' logs
    for f in "$tmp/provider-$1.log" "$tmp/rs-$1.log"; do
        [[ -s $f ]] || continue
        echo "    --- tail of ${f##*/}"
        tail -n 30 "$f" | sed 's/^/    /'
    done
}

# Two free ports: oidc-provider's and the resource server's.
free_ports() {
    node -e '
const net = require("node:net");
const servers = [net.createServer(), net.createServer()];
let bound = 0;
for (const s of servers) s.listen(0, "127.0.0.1", () => {
  if (++bound === 2) { console.log(servers.map((x) => x.address().port).join(" ")); servers.forEach((x) => x.close()); }
});'
}

# until_up URL PID SECONDS: polls URL until it answers 200; 1 if PID exits or the time runs out.
until_up() {
    local url=$1 pid=$2 deadline=$((SECONDS + $3))
    until curl -fs -o /dev/null --max-time 2 "$url"; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then return 1; fi
        sleep 0.2
    done
}

RS_CLIENT_SECRET=rs-secret-$RANDOM$RANDOM
WEB_CLIENT_SECRET=web-secret-$RANDOM$RANDOM
SVC_CLIENT_SECRET=svc-secret-$RANDOM$RANDOM

start_provider() { # LABEL
    (cd "$tmp" && exec env -i PATH="$PATH" HOME="$HOME" NODE_ENV=test PORT="$op_port" REDIRECT_URI="$redirect_uri" \
        RS_CLIENT_SECRET="$RS_CLIENT_SECRET" WEB_CLIENT_SECRET="$WEB_CLIENT_SECRET" SVC_CLIENT_SECRET="$SVC_CLIENT_SECRET" \
        node "$here/provider.mjs") >"$tmp/provider-$1.log" 2>&1 &
    provider_pid=$!
}

start_rs() { # LABEL DATABASE_URL VAR=VALUE...: exactly these variables (none of the caller's RESOURCE_SERVER__*)
    # (no per-IP rate limit on the account proxies: every request here comes from 127.0.0.1)
    local label=$1 db_url=$2
    shift 2
    (cd "$tmp" && exec env -i PATH="$PATH" HOME="$HOME" RUST_LOG="${RUST_LOG:-warn}" \
        RESOURCE_SERVER__HTTP__HOST=127.0.0.1 \
        RESOURCE_SERVER__HTTP__PORT="$rs_port" \
        RESOURCE_SERVER__DATABASE__URL="$db_url" \
        RESOURCE_SERVER__AUTH__BASE_URL="$issuer" \
        RESOURCE_SERVER__AUTH__CLIENT_ID=rs-id \
        RESOURCE_SERVER__AUTH__CLIENT_SECRET="$RS_CLIENT_SECRET" \
        RESOURCE_SERVER__CACHE__TTL_SECS=1 \
        RESOURCE_SERVER__CACHE__NEGATIVE_TTL_SECS=30 \
        RESOURCE_SERVER__CACHE__STALE_GRACE_SECS=0 \
        RESOURCE_SERVER__RATE_LIMIT__ENABLED=false \
        "$@" "$rs_bin") >"$tmp/rs-$label.log" 2>&1 &
    rs_pid=$!
}

# suite LABEL DATABASE_URL discovery|explicit: one pair of servers, the checks, both stopped.
suite() {
    local label=$1 db_url=$2 mode=$3
    read -r op_port rs_port < <(free_ports)
    issuer=http://127.0.0.1:$op_port
    redirect_uri=$issuer/test/callback # never fetched: check.mjs stops at the redirect to it
    rs_url=http://127.0.0.1:$rs_port
    echo "== $label: oidc-provider at $issuer, resource server at $rs_url ($mode endpoints)"

    if [[ $mode == discovery ]]; then
        # The resource server first: it must wait for oidc-provider's discovery document before listening.
        start_rs "$label" "$db_url" RESOURCE_SERVER__AUTH__DISCOVERY=true
        sleep "$DISCOVERY_DELAY"
        if ! kill -0 "$rs_pid" 2>/dev/null; then
            fail "[$label] the resource server waits for oidc-provider's discovery document: it exited"
            logs "$label"; stop_servers; return
        elif curl -s -o /dev/null --max-time 2 "$rs_url/health/live"; then
            fail "[$label] the resource server waits for oidc-provider's discovery document: it listens without it"
        else
            pass "[$label] the resource server waits for oidc-provider's discovery document (not listening after ${DISCOVERY_DELAY}s)"
        fi
        start_provider "$label"
    else
        start_provider "$label"
    fi

    if until_up "$issuer/.well-known/openid-configuration" "$provider_pid" "$READY_TIMEOUT"; then
        pass "[$label] oidc-provider answers at $issuer"
    else
        fail "[$label] oidc-provider answers at $issuer: $(kill -0 "$provider_pid" 2>/dev/null && echo "not after ${READY_TIMEOUT}s" || echo "it exited")"
        logs "$label"; stop_servers; return
    fi

    if [[ $mode == explicit ]]; then
        start_rs "$label" "$db_url" RESOURCE_SERVER__AUTH__DISCOVERY=false \
            RESOURCE_SERVER__AUTH__INTROSPECTION_URL="$issuer/token/introspection" \
            RESOURCE_SERVER__AUTH__TOKEN_URL="$issuer/token" \
            RESOURCE_SERVER__AUTH__HEALTH_URL="$issuer/.well-known/openid-configuration"
    fi
    local started=$SECONDS
    if until_up "$rs_url/health/live" "$rs_pid" "$READY_TIMEOUT"; then
        pass "[$label] the resource server answers GET /health/live$([[ $mode == discovery ]] && echo " once oidc-provider is up ($((SECONDS - started))s after it)")"
    else
        fail "[$label] the resource server answers GET /health/live: $(kill -0 "$rs_pid" 2>/dev/null && echo "not after ${READY_TIMEOUT}s" || echo "it exited")"
        logs "$label"; stop_servers; return
    fi

    local status=0
    RS_URL=$rs_url ISSUER=$issuer REDIRECT_URI=$redirect_uri LABEL=$label RS_CLIENT_SECRET=$RS_CLIENT_SECRET \
        WEB_CLIENT_SECRET=$WEB_CLIENT_SECRET SVC_CLIENT_SECRET=$SVC_CLIENT_SECRET \
        timeout -k 5 "$CHECK_TIMEOUT" node "$here/check.mjs" >"$tmp/check-$label.log" 2>&1 || status=$?
    cat "$tmp/check-$label.log"
    local ok bad
    ok=$(grep -c '^ok - ' "$tmp/check-$label.log" || true)
    bad=$(grep -c '^not ok - ' "$tmp/check-$label.log" || true)
    passed=$((passed + ok)) failed=$((failed + bad))
    if ((status != 0 && bad == 0)); then fail "[$label] check.mjs exited with status $status"; fi
    if ((status != 0)); then logs "$label"; fi
    if ! kill -0 "$rs_pid" 2>/dev/null; then fail "[$label] the resource server kept running through the checks: it exited"; logs "$label"; fi
    if grep -q 'panicked' "$tmp/rs-$label.log"; then fail "[$label] no panic in the resource server's log"; logs "$label"; fi
    stop_servers
}

suite sqlite "sqlite://$tmp/rs.sqlite3" discovery

if pg_isready -h "$PG_HOST" -p "$PG_PORT" -q 2>/dev/null; then
    pg_db=interop_rs_$$_$RANDOM
    "${psql_cmd[@]}" -c "CREATE DATABASE $pg_db" >/dev/null
    suite postgres "postgres://postgres@$PG_HOST:$PG_PORT/$pg_db" explicit
    "${psql_cmd[@]}" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null && pg_db=""
elif [[ ${REQUIRE_POSTGRES:-0} == 1 ]]; then
    fail "[postgres] PostgreSQL answers on $PG_HOST:$PG_PORT (REQUIRE_POSTGRES=1; pg_isready says no)"
else
    echo "# [postgres] SKIPPED: PostgreSQL does not answer on $PG_HOST:$PG_PORT (pg_isready); REQUIRE_POSTGRES=1 makes this a failure"
fi

echo "$passed passed, $failed failed"
((failed == 0))
