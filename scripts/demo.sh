#!/usr/bin/env bash
# The tutorial end to end against running servers (start them with scripts/run.sh): sign up, get a token,
# create / list / read / replace / patch / delete an item, refresh, change the password, then revoke a token
# at the auth server and watch the resource server refuse it once its introspection cache expires. Last, the
# browser sign-in (authorization code flow with PKCE, OpenID Connect) with curl as the browser: a cookie
# jar, the login and consent forms, the code, the id_token, userinfo (client demo-web, which scripts/run.sh
# and docker-compose.yml register).
# Every request and response is printed (pages as their title and form fields); the script stops with
# status 1 at the first unexpected status or answer.
# Needs bash, curl, python3 and openssl. Fresh email and item name per run, so it can be rerun at will.
set -euo pipefail

AUTH_URL=${AUTH_URL:-http://127.0.0.1:8000}
RS_URL=${RS_URL:-http://127.0.0.1:8001}
CLIENT_ID=${CLIENT_ID:-rs-id}
CLIENT_SECRET=${CLIENT_SECRET:-rs-secret}
REVOKE_DEADLINE=${REVOKE_DEADLINE:-15}   # seconds; the revocation stream tells the resource server at once (5 s TTL without it)
# The browser sign-in's client; its redirect URI is never contacted (curl does not follow the redirect).
DEMO_CLIENT_ID=${DEMO_CLIENT_ID:-demo-web}
DEMO_CLIENT_SECRET=${DEMO_CLIENT_SECRET:-demo-web-secret}
DEMO_REDIRECT_URI=${DEMO_REDIRECT_URI:-http://127.0.0.1:8080/callback}

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

# page_summary FILE: an HTML page as its title, headings, texts and form fields (CSRF token shortened).
page_summary() {
    python3 - "$1" <<'PY'
import sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.open, self.text = None, ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("title", "h1", "p", "li"):
            self.open, self.text = tag, ""
        elif tag == "form":
            print(f"    <form> {a.get('method', 'get').upper()} {a.get('action')}")
        elif tag == "input":
            value = a.get("value") or ""
            if a.get("name") == "csrfmiddlewaretoken":
                value = value[:8] + "..."
            print(f"      {a.get('type', 'text'):8} {a.get('name')}={value}")
        elif tag == "button":
            print(f"      {'button':8} " + (f"{a['name']}={a.get('value')}" if a.get("name") else "(submit)"))

    def handle_data(self, data):
        if self.open:
            self.text += data

    def handle_endtag(self, tag):
        if tag == self.open:
            print(f"    {tag}: {' '.join(self.text.split())}")
            self.open = None

Page().feed(open(sys.argv[1], encoding="utf-8").read())
PY
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
            -b) echo "    (cookies from the jar)" ;;
        esac
    done
    call "$method" "$url" "$@"
    # scripts/run.sh keeps the per-IP rate limits on, and a rerun soon after the last one may exceed them:
    # a 429 did nothing, so it is waited out (its Retry-After, at most 60 s) and the request sent again.
    local tries=0 wait
    while [[ $STATUS == 429 && $expected != 429 ]] && ((tries++ < 3)); do
        wait=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$tmp/headers" | head -1)
        wait=${wait:-5}
        ((wait <= 60)) || wait=60
        echo "<== 429 (rate limited): waiting ${wait}s as Retry-After says, then sending it again"
        sleep "$wait"
        call "$method" "$url" "$@"
    done
    echo "<== $STATUS"
    grep -iE '^(location|x-total-count|link|www-authenticate|set-cookie):' "$tmp/headers" | sed 's/^/    /' || true
    if grep -qiE '^content-type: *text/html' "$tmp/headers"; then page_summary "$tmp/body"; else pretty "$tmp/body"; fi
    if [[ $STATUS != "$expected" ]]; then
        echo "FAILED: expected HTTP $expected, got $STATUS" >&2
        exit 1
    fi
}

json_body=(-H 'Content-Type: application/json')
bearer() { echo "Authorization: Bearer $1"; }

# expect ACTUAL EXPECTED WHAT: stops unless they are equal.
expect() {
    if [[ $1 != "$2" ]]; then
        echo "FAILED: $3 is \"$1\", expected \"$2\"" >&2
        exit 1
    fi
}

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
echo "### 8. The resource server refuses the revoked token: the auth server's revocation event drops it from its cache"
start=$SECONDS
deadline=$((SECONDS + REVOKE_DEADLINE))
while call GET "$RS_URL/items/" -H "$(bearer "$access")"; [[ $STATUS == 200 ]]; do
    if ((SECONDS >= deadline)); then
        echo "FAILED: revoked token still accepted after ${REVOKE_DEADLINE}s" >&2
        exit 1
    fi
    sleep 0.1
done
echo "    refused $((SECONDS - start))s after the revocation (whole seconds; without the stream, up to the 5 s TTL):"
step 401 GET "$RS_URL/items/" -H "$(bearer "$access")"

echo
echo "### 9. Browser sign-in: the authorization code flow with PKCE and OpenID Connect, curl as the browser"
echo "    (client $DEMO_CLIENT_ID; curl keeps the cookies in a jar and does not follow the redirects)"
jar="$tmp/cookies"
: >"$jar"
browser=(-b "$jar" -c "$jar")
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
# query NAME=VALUE...: a URL-encoded query string.
query() {
    python3 -c 'import sys, urllib.parse
print(urllib.parse.urlencode([tuple(a.split("=", 1)) for a in sys.argv[1:]], quote_via=urllib.parse.quote))' "$@"
}
# param URL NAME: a query parameter of URL, decoded (empty when absent).
param() {
    python3 -c 'import sys, urllib.parse
print(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(sys.argv[1]).query)).get(sys.argv[2], ""))' "$1" "$2"
}
# form_fields: the hidden fields of the page just received, as --data-urlencode arguments in $form.
form_fields() {
    python3 - "$tmp/body" >"$tmp/fields" <<'PY'
import sys
from html.parser import HTMLParser

class Hidden(HTMLParser):
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            sys.stdout.write(f"{a['name']}={a.get('value') or ''}\0")

Hidden().feed(open(sys.argv[1], encoding="utf-8").read())
PY
    form=()
    local pair
    while IFS= read -r -d '' pair; do form+=(--data-urlencode "$pair"); done <"$tmp/fields"
    grep -qz '^csrfmiddlewaretoken=' "$tmp/fields" || { echo "FAILED: the page's form has no CSRF token" >&2; exit 1; }
}
# page_has TEXT WHAT: stops unless the page just received contains TEXT.
page_has() { grep -qF -- "$1" "$tmp/body" || { echo "FAILED: expected $2" >&2; exit 1; }; }

