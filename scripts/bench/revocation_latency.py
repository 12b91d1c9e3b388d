#!/usr/bin/env python3
"""Revocation latency: for each token of TOKENS_FILE (COUNT of them, one after the other), one GET of
RS_URL + ITEM_PATH that must answer 200 (the resource server now has the token cached), then
`POST /o/revoke_token/` at AUTH_URL, then the same GET in a tight loop (no sleep) until it answers 401.
The latency is the time from the revocation's answer to that 401. One connection per server, kept alive,
as a client would hold them. One revocation at a time and one thread: concurrent pollers would load the
servers themselves and, sharing the interpreter, add their own scheduling delays to the times measured.

Prints one line that scripts/bench.sh parses (times in ms; `unexpected` lists answers that were neither
200 nor 401 while polling, as STATUS:COUNT, or "none"):
  REVOCATION count=N p50_ms=X p99_ms=X max_ms=X timeouts=N unexpected=... polls_mean=X secs=X
A token still answered 200 TIMEOUT_SECS after its revocation counts as a timeout (and as TIMEOUT_SECS in
the percentiles); after 3 timeouts the run stops. Exits 1 when a warm-up GET or a revocation does not
answer 200, or a server cannot be reached: then nothing was measured.

usage: revocation_latency.py AUTH_URL RS_URL ITEM_PATH CLIENT_BASIC TOKENS_FILE COUNT [TIMEOUT_SECS]
  CLIENT_BASIC: the full Authorization header value of the client the tokens belong to ("Basic ...")
"""
import http.client
import math
import sys
import time
import urllib.parse
from collections import Counter

MAX_TIMEOUTS = 3


class Connection:
    """A kept-alive HTTP/1.1 connection that reconnects once when the server has closed it."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def status(self, method: str, path: str, headers: dict, body: str | None = None) -> int:
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()  # the whole body, or the connection cannot be reused
                return response.status
            except (http.client.HTTPException, OSError) as error:
                self.conn.close()
                if attempt == 2:
                    raise SystemExit(f"revocation_latency.py: {method} {self.host}:{self.port}{path}: {error!r}")
        raise AssertionError("unreachable")


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def main() -> None:
    if len(sys.argv) not in (7, 8):
        sys.exit("usage: revocation_latency.py AUTH_URL RS_URL ITEM_PATH CLIENT_BASIC TOKENS_FILE COUNT [TIMEOUT_SECS]")
    auth_url, rs_url, item_path, client_basic, tokens_path = sys.argv[1:6]
    count = int(sys.argv[6])
    timeout = float(sys.argv[7]) if len(sys.argv) == 8 else 10.0
    with open(tokens_path) as f:
        tokens = [line.strip() for line in f if line.strip()][:count]
    if len(tokens) < count:
        sys.exit(f"revocation_latency.py: {tokens_path} has {len(tokens)} tokens, {count} needed")

    auth, rs = Connection(auth_url), Connection(rs_url)
    revoke_headers = {"Authorization": client_basic, "Content-Type": "application/x-www-form-urlencoded"}
    latencies, unexpected, timeouts, polls_total = [], Counter(), 0, 0
    started = time.perf_counter()
    for n, token in enumerate(tokens, 1):
        bearer = {"Authorization": f"Bearer {token}"}
        status = rs.status("GET", item_path, bearer)
        if status != 200:
            sys.exit(f"revocation_latency.py: token {n}: the warm-up GET answered {status}, not 200")
        status = auth.status("POST", "/o/revoke_token/", revoke_headers, "token=" + urllib.parse.quote(token))
        revoked = time.perf_counter()
        if status != 200:
            sys.exit(f"revocation_latency.py: token {n}: POST /o/revoke_token/ answered {status}, not 200")
        while True:
            status = rs.status("GET", item_path, bearer)
            now = time.perf_counter()
            polls_total += 1
            if status == 401:
                latencies.append(now - revoked)
                break
            if status != 200:
                unexpected[status] += 1
            if now - revoked > timeout:
                print(f"revocation_latency.py: token {n} still answered {status} {now - revoked:.1f} s after its "
                      "revocation", file=sys.stderr)
                latencies.append(timeout)
                timeouts += 1
                break
        if timeouts >= MAX_TIMEOUTS:
            print(f"revocation_latency.py: stopping after {MAX_TIMEOUTS} timeouts ({n} of {count} revoked)",
                  file=sys.stderr)
            break
    secs = time.perf_counter() - started

    ms = sorted(latency * 1000 for latency in latencies)
    seen = ",".join(f"{code}:{k}" for code, k in sorted(unexpected.items())) or "none"
    print(f"REVOCATION count={len(ms)} p50_ms={percentile(ms, 50):.2f} p99_ms={percentile(ms, 99):.2f} "
          f"max_ms={ms[-1]:.2f} timeouts={timeouts} unexpected={seen} polls_mean={polls_total / len(ms):.1f} "
          f"secs={secs:.1f}")


if __name__ == "__main__":
    main()
