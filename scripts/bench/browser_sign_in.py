#!/usr/bin/env python3
"""Signs a user in through the auth server's browser pages, as a browser would (no JavaScript involved):
GET /o/authorize/ (the login page and its csrftoken cookie), POST the login form, POST "allow" on the
consent page. The consent for SCOPE is then remembered, so that a GET /o/authorize/ with the session cookie
answers at once with a redirect carrying a code. Checks that it does, exchanges that code once at
/o/token/ (which also makes the server remember the client's secret, so the benchmark starts warm) and
checks that an id_token comes back.

Prints two lines for scripts/bench.sh:
  COOKIE <name>=<value>     the session cookie, as a Cookie header value
  CHALLENGE <challenge>     the PKCE S256 challenge of VERIFIER

usage: browser_sign_in.py BASE_URL CLIENT_ID CLIENT_SECRET REDIRECT_URI SCOPE EMAIL PASSWORD VERIFIER
"""
import base64
import hashlib
import http.cookiejar
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser


def fail(message: str) -> None:
    sys.exit(f"browser_sign_in.py: {message}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are looked at, not followed: the redirect URI is never contacted."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HiddenFields(HTMLParser):
    """(name, value) of every <input type="hidden"> of a page, entities decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden" and a.get("name") is not None:
            self.fields.append((a["name"], a.get("value") or ""))


def hidden_fields(page: str) -> list[tuple[str, str]]:
    parser = HiddenFields()
    parser.feed(page)
    return parser.fields


class Browser:
    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def send(self, request: urllib.request.Request) -> tuple[int, dict, str]:
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as e:  # 3xx (not followed) and errors
            return e.code, dict(e.headers), e.read().decode(errors="replace")

    def get(self, url: str) -> tuple[int, dict, str]:
        return self.send(urllib.request.Request(url))

    def submit(self, url: str, page: str, extra: dict[str, str]) -> tuple[int, dict, str]:
        """The page's form: its hidden fields, with `extra` added or replacing (a repeated field is refused)."""
        fields = [(n, v) for n, v in hidden_fields(page) if n not in extra] + list(extra.items())
        body = urllib.parse.urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.send(urllib.request.Request(url, data=body, headers=headers, method="POST"))


def code_of(status: int, headers: dict, body: str, redirect_uri: str) -> str:
    location = {k.lower(): v for k, v in headers.items()}.get("location", "")
    if status not in (302, 303) or not location.startswith(redirect_uri):
        fail(f"expected a redirect to {redirect_uri} with a code, got {status} {location!r} {body[:300]!r}")
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    if "code" not in params:
        fail(f"the redirect carries no code: {location}")
    return params["code"][0]


def main() -> None:
    base, client_id, secret, redirect_uri, scope, email, password, verifier = sys.argv[1:9]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": scope,
        "state": "bench", "nonce": "bench", "code_challenge": challenge, "code_challenge_method": "S256",
    })
    authorize = f"{base}/o/authorize/"
    browser = Browser()

    status, headers, page = browser.get(f"{authorize}?{query}")
    if status != 200 or 'name="password"' not in page:
        fail(f"expected the login page, got {status}: {page[:300]!r}")
    status, headers, page = browser.submit(authorize, page, {"action": "login", "email": email, "password": password})
    if status == 200 and 'value="allow"' in page:
        status, headers, page = browser.submit(authorize, page, {"action": "allow"})
    code_of(status, headers, page, redirect_uri)

    # Signed in, consent remembered: the GET alone answers with a code now.
    code = code_of(*browser.get(f"{authorize}?{query}"), redirect_uri)
    basic = base64.b64encode(f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}".encode()).decode()
    body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier,
    }).encode()
    request = urllib.request.Request(f"{base}/o/token/", data=body, method="POST", headers={
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded",
    })
    status, _, answer = browser.send(request)
    if status != 200:
        fail(f"the code exchange answered {status}: {answer[:300]!r}")
    tokens = json.loads(answer)
    missing = [key for key in ("access_token", "refresh_token", "id_token") if key not in tokens]
    if missing:
        fail(f"the code exchange answered without {', '.join(missing)}: {answer[:300]!r}")

    session = [c for c in browser.jar if c.name.endswith("sessionid")]
    if len(session) != 1:
        fail(f"expected one session cookie, have {[c.name for c in browser.jar]}")
    print(f"COOKIE {session[0].name}={session[0].value}")
    print(f"CHALLENGE {challenge}")


if __name__ == "__main__":
    main()