step 200 GET "$AUTH_URL/.well-known/openid-configuration"
issuer=$(json issuer <<<"$BODY")
expect "$(json authorization_endpoint <<<"$BODY")" "$issuer/o/authorize/" "authorization_endpoint"
expect "$(json code_challenge_methods_supported.0 <<<"$BODY")" S256 "code_challenge_methods_supported"

echo
echo "    PKCE (RFC 7636): a random code_verifier; the code_challenge is BASE64URL(SHA-256(code_verifier))"
verifier=$(openssl rand 32 | b64url)
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | b64url)
oidc_state=$(openssl rand 16 | b64url)
nonce=$(openssl rand 16 | b64url)
echo "    code_verifier=$verifier"
echo "    code_challenge=$challenge  state=$oidc_state  nonce=$nonce"

echo "### 9a. The authorization request: the login page (and the csrftoken cookie)"
authorization=$(query response_type=code "client_id=$DEMO_CLIENT_ID" "redirect_uri=$DEMO_REDIRECT_URI" \
    "scope=openid email read" "state=$oidc_state" "nonce=$nonce" "code_challenge=$challenge" \
    code_challenge_method=S256)
step 200 GET "$AUTH_URL/o/authorize/?$authorization" "${browser[@]}"
page_has 'name="password"' "the login page"
form_fields

