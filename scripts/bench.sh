#!/usr/bin/env bash
# Load benchmark of both servers. Builds the release binaries, starts both on a fresh database (SQLite files
# in a temp dir, or with --postgres URL two new databases made from that URL and dropped afterwards),
# prepares users, tokens, items and a browser sign-in (login and consent pages) over HTTP, seeds bulk rows
# straight in SQL, and runs each scenario with wrk (Debian's package, installed if missing) for a fixed
# time. One line per scenario: requests/s, p50 and p99 latency, non-2xx count and the ratio to the ceiling,
# which is `GET /health/live` of the same server in the same run. rs_get_item and as_introspect run again
# against a twin of their server started with metrics.enabled=false (`*_metrics_off`): the cost of metrics.
# The revocation_latency rows are no wrk runs: their p50 and p99 are the times from a revocation's answer to
# the resource server's first 401 for that (cached) token, measured by scripts/bench/revocation_latency.py.
# password_flood_unknown_client is the password grant of the legitimate client (2 connections) while 64 more connections send password grants in
# the name of clients that do not exist (each answered 401): its ratio is to the same logins alone
# (as_password_login_solo), not to the ceiling. Both servers run without their per-IP rate limits (all the
# traffic comes from 127.0.0.1); the per-account lockout stays on. Targets are printed for information
# only: the exit status is non-zero only when something did not work (a server did not start or died, a
# scenario had no successful request, seeding failed, a revoked token was still accepted after 10 s).
#
# usage: scripts/bench.sh [--smoke] [--postgres URL] [--duration SECONDS] [--connections N] [--threads N]
#                         [--skip-build] [--out FILE]
#   --smoke      CI mode: 2 s per scenario and small seeds (1 000 rows instead of 1 000 000 / 100 000)
#   --out FILE   also write the table as Markdown with the machine, date, commit and database
#   --duration   seconds per scenario (10; smoke 2); as_code_exchange runs at most 20 s: its codes, minted
#                just before it, live 60 s
# Traffic goes to 127.0.0.1 only; the servers and temp files are always cleaned up on exit.
set -euo pipefail
ORIG_PWD=$PWD
cd "$(dirname "$0")/.."
LUA_DIR=$PWD/scripts/bench
source scripts/bench/db.sh
source scripts/bench/wrk.sh
source scripts/bench/results.sh

