#!/usr/bin/env bash
# Interoperability test, for CI: the resource server against the tutorial's own authorization server, Django
# OAuth Toolkit ("DOT"; pinned with Django in requirements.txt, installed into a venv under target/).
#
# The DOT server is the minimal Django project beside this script (settings.py, urls.py, manage.py): the
# oauth2_provider app under o/, the tutorial's scopes read, write and introspection, SQLite in a temp dir.
# It holds two users, alice and bob, and the tutorial's confidential application rs-id (password grant), whose
# credentials the resource server uses both for its /users/token/ proxies and, as the tutorial's
# RESOURCE_SERVER_INTROSPECTION_CREDENTIALS, for introspection (HTTP Basic). DOT's introspection answer names
# the user by `username` only, with no `sub`: the resource server must mirror such a user (keyed by issuer +
# username) and show the username as the owner. Nothing is stubbed: every token, introspection and revocation
# answer is DOT's. Then a second, shorter round: the resource server introspects with a static bearer token
# holding the introspection scope (DOT's RESOURCE_SERVER_AUTH_TOKEN; from a client_credentials application),
# with a wrong client secret so that only the bearer token can be what DOT accepts.
# One "ok - <check>" / "not ok - <check>: <why>" line per check, then "N passed, M failed"; exits non-zero on
# any failure (with the tail of both servers' logs).
#
# Needs: python3 (3.11; with venv and pip) and curl. The venv is made once per requirements.txt
# (target/interop-dot-venv, or $DOT_VENV); the first run downloads the packages from PyPI.
#
# Usage: scripts/interop/django-oauth-toolkit/run.sh [RESOURCE_SERVER_BINARY]   (default target/release/resource-server)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rs_bin=${1:-}
[[ -z $rs_bin || ! -e $rs_bin ]] || rs_bin=$(realpath "$rs_bin")   # a path relative to the caller's directory
cd "$here/../../.."
root=$PWD

READY_TIMEOUT=${READY_TIMEOUT:-20}          # seconds for a server to answer
REVOKE_TIMEOUT=${REVOKE_TIMEOUT:-10}        # seconds for a revoked token to be refused
INTEROP_LOGS=${INTEROP_LOGS:-}              # a folder: both servers' logs are copied there at the end
VENV=${DOT_VENV:-$root/target/interop-dot-venv}
PYTHON=${PYTHON:-python3}

rs_bin=${rs_bin:-target/release/resource-server}
[[ -x $rs_bin ]] || { echo "not an executable: $rs_bin" >&2; exit 1; }
rs_bin=$(realpath "$rs_bin")

# --- The venv: made again whenever requirements.txt changes ------------------------------------------------
want=$(sha256sum "$here/requirements.txt" | cut -d ' ' -f 1)
if [[ ! -x $VENV/bin/python || $(cat "$VENV/.requirements.sha256" 2>/dev/null) != "$want" ]]; then
    echo "== pip install -r scripts/interop/django-oauth-toolkit/requirements.txt into ${VENV#"$root"/}"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$here/requirements.txt"
    echo "$want" >"$VENV/.requirements.sha256"
fi
py=$VENV/bin/python
echo "$("$py" -c 'import platform, importlib.metadata as m
print(", ".join([f"python: {platform.python_version()}"] + [f"{p}: {m.version(p)}" for p in ("Django", "django-oauth-toolkit", "oauthlib")]))')"
echo "resource server: $rs_bin"

tmp=$(mktemp -d)
dot_pid="" rs_pid=""
# shellcheck source=../lib.sh
source "$here/../lib.sh"
cleanup() {
    local status=$?
    stop "$rs_pid"
    stop "$dot_pid"
    if [[ -n $INTEROP_LOGS ]]; then mkdir -p "$INTEROP_LOGS" && cp "$tmp"/*.log "$INTEROP_LOGS"/ 2>/dev/null || true; fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

logs() { # the tail of both servers' logs
    for f in "$tmp"/dot.log "$tmp"/rs-*.log; do
        [[ -s $f ]] || continue
        echo "    --- tail of ${f##*/}"
        tail -n 30 "$f" | sed 's/^/    /'
    done
}
finish() {
    ((failed == 0)) || logs
    echo "$passed passed, $failed failed"
    if ((failed == 0)); then exit 0; fi
    exit 1
}

