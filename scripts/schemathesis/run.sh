#!/usr/bin/env bash
# Schemathesis against both servers' OpenAPI documents (GET /openapi.json), for CI.
#
# What a green run proves, for every operation of the auth server and of the resource server (but
# GET /o/revocations/: an event stream that stays open by design, which a request/response fuzzer can only
# time out on; its authentication and errors are covered by auth-server/tests/api/revocation_events.rs):
#   * no generated request, valid or not, gets a 5xx (not_a_server_error);
#   * every status, Content-Type, header and JSON body answered is one the document declares
#     (status_code_conformance, content_type_conformance, response_headers_conformance,
#     response_schema_conformance);
#   * requests the document calls valid are accepted, and requests it calls invalid are refused
#     (positive_data_acceptance, negative_data_rejection): the document's schemas are the servers' rules;
#   * authentication is enforced where it is declared (ignored_auth, missing_required_header), undeclared
#     methods answer 405 with a truthful Allow header (unsupported_method, allow_header_conformance), and,
#     through the links schemathesis infers (stateful phase), a created item can be fetched and a deleted
#     one cannot (ensure_resource_availability, use_after_free).
# Every check is enabled (--checks all) and every phase (examples, coverage, fuzzing, stateful), in both
# generation modes (--mode all). Each server's run is bounded by STH_MAX_TIME seconds.
# Authentication per operation comes from hooks.py beside this file (read its header).
#
# Usage:
#   scripts/schemathesis/run.sh                         # builds both release binaries with cargo
#   scripts/schemathesis/run.sh AUTH_BIN RESOURCE_BIN   # or tests these binaries
# Environment (all optional):
#   STH_MAX_TIME=150      seconds per server (fuzzing and stateful testing repeat until it is spent)
#   STH_MAX_EXAMPLES=50   test cases per operation and phase
#   STH_SEED=20261127     hypothesis seed (a fixed seed makes the generated data reproducible)
#   STH_WORKERS=1         concurrent schemathesis workers (more than one can hit a CPython 3.11 bug:
#                         "SystemError: AST constructor recursion depth mismatch" in concurrent ast.parse)
#   STH_SERVERS="auth resource"   which documents to test
#   STH_STRICT=1          keep every failure: turns off the filter_failure exemptions of hooks.py (checks
#                         that cannot apply, each with its reason, listed in its header)
#   STH_VENV=target/schemathesis/venv        where schemathesis is installed if missing
#   STH_REPORT_DIR=target/schemathesis/report  JUnit + NDJSON reports, server logs, console output
#   STH_EXTRA_ARGS="..."  more `schemathesis run` options (word-split)
#
# Needs: bash, curl, python3 (3.10+, with venv; on Debian, python3-venv is installed with apt-get when
# missing), PyPI to install schemathesis the first time, and cargo unless both binaries are given.
# Starts its own servers: SQLite in a temporary folder, free loopback ports, bcrypt cost 4, the tutorial's
# client rs-id/rs-secret and a browser sign-in client sth-web (authorization code, OpenID Connect). Runs as
# root in CI or as any user. Exits 0 only when every server's run passed; the last line is
# "N passed, M failed" (servers).
set -euo pipefail
# Binaries given on the command line are taken relative to the caller's directory.
bins=()
for bin in "$@"; do bins+=("$(realpath "$bin")"); done
cd "$(dirname "$0")/../.."
root=$PWD
here=$root/scripts/schemathesis

SCHEMATHESIS_VERSION=4.32.5
STH_MAX_TIME=${STH_MAX_TIME:-150}
STH_MAX_EXAMPLES=${STH_MAX_EXAMPLES:-50}
STH_SEED=${STH_SEED:-20261127}
STH_WORKERS=${STH_WORKERS:-1}
STH_SERVERS=${STH_SERVERS:-auth resource}
STH_VENV=${STH_VENV:-$root/target/schemathesis/venv}
STH_REPORT_DIR=${STH_REPORT_DIR:-$root/target/schemathesis/report}
READY_TIMEOUT=${READY_TIMEOUT:-60}

work=$(mktemp -d)
pids=()
passed=0 failed=0

