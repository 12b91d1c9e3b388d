#!/usr/bin/env python3
"""The fault-injection scenarios of scripts/faults.sh, one subcommand each. faults.sh starts the servers with
the settings a scenario needs and passes the same numbers here; each scenario prepares its users, tokens and
items over HTTP, runs load while it injects its fault (from this process, so that request times and fault
marks share one clock), prints its figures and one PASS/FAIL line per check, and exits 1 if any check failed.

  pg-terminate   pg_terminate_backend on every backend of both databases, twice, under mixed load
  pg-restart     stop PostgreSQL, wait, start it, under item-creation load; no acknowledged write may be lost
  auth-freeze    SIGSTOP the auth server for a while, then SIGCONT
  auth-kill      SIGKILL the auth server and keep the load on for a while (then auth-recover, after
                 faults.sh restarted it)
  slow-clients   slow bodies and slow request heads against both servers while normal requests go on
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import threading
import time

from common import (
    BASIC,
    FORM,
    Load,
    Report,
    call,
    create_item,
    cycle,
    describe,
    get_item,
    hostport,
    introspect,
    mint_tokens,
    ok,
    percentile,
    post_item,
    recovery,
    signup_and_token,
    wait_until,
    warm,
)

GET, POST, INTROSPECT = "GET /items/<id>/", "POST /items/", "POST /o/introspect/"


def tag() -> str:
    """Unique per run: emails and item names never collide with an earlier run's."""
    return f"{os.getpid()}-{int(time.time() * 1000) % 10**8}"


def sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.monotonic()))