# call METHOD URL [CURL ARGS...]: sets $code; the body in $tmp/body, the headers in $tmp/headers.
call() {
    local method=$1 url=$2
    shift 2
    code=$(curl -sS --max-time 15 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$method" "$url" "$@" \
        2>"$tmp/curl.err") || code=000
}
json_call() { # METHOD URL JSON [CURL ARGS...]
    local method=$1 url=$2 data=$3
    shift 3
    call "$method" "$url" -H 'Content-Type: application/json' --data "$data" "$@"
}
# field FILE KEY...: the value at that path of the JSON in FILE (objects and lists as JSON); empty if absent.
field() {
    "$py" - "$@" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
except Exception:
    sys.exit()
for k in sys.argv[2:]:
    if isinstance(v, dict):
        v = v.get(k)
    elif isinstance(v, list) and k.isdigit() and int(k) < len(v):
        v = v[int(k)]
    else:
        v = None
print("" if v is None else json.dumps(v) if isinstance(v, (dict, list, bool)) else v)
PY
}
has_key() { # FILE KEY: is KEY a key of the JSON object in FILE?
    "$py" -c 'import json, sys
try: d = json.load(open(sys.argv[1]))
except Exception: sys.exit(2)
sys.exit(0 if isinstance(d, dict) and sys.argv[2] in d else 1)' "$1" "$2"
}
is_json() { "$py" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }
body() { head -c 300 "$tmp/body" 2>/dev/null | tr '\n' ' '; }
header() { # NAME: the value of that header of the last answer
    grep -i "^$1:" "$tmp/headers" | head -n 1 | cut -d ' ' -f 2- | tr -d '\r'
}
got() { echo "HTTP $code $(body)"; }

# until_up URL PID SECONDS: polls URL until it answers 200; 1 if PID exits or the time runs out.
until_up() {
    local url=$1 pid=$2 deadline=$((SECONDS + $3))
    until curl -fs -o /dev/null --max-time 2 "$url"; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then return 1; fi
        sleep 0.2
    done
}
free_ports() { # N free ports on 127.0.0.1
    "$py" -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
}

# --- The DOT server ----------------------------------------------------------------------------------------
CLIENT_ID=rs-id
CLIENT_SECRET=rs-secret-$RANDOM$RANDOM
INTROSPECTOR_ID=rs-introspector
INTROSPECTOR_SECRET=rs-introspector-secret-$RANDOM$RANDOM
ALICE_PASSWORD=alice-pw-$RANDOM$RANDOM
BOB_PASSWORD=bob-pw-$RANDOM$RANDOM

read -r dot_port rs_port rs2_port < <(free_ports 3)
dot=http://127.0.0.1:$dot_port
dot_env=(env -i PATH="$PATH" HOME="$HOME" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
    DJANGO_SETTINGS_MODULE=settings DOT_DB_DIR="$tmp")
echo "== DOT at $dot (SQLite in a temp dir)"

if ! (cd "$here" && "${dot_env[@]}" "$py" manage.py migrate --no-input -v 0) >"$tmp/dot-setup.log" 2>&1; then
    fail "manage.py migrate"; sed 's/^/    /' "$tmp/dot-setup.log" | tail -n 30; finish
fi
# The users and the applications (a confidential client's secret is stored hashed: given here in clear).
if (cd "$here" && "${dot_env[@]}" CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" \
    INTROSPECTOR_ID="$INTROSPECTOR_ID" INTROSPECTOR_SECRET="$INTROSPECTOR_SECRET" \
    ALICE_PASSWORD="$ALICE_PASSWORD" BOB_PASSWORD="$BOB_PASSWORD" "$py" manage.py shell -v 0 -c '
import os
from django.contrib.auth import get_user_model
from oauth2_provider.models import Application

User = get_user_model()
User.objects.create_user("alice", password=os.environ["ALICE_PASSWORD"])
User.objects.create_user("bob", password=os.environ["BOB_PASSWORD"])
Application.objects.create(
    name="resource server", client_id=os.environ["CLIENT_ID"], client_secret=os.environ["CLIENT_SECRET"],
    client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_PASSWORD)
Application.objects.create(
    name="introspector", client_id=os.environ["INTROSPECTOR_ID"], client_secret=os.environ["INTROSPECTOR_SECRET"],
    client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS)
') >>"$tmp/dot-setup.log" 2>&1; then
    pass "DOT: migrated; users alice and bob, application $CLIENT_ID (confidential, password grant) created"
else
    fail "DOT: users and applications created"; sed 's/^/    /' "$tmp/dot-setup.log" | tail -n 30; finish
fi

(cd "$here" && exec "${dot_env[@]}" "$py" manage.py runserver "127.0.0.1:$dot_port" --noreload) >"$tmp/dot.log" 2>&1 &
dot_pid=$!
if until_up "$dot/health/" "$dot_pid" "$READY_TIMEOUT"; then
    pass "DOT answers GET /health/ at $dot"
else
    fail "DOT answers GET /health/ at $dot: $(kill -0 "$dot_pid" 2>/dev/null && echo "not after ${READY_TIMEOUT}s" || echo "it exited")"
    finish
fi

# dot_token FILE FORM...: a token straight from DOT's token endpoint as rs-id (HTTP Basic).
dot_token() {
    local out=$1
    shift
    call POST "$dot/o/token/" -u "$CLIENT_ID:$CLIENT_SECRET" "$@"
    cp "$tmp/body" "$out"
}

# DOT's own introspection answer, for the record: `username`, no `sub`.
dot_token "$tmp/direct.json" -d grant_type=password -d username=alice --data-urlencode "password=$ALICE_PASSWORD" -d 'scope=read write'
direct=$(field "$tmp/direct.json" access_token)
call POST "$dot/o/introspect/" -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode "token=$direct"
echo "# DOT's introspection answer for alice's token (HTTP Basic as $CLIENT_ID): $(cat "$tmp/body")"
if [[ $code == 200 && $(field "$tmp/body" active) == true && $(field "$tmp/body" username) == alice ]] &&
    ! has_key "$tmp/body" sub; then
    pass "DOT's introspection answer names the user by username only (username alice, no sub)"
else
    fail "DOT's introspection answer names the user by username only: $(got)"
fi

# --- The resource server -----------------------------------------------------------------------------------
start_rs() { # LABEL PORT VAR=VALUE...: exactly these variables (none of the caller's RESOURCE_SERVER__*)
    # (no per-IP rate limit on the account proxies: every request here comes from 127.0.0.1)
    local label=$1 port=$2
    shift 2
    (cd "$tmp" && exec env -i PATH="$PATH" HOME="$HOME" RUST_LOG="${RUST_LOG:-info}" \
        RESOURCE_SERVER__HTTP__HOST=127.0.0.1 \
        RESOURCE_SERVER__HTTP__PORT="$port" \
        RESOURCE_SERVER__DATABASE__URL="sqlite://$tmp/rs-$label.sqlite3" \
        RESOURCE_SERVER__AUTH__BASE_URL="$dot" \
        RESOURCE_SERVER__AUTH__INTROSPECTION_URL="$dot/o/introspect/" \
        RESOURCE_SERVER__AUTH__TOKEN_URL="$dot/o/token/" \
        RESOURCE_SERVER__AUTH__HEALTH_URL="$dot/health/" \
        RESOURCE_SERVER__AUTH__CLIENT_ID="$CLIENT_ID" \
        RESOURCE_SERVER__CACHE__TTL_SECS=1 \
        RESOURCE_SERVER__CACHE__STALE_GRACE_SECS=0 \
        RESOURCE_SERVER__RATE_LIMIT__ENABLED=false \
        "$@" "$rs_bin") >"$tmp/rs-$label.log" 2>&1 &
    rs_pid=$!
    rs=http://127.0.0.1:$port
    if until_up "$rs/health/live" "$rs_pid" "$READY_TIMEOUT"; then
        pass "[$label] the resource server answers GET /health/live at $rs"
    else
        fail "[$label] the resource server answers GET /health/live at $rs: $(kill -0 "$rs_pid" 2>/dev/null && echo "not after ${READY_TIMEOUT}s" || echo "it exited")"
        return 1
    fi
    call GET "$rs/health/ready"
    if [[ $code == 200 ]]; then
        pass "[$label] GET /health/ready: 200 (DOT's /health/ as auth.health_url)"
    else
        fail "[$label] GET /health/ready: 200: $(got)"
    fi
}
rs_alive() { # LABEL
    if ! kill -0 "$rs_pid" 2>/dev/null; then fail "[$1] the resource server kept running through the checks: it exited"; fi
    if grep -q 'panicked' "$tmp/rs-$1.log"; then fail "[$1] no panic in the resource server's log"; fi
}

echo "== basic: introspection with rs-id's credentials (the tutorial's RESOURCE_SERVER_INTROSPECTION_CREDENTIALS)"
if ! start_rs basic "$rs_port" RESOURCE_SERVER__AUTH__CLIENT_SECRET="$CLIENT_SECRET"; then finish; fi

# 1. The token proxies.
json_call POST "$rs/users/token/" "{\"email\": \"alice\", \"password\": \"$ALICE_PASSWORD\"}"
cp "$tmp/body" "$tmp/alice-login.json"
if [[ $code == 200 && -n $(field "$tmp/body" access_token) && -n $(field "$tmp/body" refresh_token) ]]; then
    pass "POST /users/token/ {alice}: 200 with access_token and refresh_token from DOT's password grant (scope \"$(field "$tmp/body" scope)\")"
else
    fail "POST /users/token/ {alice}: 200 with access_token and refresh_token: $(got)"
fi
json_call POST "$rs/users/token/" "{\"email\": \"alice\", \"password\": \"wrong-$ALICE_PASSWORD\"}"
if [[ $code == 400 && $(field "$tmp/body" error) == invalid_grant ]]; then
    pass "POST /users/token/ with a wrong password: DOT's 400 invalid_grant passed through"
else
    fail "POST /users/token/ with a wrong password: 400 invalid_grant: $(got)"
fi
json_call POST "$rs/users/token/refresh/" "{\"refresh\": \"$(field "$tmp/alice-login.json" refresh_token)\"}"
cp "$tmp/body" "$tmp/alice-refresh.json"
alice=$(field "$tmp/alice-refresh.json" access_token)
if [[ $code == 200 && -n $alice && -n $(field "$tmp/body" refresh_token) &&
    $alice != "$(field "$tmp/alice-login.json" access_token)" ]]; then
    pass "POST /users/token/refresh/: 200 with a new access_token and refresh_token"
else
    fail "POST /users/token/refresh/: 200 with new tokens: $(got)"
    alice=$(field "$tmp/alice-login.json" access_token)
fi
scope=$(field "$tmp/alice-refresh.json" scope)
[[ $scope == "read write" ]] || echo "# note: alice's token has scope \"$scope\", not \"read write\""
alice_auth=(-H "Authorization: Bearer $alice")

# 2. The items API with alice's token.
call GET "$rs/items/" "${alice_auth[@]}"
if [[ $code == 200 ]] && is_json "$tmp/body"; then
    pass "GET /items/ with alice's token: 200"
else
    fail "GET /items/ with alice's token: 200: $(got)"
fi
name=dot-item-$RANDOM$RANDOM
json_call POST "$rs/items/" "{\"name\": \"$name\", \"description\": \"d\", \"price\": \"9.99\"}" "${alice_auth[@]}"
echo "# POST /items/ answered HTTP $code: $(cat "$tmp/body")"
item=$(field "$tmp/body" id)
owner=$(field "$tmp/body" user email)
[[ -n $owner ]] || owner=$(field "$tmp/body" user username)
if [[ $code == 201 && -n $item && $(field "$tmp/body" name) == "$name" ]]; then
    pass "POST /items/ with alice's token: 201 (item $item)"
else
    fail "POST /items/ with alice's token: 201: $(got)"
fi
if [[ $owner == alice ]]; then
    pass "the item's owner is shown as alice (DOT's username; no sub in the introspection answer)"
else
    fail "the item's owner is shown as alice: user is $(field "$tmp/body" user)"
fi

# 3. One item: read by its owner; bob may not delete it, alice may.
call GET "$rs/items/$item/" "${alice_auth[@]}"
if [[ $code == 200 && $(field "$tmp/body" id) == "$item" ]]; then
    pass "GET /items/$item/: 200"
else
    fail "GET /items/$item/: 200: $(got)"
fi
json_call POST "$rs/users/token/" "{\"email\": \"bob\", \"password\": \"$BOB_PASSWORD\"}"
bob=$(field "$tmp/body" access_token)
if [[ $code == 200 && -n $bob ]]; then
    pass "POST /users/token/ {bob}: 200"
else
    fail "POST /users/token/ {bob}: 200: $(got)"
fi
call DELETE "$rs/items/$item/" -H "Authorization: Bearer $bob"
if [[ $code == 403 ]]; then
    pass "DELETE /items/$item/ by bob: 403 $(field "$tmp/body" error)"
else
    fail "DELETE /items/$item/ by bob: 403: $(got)"
fi
call DELETE "$rs/items/$item/" "${alice_auth[@]}"
if [[ $code == 204 ]]; then
    pass "DELETE /items/$item/ by alice: 204"
else
    fail "DELETE /items/$item/ by alice: 204: $(got)"
fi

# 4. A read-only token straight from DOT.
dot_token "$tmp/read.json" -d grant_type=password -d username=alice --data-urlencode "password=$ALICE_PASSWORD" -d scope=read
read_only=$(field "$tmp/read.json" access_token)
if [[ $code == 200 && -n $read_only && $(field "$tmp/read.json" scope) == read ]]; then
    pass "DOT's token endpoint (directly): a token with scope \"read\""
else
    fail "DOT's token endpoint (directly): a token with scope \"read\": $(got)"
fi
call GET "$rs/items/" -H "Authorization: Bearer $read_only"
if [[ $code == 200 ]]; then
    pass "GET /items/ with the read-only token: 200"
else
    fail "GET /items/ with the read-only token: 200: $(got)"
fi
json_call POST "$rs/items/" "{\"name\": \"$name-ro\", \"description\": \"d\", \"price\": \"1.00\"}" \
    -H "Authorization: Bearer $read_only"
if [[ $code == 403 && $(field "$tmp/body" error) == insufficient_scope ]]; then
    pass "POST /items/ with the read-only token: 403 insufficient_scope (WWW-Authenticate: $(header WWW-Authenticate))"
else
    fail "POST /items/ with the read-only token: 403 insufficient_scope: $(got) (WWW-Authenticate: $(header WWW-Authenticate))"
fi

# 5. A token DOT never issued.
call GET "$rs/items/" -H "Authorization: Bearer junk-$RANDOM$RANDOM"
www=$(header WWW-Authenticate)
if [[ $code == 401 && $www == Bearer* && $www == *'error="invalid_token"'* && $(field "$tmp/body" error) == invalid_token ]]; then
    pass "GET /items/ with a junk token: 401 invalid_token (WWW-Authenticate: $www)"
else
    fail "GET /items/ with a junk token: 401 invalid_token in WWW-Authenticate and body: $(got) (WWW-Authenticate: $www)"
fi

# 7. The account proxies DOT has no endpoint for: 501 with a JSON error, never 500.
json_call POST "$rs/users/signup/" '{"email": "carol@example.com", "password": "carol-pw-4821x", "password2": "carol-pw-4821x"}'
if [[ $code == 501 && -n $(field "$tmp/body" error) ]]; then
    pass "POST /users/signup/ (DOT has no signup endpoint): 501 $(body)"
else
    fail "POST /users/signup/ (DOT has no signup endpoint): 501 with a JSON error: $(got)"
fi
json_call PUT "$rs/users/password/" "{\"old_password\": \"$ALICE_PASSWORD\", \"password\": \"new-$ALICE_PASSWORD\", \"password2\": \"new-$ALICE_PASSWORD\"}" \
    "${alice_auth[@]}"
if [[ $code == 501 && -n $(field "$tmp/body" error) ]]; then
    pass "PUT /users/password/ with alice's token (DOT has no such endpoint): 501 $(body)"
else
    fail "PUT /users/password/ with alice's token (DOT has no such endpoint): 501 with a JSON error: $(got)"
fi

# 6. Revocation at DOT reaches the resource server within the cache's TTL.
call GET "$rs/items/" "${alice_auth[@]}"
[[ $code == 200 ]] || fail "GET /items/ with alice's token before revoking it: 200: $(got)"
call POST "$dot/o/revoke_token/" -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode "token=$alice" -d token_type_hint=access_token
if [[ $code == 200 ]]; then
    pass "DOT's /o/revoke_token/ revokes alice's access token (as $CLIENT_ID): 200"
else
    fail "DOT's /o/revoke_token/ revokes alice's access token: 200: $(got)"
fi
start=$(date +%s%N) deadline=$((SECONDS + REVOKE_TIMEOUT))
while :; do
    call GET "$rs/items/" "${alice_auth[@]}"
    [[ $code == 401 || $code == 000 ]] && break
    ((SECONDS < deadline)) || break
    sleep 0.2
done
if [[ $code == 401 && $(field "$tmp/body" error) == invalid_token ]]; then
    pass "GET /items/ with the revoked token: 401 invalid_token after $((($(date +%s%N) - start) / 1000000)) ms"
else
    fail "GET /items/ with the revoked token: 401 within ${REVOKE_TIMEOUT}s: $(got)"
fi
rs_alive basic
stop "$rs_pid"
rs_pid=""

# --- Second round: a static bearer token for introspection ------------------------------------------------
echo "== bearer: introspection with a static token holding the introspection scope (DOT's RESOURCE_SERVER_AUTH_TOKEN)"
call POST "$dot/o/token/" -u "$INTROSPECTOR_ID:$INTROSPECTOR_SECRET" -d grant_type=client_credentials -d scope=introspection
introspection_token=$(field "$tmp/body" access_token)
if [[ $code == 200 && -n $introspection_token && $(field "$tmp/body" scope) == introspection ]]; then
    pass "DOT's token endpoint: a client_credentials token with scope \"introspection\" for $INTROSPECTOR_ID"
else
    fail "DOT's token endpoint: a client_credentials token with scope \"introspection\": $(got)"
    finish
fi
# A wrong client secret: DOT refuses Basic with it, so only the bearer token can get introspection answers.
call POST "$dot/o/introspect/" -u "$CLIENT_ID:not-$CLIENT_SECRET" --data-urlencode "token=$bob"
if [[ $code == 403 ]]; then
    pass "DOT refuses introspection as $CLIENT_ID with the wrong secret the resource server gets next: 403"
else
    fail "DOT refuses introspection as $CLIENT_ID with a wrong secret: $(got)"
fi
if start_rs bearer "$rs2_port" RESOURCE_SERVER__AUTH__CLIENT_SECRET="not-$CLIENT_SECRET" \
    RESOURCE_SERVER__AUTH__INTROSPECTION_TOKEN="$introspection_token"; then
    call GET "$rs/items/" -H "Authorization: Bearer $bob"
    if [[ $code == 200 ]]; then
        pass "[bearer] GET /items/ with bob's token: 200"
    else
        fail "[bearer] GET /items/ with bob's token: 200: $(got)"
    fi
    json_call POST "$rs/items/" "{\"name\": \"$name-bob\", \"description\": \"d\", \"price\": \"2.50\"}" -H "Authorization: Bearer $bob"
    if [[ $code == 201 && $(field "$tmp/body" user email) == bob ]]; then
        pass "[bearer] POST /items/ with bob's token: 201, owner bob"
    else
        fail "[bearer] POST /items/ with bob's token: 201, owner bob: $(got)"
    fi
    call GET "$rs/items/" "${alice_auth[@]}"
    if [[ $code == 401 && $(field "$tmp/body" error) == invalid_token ]]; then
        pass "[bearer] GET /items/ with alice's revoked token: 401 invalid_token"
    else
        fail "[bearer] GET /items/ with alice's revoked token: 401 invalid_token: $(got)"
    fi
    rs_alive bearer
fi
finish
