#!/usr/bin/env bash
# Scale-out on one PostgreSQL, end to end with the release binaries: two auth servers (one database) behind
# nginx (docker/nginx/auth-servers.conf, the compose profile scale-out's load balancer, run on loopback
# ports), and two resource servers (one database): RS #1 introspects at auth #1 directly, RS #2 through nginx.
#   a. a user signed up through RS #2 logs in through RS #1; the token minted at auth #1 is active at auth #2;
#   b. the token is cached by both resource servers, then revoked at auth #2: both answer 401 within 1 s (their
#      caches trust it for 60 s, so only the revocation event can do it: written to PostgreSQL by auth #2,
#      streamed by auth #1 to RS #1 directly and to RS #2 through nginx);
#   c. one refresh token presented to both auth servers at the same moment: exactly one 200, one invalid_grant
#      (20 times, fresh tokens each time);
#   d. a client secret rotated with the admin CLI is refused at once by auth #2, which had just verified and
#      remembered the old one, and the new secret works there;
#   e. auth #1 is killed (SIGKILL): RS #2 serves a new user through nginx and auth #2, introspection through
#      nginx works, RS #2's event stream comes back through nginx on auth #2 and a revocation at auth #2
#      reaches RS #2 within 1 s; RS #1 reports the auth server unreachable (503) instead of crashing.
# Each check prints one PASS/FAIL line (with the figures: revocation latencies, race outcomes); a failure
# prints the tails of the servers' logs. Ends with "N passed, M failed"; exits non-zero when anything failed.
# Takes about half a minute. Everything it starts is stopped, its databases dropped, its temp dir removed.
#
# usage: scripts/scale_out.sh [AUTH_SERVER_BINARY [RESOURCE_SERVER_BINARY]]
#        (defaults target/release/auth-server and target/release/resource-server; CI builds them first;
#        SCALE_OUT_KEEP=1 keeps the temp dir: the servers' and nginx's logs)
# Needs: python3 (standard library only: the checks below), curl, psql and PostgreSQL on $PGHOST:$PGPORT
# (127.0.0.1:5432, user postgres, trust auth), nginx (Debian's nginx-light is installed with apt when missing).
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
root=$PWD