def run(command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs a command line given by faults.sh (already shell-quoted), capturing its output."""
    return subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=timeout)


def dump(args, records, marks: dict) -> None:
    """With --dump FILE: every request (times relative to the first one) and the fault marks, as JSON lines."""
    if not args.dump or not records:
        return
    t0 = records[0].start
    with open(args.dump, "w") as f:
        f.write(json.dumps({"marks": {k: round(v - t0, 4) for k, v in marks.items() if v is not None}}) + "\n")
        for r in records:
            f.write(json.dumps({"kind": r.kind, "start": round(r.start - t0, 4), "ms": round(r.latency_ms, 1),
                                "status": r.status, "id": r.item_id, "error": r.error}) + "\n")


def of_kind(records, kind, start=None, end=None):
    """The requests of `kind` started in [start, end)."""
    return [
        r
        for r in records
        if r.kind == kind and (start is None or r.start >= start) and (end is None or r.start < end)
    ]


def common_failure_checks(rep: Report, records) -> None:
    """What holds in every database scenario: no 500, nothing but 2xx and 503, and every 503 well-formed."""
    server_errors = [r for r in records if r.status >= 500 and r.status != 503]
    rep.check(not server_errors, "no 5xx other than 503", f"{len(server_errors)} seen")
    rep.failures_shown(server_errors)
    others = [r for r in records if not ok(r.status) and r.status < 500]
    rep.check(not others, "no other failure (4xx, connection errors)", f"{len(others)} seen")
    rep.failures_shown(others)
    bad = [r for r in records if r.status == 503 and not r.good_503]
    total = sum(r.status == 503 for r in records)
    rep.check(not bad, "every 503 carries Retry-After and error=temporarily_unavailable",
              f"{len(bad)} of {total} lack it")


# --- 1. pg_terminate_backend under load -----------------------------------------------------------------------


def pg_terminate(args) -> None:
    rep = Report("pg-terminate")
    t = tag()
    token = signup_and_token(args.auth, f"s1.{t}@example.com")
    item = create_item(args.rs, token, f"s1-seed-{t}")
    dbs = ",".join(f"'{d}'" for d in args.dbs.split(","))
    sql = (
        "SELECT datname, count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname IN ({dbs}) AND pid <> pg_backend_pid() GROUP BY datname ORDER BY datname"
    )

    load = Load()
    load.add(GET, args.rs, get_item(cycle([token]), item), threads=2)
    load.add(POST, args.rs, post_item(token, f"s1-{t}"), threads=2)
    load.add(INTROSPECT, args.auth, introspect(token), threads=2)
    load.start()
    t0 = time.monotonic()
    kills = []  # (began, done, {database: backends terminated})
    for at in args.kill_at:
        sleep_until(t0 + at)
        began = time.monotonic()
        out = run(f"{args.psql} -Atc {shlex.quote(sql)}")
        done = time.monotonic()
        terminated = dict(line.split("|") for line in out.stdout.split())
        kills.append((began, done, terminated))
        if out.returncode:
            rep.info(f"psql failed: {out.stderr.strip()}")
    sleep_until(t0 + args.duration)
    records = load.stop()
    marks = {f"kill{i}": began for i, (began, _, _) in enumerate(kills, 1)}
    dump(args, records, marks | {f"kill{i}_done": done for i, (_, done, _) in enumerate(kills, 1)})

    for kind in (GET, POST, INTROSPECT):
        rep.info(describe(kind, of_kind(records, kind)))
    for i, (began, done, terminated) in enumerate(kills, 1):
        rep.info(f"kill {i} at +{began - t0:.2f} s (psql took {(done - began) * 1000:.0f} ms): terminated {terminated}")
        every_db = all(int(terminated.get(d, 0)) > 0 for d in args.dbs.split(","))
        rep.check(every_db, f"kill {i} terminated backends of both databases", f"{terminated}")

    common_failure_checks(rep, records)
    before = [r for r in records if r.start < kills[0][0] and r.end < kills[0][0]]
    rep.check(all(ok(r.status) for r in before), "all requests succeeded before the first kill",
              f"{sum(not ok(r.status) for r in before)} of {len(before)} failed")
    for i, (began, done, _) in enumerate(kills, 1):
        window_end = kills[i][0] if i < len(kills) else t0 + args.duration
        for kind in (GET, POST, INTROSPECT):
            # In flight at the kill or started after it, up to the next kill.
            window = [r for r in records if r.kind == kind and r.end >= began and r.start < window_end]
            failed = sum(not ok(r.status) for r in window)
            back = recovery(window, done)
            rep.check(back.within(args.recovery) and back.after >= 20,
                      f"kill {i}: {kind} succeeds again within {args.recovery:.0f} s", f"{failed} failed; {back}")
            rep.failures_shown([r for r in window if not ok(r.status)], limit=2)
    rep.exit()


# --- 2. PostgreSQL restart under item creation -----------------------------------------------------------------


def pg_restart(args) -> None:
    rep = Report("pg-restart")
    t = tag()
    token = signup_and_token(args.auth, f"s2.{t}@example.com")
    item = create_item(args.rs, token, f"s2-seed-{t}")

    load = Load()
    load.add(POST, args.rs, post_item(token, f"s2-{t}"), threads=3)
    load.add(GET, args.rs, get_item(cycle([token]), item), threads=1)
    load.add(INTROSPECT, args.auth, introspect(token), threads=1)
    load.start()
    t0 = time.monotonic()
    sleep_until(t0 + args.stop_at)
    stop_began = time.monotonic()
    stopped = run(args.pg_stop)
    stop_done = time.monotonic()
    time.sleep(args.down_for)
    start_began = time.monotonic()
    started = run(args.pg_start)
    # Recovery counts from the moment PostgreSQL accepts connections, as pg_isready sees it.
    ready = wait_until(lambda: run(args.pg_isready).returncode == 0, timeout=30, interval=0.02)
    if ready is not None:
        sleep_until(ready + args.after)
    records = load.stop()
    dump(args, records, {"stop": stop_began, "stopped": stop_done, "start": start_began, "ready": ready})

    for kind in (POST, GET, INTROSPECT):
        rep.info(describe(kind, of_kind(records, kind)))
    rep.info(f"pg_ctl stop at +{stop_began - t0:.2f} s took {(stop_done - stop_began) * 1000:.0f} ms "
             f"(rc {stopped.returncode}); start at +{start_began - t0:.2f} s (rc {started.returncode}); "
             + (f"pg_isready ok at +{ready - t0:.2f} s: {ready - stop_began:.2f} s without PostgreSQL" if ready
                else "pg_isready never succeeded"))
    if stopped.returncode or started.returncode:
        rep.info(f"pg_ctl said: {stopped.stderr.strip()} {started.stderr.strip()}")
    rep.check(ready is not None, "PostgreSQL accepted connections again after the restart")
    if ready is None:
        rep.exit()
    outage = [r for r in records if r.end >= stop_began and r.start < ready]
    for kind in (POST, GET, INTROSPECT):
        rep.info(describe(f"{kind} in flight at the stop or started before pg_isready", of_kind(outage, kind)))
    # PostgreSQL really went away: item creations failed or waited for it (the pool waits up to its acquire
    # timeout for a connection).
    felt = [r for r in of_kind(outage, POST) if r.status == 503 or r.latency_ms >= 1000]
    rep.check(bool(felt), "the outage was felt: item creation got 503 or waited >= 1 s",
              f"{sum(r.status == 503 for r in felt)} answered 503, "
              f"{sum(r.latency_ms >= 1000 for r in felt)} waited >= 1 s")

    # Requests may wait for a connection, but never longer than database.acquire_timeout_ms.
    waited = [r for r in outage if r.latency_ms >= 1000]
    rep.info(f"{len(waited)} requests waited >= 1 s for PostgreSQL: "
             + ", ".join(f"{r.kind} {r.latency_ms:.0f} ms -> {r.status}" for r in waited[:8]))
    worst = max(records, key=lambda r: r.latency_ms)
    limit = args.acquire_timeout_ms + 500
    rep.check(worst.latency_ms <= limit, f"no request waited longer than the acquire timeout + 500 ms ({limit} ms)",
              f"longest {worst.latency_ms:.0f} ms ({worst.kind}, status {worst.status})")

    common_failure_checks(rep, records)
    before = [r for r in records if r.end < stop_began]
    rep.check(all(ok(r.status) for r in before), "all requests succeeded before the stop",
              f"{sum(not ok(r.status) for r in before)} of {len(before)} failed")
    for kind in (POST, GET, INTROSPECT):
        back = recovery([r for r in records if r.kind == kind and r.end >= stop_began], ready)
        rep.check(back.within(args.recovery) and back.after >= 10,
                  f"{kind} succeeds again within {args.recovery:.0f} s of pg_isready", str(back))

    # Every 201 must have been committed: look for each acknowledged id (and name) in the items table.
    acked = [r for r in records if r.kind == POST and r.status == 201]
    rows = run(f"{args.psql_rs} -Atc {shlex.quote('SELECT id, name FROM items')}")
    present = dict(line.split("|", 1) for line in rows.stdout.splitlines() if line)
    missing = [r for r in acked if str(r.item_id) not in present or present[str(r.item_id)] != r.name]
    names = set(present.values())
    unacked_kept = [r for r in records if r.kind == POST and r.status != 201 and r.name in names]
    rep.info(f"items: {len(acked)} acknowledged (201), {len(missing)} of them missing; {len(unacked_kept)} "
             f"answered 503 but committed anyway (allowed: the answer was lost, not the write)")
    rep.check(rows.returncode == 0 and len(acked) > 0 and not missing,
              "no acknowledged write lost (every 201's id and name is in the items table)",
              f"{len(missing)} missing, e.g. {[(r.item_id, r.name) for r in missing[:3]]}" if missing
              else f"{len(acked)} checked")
    rep.exit()


# --- 3. the auth server frozen (SIGSTOP) ---------------------------------------------------------------------


def prepare_tokens(args, scenario: str, cached_count: int, unseen_count: int):
    """Cached tokens (each used once at the resource server, so it holds them) and a pool of tokens it has
    never seen, plus an item to read."""
    t = tag()
    email = f"{scenario}.{t}@example.com"
    first = signup_and_token(args.auth, email)
    item = create_item(args.rs, first, f"{scenario}-seed-{t}")
    cached = [first] + mint_tokens(args.auth, email, cached_count - 1, threads=2)
    for token in cached:
        warm(args.rs, token, item)
    unseen = mint_tokens(args.auth, email, unseen_count)
    return item, cached, unseen


def auth_freeze(args) -> None:
    rep = Report("auth-freeze")
    item, cached, unseen = prepare_tokens(args, "s3", 4, 100)
    timeout = args.timeout_ms / 1000
    limit = timeout + 0.5  # no request may wait longer than one introspection timeout plus this margin

    gate = threading.Event()  # unseen tokens are sent only once the auth server is frozen
    load = Load()
    # Paced (at most 500 and 200 requests/s per thread): latency here should be the servers' waiting, not a
    # CPU saturated by this client on a small machine.
    load.add("cached", args.rs, get_item(cycle(cached), item), threads=4, interval=0.002)
    load.add("unseen", args.rs, get_item(cycle(unseen), item), threads=2, interval=0.005, gate=gate)
    load.start()
    t0 = time.monotonic()
    sleep_until(t0 + args.warmup)
    os.kill(args.auth_pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        gate.set()
        sleep_until(stopped + args.freeze)
    finally:
        os.kill(args.auth_pid, signal.SIGCONT)
    resumed = time.monotonic()
    sleep_until(resumed + args.after)
    records = load.stop()
    dump(args, records, {"sigstop": stopped, "sigcont": resumed})

    frozen_cached = of_kind(records, "cached", stopped, resumed)
    frozen_unseen = of_kind(records, "unseen", stopped, resumed)
    rep.info(describe(f"cached tokens, started during the {args.freeze:.0f} s freeze", frozen_cached))
    rep.info(describe("unseen tokens, started during the freeze", frozen_unseen))
    rep.info(describe("cached tokens, after SIGCONT", of_kind(records, "cached", resumed)))
    rep.info(describe("unseen tokens, after SIGCONT", of_kind(records, "unseen", resumed)))
    slow = [r for r in frozen_cached if r.latency_ms >= 50]
    rep.info(f"cached requests that took >= 50 ms during the freeze: {len(slow)} "
             f"({', '.join(f'{r.latency_ms:.0f}' for r in slow[:10])}{' ...' if len(slow) > 10 else ''} ms)")

    rep.check(len(frozen_cached) >= 200 and len(frozen_unseen) >= 5, "load ran through the freeze",
              f"{len(frozen_cached)} cached, {len(frozen_unseen)} unseen requests")
    failed = [r for r in of_kind(records, "cached", stopped) if r.status != 200]
    rep.check(not failed, "cached tokens answered 200 throughout (the freeze and after)", f"{len(failed)} were not")
    rep.failures_shown(failed)
    p99 = percentile([r.latency_ms for r in frozen_cached], 99)
    rep.check(p99 < 50, "cached tokens answered without waiting for the frozen auth server: p99 < 50 ms",
              f"p99 {p99:.1f} ms")
    answered_frozen = [r for r in frozen_unseen if r.end < resumed]
    wrong = [r for r in answered_frozen if r.status != 503 or not r.good_503]
    rep.check(bool(answered_frozen) and not wrong,
              "unseen tokens got a well-formed 503 while the auth server was frozen",
              f"{len(answered_frozen) - len(wrong)} of {len(answered_frozen)}")
    rep.failures_shown(wrong)
    during = [r for r in records if stopped <= r.start < resumed]
    worst = max(during, key=lambda r: r.latency_ms, default=None)
    rep.check(worst is not None and worst.latency_ms <= limit * 1000,
              f"no request waited more than the introspection timeout + 500 ms ({limit * 1000:.0f} ms)",
              f"longest {worst.latency_ms:.0f} ms ({worst.kind}, status {worst.status})" if worst else "no request")
    back = recovery([r for r in of_kind(records, "unseen") if r.end >= resumed], resumed)
    bound = (args.breaker_open_ms + args.timeout_ms) / 1000 + 1
    rep.check(back.within(bound),
              f"unseen tokens answered 200 again within {bound:.1f} s of SIGCONT (circuit open time + timeout + 1 s)",
              str(back))
    rep.check(call(args.auth, "GET", "/health/live").status == 200, "the auth server answers after SIGCONT")
    rep.exit()


# --- 4. the auth server killed (SIGKILL) ---------------------------------------------------------------------


LOG_LEVEL = re.compile(rb"^\[\S+ (ERROR|WARN|INFO|DEBUG|TRACE)\s")


def log_lines(path: str, start: int, end: int) -> dict[str, list[str]]:
    """The lines a server logged between two file offsets, by level."""
    with open(path, "rb") as f:
        f.seek(start)
        chunk = f.read(end - start)
    by_level: dict[str, list[str]] = {}
    for line in chunk.splitlines():
        m = LOG_LEVEL.match(line)
        level = m.group(1).decode() if m else "other"
        by_level.setdefault(level, []).append(line.decode(errors="replace"))
    return by_level


def circuit(rs: str) -> tuple[int, str, bool]:
    """/health/ready: its status, the circuit it reports, and whether a 503 carried Retry-After."""
    answer = call(rs, "GET", "/health/ready", timeout=5)
    body = answer.json() or {}
    return answer.status, body.get("introspection_circuit", "?"), "retry-after" in answer.headers


def auth_kill(args) -> None:
    rep = Report("auth-kill")
    item, cached, unseen = prepare_tokens(args, "s4", 3, 100)
    timeout = args.timeout_ms / 1000

    gate = threading.Event()
    load = Load()
    # Paced as in auth-freeze; still hundreds of unseen-token requests a second, so a log line per request
    # would show.
    load.add("cached", args.rs, get_item(cycle(cached), item), threads=3, interval=0.002)
    load.add("unseen", args.rs, get_item(cycle(unseen), item), threads=3, interval=0.005, gate=gate)
    load.start()
    t0 = time.monotonic()
    sleep_until(t0 + args.warmup)
    log_start = os.path.getsize(args.rs_log)
    os.kill(args.auth_pid, signal.SIGKILL)
    killed = time.monotonic()
    gate.set()
    polls = []  # (time, status, circuit, retry-after) of /health/ready every half second
    while time.monotonic() < killed + args.dead_for:
        polls.append((time.monotonic(), *circuit(args.rs)))
        time.sleep(0.5)
    sleep_until(killed + args.dead_for)
    log_end = os.path.getsize(args.rs_log)
    records = load.stop()
    dump(args, records, {"sigkill": killed})
    # The circuit at the end, asked a few times: a probe that happens to be out shows "half-open".
    final = []
    for _ in range(3):
        final.append(circuit(args.rs)[1])
        time.sleep(0.1)

    dead_cached = of_kind(records, "cached", killed)
    dead_unseen = of_kind(records, "unseen", killed)
    rep.info(describe(f"cached tokens, {args.dead_for:.0f} s at the dead auth server", dead_cached))
    rep.info(describe("unseen tokens, same window", dead_unseen))
    lines = log_lines(args.rs_log, log_start, log_end)
    warns = lines.get("WARN", [])
    rep.info(f"resource-server log in that window: {len(warns)} WARN, {len(lines.get('ERROR', []))} ERROR, "
             f"{len(lines.get('INFO', []))} INFO lines, for {len(dead_cached) + len(dead_unseen)} requests")
    distinct: dict[str, int] = {}
    for line in warns:
        message = re.sub(r"^\[\S+ WARN\s+\S+\]\s*", "", line)
        message = re.sub(r"\d+", "N", message)[:140]
        distinct[message] = distinct.get(message, 0) + 1
    for message, n in sorted(distinct.items(), key=lambda kv: -kv[1])[:5]:
        rep.info(f"  {n} x {message}")
    rep.info("/health/ready during the window: "
             + " ".join(f"+{t - killed:.1f}s:{status}/{state}" for t, status, state, _ in polls))
    ready_503 = [p for p in polls if p[1] == 503]
    if ready_503:
        rep.info(f"(/health/ready answered 503 {len(ready_503)} times, "
                 f"{'with' if all(p[3] for p in ready_503) else 'without'} Retry-After)")

    rep.check(len(dead_unseen) >= 100, "load ran: unseen-token requests at the dead auth server",
              f"{len(dead_unseen)} requests")
    wrong = [r for r in dead_unseen if r.status != 503 or not r.good_503]
    rep.check(not wrong, "unseen tokens got a well-formed 503",
              f"{len(dead_unseen) - len(wrong)} of {len(dead_unseen)}")
    rep.failures_shown(wrong)
    slowest = max((r.latency_ms for r in dead_unseen), default=0)
    rep.check(slowest <= (timeout + 0.5) * 1000, "unseen tokens answered within the introspection timeout + 500 ms",
              f"longest {slowest:.0f} ms")
    failed = [r for r in dead_cached if r.status != 200]
    grace_left = args.stale_grace_secs - args.dead_for
    rep.check(bool(dead_cached) and not failed,
              f"cached tokens answered 200 (within the grace, {grace_left:.0f} s of it left)",
              f"{len(dead_cached) - len(failed)} of {len(dead_cached)}")
    rep.failures_shown(failed)
    p99 = percentile([r.latency_ms for r in dead_cached], 99)
    rep.check(p99 < 50, "cached tokens answered at once: p99 < 50 ms", f"p99 {p99:.1f} ms")
    rep.check(len(warns) < args.max_warn, f"resource-server log stays bounded: fewer than {args.max_warn} WARN lines "
              f"in {args.dead_for:.0f} s", f"{len(warns)} WARN lines for {len(dead_unseen)} unseen-token requests")
    settled = [state for t, _, state, _ in polls if t >= killed + 2]
    rep.check(bool(settled) and all(s in ("open", "half-open") for s in settled) and "open" in final,
              "/health/ready reports the introspection circuit open",
              f"from +2 s on: {sorted(set(settled))}, at the end: {final}")

    with open(args.state, "w") as f:
        json.dump({"item": item, "cached": cached, "unseen": unseen}, f)
    rep.exit()


def auth_recover(args) -> None:
    """After faults.sh restarted the auth server on the same port and database."""
    rep = Report("auth-kill")
    with open(args.state) as f:
        state = json.load(f)
    launched = time.monotonic()
    up = wait_until(lambda: call(args.auth, "GET", "/health/live", timeout=1).status == 200, timeout=30)
    rep.check(up is not None, "the auth server restarted on the same port",
              f"live after {(up - launched) * 1000:.0f} ms" if up else "not live after 30 s")
    if up is None:
        rep.exit()
    unseen = cycle(state["unseen"])
    item = state["item"]
    bound = args.breaker_open_ms / 1000 + 1
    statuses = []

    def unseen_ok() -> bool:
        answer = call(args.rs, "GET", f"/items/{item}/", headers={"Authorization": f"Bearer {next(unseen)}"})
        statuses.append(answer.status)
        return answer.status == 200

    served = wait_until(unseen_ok, timeout=bound + 5, interval=0.1)
    closed = wait_until(lambda: circuit(args.rs)[1] == "closed", timeout=bound + 5, interval=0.1)
    rep.info(f"unseen-token probes after the restart: {' '.join(map(str, statuses[:20]))}")
    rep.check(served is not None and served - up <= bound,
              f"unseen tokens answered 200 within {bound:.0f} s of the auth server coming back",
              f"after {(served - up) * 1000:.0f} ms" if served else "never")
    rep.check(closed is not None and closed - up <= bound, "/health/ready reports the circuit closed again",
              f"after {(closed - up) * 1000:.0f} ms" if closed else f"still {circuit(args.rs)[1]}")
    rep.exit()


# --- 5. slow bodies and slow request heads -------------------------------------------------------------------


def slow_client(base: str, head: bytes, trickle: bytes, every: float, give_up: float, result: dict) -> None:
    """Sends `head` at once, then `trickle` one byte every `every` seconds, until the server answers or closes.
    Records when that happened (seconds after the connection was made) and what came back."""
    host, port = hostport(base)
    received = b""
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        result.update(outcome=f"connect failed: {e}", cut=None)
        return
    started = time.monotonic()
    cut = closed = None  # when the server first answered or closed; when it closed
    outcome = "still open"
    try:
        s.sendall(head)
        next_byte = started + every
        position = 0
        while time.monotonic() - started < give_up:
            wait = max(0.0, next_byte - time.monotonic())
            readable, _, _ = select.select([s], [], [], wait)
            if readable:
                data = s.recv(4096)
                if cut is None:
                    cut = time.monotonic() - started
                if not data:
                    closed = time.monotonic() - started
                    outcome = "closed"
                    break
                received += data
                continue
            if position < len(trickle):
                s.send(trickle[position : position + 1])
                position += 1
            next_byte += every
    except OSError as e:  # reset, broken pipe: the server dropped the connection
        closed = time.monotonic() - started
        if cut is None:
            cut = closed
        outcome = f"reset ({type(e).__name__})"
    finally:
        s.close()
    status = received.split(b" ", 2)[1].decode() if received.startswith(b"HTTP/") else None
    if status:
        outcome = f"{status} then {outcome}"
    result.update(outcome=outcome, cut=cut, closed=closed, status=status)


def slow_clients(args) -> None:
    rep = Report("slow-clients")
    t = tag()
    token = signup_and_token(args.auth, f"s5.{t}@example.com")
    item = create_item(args.rs, token, f"s5-seed-{t}")
    body_timeout = args.body_timeout_ms / 1000

    load = Load()
    load.add(GET, args.rs, get_item(cycle([token]), item), threads=2)
    load.add(INTROSPECT, args.auth, introspect(token), threads=1)
    load.start()
    time.sleep(1)

    def head(base, method, path, headers, length=None) -> bytes:
        host, port = hostport(base)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *headers]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    bearer = f"Authorization: Bearer {token}"
    client = [f"Authorization: {BASIC}", f"Content-Type: {FORM}"]
    # Slow bodies: a complete head announcing 1000 bytes, then one byte a second. The credentials are valid,
    # so that the servers get as far as reading the body.
    body_targets = {
        "resource-server POST /items/": head(args.rs, "POST", "/items/", [bearer, "Content-Type: application/json"],
                                             1000),
        "auth-server POST /o/token/": head(args.auth, "POST", "/o/token/", client, 1000),
    }
    # Slow heads: the request head itself, one byte every half second.
    head_targets = {
        "resource-server GET /items/<id>/": head(args.rs, "GET", f"/items/{item}/", [bearer]),
        "auth-server POST /o/introspect/": head(args.auth, "POST", "/o/introspect/", client, 0),
    }
    bases = {"resource-server": args.rs, "auth-server": args.auth}
    give_up = 20.0
    jobs = []
    for label, h in body_targets.items():
        for _ in range(args.connections):
            jobs.append(("body", label, bases[label.split()[0]], h, b"x" * 1000, 1.0))
    for label, h in head_targets.items():
        for _ in range(args.connections):
            jobs.append(("head", label, bases[label.split()[0]], b"", h, 0.5))
    results = [dict() for _ in jobs]
    threads = [threading.Thread(target=slow_client, args=(base, h, trickle, every, give_up, result), daemon=True)
               for (_, _, base, h, trickle, every), result in zip(jobs, results)]
    slow_began = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(give_up + 5)
    slow_ended = time.monotonic()
    time.sleep(0.5)
    records = load.stop()
    dump(args, records, {"slow_began": slow_began, "slow_ended": slow_ended})

    body_limit = body_timeout + 1.5
    head_limit = args.head_timeout
    for kind, label in [("body", label) for label in body_targets] + [("head", label) for label in head_targets]:
        mine = [result for job, result in zip(jobs, results) if job[:2] == (kind, label)]
        cuts = [r["cut"] for r in mine if r.get("cut") is not None]
        outcomes: dict[str, int] = {}
        for r in mine:
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        span = f"cut after {min(cuts):.2f}-{max(cuts):.2f} s" if cuts else "none cut"
        rep.info(f"slow {kind}, {label}: {len(mine)} connections, {span}; {outcomes}")
        if kind == "body":
            # A 408 (or a bare close) after the body timeout, not before: an early answer would prove nothing.
            # Either way the connection must end: the rest of the body may still be on its way.
            good = [r for r in mine if r.get("cut") is not None and body_timeout - 0.5 <= r["cut"] <= body_limit
                    and r.get("status") in ("408", None) and r.get("closed") is not None
                    and r["closed"] <= body_limit + 0.5]
            rep.check(len(good) == len(mine), f"slow bodies at the {label.split()[0]} get 408 and/or a closed "
                      f"connection between {body_timeout - 0.5:.1f} and {body_limit:.1f} s",
                      f"{len(good)} of {len(mine)}")
            answered = sum(r.get("status") == "408" for r in mine)
            rep.info(f"  {answered} of {len(mine)} got a 408 answer before the close")
        else:
            good = [r for r in mine if r.get("closed") is not None and r["closed"] <= head_limit]
            rep.check(len(good) == len(mine), f"slow request heads at the {label.split()[0]} are closed within "
                      f"{head_limit:.1f} s", f"{len(good)} of {len(mine)}")

    during = [r for r in records if slow_began <= r.start < slow_ended]
    for kind in (GET, INTROSPECT):
        rep.info(describe(f"normal {kind} while the slow clients were connected", of_kind(during, kind)))
    failed = [r for r in during if not ok(r.status)]
    rep.check(len(during) >= 100 and not failed, "normal requests meanwhile all succeeded",
              f"{len(during) - len(failed)} of {len(during)}")
    rep.failures_shown(failed)
    p99 = percentile([r.latency_ms for r in during], 99)
    rep.check(p99 < 100, "normal requests meanwhile stayed fast: p99 < 100 ms", f"p99 {p99:.1f} ms")
    rep.exit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="scenario", required=True)

    def scenario(name, function, **kwargs):
        p = sub.add_parser(name)
        p.add_argument("--auth", required=True, help="auth server base URL")
        p.add_argument("--rs", required=True, help="resource server base URL")
        p.add_argument("--dump", help="write every request of the load here (JSON lines), for post-mortems")
        p.set_defaults(function=function)
        for option, (kind, default) in kwargs.items():
            p.add_argument("--" + option.replace("_", "-"), type=kind, default=default, required=default is None)
        return p

    p = scenario("pg-terminate", pg_terminate, psql=(str, None), dbs=(str, None), duration=(float, 8.0),
                 recovery=(float, 2.0))
    p.add_argument("--kill-at", type=float, nargs="+", default=[2.0, 5.0])
    scenario("pg-restart", pg_restart, psql_rs=(str, None), pg_stop=(str, None), pg_start=(str, None),
             pg_isready=(str, None), stop_at=(float, 2.5), down_for=(float, 2.0), after=(float, 4.0),
             recovery=(float, 2.0), acquire_timeout_ms=(int, 5000))
    scenario("auth-freeze", auth_freeze, auth_pid=(int, None), timeout_ms=(int, None), breaker_open_ms=(int, None),
             warmup=(float, 2.0), freeze=(float, 6.0), after=(float, 5.0))
    scenario("auth-kill", auth_kill, auth_pid=(int, None), rs_log=(str, None), state=(str, None),
             timeout_ms=(int, None), stale_grace_secs=(int, None), warmup=(float, 1.5), dead_for=(float, 10.0),
             max_warn=(int, 50))
    scenario("auth-recover", auth_recover, state=(str, None), breaker_open_ms=(int, None))
    scenario("slow-clients", slow_clients, body_timeout_ms=(int, None), head_timeout=(float, 6.5),
             connections=(int, 20))
    args = parser.parse_args()
    args.function(args)


if __name__ == "__main__":
    main()
