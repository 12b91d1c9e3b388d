"""Shared pieces of the fault-injection scenarios (scripts/faults.sh): plain HTTP calls, a closed-loop load
generator on keep-alive connections, latency statistics and PASS/FAIL reporting. Python 3.11 stdlib only.

Every time here is time.monotonic(): the scenarios inject their faults from the same process, so request
timestamps and fault marks share one clock.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

BASIC = "Basic " + base64.b64encode(b"rs-id:rs-secret").decode()
PASSWORD = "faults-horse-battery-1"
FORM = "application/x-www-form-urlencoded"

# Threads hand the GIL to each other every 5 ms by default; a request whose answer arrived would wait that
# long for its turn and show up as server latency. 1 ms keeps the client's own share of p99 small.
sys.setswitchinterval(0.001)


def hostport(url: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 80


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection refused, reset, client timeout)
    headers: dict
    body: bytes
    error: str = ""

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def call(base: str, method: str, path: str, body=None, headers=None, timeout: float = 10.0) -> Answer:
    """One request on a new connection (for preparation and probes, not for load)."""
    host, port = hostport(base)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        return _send(conn, method, path, body, headers or {})
    except (OSError, http.client.HTTPException) as e:
        return Answer(0, {}, b"", f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def _send(conn, method, path, body, headers) -> Answer:
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **headers}
    elif isinstance(body, str):
        body = body.encode()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


def well_formed_503(answer: Answer) -> bool:
    """The contract for every 503: Retry-After and {"error": "temporarily_unavailable", ...}."""
    body = answer.json()
    return (
        "retry-after" in answer.headers
        and isinstance(body, dict)
        and body.get("error") == "temporarily_unavailable"
    )


# --- preparation -----------------------------------------------------------------------------------------------


def signup_and_token(auth: str, email: str) -> str:
    """A new user at the auth server and an access token for it (password grant as rs-id)."""
    answer = call(auth, "POST", "/users/signup/", {"email": email, "password": PASSWORD, "password2": PASSWORD})
    if answer.status != 201:
        raise SystemExit(f"signup of {email} answered {answer.status}: {answer.body[:200]!r}")
    return mint_token(auth, email)


def mint_token(auth: str, email: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "password", "username": email, "password": PASSWORD})
    answer = call(auth, "POST", "/o/token/", form, {"Authorization": BASIC, "Content-Type": FORM})
    if answer.status != 200:
        raise SystemExit(f"password grant for {email} answered {answer.status}: {answer.body[:200]!r}")
    return answer.json()["access_token"]


def mint_tokens(auth: str, email: str, count: int, threads: int = 4) -> list[str]:
    """`count` distinct access tokens of one user, fetched in parallel (bcrypt cost 4 keeps this fast)."""
    tokens: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            mine = [mint_token(auth, email) for _ in range(n)]
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            errors.append(e)
            return
        with lock:
            tokens.extend(mine)

    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    workers = [threading.Thread(target=work, args=(n,)) for n in shares]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return tokens


def create_item(rs: str, token: str, name: str) -> int:
    answer = call(rs, "POST", "/items/", item_body(name), bearer(token))
    if answer.status != 201:
        raise SystemExit(f"creating item {name} answered {answer.status}: {answer.body[:200]!r}")
    return answer.json()["id"]


def item_body(name: str) -> dict:
    return {"name": name, "description": "d", "price": "1.00"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def warm(rs: str, token: str, item_id: int) -> None:
    """One request with `token`, so that the resource server has it cached."""
    answer = call(rs, "GET", f"/items/{item_id}/", headers=bearer(token))
    if answer.status != 200:
        raise SystemExit(f"warming a token answered {answer.status}: {answer.body[:200]!r}")


def wait_until(predicate, timeout: float, interval: float = 0.05) -> float | None:
    """Polls `predicate` until it holds; the monotonic time it first held, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --- load ------------------------------------------------------------------------------------------------------


@dataclass
class Record:
    kind: str
    start: float
    end: float
    status: int
    good_503: bool = True  # for a 503: did it carry Retry-After and the JSON error body?
    item_id: int | None = None  # for a 201 of POST /items/
    name: str = ""
    error: str = ""

    @property
    def latency_ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class Request:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: object = None
    name: str = ""  # the item name sent, for POST /items/