# Binaries named on the command line are relative to the caller's directory; the defaults to the repository.
absolute() { case $1 in /*) echo "$1" ;; *) echo "$2/$1" ;; esac; }
auth_bin=$(absolute "${1:-target/release/auth-server}" "$([[ $# -ge 1 ]] && echo "$here" || echo "$root")")
rs_bin=$(absolute "${2:-target/release/resource-server}" "$([[ $# -ge 2 ]] && echo "$here" || echo "$root")")
for bin in "$auth_bin" "$rs_bin"; do
    [[ -x $bin ]] || { echo "scale_out: $bin is not an executable (build it: cargo build --release)" >&2; exit 2; }
done

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
READY_TIMEOUT=${READY_TIMEOUT:-60}

work=$(mktemp -d -t scale_out.XXXXXX)
chmod 711 "$work" # nginx's workers (nobody, when started as root) must reach their temp folders inside
run_id="scale_$(date +%s)_$$"
auth_db="${run_id}_auth" rs_db="${run_id}_rs"
passed=0 failed=0
databases=() rs_pids=() lb_pids=() auth_pids=() # stopped in that order: the streams end before their servers

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
log() { echo "scale_out: $*"; }

# stop_pid PID: SIGTERM, up to 5 s (an auth server drains its event streams), then SIGKILL.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }
    for _ in {1..50}; do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    local status=$? pid db
    trap - EXIT
    set +e
    for pid in "${rs_pids[@]}" "${lb_pids[@]}" "${auth_pids[@]}"; do stop_pid "$pid"; done
    for db in "${databases[@]}"; do
        psql -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
    done
    if [[ -n ${SCALE_OUT_KEEP:-} ]]; then log "kept $work"; else rm -rf "$work"; fi
    if ((failed > 0 && status == 0)); then status=1; fi
    log "took ${SECONDS} s"
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tails: the last lines of every log, when something failed.
tails() {
    local f
    for f in "$work"/*.log; do
        [[ -s $f ]] || continue
        echo "    --- $(basename "$f") (last 15 lines)"
        tail -n 15 "$f" | sed 's/^/    /'
    done
}

# --- tools -------------------------------------------------------------------------------------------------------
command -v python3 >/dev/null || { log "python3 is needed"; exit 2; }
command -v curl >/dev/null || { log "curl is needed"; exit 2; }
command -v psql >/dev/null || { log "psql is needed"; exit 2; }
nginx_bin=$(command -v nginx || true)
[[ -z $nginx_bin && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
if [[ -z $nginx_bin ]]; then
    log "installing Debian's nginx-light"
    sudo=""
    ((EUID == 0)) || sudo=sudo
    $sudo apt-get update -qq
    # policy-rc.d permitting, the package starts a system nginx on port 80; this script never uses it.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light >/dev/null
    nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
fi
pg_isready -q 2>/dev/null || { log "PostgreSQL does not answer on $PGHOST:$PGPORT"; exit 2; }

read -r auth1_port auth2_port lb_port rs1_port rs2_port < <(python3 -c 'import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
AUTH1=http://127.0.0.1:$auth1_port AUTH2=http://127.0.0.1:$auth2_port LB=http://127.0.0.1:$lb_port
RS1=http://127.0.0.1:$rs1_port RS2=http://127.0.0.1:$rs2_port

for db in "$auth_db" "$rs_db"; do
    psql -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$db\"" >/dev/null
    databases+=("$db")
done
pg_url() { echo "postgres://postgres@$PGHOST:$PGPORT/$1"; }

# --- servers -----------------------------------------------------------------------------------------------------
# start_auth N PORT: one instance of the logical auth server (shared database, the load balancer's issuer).
# bcrypt cost 4 keeps the 20 logins of check c fast; it changes nothing this script checks. Every request comes
# from 127.0.0.1, so the per-IP rate limits are off on all four servers; the proxies in front (nginx and the
# resource servers, all on loopback) are trusted as in docker-compose.yml.
start_auth() {
    (cd "$work" && exec env -i PATH="$PATH" HOME="$HOME" RUST_LOG=info \
        AUTH_SERVER__DATABASE__URL="$(pg_url "$auth_db")" \
        AUTH_SERVER__HTTP__HOST=127.0.0.1 AUTH_SERVER__HTTP__PORT="$2" AUTH_SERVER__ISSUER="$LB" \
        AUTH_SERVER__REVOCATION__HEARTBEAT_SECS=1 AUTH_SERVER__SECURITY__BCRYPT_COST=4 \
        AUTH_SERVER__RATE_LIMIT__ENABLED=false AUTH_SERVER__HTTP__TRUSTED_PROXIES=127.0.0.1 \
        AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID=rs-id AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET=rs-secret \
        AUTH_SERVER__CLIENTS__TUTORIAL__NAME=resource-server \
        AUTH_SERVER__CLIENTS__TUTORIAL__GRANT_TYPES=password,refresh_token,client_credentials \
        AUTH_SERVER__CLIENTS__TUTORIAL__SCOPES=read,write,introspection \
        "$auth_bin") >"$work/auth$1.log" 2>&1 &
    last_pid=$!
    auth_pids+=("$last_pid")
}
# start_rs N PORT AUTH_BASE_URL: a resource server on the shared resource database. Cached answers are
# trusted for 60 s while the revocation stream is live; a stream silent for 3 s (three missed heartbeats)
# is taken for lost.
start_rs() {
    (cd "$work" && exec env -i PATH="$PATH" HOME="$HOME" RUST_LOG=info \
        RESOURCE_SERVER__DATABASE__URL="$(pg_url "$rs_db")" \
        RESOURCE_SERVER__HTTP__HOST=127.0.0.1 RESOURCE_SERVER__HTTP__PORT="$2" \
        RESOURCE_SERVER__AUTH__BASE_URL="$3" \
        RESOURCE_SERVER__AUTH__CLIENT_ID=rs-id RESOURCE_SERVER__AUTH__CLIENT_SECRET=rs-secret \
        RESOURCE_SERVER__AUTH__REVOCATION_STREAM_IDLE_SECS=3 RESOURCE_SERVER__CACHE__TTL_SECS=60 \
        RESOURCE_SERVER__RATE_LIMIT__ENABLED=false \
        "$rs_bin") >"$work/rs$1.log" 2>&1 &
    last_pid=$!
    rs_pids+=("$last_pid")
}
# ready URL PID LOG [PYTHON_CONDITION]: bounded wait for 200 (and, given, a condition on the JSON body `b`).
ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) body
    while :; do
        if body=$(curl -fsS --max-time 2 "$1" 2>/dev/null) &&
            { [[ -z ${4:-} ]] || python3 -c "import json, sys; b = json.loads(sys.argv[1]); sys.exit(not ($4))" "$body"; }; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "    not ready: $1 ${body:+(last answer: $body)}"
            tail -n 30 "$3" | sed 's/^/    /'
            return 1
        fi
        sleep 0.2
    done
}
setup_step() { # LABEL COMMAND...: a setup step that the rest depends on; stops the run when it fails.
    local label=$1
    shift
    if "$@"; then pass "$label"; else fail "$label"; exit 1; fi
}

log "auth #1 :$auth1_port, auth #2 :$auth2_port, nginx :$lb_port, RS #1 :$rs1_port, RS #2 :$rs2_port"
log "databases $auth_db (both auth servers), $rs_db (both resource servers); temp dir $work"

# Start-up order: auth #1; nginx; RS #1 and RS #2 (one after the other: each migrates the shared resource
# database at start-up, and concurrent runs on a fresh database fail); auth #2 last, once auth #1 has migrated
# the auth database. So RS #2's revocation stream necessarily goes through nginx to auth #1 (auth #2 refuses
# connections then), and check e sees it fail over to auth #2 when auth #1 dies.
start_auth 1 "$auth1_port"
auth1_pid=$last_pid
setup_step "auth #1 gets ready on a fresh database" ready "$AUTH1/health/ready" "$auth1_pid" "$work/auth1.log"

# nginx runs the compose profile's own file, with the two upstreams and the listener moved to loopback ports.
mkdir -p "$work/nginx/tmp"
sed -e "s/server auth-server:8000 /server 127.0.0.1:$auth1_port /" \
    -e "s/server auth-server-2:8000 /server 127.0.0.1:$auth2_port /" \
    -e "s/listen 8080;/listen 127.0.0.1:$lb_port;/" docker/nginx/auth-servers.conf >"$work/nginx/auth-servers.conf"
if [[ $(grep -cE "127\.0\.0\.1:($auth1_port|$auth2_port|$lb_port)[ ;]" "$work/nginx/auth-servers.conf") != 3 ]]; then
    fail "docker/nginx/auth-servers.conf has the upstreams auth-server:8000, auth-server-2:8000 and listen 8080"
    exit 1
fi
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log stderr notice;
events { worker_connections 512; }
http {
    log_format upstreams '\$remote_addr "\$request" \$status upstream=\$upstream_addr upstream_status=\$upstream_status';
    access_log $work/nginx/access.log upstreams;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    include auth-servers.conf;
}
EOF
"$nginx_bin" -e stderr -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx.log" 2>&1 &
nginx_pid=$!
lb_pids+=("$nginx_pid")
setup_step "nginx answers with auth #1 alone (GET /health/ready through it; auth #2 refuses)" \
    ready "$LB/health/ready" "$nginx_pid" "$work/nginx.log"

live='b.get("revocation_stream") == "live"'
start_rs 1 "$rs1_port" "$AUTH1"
rs1_pid=$last_pid
setup_step "RS #1 (at auth #1) is ready with its revocation stream live" \
    ready "$RS1/health/ready" "$rs1_pid" "$work/rs1.log" "$live"
start_rs 2 "$rs2_port" "$LB"
rs2_pid=$last_pid
setup_step "RS #2 (at nginx) is ready with its revocation stream live (on auth #1)" \
    ready "$RS2/health/ready" "$rs2_pid" "$work/rs2.log" "$live"

start_auth 2 "$auth2_port"
auth2_pid=$last_pid
setup_step "auth #2 gets ready on the same database" ready "$AUTH2/health/ready" "$auth2_pid" "$work/auth2.log"

# --- the checks (Python, standard library only) --------------------------------------------------------------------
cat >"$work/checks.py" <<'PY'
"""The scale-out checks; one PASS/FAIL line each, DONE at the end. Settings come from the environment."""
import base64
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

E = os.environ
AUTH1, AUTH2, LB, RS1, RS2 = E["AUTH1"], E["AUTH2"], E["LB"], E["RS1"], E["RS2"]
WORK = E["WORK"]
PASSWORD = "Blue-Otter-731"
RUN = str(os.getpid())


def out(line=""):
    print(line, flush=True)


def tail(name, lines=15):
    try:
        with open(os.path.join(WORK, name), errors="replace") as f:
            text = f.read().splitlines()[-lines:]
    except OSError:
        return
    out(f"    --- {name} (last {lines} lines)")
    for line in text:
        out("    " + line)


def check(label, ok, detail="", logs=()):
    out(("PASS " if ok else "FAIL ") + label + (f" ({detail})" if detail else ""))
    if not ok:
        for name in logs:
            tail(name)
    return ok


def basic(client_id, secret):
    q = urllib.parse.quote
    return "Basic " + base64.b64encode(f"{q(client_id, safe='')}:{q(secret, safe='')}".encode()).decode()


RS_BASIC = basic("rs-id", "rs-secret")
# Where each resource server's introspection calls show: RS #1 asks auth #1, RS #2 asks nginx.
INTROSPECTION_LOG = {"RS #1": "auth1.log", "RS #2": os.path.join("nginx", "access.log")}


def connection(base, timeout=10):
    url = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)


def send(conn, method, path, json_body=None, form=None, headers=None):
    """One request on an open connection: (status, JSON body or None, raw body)."""
    headers = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        data = json.dumps(json_body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return response.status, body, raw


def call(base, method, path, **kwargs):
    """One request on a fresh connection; status 0 when the server cannot be reached."""
    conn = connection(base)
    try:
        return send(conn, method, path, **kwargs)
    except (OSError, http.client.HTTPException) as error:
        return 0, None, str(error).encode()
    finally:
        conn.close()


def bearer(token):
    return {"Authorization": "Bearer " + token}


def signup(base, email):
    return call(base, "POST", "/users/signup/", json_body={"email": email, "password": PASSWORD, "password2": PASSWORD})


def login(base, email):
    return call(base, "POST", "/users/token/", json_body={"email": email, "password": PASSWORD})


def password_grant(base, email):
    return call(base, "POST", "/o/token/", headers={"Authorization": RS_BASIC},
                form={"grant_type": "password", "username": email, "password": PASSWORD})


def introspect(base, token):
    return call(base, "POST", "/o/introspect/", headers={"Authorization": RS_BASIC}, form={"token": token})


def revoke(base, token):
    return call(base, "POST", "/o/revoke_token/", headers={"Authorization": RS_BASIC}, form={"token": token})


def items_status(base, token):
    return call(base, "GET", "/items/", headers=bearer(token))[0]


class Poller(threading.Thread):
    """GET /items/ with the token on one resource server every ~10 ms (one kept-alive connection) until it
    answers 401 or the deadline passes; remembers every other status it saw and when the 401 came."""

    def __init__(self, base, token, deadline):
        super().__init__(daemon=True)
        self.base, self.token, self.deadline = base, token, deadline
        self.seen = {}
        self.refused_at = None

    def run(self):
        conn = None
        while time.monotonic() < self.deadline:
            try:
                conn = conn or connection(self.base, timeout=2)
                status = send(conn, "GET", "/items/", headers=bearer(self.token))[0]
            except (OSError, http.client.HTTPException):
                if conn:
                    conn.close()
                conn, status = None, 0
            if status == 401:
                self.refused_at = time.monotonic()
                break
            self.seen[status] = self.seen.get(status, 0) + 1
            time.sleep(0.01)
        if conn:
            conn.close()


def introspections(log):
    """How many introspection requests a log shows: an auth server's (actix's logger) or nginx's access log."""
    try:
        with open(os.path.join(WORK, log), errors="replace") as f:
            return sum("/o/introspect/" in line for line in f)
    except OSError:
        return 0


def revoked_within_a_second(label, token, servers, logs):
    """Pollers on every resource server, then the revocation at auth #2: each must answer 401 within 1 s of
    the revocation's answer (and 200 until then, from its cache: no introspection call meanwhile)."""
    pollers = [(name, Poller(base, token, time.monotonic() + 10)) for name, base in servers]
    asked = {name: introspections(INTROSPECTION_LOG[name]) for name, _ in servers}
    for _, poller in pollers:
        poller.start()
    time.sleep(0.3)  # every poller has seen the cached answer a few times
    asked = {name: introspections(INTROSPECTION_LOG[name]) - n for name, n in asked.items()}
    status, _, raw = revoke(AUTH2, token)
    answered = time.monotonic()
    if not check(f"{label}: auth #2 revokes the access token (200)", status == 200, f"{status} {raw[:200]!r}",
                 logs=("auth2.log",)):
        return
    for name, poller in pollers:
        poller.join()
        before = ", ".join(f"{n}x {s}" for s, n in sorted(poller.seen.items()))
        if poller.refused_at is None:
            check(f"{label}: {name} refuses the revoked token within 1 s", False,
                  f"no 401 within 10 s; answers seen: {before}", logs=logs)
            continue
        latency = poller.refused_at - answered
        check(f"{label}: {name} refuses the revoked token within 1 s",
              latency <= 1.0 and set(poller.seen) <= {200} and poller.seen.get(200, 0) > 0 and asked[name] == 0,
              f"401 {latency * 1000:.0f} ms after the revocation's answer; before it: {before}, from the cache "
              f"({asked[name]} introspection calls in the first 300 ms)", logs=logs)


def fresh_user(rs_signup, tag):
    email = f"scale-{RUN}-{tag}@example.com"
    status, _, raw = signup(rs_signup, email)
    return email, status, raw


# ---- a. one user, tokens from auth #1, valid at auth #2 -------------------------------------------------------
out("== a. sign up through RS #2 (nginx), log in through RS #1 (auth #1), introspect at auth #2")
email, status, raw = fresh_user(RS2, "a")
check("a. signup through RS #2's proxy (nginx) answers 201", status == 201, f"{status} {raw[:200]!r}",
      logs=("rs2.log", "nginx.log"))
status, tokens, raw = login(RS1, email)
ok = check("a. login through RS #1's proxy (auth #1) answers 200 with both tokens",
           status == 200 and bool(tokens) and "access_token" in tokens and "refresh_token" in tokens,
           f"{status} {raw[:200]!r}" if status != 200 else "", logs=("rs1.log", "auth1.log"))
if not ok:
    out("DONE")
    sys.exit(0)
access = tokens["access_token"]
status, body, raw = introspect(AUTH2, access)
check("a. the access token minted at auth #1 is active at auth #2 (introspection)",
      status == 200 and bool(body) and body.get("active") is True, f"{status} {raw[:200]!r}", logs=("auth2.log",))

# Requests through nginx go to both instances (round robin), once nginx tries auth #2 again: it refused
# connections during the start-up, which took it out for fail_timeout (5 s).
auth1_addr, auth2_addr = (urllib.parse.urlsplit(u).netloc for u in (AUTH1, AUTH2))
deadline, upstreams, sent = time.monotonic() + 10, set(), 0
while time.monotonic() < deadline and len(upstreams) < 2:
    call(LB, "GET", "/health/live?probe")
    sent += 1
    try:
        with open(os.path.join(WORK, "nginx", "access.log")) as f:
            upstreams = {line.split("upstream=")[1].split()[0] for line in f if "/health/live?probe" in line}
    except OSError:
        upstreams = set()
    time.sleep(0.1)
check("a. nginx sends requests to both auth servers", {auth1_addr, auth2_addr} <= upstreams,
      f"both seen after {sent} requests" if len(upstreams) == 2 else f"upstreams seen: {sorted(upstreams)}",
      logs=("nginx.log",))

# ---- b. revocation at auth #2 reaches both resource servers' caches at once ---------------------------------------
out("== b. cached on both resource servers, revoked at auth #2")
statuses = [items_status(rs, access) for rs in (RS1, RS2) for _ in range(5)]
check("b. the access token works on RS #1 and RS #2 (GET /items/ 200, 5 times each)", set(statuses) == {200},
      f"statuses {statuses}", logs=("rs1.log", "rs2.log"))
revoked_within_a_second("b", access, [("RS #1", RS1), ("RS #2", RS2)], ("rs1.log", "rs2.log", "auth1.log", "auth2.log"))

# ---- c. one refresh token at both auth servers at the same moment --------------------------------------------------
out("== c. one refresh token presented to auth #1 and auth #2 at once, 20 times")
ROUNDS = 20
email, status, raw = fresh_user(AUTH1, "c")
check("c. signup at auth #1 answers 201", status == 201, f"{status} {raw[:200]!r}", logs=("auth1.log",))
bad, winners = [], {"auth #1": 0, "auth #2": 0}
for round_ in range(ROUNDS):
    status, tokens, raw = password_grant(AUTH1 if round_ % 2 else AUTH2, email)
    if status != 200:
        bad.append(f"round {round_}: password grant {status} {raw[:150]!r}")
        continue
    refresh = tokens["refresh_token"]
    barrier = threading.Barrier(2)
    results = {}

    def race(name, base):
        conn = connection(base)
        try:
            conn.connect()  # the connection is open before the barrier: both requests leave together
            barrier.wait()
            results[name] = send(conn, "POST", "/o/token/", headers={"Authorization": RS_BASIC},
                                 form={"grant_type": "refresh_token", "refresh_token": refresh})
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as error:
            results[name] = (0, None, str(error).encode())
        finally:
            conn.close()

    threads = [threading.Thread(target=race, args=args) for args in (("auth #1", AUTH1), ("auth #2", AUTH2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(result[0] for result in results.values())
    errors = [(result[1] or {}).get("error") for result in results.values() if result[0] != 200]
    if statuses == [200, 400] and errors == ["invalid_grant"]:
        winner = next(name for name, result in results.items() if result[0] == 200)
        winners[winner] += 1
        # The loser presented a token already rotated: reuse detection (RFC 9700 §4.14.2) ends the family,
        # the winner's new tokens included. Shown, not checked: either way is defensible.
        if round_ == 0:
            new_access = results[winner][1]["access_token"]
            active = (introspect(AUTH2, new_access)[1] or {}).get("active")
            out(f"    round 0: won by {winner}; the winner's new access token is then active: {active}")
    else:
        bad.append(f"round {round_}: " + ", ".join(f"{n} {r[0]} {r[2][:150]!r}" for n, r in sorted(results.items())))
check(f"c. exactly one 200 and one 400 invalid_grant in each of {ROUNDS} races", not bad,
      f"won by auth #1 {winners['auth #1']}x, auth #2 {winners['auth #2']}x" + ("; " + "; ".join(bad[:5]) if bad else ""),
      logs=("auth1.log", "auth2.log"))

# ---- d. client secret rotation with the CLI, seen by auth #2 at once ----------------------------------------------
out("== d. a client secret rotated with the admin CLI")
cli_env = {"PATH": E["PATH"], "HOME": E.get("HOME", "/"), "RUST_LOG": "warn",
           "AUTH_SERVER__DATABASE__URL": E["AUTH_DB_URL"], "AUTH_SERVER__SECURITY__BCRYPT_COST": "4"}


def cli(*args):
    done = subprocess.run([E["AUTH_BIN"], *args], env=cli_env, cwd=WORK, capture_output=True, text=True, timeout=60)
    fields = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return done.returncode, fields, f"{done.stdout}{done.stderr}(exit status {done.returncode})"


def client_credentials(base, client_id, secret):
    return call(base, "POST", "/o/token/", headers={"Authorization": basic(client_id, secret)},
                form={"grant_type": "client_credentials"})


code, fields, text = cli("client", "create", "--name", f"scale-out-{RUN}", "--grant-types", "client_credentials",
                         "--scopes", "read")
created = code == 0 and "client_id" in fields and "client_secret" in fields
check("d. `auth-server client create` registers a confidential client and prints its secret", created,
      "" if created else text[-400:])
if created:
    client_id, old_secret = fields["client_id"], fields["client_secret"]
    statuses = [client_credentials(AUTH2, client_id, old_secret)[0] for _ in range(3)]
    check("d. auth #2 grants client_credentials with it (and remembers the verified secret)",
          statuses == [200, 200, 200], f"statuses {statuses}", logs=("auth2.log",))
    code, fields, text = cli("client", "rotate-secret", client_id)
    rotated = code == 0 and "client_secret" in fields and fields["client_secret"] != old_secret
    check("d. `auth-server client rotate-secret` prints a new secret", rotated, "" if rotated else text[-400:])
    if rotated:
        status, body, raw = client_credentials(AUTH2, client_id, old_secret)
        check("d. right after the rotation auth #2 refuses the old secret (401 invalid_client)",
              status == 401 and (body or {}).get("error") == "invalid_client", f"{status} {raw[:200]!r}",
              logs=("auth2.log",))
        status, body, raw = client_credentials(AUTH2, client_id, fields["client_secret"])
        check("d. and grants the new one (200)", status == 200 and "access_token" in (body or {}),
              f"{status} {raw[:200]!r}", logs=("auth2.log",))
        status, body, raw = client_credentials(AUTH1, client_id, old_secret)
        check("d. auth #1 refuses the old secret too (401 invalid_client)",
              status == 401 and (body or {}).get("error") == "invalid_client", f"{status} {raw[:200]!r}",
              logs=("auth1.log",))

# ---- e. auth #1 dies; everything goes on through auth #2 -----------------------------------------------------------
def streams_lost():
    with open(os.path.join(WORK, "rs2.log"), errors="replace") as f:
        return sum("revocation stream lost" in line for line in f)


out("== e. auth #1 killed (SIGKILL)")
lost_before = streams_lost()
out("KILL auth1")  # the shell kills and reaps it (it is the shell's child)
deadline = time.monotonic() + 5
while call(AUTH1, "GET", "/health/live")[0] != 0 and time.monotonic() < deadline:
    time.sleep(0.05)
check("e. auth #1 no longer answers", call(AUTH1, "GET", "/health/live")[0] == 0)

email, status, raw = fresh_user(RS2, "e")
check("e. signup through RS #2's proxy (nginx -> auth #2) answers 201", status == 201, f"{status} {raw[:200]!r}",
      logs=("rs2.log", "nginx.log", "auth2.log"))
status, tokens, raw = login(RS2, email)
ok = check("e. login through RS #2's proxy answers 200", status == 200 and "access_token" in (tokens or {}),
           f"{status} {raw[:200]!r}" if status != 200 else "", logs=("rs2.log", "nginx.log", "auth2.log"))
if ok:
    access = tokens["access_token"]
    statuses = [items_status(RS2, access) for _ in range(5)]
    check("e. RS #2 validates the new token (GET /items/ 200, 5 times)", set(statuses) == {200},
          f"statuses {statuses}", logs=("rs2.log", "nginx.log"))
    answers = [introspect(LB, access) for _ in range(6)]
    check("e. introspection through nginx answers active:true (6 calls)",
          all(s == 200 and (b or {}).get("active") is True for s, b, _ in answers),
          f"statuses {[s for s, _, _ in answers]}", logs=("nginx.log", "auth2.log"))
    # RS #2's stream went through nginx to auth #1 (auth #2 was not up yet): it reconnects, to auth #2.
    deadline, state = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        state = (call(RS2, "GET", "/health/ready")[1] or {}).get("revocation_stream")
        if state == "live":
            break
        time.sleep(0.1)
    lost = streams_lost() - lost_before
    check("e. RS #2's revocation stream, cut with auth #1, is live again (through nginx, on auth #2)",
          state == "live" and lost > 0, f"state {state}, losses logged since the kill: {lost}",
          logs=("rs2.log", "nginx.log"))
    statuses = [items_status(RS2, access) for _ in range(3)]
    check("e. the token is cached on RS #2 (200, 3 times)", set(statuses) == {200}, f"statuses {statuses}")
    revoked_within_a_second("e", access, [("RS #2", RS2)], ("rs2.log", "nginx.log", "auth2.log"))

    # RS #1 was pointed at auth #1 alone, so it cannot introspect tokens it has not cached any more: expected,
    # and the reason production points every resource server at a load balancer. It must say so, not crash.
    status, body, raw = call(RS1, "GET", "/health/ready")
    check("e. RS #1 (at auth #1 only) reports the auth server unreachable (/health/ready 503)",
          status == 503 and (body or {}).get("auth_server") == "unreachable", f"{status} {raw[:200]!r}",
          logs=("rs1.log",))
    status = items_status(RS1, access)
    check("e. RS #1 answers 503 for a token it cannot introspect, and is still running",
          status == 503 and call(RS1, "GET", "/health/live")[0] == 200, f"GET /items/ {status}", logs=("rs1.log",))

out("DONE")
PY

# count_lines: streams the checks' output, counting PASS/FAIL lines; a missing DONE is a failure too.
done_seen=0
while IFS= read -r line; do
    case $line in
        PASS\ *) pass "${line#PASS }" ;;
        FAIL\ *) fail "${line#FAIL }" ;;
        DONE) done_seen=1 ;;
        "KILL auth1")
            kill -KILL "$auth1_pid"
            wait "$auth1_pid" 2>/dev/null || true
            auth_pids=("$auth2_pid")
            echo "    auth #1 (pid $auth1_pid) killed with SIGKILL"
            ;;
        *) echo "$line" ;;
    esac
done < <(env AUTH1="$AUTH1" AUTH2="$AUTH2" LB="$LB" RS1="$RS1" RS2="$RS2" WORK="$work" \
    AUTH_BIN="$auth_bin" AUTH_DB_URL="$(pg_url "$auth_db")" python3 -u "$work/checks.py" 2>&1)
if ((!done_seen)); then
    fail "the checks ran to the end (see the Python error above)"
    tails
fi