echo "### 9b. The login form: its hidden fields back, with the email and password"
step 200 POST "$AUTH_URL/o/authorize/" "${browser[@]}" "${form[@]}" \
    --data-urlencode "email=$email" --data-urlencode "password=$new_password"
page_has 'value="allow"' "the consent page (is the $DEMO_CLIENT_ID client registered?)"
form_fields

echo "### 9c. The consent form: Allow; back to the client with a code"
step 302 POST "$AUTH_URL/o/authorize/" "${browser[@]}" "${form[@]}" --data-urlencode action=allow
location=$(sed -n 's/^[Ll]ocation: *//p' "$tmp/headers" | tr -d '\r')
expect "${location%%\?*}" "$DEMO_REDIRECT_URI" "the redirect"
expect "$(param "$location" error)" "" "the redirect's error"
expect "$(param "$location" state)" "$oidc_state" "the redirect's state"
expect "$(param "$location" iss)" "$issuer" "the redirect's iss (RFC 9207)"
code=$(param "$location" code)
echo "    code=$code"

echo "### 9d. The code and the code_verifier for tokens, with an id_token"
exchange=(-u "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET" --data-urlencode grant_type=authorization_code
    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$DEMO_REDIRECT_URI"
    --data-urlencode "code_verifier=$verifier")
step 200 POST "$AUTH_URL/o/token/" "${exchange[@]}"
oidc_access=$(json access_token <<<"$BODY")
oidc_refresh=$(json refresh_token <<<"$BODY")
id_token=$(json id_token <<<"$BODY")
# The id_token's header and claims: base64url JSON (its RS256 signature is checked by the auth server's tests).
claims=$(python3 -c 'import base64, json, sys
parts = sys.argv[1].split(".")
header, claims = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2])
print(json.dumps(header), file=sys.stderr)
print(json.dumps(claims))' "$id_token" 2>"$tmp/jwt_header")
echo "    id_token header: $(cat "$tmp/jwt_header")"
echo "    id_token claims:"
python3 -m json.tool <<<"$claims" | sed 's/^/    /'
expect "$(json iss <<<"$claims")" "$issuer" "the id_token's iss"
expect "$(json aud <<<"$claims")" "$DEMO_CLIENT_ID" "the id_token's aud"
expect "$(json nonce <<<"$claims")" "$nonce" "the id_token's nonce"
expect "$(json email <<<"$claims")" "$email" "the id_token's email"
subject=$(json sub <<<"$claims")

echo "### 9e. userinfo with the access token; the resource server takes it too"
step 200 GET "$AUTH_URL/o/userinfo/" -H "$(bearer "$oidc_access")"
expect "$(json sub <<<"$BODY")" "$subject" "userinfo's sub"
expect "$(json email <<<"$BODY")" "$email" "userinfo's email"
step 200 GET "$RS_URL/items/?limit=1" -H "$(bearer "$oidc_access")"

echo "### 9f. Refresh as $DEMO_CLIENT_ID; then the code a second time is refused (and what it issued revoked)"
step 200 POST "$AUTH_URL/o/token/" -u "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET" \
    --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$oidc_refresh"
oidc_refresh=$(json refresh_token <<<"$BODY")
step 400 POST "$AUTH_URL/o/token/" "${exchange[@]}"
expect "$(json error <<<"$BODY")" invalid_grant "a reused code's error"
step 400 POST "$AUTH_URL/o/token/" -u "$DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET" \
    --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$oidc_refresh"
expect "$(json error <<<"$BODY")" invalid_grant "refreshing after the code's reuse"

echo
echo "Demo complete: $email went through the whole tutorial, then signed in through the browser flow."
