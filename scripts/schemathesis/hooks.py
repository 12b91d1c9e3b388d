"""Schemathesis hooks for scripts/schemathesis/run.sh: authentication for every operation of both servers.

Loaded through SCHEMATHESIS_HOOKS. Reads:
  STH_AUTH_URL       the auth server's base URL (always needed: accounts and tokens are made there)
  STH_CLIENT_ID      the bootstrap client (default rs-id)
  STH_CLIENT_SECRET  its secret (default rs-secret)

What each operation gets (the document's own security schemes decide which one applies):
  auth server  POST /o/token/, /o/introspect/, /o/revoke_token/  HTTP Basic client credentials
  both         PUT /users/password/                              Bearer of a user made for this test case
  resource     /items/ and /items/{id}/ (every method)            Bearer of the items owner, logged in again
                                                                  for every test case
  resource     POST /users/token/refresh/                        no auth (none declared); see below
Everything else declares no security and gets none.

Design, so that the run stays valid whatever order operations run in and whatever they do:
  * A password change revokes every other token of its user, and the change itself succeeds when
    old_password is right. So every /users/password/ case gets a user of its own (signup + login; bcrypt
    cost 4 makes that ~ms), and nothing else ever uses that user.
  * Refresh rotates tokens. No provider keeps a refresh token: items cases log in afresh each time, and
    the refresh operation gets a refresh token minted for that case alone.
  * Items cases all act as one owner (fresh token each time), so that the stateful phase's
    POST /items/ -> PUT/PATCH/DELETE /items/{id}/ chains act on the owner's own items.
  * No provider caches (refresh_interval=None), so schemathesis never replays a request after a 401:
    every 401 reported is the server's answer to the request shown.

Server state a JSON schema cannot describe is filled in for positive test cases only, and only where the
generated body is an object: `old_password` (the case user's real password) on PUT /users/password/ and
`refresh` (a live refresh token) on the resource server's POST /users/token/refresh/. Every other field
stays as generated, so new passwords, emails, item names and prices are still the fuzzer's.
Negative cases are left alone.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid

import requests
import schemathesis

AUTH_URL = os.environ["STH_AUTH_URL"].rstrip("/")
CLIENT = (os.environ.get("STH_CLIENT_ID", "rs-id"), os.environ.get("STH_CLIENT_SECRET", "rs-secret"))
# Passes the server's password validators (not common, not numeric, >= 8 chars, not like the email).
PASSWORD = "correct-horse-battery"
TIMEOUT = 30

_session = requests.Session()
_session_lock = threading.Lock()
_counter = itertools.count(1)
_run = uuid.uuid4().hex[:8]


def _post(path: str, **kwargs) -> requests.Response:
    # requests.Session is not documented as thread-safe; workers may call in parallel.
    with _session_lock:
        return _session.post(AUTH_URL + path, timeout=TIMEOUT, **kwargs)


def _signup(email: str) -> None:
    r = _post("/users/signup/", json={"email": email, "password": PASSWORD, "password2": PASSWORD})
    # 400 with an "email" error: made by an earlier call in this run (the owner, created lazily).
    if r.status_code != 201 and not (r.status_code == 400 and "email" in r.text):
        raise RuntimeError(f"signup of {email} answered {r.status_code}: {r.text[:300]}")


def _login(email: str) -> dict:
    r = _post(
        "/o/token/",
        data={"grant_type": "password", "username": email, "password": PASSWORD, "scope": "read write"},
        auth=CLIENT,
    )
    if r.status_code != 200:
        raise RuntimeError(f"login of {email} answered {r.status_code}: {r.text[:300]}")
    return r.json()


def _fresh_user(kind: str) -> tuple[str, dict]:
    email = f"sth-{kind}-{_run}-{next(_counter)}@example.com"
    _signup(email)
    return email, _login(email)


_owner_email = f"sth-owner-{_run}@example.com"
_owner_ready = False
_owner_lock = threading.Lock()


def _owner_token() -> str:
    global _owner_ready
    with _owner_lock:
        if not _owner_ready:
            _signup(_owner_email)
            _owner_ready = True
    return _login(_owner_email)["access_token"]


def _positive_object_body(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive and isinstance(case.body, dict)


def _set_header(case, value: str) -> None:
    if case.headers is None:
        case.headers = {}
    case.headers["Authorization"] = value


@schemathesis.auth(refresh_interval=None).apply_to(path=["/o/token/", "/o/introspect/", "/o/revoke_token/"])
class ClientBasic:
    """The bootstrap client's credentials, as HTTP Basic (client_secret_basic)."""

    def get(self, case, context):
        return requests.auth._basic_auth_str(*CLIENT)

    def set(self, case, data, context):
        _set_header(case, data)


@schemathesis.auth(refresh_interval=None).apply_to(path_regex=r"^/items/")
class ItemsOwner:
    """A fresh access token (read write) of the one items owner, per test case."""

    def get(self, case, context):
        return _owner_token()

    def set(self, case, data, context):
        _set_header(case, f"Bearer {data}")


@schemathesis.auth(refresh_interval=None).apply_to(method="PUT", path="/users/password/")
class PasswordChanger:
    """A user of its own for every password-change case; its real password as old_password."""

    def get(self, case, context):
        _, tokens = _fresh_user("pw")
        return tokens["access_token"]

    def set(self, case, data, context):
        _set_header(case, f"Bearer {data}")
        if _positive_object_body(case):
            case.body["old_password"] = PASSWORD


@schemathesis.hook("map_case").apply_to(method="POST", path="/users/token/refresh/")
def live_refresh_token(context, case):
    """The resource server's refresh proxy: a live refresh token, of its own login, for positive cases."""
    if _positive_object_body(case):
        _, tokens = _fresh_user("refresh")
        case.body["refresh"] = tokens["refresh_token"]
    return case