class Load:
    """Closed-loop load: each thread sends its next request on its keep-alive connection as soon as the last
    answer arrived (or after `interval` seconds since the last start, when paced). A connection that fails is
    replaced; the failure is recorded with status 0."""

    def __init__(self, client_timeout: float = 15.0):
        self.client_timeout = client_timeout
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.lists: list[list[Record]] = []

    def add(self, kind: str, base: str, make, threads: int = 1, interval: float = 0.0, gate=None) -> None:
        """`make()` returns the next Request; `gate` (a threading.Event) holds the threads back until set."""
        for _ in range(threads):
            records: list[Record] = []
            self.lists.append(records)
            t = threading.Thread(
                target=self._run, args=(kind, base, make, interval, gate, records), daemon=True
            )
            self.threads.append(t)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> list[Record]:
        self.stop_event.set()
        for t in self.threads:
            t.join(self.client_timeout + 5)
        return sorted((r for records in self.lists for r in records), key=lambda r: r.start)

    def _run(self, kind, base, make, interval, gate, records) -> None:
        if gate is not None:
            while not gate.wait(0.01):
                if self.stop_event.is_set():
                    return
        host, port = hostport(base)
        conn = None
        while not self.stop_event.is_set():
            request = make()
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=self.client_timeout)
            start = time.monotonic()
            try:
                answer = _send(conn, request.method, request.path, request.body, request.headers)
                if answer.headers.get("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                answer = Answer(0, {}, b"", f"{type(e).__name__}: {e}")
                conn.close()
                conn = None
            end = time.monotonic()
            record = Record(kind, start, end, answer.status, name=request.name, error=answer.error)
            if answer.status == 503:
                record.good_503 = well_formed_503(answer)
            elif answer.status == 201 and request.name:
                body = answer.json()
                record.item_id = body.get("id") if isinstance(body, dict) else None
            records.append(record)
            if interval:
                pause = start + interval - time.monotonic()
                if pause > 0:
                    self.stop_event.wait(pause)
        if conn is not None:
            conn.close()


def get_item(token_source, item_id: int):
    """A `make` for GET /items/<id>/ with the next token of `token_source` (an iterator)."""
    return lambda: Request("GET", f"/items/{item_id}/", bearer(next(token_source)))


def post_item(token: str, prefix: str):
    """A `make` for POST /items/ with a unique name per request."""
    counter = itertools.count()
    lock = threading.Lock()

    def make() -> Request:
        with lock:
            n = next(counter)
        name = f"{prefix}-{n}"
        return Request("POST", "/items/", bearer(token), item_body(name), name)

    return make


def introspect(token: str):
    """A `make` for POST /o/introspect/ at the auth server, as rs-id."""
    body = urllib.parse.urlencode({"token": token})
    return lambda: Request("POST", "/o/introspect/", {"Authorization": BASIC, "Content-Type": FORM}, body)


def cycle(tokens: list[str]):
    """A thread-safe endless iterator over `tokens`."""
    lock = threading.Lock()
    it = itertools.cycle(tokens)

    class _Cycle:
        def __iter__(self):
            return self

        def __next__(self):
            with lock:
                return next(it)

    return _Cycle()


# --- figures and checks -----------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100)
    return ordered[int(rank) - 1]


def status_counts(records: list[Record]) -> str:
    counts: dict[int, int] = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    return " ".join(f"{'conn-error' if s == 0 else s}:{n}" for s, n in sorted(counts.items())) or "none"


def describe(label: str, records: list[Record]) -> str:
    latencies = [r.latency_ms for r in records]
    return (
        f"{label}: {len(records)} requests [{status_counts(records)}] p50 {percentile(latencies, 50):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies, default=0):.1f} ms"
    )


def ok(status: int) -> bool:
    return 200 <= status < 300


def recovered_at(records: list[Record], since: float) -> float | None:
    """The earliest start time t >= since such that every request started at or after t succeeded (None if the
    last one failed or there is none). `since` itself when nothing after it failed."""
    after = [r for r in records if r.start >= since]
    if not after or not ok(after[-1].status):
        return None
    t = since
    for r in after:
        if not ok(r.status):
            t = None
        elif t is None:
            t = r.start
    return t


@dataclass
class Recovery:
    """How requests of one kind came back after a fault ended at `mark` (all times relative to `mark`)."""

    first_ok: float | None  # the first successful answer at or after the mark
    all_ok_from: float | None  # every request started from here on succeeded (recovered_at)
    last_failure: float | None  # the last failed answer (None: no failure answered after the mark)
    after: int  # requests started from all_ok_from on

    def within(self, bound: float) -> bool:
        return (
            self.first_ok is not None
            and self.first_ok <= bound
            and self.all_ok_from is not None
            and self.all_ok_from <= bound
            and (self.last_failure is None or self.last_failure <= bound)
        )

    def __str__(self) -> str:
        if self.first_ok is None or self.all_ok_from is None:
            return "never all succeeded again"
        ms = lambda t: f"+{t * 1000:.0f} ms"  # noqa: E731
        last = f", last failure answered {ms(self.last_failure)}" if self.last_failure is not None else ""
        return (f"first success answered {ms(self.first_ok)}, all requests started from {ms(self.all_ok_from)} on "
                f"succeeded ({self.after}){last}")


def recovery(records: list[Record], mark: float) -> Recovery:
    """Recovery figures of `records` (one kind, those that may have been touched by the fault) after `mark`."""
    first_ok = next((r.end for r in sorted(records, key=lambda r: r.end) if r.end >= mark and ok(r.status)), None)
    back = recovered_at(records, mark)
    failures = [r.end for r in records if not ok(r.status) and r.end >= mark]
    return Recovery(
        None if first_ok is None else first_ok - mark,
        None if back is None else back - mark,
        max(failures) - mark if failures else None,
        sum(r.start >= back for r in records) if back is not None else 0,
    )


class Report:
    """PASS/FAIL lines, counted by scripts/faults.sh; the exit status says whether all passed."""

    def __init__(self, scenario: str):
        self.scenario = scenario
        self.failed = 0

    def info(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def check(self, holds: bool, label: str, detail: str = "") -> bool:
        verdict = "PASS" if holds else "FAIL"
        print(f"{verdict} [{self.scenario}] {label}" + (f" ({detail})" if detail else ""), flush=True)
        if not holds:
            self.failed += 1
        return holds

    def failures_shown(self, records: list[Record], limit: int = 5) -> None:
        """A few failed requests, with their time and error, as evidence."""
        for r in [r for r in records if not ok(r.status)][:limit]:
            self.info(f"    e.g. {r.kind} status {r.status or 'conn-error'} after {r.latency_ms:.0f} ms {r.error}")

    def exit(self) -> None:
        sys.exit(1 if self.failed else 0)