SMOKE=0 PG_URL='' DURATION='' CONNECTIONS=32 THREADS=2 BUILD=1 OUT=''
while (($#)); do
    case $1 in
        --smoke) SMOKE=1 ;;
        --postgres) PG_URL=${2:?--postgres needs a URL}; shift ;;
        --duration) DURATION=${2:?--duration needs seconds}; shift ;;
        --connections) CONNECTIONS=${2:?--connections needs a number}; shift ;;
        --threads) THREADS=${2:?--threads needs a number}; shift ;;
        --skip-build) BUILD=0 ;;
        --out) OUT=${2:?--out needs a file}; [[ $OUT == /* ]] || OUT=$ORIG_PWD/$OUT; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if ((SMOKE)); then
    DURATION=${DURATION:-2}
    RSS_TOKENS=1000 BIG_ROWS=1000 RSS_CAP_SECS=60 # BIG_ROWS: rows added in smoke mode
else
    DURATION=${DURATION:-10}
    RSS_TOKENS=100000 BIG_ROWS=1000000 RSS_CAP_SECS=900 # BIG_ROWS: the tables' size in full mode
fi
FIRST_SEEN_POOL=$((DURATION * 20000)) # more than a 2-core machine can introspect in DURATION seconds
FIRST_SEEN_JWT_POOL=$((DURATION * 10000)) # JWTs take ~0.2 ms each to sign here, so fewer
# Authorization codes live 60 s (the server's default, kept): the exchange scenario's codes are minted for
# 1.5 times its duration just before it, so it runs at most 20 s (minting and using them then take < 60 s).
EXCHANGE_SECS=$((DURATION < 20 ? DURATION : 20)) MINT_SECS=$(((DURATION < 20 ? DURATION : 20) * 3 / 2))
USERS=4 ITEMS=100 PASSWORD=bench-horse-battery-1 RUN_TAG=b$$
# password_flood_unknown_client: the legitimate logins' connections, and the flood's.
LOGIN_CONNECTIONS=2 FLOOD_CONNECTIONS=64
BASIC="Basic $(printf '%s' rs-id:rs-secret | base64)"
# The browser sign-in client: confidential, consent asked (and remembered), PKCE required.
WEB_ID=bench-web WEB_SECRET=bench-web-secret WEB_SCOPE='openid email read'
WEB_REDIRECT=http://127.0.0.1:9/callback # never contacted: the Location is read, not followed
WEB_BASIC="Basic $(printf '%s' "$WEB_ID:$WEB_SECRET" | base64)"
# A client whose access tokens are JWTs (RFC 9068).
JWT_ID=bench-jwt JWT_SECRET=bench-jwt-secret
JWT_BASIC="Basic $(printf '%s' "$JWT_ID:$JWT_SECRET" | base64)"
FORM=application/x-www-form-urlencoded
FAILED=0

log() { echo "bench: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# interruptible CMD...: runs CMD (a command or function) in the background and waits for it, so that a
# SIGTERM/SIGINT is acted on at once (bash defers traps until a foreground command ends).
interruptible() {
    "$@" &
    wait "$!"
}

# --- tools and binaries -------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    log "installing wrk from Debian's packages"
    apt-get update -qq >&2 && apt-get install -y -qq wrk >&2 || die "could not install wrk"
fi
if ((BUILD)); then
    # One invocation, the same packages as every other release build: the features match, nothing recompiles.
    cargo build --release --locked --bin auth-server --bin resource-server --bin mint_access_jwts
fi
for bin in auth-server resource-server mint_access_jwts; do
    [[ -x target/release/$bin ]] || die "target/release/$bin is missing (run without --skip-build)"
done

# --- clean-up: servers, background load, databases, temp files ---------------------------------------------
TMP=$(mktemp -d -t auth-bench.XXXXXX)
PIDS=() PG_DBS=()
cleanup() {
    local status=$? pid
    trap - EXIT
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    done
    for db in "${PG_DBS[@]}"; do pg_drop "$db"; done
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- databases -------------------------------------------------------------------------------------------------
if [[ -n $PG_URL ]]; then
    BACKEND=postgres
    for role in auth rs; do
        name=bench_${role}_${RUN_TAG}_$RANDOM
        pg_create "$name"
        PG_DBS+=("$name")
        printf -v "${role^^}_DB" '%s' "$(pg_url_for "$name")"
    done
    DB_LABEL="PostgreSQL $(sql "$PG_URL" 'SHOW server_version' | cut -d' ' -f1) (fresh databases ${PG_DBS[*]})"
    AUTH_DB_URL=$AUTH_DB RS_DB_URL=$RS_DB
else
    BACKEND=sqlite
    AUTH_DB=$TMP/auth.sqlite3 RS_DB=$TMP/rs.sqlite3
    AUTH_DB_URL=sqlite://$AUTH_DB RS_DB_URL=sqlite://$RS_DB
    DB_LABEL="SQLite $(sqlite3 --version | cut -d' ' -f1) (fresh files)"
fi
log "database: $DB_LABEL"

# --- servers ---------------------------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
AUTH_PORT=$(free_port)
RS_PORT=$(free_port)
while [[ $RS_PORT == "$AUTH_PORT" ]]; do RS_PORT=$(free_port); done
AUTH_URL=http://127.0.0.1:$AUTH_PORT RS_URL=http://127.0.0.1:$RS_PORT

# The same two servers with metrics.enabled=false, on the same databases: the *_metrics_off scenarios run
# right after their twins against these, and the pair shows what recording metrics costs on the hot paths.
OFF_AUTH_PORT=$(free_port)
OFF_RS_PORT=$(free_port)
OFF_AUTH_URL=http://127.0.0.1:$OFF_AUTH_PORT OFF_RS_URL=http://127.0.0.1:$OFF_RS_PORT

# start_auth_server PORT LOG [VAR=VALUE...]: the auth server on PORT, with the VARs added to its environment.
# Every request comes from 127.0.0.1: the per-IP rate limits would measure themselves, not the servers.
start_auth_server() {
    local port=$1 log_file=$2
    shift 2
    env RUST_LOG=warn AUTH_SERVER__HTTP__HOST=127.0.0.1 AUTH_SERVER__HTTP__PORT="$port" \
        AUTH_SERVER__DATABASE__URL="$AUTH_DB_URL" AUTH_SERVER__SECURITY__BCRYPT_COST=12 \
        AUTH_SERVER__JANITOR__INTERVAL_SECS=0 AUTH_SERVER__RATE_LIMIT__ENABLED=false \
        AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID=rs-id AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET=rs-secret \
        AUTH_SERVER__CLIENTS__TUTORIAL__GRANT_TYPES=password,refresh_token,client_credentials \
        AUTH_SERVER__CLIENTS__TUTORIAL__SCOPES=read,write,introspection \
        AUTH_SERVER__CLIENTS__WEB__CLIENT_ID="$WEB_ID" AUTH_SERVER__CLIENTS__WEB__CLIENT_SECRET="$WEB_SECRET" \
        AUTH_SERVER__CLIENTS__WEB__NAME='Bench web app' AUTH_SERVER__CLIENTS__WEB__REDIRECT_URIS="$WEB_REDIRECT" \
        AUTH_SERVER__CLIENTS__WEB__GRANT_TYPES=authorization_code,refresh_token \
        AUTH_SERVER__CLIENTS__WEB__SCOPES=openid,email,read \
        AUTH_SERVER__CLIENTS__JWT__CLIENT_ID="$JWT_ID" AUTH_SERVER__CLIENTS__JWT__CLIENT_SECRET="$JWT_SECRET" \
        AUTH_SERVER__CLIENTS__JWT__GRANT_TYPES=client_credentials AUTH_SERVER__CLIENTS__JWT__SCOPES=read,write \
        AUTH_SERVER__CLIENTS__JWT__ACCESS_TOKEN_FORMAT=jwt "$@" \
        target/release/auth-server >"$log_file" 2>&1 &
}
start_auth_server "$AUTH_PORT" "$TMP/auth.log"
AUTH_PID=$!
PIDS+=("$AUTH_PID")
# The long stale grace only keeps every cached token in memory for the RSS measurement. Freshness is left at
# its defaults, as in production: cache.ttl_secs (60 s) while the revocation stream is live, which is
# checked below before anything is measured (cache.ttl_without_stream_secs, 5 s, applies only without it).
# start_resource_server PORT AUTH_URL LOG [VAR=VALUE...]: likewise.
start_resource_server() {
    local port=$1 auth_url=$2 log_file=$3
    shift 3
    env RUST_LOG=warn RESOURCE_SERVER__HTTP__HOST=127.0.0.1 RESOURCE_SERVER__HTTP__PORT="$port" \
        RESOURCE_SERVER__DATABASE__URL="$RS_DB_URL" RESOURCE_SERVER__AUTH__BASE_URL="$auth_url" \
        RESOURCE_SERVER__AUTH__CLIENT_ID=rs-id RESOURCE_SERVER__AUTH__CLIENT_SECRET=rs-secret \
        RESOURCE_SERVER__CACHE__STALE_GRACE_SECS=3600 RESOURCE_SERVER__RATE_LIMIT__ENABLED=false "$@" \
        target/release/resource-server >"$log_file" 2>&1 &
}
start_resource_server "$RS_PORT" "$AUTH_URL" "$TMP/rs.log"
RS_PID=$!
PIDS+=("$RS_PID")

# alive: the servers still run (else show the dead one's log and stop).
alive() {
    kill -0 "$AUTH_PID" 2>/dev/null || { tail -20 "$TMP/auth.log" >&2; die "auth-server exited"; }
    kill -0 "$RS_PID" 2>/dev/null || { tail -20 "$TMP/rs.log" >&2; die "resource-server exited"; }
    if [[ -v OFF_RS_PID ]]; then
        kill -0 "$OFF_AUTH_PID" 2>/dev/null || { tail -20 "$TMP/off-auth.log" >&2; die "auth-server (metrics off) exited"; }
        kill -0 "$OFF_RS_PID" 2>/dev/null || { tail -20 "$TMP/off-rs.log" >&2; die "resource-server (metrics off) exited"; }
    fi
    return 0
}
wait_ready() { # URL: answers 2xx within 60 s
    for _ in {1..300}; do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        alive
        sleep 0.2
    done
    die "$1 not ready after 60 s"
}
wait_ready "$AUTH_URL/health/live"
wait_ready "$RS_URL/health/ready"
# Without a live revocation stream the resource server trusts cached tokens for 5 s only, and the revocation
# scenarios would measure that TTL instead of the stream.
wait_stream_live() {
    local body='' deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        body=$(curl -sS "$RS_URL/health/ready" 2>&1) || true
        grep -Eq '"revocation_stream" *: *"live"' <<<"$body" && return 0
        alive
        sleep 0.2
    done
    die "the resource-server's revocation stream is not live after 30 s (GET /health/ready: $body)"
}
wait_stream_live
# The twins start once the first pair has migrated the databases.
start_auth_server "$OFF_AUTH_PORT" "$TMP/off-auth.log" AUTH_SERVER__METRICS__ENABLED=false
OFF_AUTH_PID=$!
PIDS+=("$OFF_AUTH_PID")
wait_ready "$OFF_AUTH_URL/health/live"
start_resource_server "$OFF_RS_PORT" "$OFF_AUTH_URL" "$TMP/off-rs.log" RESOURCE_SERVER__METRICS__ENABLED=false
OFF_RS_PID=$!
PIDS+=("$OFF_RS_PID")
wait_ready "$OFF_RS_URL/health/ready"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$OFF_RS_URL/metrics") == 404 ]] || die "the metrics-off twin serves /metrics"
log "auth-server on $AUTH_URL (pid $AUTH_PID), resource-server on $RS_URL (pid $RS_PID)"
log "with metrics off: auth-server on $OFF_AUTH_URL, resource-server on $OFF_RS_URL"

# --- preparation over HTTP: users, a user token, items ----------------------------------------------------------
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
email() { echo "user$1.$RUN_TAG@example.com"; }
signups=()
for i in $(seq 1 "$USERS"); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"email\":\"$(email "$i")\",\"password\":\"$PASSWORD\",\"password2\":\"$PASSWORD\"}" \
        "$AUTH_URL/users/signup/" &
    signups+=($!)
done
for pid in "${signups[@]}"; do wait "$pid" || die "a signup failed"; done
password_form="grant_type=password&username=$(email 1 | sed 's/@/%40/')&password=$PASSWORD"
# The unknown clients' form (after their client_id and client_secret): an account that does not exist, so
# that no flood request could ever count against a real one.
unknown_client_form="grant_type=password&username=nobody.$RUN_TAG%40example.com&password=$PASSWORD"
USER_TOKEN=$(curl -fsS -H "Authorization: $BASIC" -d "$password_form" "$AUTH_URL/o/token/" | json_field access_token)
BEARER="Bearer $USER_TOKEN"
for i in $(seq 1 "$ITEMS"); do
    curl -fsS -H "Authorization: $BEARER" -H 'Content-Type: application/json' \
        -d "{\"name\":\"prep-$RUN_TAG-$i\",\"description\":\"prepared over HTTP\",\"price\":\"1.00\"}" \
        "$RS_URL/items/"
    echo
done >"$TMP/items.json"
ITEM_ID=$(head -1 "$TMP/items.json" | json_field id)
curl -fsS -o /dev/null -H "Authorization: $BEARER" "$RS_URL/items/$ITEM_ID/"
curl -fsS -H "Authorization: $BASIC" -d "token=$USER_TOKEN" "$AUTH_URL/o/introspect/" | grep -q '"active":true' ||
    die "the user token does not introspect as active"
CLIENT_PK=$(sql "$AUTH_DB" "SELECT id FROM clients WHERE client_id = 'rs-id'")
mapfile -t USER_IDS < <(sql "$AUTH_DB" "SELECT id FROM users ORDER BY id")
RS_USER_ID=$(sql "$RS_DB" "SELECT id FROM users WHERE email = '$(email 1)'")
RSS_BASELINE_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RS_PID/status")
log "prepared ${#USER_IDS[@]} users, $ITEMS items, one user token; resource-server VmRSS ${RSS_BASELINE_KB} kB"

# A browser session of user 1 with the consent to WEB_SCOPE remembered (login and consent pages, one code
# exchanged to check the id_token and to warm the client-secret memory). One PKCE verifier serves every code.
PKCE_VERIFIER=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
python3 scripts/bench/browser_sign_in.py "$AUTH_URL" "$WEB_ID" "$WEB_SECRET" "$WEB_REDIRECT" "$WEB_SCOPE" \
    "$(email 1)" "$PASSWORD" "$PKCE_VERIFIER" >"$TMP/browser.out" || die "the browser sign-in failed"
SESSION_COOKIE=$(sed -n 's/^COOKIE //p' "$TMP/browser.out")
PKCE_CHALLENGE=$(sed -n 's/^CHALLENGE //p' "$TMP/browser.out")
urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
AUTHORIZE_PATH="/o/authorize/?response_type=code&client_id=$WEB_ID&redirect_uri=$(urlencode "$WEB_REDIRECT")"
AUTHORIZE_PATH+="&scope=$(urlencode "$WEB_SCOPE")&state=bench-state&nonce=bench-nonce"
AUTHORIZE_PATH+="&code_challenge=$PKCE_CHALLENGE&code_challenge_method=S256"
log "signed in through the browser pages as $(email 1); consent to '$WEB_SCOPE' remembered for $WEB_ID"

# seed_tokens NAME COUNT: mints COUNT user tokens into $TMP/NAME.tokens and inserts their digests as access
# tokens of rs-id (bcrypt makes the password grant ~4/s/core, so issuing them over HTTP is no option).
seed_tokens() {
    python3 scripts/bench/mint_tokens.py "$2" "$TMP/$1.tokens" "$TMP/$1.csv" "${USER_IDS[@]}"
    load_token_hashes "$AUTH_DB" "$TMP/$1.csv" "$CLIENT_PK" "$(date +%s)"
}

# --- scenario helpers -------------------------------------------------------------------------------------------
# measured NAME: reads NAME's wrk numbers; a run without one successful request means something is broken.
measured() {
    wrk_numbers "$1"
    alive
    if ((W_requests - W_non2xx <= 0)); then
        log "ERROR: $1 had no successful request (requests $W_requests, non-2xx $W_non2xx):"
        cat "$TMP/$1.wrk" >&2
        FAILED=1
    fi
}
# against_ceiling NAME CEILING MIN_RATIO [P99_MAX_MS [NOTE]]: records NAME with its ratio to CEILING.
against_ceiling() {
    local r target condition
    r=$(ratio "$W_ok_rps" "$2")
    target="ratio>=$3" condition="\"$r\" != \"-\" && $r >= $3"
    if [[ -n ${4:-} ]]; then target+=", p99<${4}ms" condition+=" && $W_p99 < $4"; fi
    result "$1" "$r" "$target" "$(holds "$condition")" "${5:-}"
}
# metrics_off_twin NAME ON_RPS CEILING URL SCRIPT [VAR...]: NAME against the metrics-off twin, right after
# its twin with metrics on; the ratio is to the same ceiling, the note says what metrics cost.
metrics_off_twin() {
    local name=$1 on=$2 ceiling=$3 url=$4 script=$5 off
    shift 5
    run_wrk "$name" "$DURATION" "$url" "$script" "$@"
    measured "$name"
    off=$W_ok_rps
    result "$name" "$(ratio "$off" "$ceiling")" "metrics cost < 5%" "$(holds "$on >= 0.95 * $off")" \
        "metrics on/off = $(ratio "$on" "$off") (same ceiling, metrics on)"
}
# Request descriptions for static.lua.
rs_get=(BENCH_AUTHORIZATION="$BEARER")
introspect=(BENCH_METHOD=POST BENCH_CONTENT_TYPE="$FORM" BENCH_AUTHORIZATION="$BASIC" BENCH_BODY="token=$USER_TOKEN")
token_cc=(BENCH_METHOD=POST BENCH_CONTENT_TYPE="$FORM" BENCH_AUTHORIZATION="$BASIC" BENCH_BODY=grant_type=client_credentials)
token_cc_jwt=(BENCH_METHOD=POST BENCH_CONTENT_TYPE="$FORM" BENCH_AUTHORIZATION="$JWT_BASIC" BENCH_BODY=grant_type=client_credentials)
token_password=(BENCH_METHOD=POST BENCH_CONTENT_TYPE="$FORM" BENCH_AUTHORIZATION="$BASIC" BENCH_BODY="$password_form")
authorize=(BENCH_COOKIE="$SESSION_COOKIE")
code_exchange=(BENCH_AUTHORIZATION="$WEB_BASIC"
    BENCH_BODY="&redirect_uri=$(urlencode "$WEB_REDIRECT")&code_verifier=$PKCE_VERIFIER")

# --- ceilings ---------------------------------------------------------------------------------------------------
log "measuring: ${DURATION}s per scenario, $CONNECTIONS connections, $THREADS threads"
run_wrk ceiling_rs "$DURATION" "$RS_URL/health/live" static.lua
measured ceiling_rs
CEIL_RS=$W_ok_rps
result ceiling_rs 1.00 - - "resource-server GET /health/live"
run_wrk ceiling_as "$DURATION" "$AUTH_URL/health/live" static.lua
measured ceiling_as
CEIL_AS=$W_ok_rps
result ceiling_as 1.00 - - "auth-server GET /health/live"

# --- scenarios (small database) ---------------------------------------------------------------------------------
run_wrk rs_get_item "$DURATION" "$RS_URL/items/$ITEM_ID/" static.lua "${rs_get[@]}"
measured rs_get_item
SMALL_GET=$W_ok_rps
against_ceiling rs_get_item "$CEIL_RS" 0.40 5 "one cached user token"
metrics_off_twin rs_get_item_metrics_off "$SMALL_GET" "$CEIL_RS" "$OFF_RS_URL/items/$ITEM_ID/" static.lua "${rs_get[@]}"

run_wrk rs_list_items "$DURATION" "$RS_URL/items/" static.lua "${rs_get[@]}"
measured rs_list_items
against_ceiling rs_list_items "$CEIL_RS" 0.10 "" "100 items per page, cached token"

# Revocation latency: from the answer of POST /o/revoke_token/ to the resource server's first 401 for that
# token, which it had cached (one GET answered 200 just before): the revocation stream, not the TTL, must
# end it. On idle servers, then while wrk repeats rs_get_item's load. Each revocation uses up a token.
REVOCATIONS=$((SMOKE ? 20 : 250))
log "seeding 2 x $REVOCATIONS user tokens in SQL to revoke"
interruptible seed_tokens revoke_idle "$REVOCATIONS"
interruptible seed_tokens revoke_load "$REVOCATIONS"
# revocation_latency NAME TOKENS: revokes REVOCATIONS tokens of $TMP/TOKENS.tokens one by one; its numbers
# go to V_count, V_p50_ms, V_p99_ms, V_max_ms, V_timeouts, V_unexpected, V_polls_mean and V_secs.
# shellcheck disable=SC2034 # the V_* variables are this function's output
revocation_latency() {
    local line kv
    interruptible python3 scripts/bench/revocation_latency.py "$AUTH_URL" "$RS_URL" "/items/$ITEM_ID/" "$BASIC" \
        "$TMP/$2.tokens" "$REVOCATIONS" >"$TMP/$1.out" || die "$1: the measurement failed"
    line=$(grep '^REVOCATION ' "$TMP/$1.out") || die "$1 printed no result"
    for kv in ${line#REVOCATION }; do printf -v "V_${kv%%=*}" '%s' "${kv#*=}"; done
    alive
}
# revocation_result NAME [NOTE]: records NAME's V_* numbers (no req/s, ratio or non-2xx: not a wrk run).
revocation_result() {
    local note="$V_count revocations, cache warm, max $V_max_ms ms, mean $V_polls_mean GETs until the 401"
    if ((V_timeouts > 0)); then
        log "ERROR: $1: $V_timeouts revoked tokens were still accepted 10 s after their revocation"
        note+="; $V_timeouts still accepted 10 s after the revocation (counted as 10 s; run stopped)"
        FAILED=1
    fi
    [[ $V_unexpected == none ]] || note+="; unexpected answers while polling (status:count) $V_unexpected"
    W_rps=- W_p50=$V_p50_ms W_p99=$V_p99_ms W_non2xx=-
    result "$1" - "p99<=1000ms" "$(holds "$V_p99_ms <= 1000 && $V_timeouts == 0")" "$note${2:+; $2}"
}
revocation_latency revocation_latency revoke_idle
revocation_result revocation_latency "idle servers"

# The load is stopped (SIGINT: wrk then reports the time really spent) when the measurement ends; 300 s is
# only a bound should that never happen.
(run_wrk revocation_load 300 "$RS_URL/items/$ITEM_ID/" static.lua "${rs_get[@]}") &
load=$!
PIDS+=("$load")
sleep 1
load_wrk=$(pgrep -P "$load" wrk) || die "the background load (wrk) did not start"
PIDS+=("$load_wrk")
revocation_latency revocation_latency_under_load revoke_load
load_outlived=1
kill -INT "$load_wrk" 2>/dev/null || load_outlived=0
wait "$load" || die "the background load failed"
measured revocation_load
note="under rs_get_item's load ($CONNECTIONS connections): $W_ok_rps/s 2xx, $W_non2xx non-2xx"
((load_outlived)) || note+=" (the load ended BEFORE the measurement did)"
revocation_result revocation_latency_under_load "$note"

run_wrk as_introspect "$DURATION" "$AUTH_URL/o/introspect/" static.lua "${introspect[@]}"
measured as_introspect
SMALL_INTROSPECT=$W_ok_rps SMALL_INTROSPECT_P99=$W_p99
against_ceiling as_introspect "$CEIL_AS" 0.25 5 "client Basic auth, active user token"
metrics_off_twin as_introspect_metrics_off "$SMALL_INTROSPECT" "$CEIL_AS" "$OFF_AUTH_URL/o/introspect/" static.lua \
    "${introspect[@]}"

run_wrk as_token_cc "$DURATION" "$AUTH_URL/o/token/" static.lua "${token_cc[@]}"
measured as_token_cc
against_ceiling as_token_cc "$CEIL_AS" 0.10 "" "grant_type=client_credentials"

# Like rs-id's before as_token_cc: the client's secret is verified (bcrypt) once, then remembered.
curl -fsS -o /dev/null -H "Authorization: $JWT_BASIC" -d grant_type=client_credentials "$AUTH_URL/o/token/" ||
    die "the JWT client cannot get a token"
run_wrk as_token_cc_jwt "$DURATION" "$AUTH_URL/o/token/" static.lua "${token_cc_jwt[@]}"
measured as_token_cc_jwt
against_ceiling as_token_cc_jwt "$CEIL_AS" 0.08 "" "client_credentials, RFC 9068 JWT signed RS256"

# Browser sign-in. wrk counts 3xx as success, so the codes the server stored are counted: one per request.
codes_now() { sql "$AUTH_DB" "SELECT count(*) FROM authorization_codes"; }
codes_before=$(codes_now)
run_wrk as_authorize_remembered "$DURATION" "$AUTH_URL$AUTHORIZE_PATH" static.lua "${authorize[@]}"
measured as_authorize_remembered
issued=$(($(codes_now) - codes_before))
note="signed-in user, consent remembered, PKCE S256: a redirect with a new code each; $issued codes stored"
if ((issued < W_requests)); then
    log "ERROR: as_authorize_remembered: $W_requests answers but only $issued codes stored"
    note+=" for $W_requests answers (NOT every answer carried a code)"
    FAILED=1
fi
against_ceiling as_authorize_remembered "$CEIL_AS" 0.10 "" "$note"

# Every exchange needs an unused code, and codes live 60 s: mint a pool through the same GET just before.
run_wrk code_mint "$MINT_SECS" "$AUTH_URL$AUTHORIZE_PATH" code_mint.lua "${authorize[@]}" \
    BENCH_CODES_OUT="$TMP/mint"
wrk_numbers code_mint
alive
cat "$TMP"/mint.* >"$TMP/codes.tokens"
minted=$(wc -l <"$TMP/codes.tokens")
((minted >= W_requests && minted > 0)) ||
    die "minting codes: $W_requests answers to GET /o/authorize/ but $minted codes in them"
log "minted $minted codes in ${W_secs}s ($W_rps/s)"
run_wrk as_code_exchange "$EXCHANGE_SECS" "$AUTH_URL/o/token/" code_pool.lua "${code_exchange[@]}" \
    BENCH_TOKENS="$TMP/codes.tokens"
measured as_code_exchange
note="confidential client (secret remembered), PKCE S256, scope '$WEB_SCOPE': access, refresh and id_token"
note+=" (RS256); ${W_used:?} codes used of $minted minted through GET /o/authorize/ in the ${MINT_SECS}s before"
((W_used >= minted)) && note+="; pool used up after ${W_secs}s"
((EXCHANGE_SECS < DURATION)) && note+="; run for ${EXCHANGE_SECS}s, not ${DURATION}s (codes live 60 s)"
against_ceiling as_code_exchange "$CEIL_AS" 0.05 "" "$note"

# drain_bcrypt: waits until the password logins still queued for bcrypt (closed connections do not cancel
# them) are done, so they do not eat the CPU of the next scenario: one more login waits behind them all.
drain_bcrypt() {
    for _ in {1..60}; do
        interruptible curl -sS -o /dev/null -w '%{http_code}' --max-time 120 -H "Authorization: $BASIC" \
            -d "$password_form" "$AUTH_URL/o/token/" >"$TMP/drain.status" || true
        [[ $(<"$TMP/drain.status") == 200 ]] && return 0
        sleep 1 # 503: the queue is still full
    done
    die "the auth server's bcrypt queue did not drain"
}

# The password grant is bcrypt-bound by design: compare it with bcrypt alone at the same cost, same machine.
bcrypt_python() {
    local venv=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/auth-server-bench/venv}
    if "$venv/bin/python" -c 'import bcrypt' 2>/dev/null; then echo "$venv/bin/python"; return; fi
    log "installing pyca bcrypt from PyPI into $venv (kept for later runs)"
    if python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q bcrypt >&2; then echo "$venv/bin/python"; return; fi
    if python3 -c 'import bcrypt' 2>/dev/null; then echo python3; return; fi
    return 1
}
BCRYPT_RATE='' BCRYPT_HOW="no python bcrypt available"
if python=$(bcrypt_python) && interruptible "$python" scripts/bench/bcrypt_rate.py 12 \
    "$((DURATION < 3 ? 3 : DURATION))" "$(nproc)" >"$TMP/bcrypt.rate"; then
    read -r _ BCRYPT_RATE version <"$TMP/bcrypt.rate"
    BCRYPT_HOW="pyca bcrypt $version checkpw, cost 12, $(nproc) processes"
    log "bcrypt-only: $BCRYPT_RATE verifies/s ($BCRYPT_HOW)"
fi
run_wrk as_token_password "$DURATION" "$AUTH_URL/o/token/" static.lua "${token_password[@]}"
measured as_token_password
drain_bcrypt
if [[ -n $BCRYPT_RATE ]]; then
    vs=$(ratio "$W_ok_rps" "$BCRYPT_RATE")
    result as_token_password "$(ratio "$W_ok_rps" "$CEIL_AS")" ">=0.90 of bcrypt-only" "$(holds "$vs >= 0.90")" \
        "$vs of bcrypt-only $BCRYPT_RATE/s ($BCRYPT_HOW)"
else
    result as_token_password "$(ratio "$W_ok_rps" "$CEIL_AS")" ">=0.90 of bcrypt-only" n/a "$BCRYPT_HOW"
fi

run_wrk rs_create_item "$DURATION" "$RS_URL/items/" create_item.lua "${rs_get[@]}" BENCH_RUN_TAG="$RUN_TAG"
measured rs_create_item
against_ceiling rs_create_item "$CEIL_RS" 0.05 "" "unique names per request"

# Introspection while another wrk floods the password grant (started 1 s earlier, ends 1 s later).
(run_wrk password_flood "$((DURATION + 2))" "$AUTH_URL/o/token/" static.lua "${token_password[@]}") &
flood=$!
PIDS+=("$flood")
sleep 1
run_wrk as_introspect_under_password_flood "$DURATION" "$AUTH_URL/o/introspect/" static.lua "${introspect[@]}"
wait "$flood" || die "the password flood failed"
drain_bcrypt
measured password_flood
flood_note="password flood $W_ok_rps/s ok, $W_non2xx non-2xx"
measured as_introspect_under_password_flood
vs=$(ratio "$W_ok_rps" "$SMALL_INTROSPECT")
result as_introspect_under_password_flood "$(ratio "$W_ok_rps" "$CEIL_AS")" ">=0.30 of solo introspect, p99<50ms" \
    "$(holds "$vs >= 0.30 && $W_p99 < 50")" "$vs of solo introspect; $flood_note"

# The password grant of rs-id on LOGIN_CONNECTIONS connections, alone and then while FLOOD_CONNECTIONS send
# password grants in the name of unknown clients (started 1 s earlier, ending 1 s later; unknown_client.lua).
# Those must never take the legitimate logins' bcrypt capacity: their answers (401) are the flood's, not
# errors of the scenario.
login_threads=$((THREADS < LOGIN_CONNECTIONS ? THREADS : LOGIN_CONNECTIONS))
flood_threads=$((THREADS < FLOOD_CONNECTIONS ? THREADS : FLOOD_CONNECTIONS))
THREADS=$login_threads CONNECTIONS=$LOGIN_CONNECTIONS \
    run_wrk as_password_login_solo "$DURATION" "$AUTH_URL/o/token/" static.lua "${token_password[@]}"
measured as_password_login_solo
drain_bcrypt
LOGIN_SOLO=$W_ok_rps
result as_password_login_solo "$(ratio "$W_ok_rps" "$CEIL_AS")" - - \
    "rs-id's password grant on $LOGIN_CONNECTIONS connections: password_flood_unknown_client's baseline"
(THREADS=$flood_threads CONNECTIONS=$FLOOD_CONNECTIONS run_wrk unknown_client_flood "$((DURATION + 2))" \
    "$AUTH_URL/o/token/" unknown_client.lua BENCH_BODY="$unknown_client_form") &
flood=$!
PIDS+=("$flood")
sleep 1
THREADS=$login_threads CONNECTIONS=$LOGIN_CONNECTIONS \
    run_wrk password_flood_unknown_client "$DURATION" "$AUTH_URL/o/token/" static.lua "${token_password[@]}"
wait "$flood" || die "the unknown-client flood failed"
drain_bcrypt
wrk_numbers unknown_client_flood
alive
flood_note="flood of $FLOOD_CONNECTIONS connections: $W_rps/s answered, ${W_used:?} of $W_requests with 401"
flood_note+=" (expected), $((W_non2xx - W_used)) other non-2xx, $((W_requests - W_non2xx)) 2xx/3xx"
if ((W_requests == 0)); then
    log "ERROR: the unknown-client flood got no answer at all:"
    cat "$TMP/unknown_client_flood.wrk" >&2
    FAILED=1
elif ((W_requests > W_non2xx)); then
    log "ERROR: $((W_requests - W_non2xx)) password grants in the name of unknown clients were answered 2xx/3xx"
    FAILED=1
fi
measured password_flood_unknown_client
vs=$(ratio "$W_ok_rps" "$LOGIN_SOLO")
result password_flood_unknown_client "$vs" "ratio>=0.50 of solo login" "$(holds "\"$vs\" != \"-\" && $vs >= 0.50")" \
    "ratio of as_password_login_solo's $LOGIN_SOLO/s (not of the ceiling); $flood_note"

# First sightings last: their pool of seeded tokens would otherwise make the small database bigger.
log "seeding $FIRST_SEEN_POOL never-seen user tokens in SQL"
interruptible seed_tokens first_seen "$FIRST_SEEN_POOL"
run_wrk rs_first_seen "$DURATION" "$RS_URL/items/$ITEM_ID/" token_pool.lua BENCH_TOKENS="$TMP/first_seen.tokens"
measured rs_first_seen
note="${W_used:?} distinct tokens used of $FIRST_SEEN_POOL seeded in SQL (not issued over HTTP)"
((W_used >= FIRST_SEEN_POOL)) && note+="; pool used up after ${W_secs}s"
against_ceiling rs_first_seen "$CEIL_RS" 0.05 "" "$note"

log "minting $FIRST_SEEN_JWT_POOL never-seen JWT access tokens with the auth server's key"
mapfile -t SUBJECTS < <(sql "$AUTH_DB" "SELECT subject FROM users ORDER BY id")
interruptible env AUTH_SERVER__DATABASE__URL="$AUTH_DB_URL" RUST_LOG=warn target/release/mint_access_jwts \
    "$AUTH_URL" "$JWT_ID" "$FIRST_SEEN_JWT_POOL" "$TMP/first_seen_jwt.tokens" "${SUBJECTS[@]}" ||
    die "minting JWTs failed"
run_wrk rs_first_seen_jwt "$DURATION" "$RS_URL/items/$ITEM_ID/" token_pool.lua BENCH_TOKENS="$TMP/first_seen_jwt.tokens"
measured rs_first_seen_jwt
note="${W_used:?} distinct JWTs used of $FIRST_SEEN_JWT_POOL, verified locally (no introspection)"
((W_used >= FIRST_SEEN_JWT_POOL)) && note+="; pool used up after ${W_secs}s"
against_ceiling rs_first_seen_jwt "$CEIL_RS" 0.30 "" "$note"

# --- memory with many cached tokens -----------------------------------------------------------------------------
log "seeding $RSS_TOKENS tokens and sending each once to the resource-server"
interruptible seed_tokens rss "$RSS_TOKENS"
run_wrk rs_rss_cached_tokens "$RSS_CAP_SECS" "$RS_URL/items/$ITEM_ID/" token_pool.lua \
    BENCH_TOKENS="$TMP/rss.tokens" BENCH_DRAIN_SECS=2
measured rs_rss_cached_tokens
sleep 1
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$RS_PID/status")
rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
if ((W_used < RSS_TOKENS || W_non2xx > 0 || ${W_socket_errors:?} > 0)); then
    log "ERROR: of $RSS_TOKENS tokens $W_used were sent, with $W_non2xx non-2xx and $W_socket_errors socket errors"
    FAILED=1
fi
W_rps=- W_p50=- W_p99=- # the warm-up's own speed is not the point (it ends with 2 s of repeats)
result rs_rss_cached_tokens - "VmRSS<150MB" "$(holds "$rss_mb < 150")" \
    "VmRSS $rss_mb MB after $W_used distinct tokens, all answered 2xx (before any scenario: $((RSS_BASELINE_KB / 1024)) MB; cache max_entries 100000)"

# --- the same scenarios on a big database -----------------------------------------------------------------------
items_now=$(sql "$RS_DB" "SELECT count(*) FROM items")
tokens_now=$(sql "$AUTH_DB" "SELECT count(*) FROM access_tokens")
if ((SMOKE)); then add_items=$BIG_ROWS add_tokens=$BIG_ROWS; else
    add_items=$((BIG_ROWS > items_now ? BIG_ROWS - items_now : 0))
    add_tokens=$((BIG_ROWS > tokens_now ? BIG_ROWS - tokens_now : 0))
fi
log "seeding $add_items items and $add_tokens tokens in SQL"
interruptible seed_filler_items "$RS_DB" "$add_items" "$RS_USER_ID" "$(date +%s)"
interruptible seed_filler_tokens "$AUTH_DB" "$add_tokens" "$CLIENT_PK" "${USER_IDS[0]}" "$(date +%s)"
big="$((items_now + add_items)) items, $((tokens_now + add_tokens)) tokens"

run_wrk rs_get_item_big_db "$DURATION" "$RS_URL/items/$ITEM_ID/" static.lua "${rs_get[@]}"
measured rs_get_item_big_db
vs=$(ratio "$W_ok_rps" "$SMALL_GET")
result rs_get_item_big_db "$(ratio "$W_ok_rps" "$CEIL_RS")" "within 25% of small db" "$(holds "$vs >= 0.75")" \
    "$vs of small db; $big"
run_wrk as_introspect_big_db "$DURATION" "$AUTH_URL/o/introspect/" static.lua "${introspect[@]}"
measured as_introspect_big_db
vs=$(ratio "$W_ok_rps" "$SMALL_INTROSPECT")
result as_introspect_big_db "$(ratio "$W_ok_rps" "$CEIL_AS")" "within 25% of small db" "$(holds "$vs >= 0.75")" \
    "$vs of small db (p99 there ${SMALL_INTROSPECT_P99} ms); $big"

# --- report -----------------------------------------------------------------------------------------------------
echo
echo "database: $DB_LABEL; wrk $THREADS threads, $CONNECTIONS connections, ${DURATION}s; ratio = 2xx req/s / ceiling"
echo "(as_password_login_solo and password_flood_unknown_client: $LOGIN_CONNECTIONS connections, the flood"
echo " $FLOOD_CONNECTIONS; password_flood_unknown_client's ratio = 2xx req/s / as_password_login_solo's)"
print_table
[[ -z $OUT ]] || { write_markdown "$OUT"; log "wrote $OUT"; }
echo "bench: $SCENARIOS_RUN scenarios run"
exit "$FAILED"
