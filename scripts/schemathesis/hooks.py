"""Schemathesis hooks for scripts/schemathesis/run.sh: authentication for every operation of both servers,
the server state no schema can describe, and the few failures a check cannot make about these servers.

Loaded through SCHEMATHESIS_HOOKS. Reads:
  STH_AUTH_URL       the auth server's base URL (always needed: accounts and tokens are made there)
  STH_CLIENT_ID      the bootstrap client (default rs-id)
  STH_CLIENT_SECRET  its secret (default rs-secret)
  STH_STRICT=1       keep every failure: no filter_failure exemptions (section 3)

1. Authentication, per operation (the documents' security requirements decide where it applies)
  auth server  POST /o/token/, /o/introspect/, /o/revoke_token/
                   HTTP Basic with the client's credentials (client_secret_basic); but when a positive test
                   case's body holds client_id or client_secret (the document declares both, for
                   client_secret_post), those two get the real values and no Basic header is sent: RFC 6749
                   §2.3 forbids using two methods at once (the server answers 400 invalid_request, rightly).
  both         PUT /users/password/
                   Bearer of a user made for this test case alone.
  resource     /items/ and /items/{id}/ (every method)
                   Bearer of the one items owner, from a fresh login for every test case.
  Everything else declares no security and gets none.

  Design, so that the run stays valid whatever order operations run in and whatever they do:
  * A password change revokes every other token of its user. So each /users/password/ case gets a user of
    its own (signup + login: bcrypt cost 4 makes that ~ms), and nothing else ever uses that user.
  * Refresh rotates tokens. No provider keeps a refresh token: items cases log in afresh each time, and
    each refresh case gets a refresh token minted for it alone.
  * Items cases all act as one owner, so that the stateful phase's POST /items/ -> PUT/PATCH/DELETE
    /items/{id}/ chains act on the owner's own items.
  * No provider caches (refresh_interval=None), so schemathesis never replays a request after a 401:
    every 401 reported is the server's answer to the request shown.

2. Server state no JSON schema can describe, filled in for positive test cases only, and only where the
   generated value is a string (an absent or null field stays as generated: that is the document's
   business). Everything else stays as generated.
  both         PUT /users/password/      old_password: the case user's real password
  resource     POST /users/token/        email, password: a real account's
  resource     POST /users/token/refresh/  refresh: a live refresh token of its own
  auth server  POST /o/token/            grant_type=password: username, password: a real account's;
                                         grant_type=refresh_token: refresh_token: a live one of its own

3. Exemptions (filter_failure; STH_STRICT=1 turns them off). Each drops one precise kind of failure, and
   only when the server's answer names nothing else:
  * positive_data_acceptance, 400 whose only complaints are uniqueness ("item with this name already
    exists.", "user with this email already exists."): uniqueness is a property of the database, which
    a schema cannot state (and 400 for a duplicate is the intended, DRF-compatible answer).
  * positive_data_acceptance, 400 whose only complaints are password rules a JSON schema cannot express:
    Django's validators (too common, too similar to the email, entirely numeric), the 72-byte bcrypt limit
    (bytes, where maxLength counts characters) and password2 == password. "too short" is not exempt:
    minLength: 8 can be declared.
  * positive_data_acceptance, 400 invalid_scope "the requested scope exceeds what this client may be
    granted", "only granted to client_credentials tokens", "exceeds the original grant" (a refresh may
    narrow, never widen): which scopes a request may get is the client's registration and the refresh
    token's grant, server state; the document declares the scope syntax, which is checked.
  * negative_data_rejection for a body "missing required property X" when the document does not make X
    required: such a case is negative only under a rule schemathesis learned from another operation's 400
    (its error feedback; e.g. POST /items/ requires name, then PATCH /items/{id}/ is tried without it).
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
STRICT = os.environ.get("STH_STRICT") == "1"
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
    if r.status_code != 201:
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


def _fresh_user(kind: str) -> dict:
    """A new account and a login of it: its tokens are nobody else's."""
    email = f"sth-{kind}-{_run}-{next(_counter)}@example.com"
    _signup(email)
    return _login(email)


_owner_email = f"sth-owner-{_run}@example.com"
_owner_ready = False
_owner_lock = threading.Lock()


def _owner() -> str:
    """The items owner's email, signed up on first use. Logging in as it revokes nothing."""
    global _owner_ready
    with _owner_lock:
        if not _owner_ready:
            _signup(_owner_email)
            _owner_ready = True
    return _owner_email


def _positive_body(case) -> dict | None:
    meta = getattr(case, "meta", None)
    if meta is not None and meta.generation.mode.is_positive and isinstance(case.body, dict):
        return case.body
    return None


def _fill(body: dict, values: dict) -> None:
    """Replace the generated strings named in `values`; absent or non-string fields stay as generated."""
    for name, value in values.items():
        if isinstance(body.get(name), str):
            body[name] = value() if callable(value) else value


