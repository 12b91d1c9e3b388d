#!/usr/bin/env bash
# The tutorial end to end against running servers (start them with scripts/run.sh): sign up, get a token,
# create / list / read / replace / patch / delete an item, refresh, change the password, then revoke a token
# at the auth server and watch the resource server refuse it once its introspection cache expires.
# Every request and response is printed; the script stops with status 1 at the first unexpected status.
# Needs bash, curl and python3. Fresh email and item name per run, so it can be rerun at will.
set -euo pipefail

AUTH_URL=${AUTH_URL:-http://127.0.0.1:8000}
RS_URL=${RS_URL:-http://127.0.0.1:8001}
CLIENT_ID=${CLIENT_ID:-rs-id}
CLIENT_SECRET=${CLIENT_SECRET:-rs-secret}
REVOKE_DEADLINE=${REVOKE_DEADLINE:-15}   # seconds; the resource server caches introspection for 5 s

run_id="$(date +%s)-$RANDOM"
email="demo-$run_id@example.com"
password="Tangerine-Otter-$RANDOM"
new_password="Velvet-Harbor-$RANDOM"
item="demo-item-$run_id"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# json FIELD: reads JSON on stdin and prints one field (dotted path, e.g. user.id).
json() {
    python3 -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value)' "$1"
}

# pretty: JSON pretty-printed, anything else as it is.
pretty() {
    if [[ ! -s $1 ]]; then echo "    (empty body)"; return; fi
    python3 -m json.tool "$1" 2>/dev/null | sed 's/^/    /' || { sed 's/^/    /' "$1"; echo; }
}

# call METHOD URL [curl args...]: one request; sets STATUS, BODY and leaves the headers in $tmp/headers.
call() {
    local method=$1 url=$2
    shift 2
    STATUS=$(curl -sS -X "$method" "$url" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@")
    BODY=$(cat "$tmp/body")
}

# step EXPECTED METHOD URL [curl args...]: call, print request and response, stop on any other status.
step() {
    local expected=$1 method=$2 url=$3
    shift 3
    echo
    echo "==> $method $url"
    local args=("$@") i
    for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[i]} in
            -H) [[ ${args[i + 1]} == Authorization:* ]] && echo "    ${args[i + 1]:0:40}..." ;;
            -u) echo "    (HTTP Basic as ${args[i + 1]%%:*})" ;;
            -d|--data-urlencode) echo "    ${args[i + 1]}" ;;
        esac
    done
    call "$method" "$url" "$@"
    echo "<== $STATUS"
    grep -iE '^(location|x-total-count|link|www-authenticate):' "$tmp/headers" | sed 's/^/    /' || true
    pretty "$tmp/body"
    if [[ $STATUS != "$expected" ]]; then
        echo "FAILED: expected HTTP $expected, got $STATUS" >&2
        exit 1
    fi
}

json_body=(-H 'Content-Type: application/json')
bearer() { echo "Authorization: Bearer $1"; }

echo "### 1. Sign up through the resource server (proxied to the auth server)"
step 201 POST "$RS_URL/users/signup/" "${json_body[@]}" \
    -d "{\"email\": \"$email\", \"password\": \"$password\", \"password2\": \"$password\"}"

echo "### 2. Get a token pair through the resource server"
step 200 POST "$RS_URL/users/token/" "${json_body[@]}" -d "{\"email\": \"$email\", \"password\": \"$password\"}"
access=$(json access_token <<<"$BODY")
refresh=$(json refresh_token <<<"$BODY")

echo "### 3. Without a token the items are refused"
step 401 GET "$RS_URL/items/"

echo "### 4. Create, list, read, replace, patch and delete an item"
step 201 POST "$RS_URL/items/" -H "$(bearer "$access")" "${json_body[@]}" \
    -d "{\"name\": \"$item\", \"description\": \"A demo item\", \"price\": \"12.5\"}"
id=$(json id <<<"$BODY")
step 200 GET "$RS_URL/items/?limit=5" -H "$(bearer "$access")"
step 200 GET "$RS_URL/items/$id/" -H "$(bearer "$access")"
step 200 PUT "$RS_URL/items/$id/" -H "$(bearer "$access")" "${json_body[@]}" \
    -d "{\"name\": \"$item\", \"description\": \"Replaced with PUT\", \"price\": 20}"
step 200 PATCH "$RS_URL/items/$id/" -H "$(bearer "$access")" "${json_body[@]}" -d '{"price": "19.99"}'
step 204 DELETE "$RS_URL/items/$id/" -H "$(bearer "$access")"
step 404 GET "$RS_URL/items/$id/" -H "$(bearer "$access")"

echo "### 5. Refresh: a new pair (the old refresh token is now spent)"
step 200 POST "$RS_URL/users/token/refresh/" "${json_body[@]}" -d "{\"refresh\": \"$refresh\"}"
access=$(json access_token <<<"$BODY")

echo "### 6. Change the password, then log in with the new one"
step 200 PUT "$RS_URL/users/password/" -H "$(bearer "$access")" "${json_body[@]}" \
    -d "{\"old_password\": \"$password\", \"password\": \"$new_password\", \"password2\": \"$new_password\"}"
step 200 POST "$RS_URL/users/token/" "${json_body[@]}" -d "{\"email\": \"$email\", \"password\": \"$new_password\"}"
access=$(json access_token <<<"$BODY")

echo "### 7. Revoke the access token at the auth server (RFC 7009)"
step 200 GET "$RS_URL/items/" -H "$(bearer "$access")"   # works, and is now in the RS's introspection cache
step 200 POST "$AUTH_URL/o/revoke_token/" -u "$CLIENT_ID:$CLIENT_SECRET" \
    --data-urlencode "token=$access" --data-urlencode token_type_hint=access_token
step 200 POST "$AUTH_URL/o/introspect/" -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode "token=$access"
[[ $(json active <<<"$BODY") == False ]] || { echo "FAILED: revoked token still active" >&2; exit 1; }

echo
echo "### 8. The resource server refuses the revoked token once its cache entry expires"
start=$SECONDS
deadline=$((SECONDS + REVOKE_DEADLINE))
while call GET "$RS_URL/items/" -H "$(bearer "$access")"; [[ $STATUS == 200 ]]; do
    if ((SECONDS >= deadline)); then
        echo "FAILED: revoked token still accepted after ${REVOKE_DEADLINE}s" >&2
        exit 1
    fi
    sleep 0.5
done
echo "    still accepted for about $((SECONDS - start))s after revocation (cache TTL), then:"
step 401 GET "$RS_URL/items/" -H "$(bearer "$access")"

echo
echo "Demo complete: $email went through the whole tutorial."