cleanup() {
    local status=$?
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    # The server logs are kept with the reports: a failure's server-side cause (a 500's chain) is there.
    cp "$work"/*.log "$STH_REPORT_DIR"/ 2>/dev/null || true
    rm -rf "$work"
    if ((failed > 0 && status == 0)); then status=1; fi
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$STH_REPORT_DIR"
STH_REPORT_DIR=$(realpath "$STH_REPORT_DIR")
STH_VENV=$(realpath -m "$STH_VENV")

# 1. The binaries, copied to a private folder (a concurrent `cargo build` may replace target/release).
if ((${#bins[@]} == 2)); then
    auth_src=${bins[0]} rs_src=${bins[1]}
elif ((${#bins[@]} == 0)); then
    echo "== cargo build --release (auth-server, resource-server)"
    cargo build --release --locked --bin auth-server --bin resource-server
    auth_src=$root/target/release/auth-server rs_src=$root/target/release/resource-server
else
    echo "usage: $0 [AUTH_SERVER_BIN RESOURCE_SERVER_BIN]" >&2
    exit 2
fi
mkdir -p "$work/bin"
cp "$auth_src" "$work/bin/auth-server"
cp "$rs_src" "$work/bin/resource-server"

# 2. Schemathesis, pinned, in its own venv.
if ! "$STH_VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    echo "== installing schemathesis $SCHEMATHESIS_VERSION into $STH_VENV"
    if ! python3 -m venv --clear "$STH_VENV" >/dev/null 2>&1; then
        # Debian's python3 ships venv without ensurepip until python3-venv is installed.
        sudo=""
        ((EUID == 0)) || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv --clear "$STH_VENV"
    fi
    "$STH_VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$STH_VENV/bin/schemathesis" --version

# 3. Both servers on SQLite, free ports, with only the variables given here (plus PATH and HOME). Every
# request comes from 127.0.0.1: the per-IP rate limits are off, or schemathesis would mostly meet 429s; the
# account lockout too (lockout.max_failures=0): generated wrong passwords would lock the hooks' real user, whose
# valid requests would then be refused.
read -r auth_port rs_port < <(python3 -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
auth_url=http://127.0.0.1:$auth_port
rs_url=http://127.0.0.1:$rs_port

start() { # start NAME VAR=VALUE...
    local name=$1
    shift
    (cd "$work" && exec env -i PATH="$PATH" HOME="${HOME:-/root}" RUST_LOG=info "$@" "$work/bin/$name") \
        >"$work/$name.log" 2>&1 &
    pids+=($!)
}
ready() { # ready URL LOG: bounded wait for 200 from URL, showing the log when it never comes
    local deadline=$((SECONDS + READY_TIMEOUT)) pid=${pids[-1]}
    until curl -fs -o /dev/null "$1"; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "not ready: $1" >&2
            tail -n 30 "$2" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The browser sign-in client the hooks sign in with (hooks.py, sections 1 and 2): a first-party client
# (skip_consent: the login form answers with the code), exactly one redirect URI (so redirect_uri may be
# left out, RFC 6749 §3.1.2.3), PKCE allowed but not required (a token request without code_verifier is
# valid by the document when the code had no challenge; the hooks mint such a code for it). The URIs are
# on the loopback's discard port: nothing follows the redirects (neither schemathesis nor the hooks).
web_id=sth-web web_secret=sth-web-secret
web_redirect=http://127.0.0.1:9/sth/callback web_signed_out=http://127.0.0.1:9/sth/signed-out

echo "== auth-server on $auth_url, resource-server on $rs_url (SQLite in $work)"
start auth-server \
    AUTH_SERVER__HTTP__PORT="$auth_port" \
    AUTH_SERVER__DATABASE__URL="sqlite://$work/auth.sqlite3" \
    AUTH_SERVER__SECURITY__BCRYPT_COST=4 \
    AUTH_SERVER__RATE_LIMIT__ENABLED=false \
    AUTH_SERVER__LOCKOUT__MAX_FAILURES=0 \
    AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID=rs-id \
    AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET=rs-secret \
    AUTH_SERVER__CLIENTS__TUTORIAL__GRANT_TYPES=password,refresh_token,client_credentials \
    AUTH_SERVER__CLIENTS__TUTORIAL__SCOPES=read,write,introspection \
    AUTH_SERVER__RESOURCES__STH__IDENTIFIER=https://sth.example.com/api \
    AUTH_SERVER__RESOURCES__STH__SCOPES=read,write,introspection,openid,email,profile \
    AUTH_SERVER__CLIENTS__STH__CLIENT_ID="$web_id" \
    AUTH_SERVER__CLIENTS__STH__CLIENT_SECRET="$web_secret" \
    AUTH_SERVER__CLIENTS__STH__NAME="Schemathesis web app" \
    AUTH_SERVER__CLIENTS__STH__GRANT_TYPES=authorization_code,refresh_token \
    AUTH_SERVER__CLIENTS__STH__SCOPES=openid,email,profile,read,write \
    AUTH_SERVER__CLIENTS__STH__REDIRECT_URIS="$web_redirect" \
    AUTH_SERVER__CLIENTS__STH__POST_LOGOUT_REDIRECT_URIS="$web_signed_out" \
    AUTH_SERVER__CLIENTS__STH__ALLOWED_ORIGINS=http://127.0.0.1:9 \
    AUTH_SERVER__CLIENTS__STH__SKIP_CONSENT=true \
    AUTH_SERVER__CLIENTS__STH__ALLOW_NO_PKCE=true
ready "$auth_url/health/ready" "$work/auth-server.log"
start resource-server \
    RESOURCE_SERVER__HTTP__PORT="$rs_port" \
    RESOURCE_SERVER__DATABASE__URL="sqlite://$work/rs.sqlite3" \
    RESOURCE_SERVER__AUTH__BASE_URL="$auth_url" \
    RESOURCE_SERVER__AUTH__CLIENT_ID=rs-id \
    RESOURCE_SERVER__AUTH__CLIENT_SECRET=rs-secret \
    RESOURCE_SERVER__RATE_LIMIT__ENABLED=false
ready "$rs_url/health/ready" "$work/resource-server.log"

# 4. Schemathesis, one document at a time.
export SCHEMATHESIS_HOOKS=$here/hooks.py STH_AUTH_URL=$auth_url STH_CLIENT_ID=rs-id STH_CLIENT_SECRET=rs-secret
export STH_WEB_CLIENT_ID=$web_id STH_WEB_CLIENT_SECRET=$web_secret STH_WEB_REDIRECT_URI=$web_redirect
export STH_WEB_POST_LOGOUT_REDIRECT_URI=$web_signed_out
export STH_STRICT=${STH_STRICT:-0}
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ beside hooks.py in the work tree
# shellcheck disable=SC2206 # word-splitting is the point
extra=(${STH_EXTRA_ARGS:-})

for server in $STH_SERVERS; do
    case $server in
        auth) url=$auth_url ;;
        resource) url=$rs_url ;;
        *) echo "unknown server $server (auth, resource)" >&2; exit 2 ;;
    esac
    echo "== schemathesis: $server server ($url/openapi.json), at most ${STH_MAX_TIME}s"
    # --generation-database none: no examples carried over from an earlier run, so a run depends only on
    # the seed. --output-sanitize false: the tokens and passwords shown are this run's throwaway ones, and a
    # reproduction needs them. --continue-on-failure: every distinct failure, not the first per operation.
    cmd=("$STH_VENV/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$url/openapi.json"
        --checks all --mode all --phases examples,coverage,fuzzing,stateful
        --max-examples "$STH_MAX_EXAMPLES" --max-time "$STH_MAX_TIME" --seed "$STH_SEED"
        --workers "$STH_WORKERS" --generation-database none --continue-on-failure
        --suppress-health-check too_slow,filter_too_much
        --request-timeout 30 --output-sanitize false --no-color
        --report junit,ndjson --report-dir "$STH_REPORT_DIR"
        --report-junit-path "$STH_REPORT_DIR/$server-junit.xml"
        --report-ndjson-path "$STH_REPORT_DIR/$server.ndjson"
        --exclude-path /o/revocations/
        "${extra[@]}")
    echo "${cmd[*]}"
    rm -f "$STH_REPORT_DIR/$server"-* "$STH_REPORT_DIR/$server.ndjson"
    start_time=$SECONDS
    status=0
    # From the report folder: whatever schemathesis writes beside it stays out of the work tree.
    (cd "$STH_REPORT_DIR" && "${cmd[@]}") >"$STH_REPORT_DIR/$server-console.txt" 2>&1 || status=$?
    elapsed=$((SECONDS - start_time))
    # The console shows one example per operation, check and message; the summary lists every distinct
    # failure in the NDJSON report (grouped by operation, check, status and the server's complaint), each
    # with the smallest failing request as curl.
    echo "== $server server: distinct failures (console: $STH_REPORT_DIR/$server-console.txt)"
    python3 "$here/summarize.py" "$STH_REPORT_DIR/$server.ndjson" | tee "$STH_REPORT_DIR/$server-summary.txt" || true
    sed -n '/= SUMMARY =/,$p' "$STH_REPORT_DIR/$server-console.txt"
    if ((status == 0)); then
        passed=$((passed + 1))
        echo "PASS schemathesis $server server (${elapsed}s)"
    else
        failed=$((failed + 1))
        echo "FAIL schemathesis $server server (${elapsed}s, exit $status)"
    fi
done