def _set_authorization(case, value: str | None) -> None:
    headers = dict(case.headers or {})
    for name in [n for n in headers if n.lower() == "authorization"]:
        del headers[name]
    if value is not None:
        headers["Authorization"] = value
    case.headers = headers


# 1. Authentication


@schemathesis.auth(refresh_interval=None).apply_to(path=["/o/token/", "/o/introspect/", "/o/revoke_token/"])
class ClientCredentials:
    """client_secret_basic, or client_secret_post when a positive body carries client credentials."""

    def get(self, case, context):
        return CLIENT

    def set(self, case, data, context):
        body = _positive_body(case)
        if body is not None and ("client_id" in body or "client_secret" in body):
            body["client_id"], body["client_secret"] = data
            _set_authorization(case, None)
        else:
            _set_authorization(case, requests.auth._basic_auth_str(*data))
        if body is not None and case.path == "/o/token/":
            # 2. State: the credentials or the refresh token the chosen grant needs.
            if body.get("grant_type") == "password":
                _fill(body, {"username": _owner(), "password": PASSWORD})
            elif body.get("grant_type") == "refresh_token":
                _fill(body, {"refresh_token": lambda: _fresh_user("refresh")["refresh_token"]})


@schemathesis.auth(refresh_interval=None).apply_to(path_regex=r"^/items/")
class ItemsOwner:
    """A fresh access token (read write) of the one items owner, per test case."""

    def get(self, case, context):
        return _login(_owner())["access_token"]

    def set(self, case, data, context):
        _set_authorization(case, f"Bearer {data}")


@schemathesis.auth(refresh_interval=None).apply_to(method="PUT", path="/users/password/")
class PasswordChanger:
    """A user of its own for every password-change case; its real password as old_password."""

    def get(self, case, context):
        return _fresh_user("pw")["access_token"]

    def set(self, case, data, context):
        _set_authorization(case, f"Bearer {data}")
        body = _positive_body(case)
        if body is not None:
            _fill(body, {"old_password": PASSWORD})


# 2. State for the resource server's token proxies (they declare no security, so no auth provider runs).


@schemathesis.hook("map_case").apply_to(method="POST", path="/users/token/")
def real_account(context, case):
    body = _positive_body(case)
    if body is not None:
        _fill(body, {"email": _owner(), "password": PASSWORD})
    return case


@schemathesis.hook("map_case").apply_to(method="POST", path="/users/token/refresh/")
def live_refresh_token(context, case):
    body = _positive_body(case)
    if body is not None:
        _fill(body, {"refresh": lambda: _fresh_user("refresh")["refresh_token"]})
    return case


# 3. Exemptions

UNIQUENESS = {"item with this name already exists.", "user with this email already exists."}
INEXPRESSIBLE_PASSWORD_RULES = {
    "This password is too common.",
    "The password is too similar to the email address.",
    "This password is entirely numeric.",
    "Ensure this password has no more than 72 bytes.",
    "Password fields didn't match.",
}


def _field_messages(response) -> set[str] | None:
    """Every message of a DRF field-error body, or None for any other body."""
    try:
        body = response.json()
    except Exception:
        return None
    if not isinstance(body, dict) or not body or not all(isinstance(v, list) for v in body.values()):
        return None
    return {str(message) for messages in body.values() for message in messages}


def _declared_required(case) -> set[str]:
    """The `required` list of the request body schema as the document declares it."""
    try:
        document = case.operation.schema.raw_schema
        operation = document["paths"][case.operation.path][case.method.lower()]
        raw = operation["requestBody"]["content"][case.media_type]["schema"]
        if "$ref" in raw:
            name = raw["$ref"].rsplit("/", 1)[-1]
            raw = document["components"]["schemas"][name]
        return set(raw.get("required", []))
    except (KeyError, TypeError, AttributeError):
        return set()


def _is_registration_scope_refusal(response) -> bool:
    """400 invalid_scope for a well-formed scope the client is not registered for."""
    try:
        body = response.json()
    except ValueError:
        return False
    description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    return body.get("error") == "invalid_scope" and (
        "exceeds what this client may be granted" in description
        or "only granted to client_credentials tokens" in description
        or "no scope can be granted" in description
        or "exceeds the original grant" in description
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep a failure unless it is one of the exemptions of section 3."""
    if STRICT:
        return True
    code = getattr(failure, "code", None)
    if code == "ST202" and response.status_code == 400:  # positive_data_acceptance
        messages = _field_messages(response)
        if messages and (messages <= UNIQUENESS or messages <= INEXPRESSIBLE_PASSWORD_RULES):
            return False
        if _is_registration_scope_refusal(response):
            return False
    if code == "ST201":  # negative_data_rejection
        data = getattr(getattr(case.meta, "phase", None), "data", None)
        description = str(getattr(data, "description", None) or "")
        prefix = "Missing required property: "
        if getattr(data, "scenario", None) == "object_missing_required_property" and description.startswith(prefix):
            missing = description[len(prefix) :]
            if missing not in _declared_required(case):
                return False
    return True
