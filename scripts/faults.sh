#!/usr/bin/env bash
# Fault-injection suite: proves that both servers degrade the way they are designed to when their
# dependencies fail under load, on PostgreSQL, with the release binaries:
#   1. pg-terminate  every backend of both databases is killed (pg_terminate_backend), twice: no 500, a few
#                    503 at the kill, all requests succeed again within 2 s;
#   2. pg-restart    PostgreSQL is stopped for ~2 s and started again under item creation: only 503 during the
#                    outage, successes within 2 s of pg_isready, and no item that got 201 is missing;
#   3. auth-freeze   the auth server is frozen (SIGSTOP): cached tokens still answered at once (p99 < 50 ms),
#                    unseen tokens get 503 within one introspection timeout, recovery after SIGCONT;
#   4. auth-kill     the auth server is killed (SIGKILL): unseen tokens 503, cached tokens 200, the resource
#                    server's log stays small, /health/ready reports the circuit open; after a restart on the
#                    same port the circuit closes and unseen tokens work again;
#   5. slow-clients  slow bodies and slow request heads are cut off (408 / closed) while normal requests stay
#                    fast.
# Each scenario gets fresh databases and freshly started servers with the settings it needs, prints its
# figures (counts per status, p50/p99, times to recovery, log lines) and one PASS/FAIL line per check. Ends
# with "N passed, M failed" and exits non-zero when anything failed. Takes about a minute (plus the build).
#
# Needs: cargo (builds the release binaries, then runs private copies of them), python3 >= 3.11 (stdlib only:
# load, fault timing, checks in scripts/faults/), curl, and PostgreSQL's server binaries (initdb, pg_ctl:
# on PATH or under /usr/lib/postgresql/*/bin; installed with apt when absent). The suite runs its own
# throwaway cluster on a free port in a temp dir (never the machine's PostgreSQL on 5432); as root it runs the
# cluster as the user "postgres" (created as a system user if missing), since PostgreSQL refuses root.
# Everything it starts is stopped and deleted on exit.
#
# usage: scripts/faults.sh        (environment, for debugging: FAULTS_ONLY="2 4" runs only those scenarios;
#                                  FAULTS_KEEP=1 keeps the temp dir: server and PostgreSQL logs, every
#                                  request of each scenario's load as JSON lines in N-requests.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0
work=$(mktemp -d -t faults.XXXXXX)
chmod 711 "$work" # the cluster's owner must reach its folder inside
auth_pid='' rs_pid='' pgdata="$work/pg/data" pg_started=0 skipped=0

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
log() { echo "faults: $*" >&2; }

# stop_pid PID: SIGCONT (it may be frozen), SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
    [[ -n $1 ]] || return 0
    kill -CONT "$1" 2>/dev/null || true
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in {1..100}; do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
stop_servers() {
    stop_pid "$rs_pid"
    stop_pid "$auth_pid"
    rs_pid='' auth_pid=''
}
cleanup() {
    local status=$?
    trap - EXIT
    set +e
    stop_servers
    if ((pg_started)); then as_pg "$pgbin/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1; fi
    if [[ -n ${FAULTS_KEEP:-} ]]; then echo "faults: kept $work"; else rm -rf "$work"; fi
    if ((failed > 0 && status == 0)); then status=1; fi
    echo "faults: took ${SECONDS} s"
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ------------------------------------------------------------------------------------------------------
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { log "python3 >= 3.11 is needed"; exit 2; }
command -v curl >/dev/null || { log "curl is needed"; exit 2; }
find_pgbin() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v initdb)")"
    else
        find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1 | xargs -r dirname
    fi
}
pgbin=$(find_pgbin)
if [[ -z $pgbin ]]; then
    log "no initdb found: installing Debian's postgresql package"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pgbin=$(find_pgbin)
fi
for tool in initdb pg_ctl postgres psql createdb pg_isready; do
    [[ -x $pgbin/$tool ]] || { log "$pgbin/$tool is missing"; exit 2; }
done

# PostgreSQL refuses to run as root: the cluster belongs to an unprivileged user then.
if ((EUID == 0)); then
    pg_user=postgres
    id -u "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
    as_pg_prefix=(runuser -u "$pg_user" --)
else
    pg_user=$(id -un)
    as_pg_prefix=()
fi
as_pg() { "${as_pg_prefix[@]}" "$@"; }

# --- binaries: built here, then private copies (target/release may be rebuilt while the suite runs) --------------
cargo build --release --locked --bin auth-server --bin resource-server
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir "$work/bin"
cp "$target_dir/release/auth-server" "$target_dir/release/resource-server" "$work/bin/"

read -r pg_port auth_port rs_port < <(python3 -c 'import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
AUTH=http://127.0.0.1:$auth_port RS=http://127.0.0.1:$rs_port

# --- the throwaway cluster -----------------------------------------------------------------------------------------
mkdir "$work/pg"
chown "$pg_user" "$work/pg"
as_pg test -w "$work/pg" || { log "$pg_user cannot write to $work/pg: set TMPDIR to a folder it can reach"; exit 2; }
as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log"; exit 1; }
cat >>"$pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$work/pg'
max_connections = 40
shared_buffers = 32MB
fsync = on
EOF
as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$work/pg/server.log" -w start >/dev/null
pg_started=1
psql_cmd=("$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres)
log "PostgreSQL $("${psql_cmd[@]}" -d postgres -Atc 'SHOW server_version') on 127.0.0.1:$pg_port" \
    "(cluster in $pgdata, run as $pg_user)"
pg_url() { echo "postgres://postgres@127.0.0.1:$pg_port/$1?sslmode=disable"; }
# Command lines for the Python side, shell-quoted (it splits them with shlex).
q() { printf '%q ' "$@"; }

# --- servers -----------------------------------------------------------------------------------------------------
# All the load comes from 127.0.0.1: both servers run without their per-IP rate limits.
# start_auth SCENARIO [VAR=VALUE...]: the auth server on $auth_port with the scenario's database.
start_auth() {
    local n=$1
    shift
    env -i PATH="$PATH" HOME="$HOME" RUST_LOG=info \
        AUTH_SERVER__HTTP__PORT="$auth_port" AUTH_SERVER__DATABASE__URL="$(pg_url "auth_$n")" \
        AUTH_SERVER__SECURITY__BCRYPT_COST=4 AUTH_SERVER__JANITOR__INTERVAL_SECS=0 \
        AUTH_SERVER__RATE_LIMIT__ENABLED=false \
        AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_ID=rs-id AUTH_SERVER__CLIENTS__TUTORIAL__CLIENT_SECRET=rs-secret \
        AUTH_SERVER__CLIENTS__TUTORIAL__GRANT_TYPES=password,refresh_token,client_credentials \
        AUTH_SERVER__CLIENTS__TUTORIAL__SCOPES=read,write,introspection \
        "$@" "$work/bin/auth-server" >>"$work/$n-auth.log" 2>&1 &
    auth_pid=$!
}
# start_rs SCENARIO [VAR=VALUE...]: the resource server on $rs_port, introspecting at the auth server.
start_rs() {
    local n=$1
    shift
    env -i PATH="$PATH" HOME="$HOME" RUST_LOG=info \
        RESOURCE_SERVER__HTTP__PORT="$rs_port" RESOURCE_SERVER__DATABASE__URL="$(pg_url "rs_$n")" \
        RESOURCE_SERVER__AUTH__BASE_URL="$AUTH" \
        RESOURCE_SERVER__AUTH__CLIENT_ID=rs-id RESOURCE_SERVER__AUTH__CLIENT_SECRET=rs-secret \
        RESOURCE_SERVER__RATE_LIMIT__ENABLED=false \
        "$@" "$work/bin/resource-server" >>"$work/$n-rs.log" 2>&1 &
    rs_pid=$!
}
# ready URL PID LOG: bounded wait for a 200; shows the log's tail when the server died or never got ready.
ready() {
    local deadline=$((SECONDS + 30))
    until curl -fs -o /dev/null --max-time 2 "$1"; do
        if ! kill -0 "$2" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "not ready: $1"
            tail -n 20 "$3" | sed 's/^/    /'
            return 1
        fi
        sleep 0.1
    done
}
# scenario N NAME AUTH_VARS -- RS_VARS: fresh databases auth_N and rs_N, both servers started and ready.
# False (and nothing started) when FAULTS_ONLY names other scenarios.
scenario() {
    local n=$1 name=$2 auth_vars=() rs_vars=()
    shift 2
    if [[ -n ${FAULTS_ONLY:-} && " ${FAULTS_ONLY//,/ } " != *" $n "* && " ${FAULTS_ONLY//,/ } " != *" $name "* ]]; then
        skipped=1
        return 1
    fi
    skipped=0
    while (($#)) && [[ $1 != -- ]]; do auth_vars+=("$1"); shift; done
    (($#)) && shift
    rs_vars=("$@")
    echo
    echo "== $n. $name (auth-server: ${auth_vars[*]:-defaults}; resource-server: ${rs_vars[*]:-defaults})"
    "${psql_cmd[@]}" -d postgres -c "CREATE DATABASE auth_$n" -c "CREATE DATABASE rs_$n"
    start_auth "$n" "${auth_vars[@]}"
    ready "$AUTH/health/ready" "$auth_pid" "$work/$n-auth.log" || return 1
    start_rs "$n" "${rs_vars[@]}"
    ready "$RS/health/ready" "$rs_pid" "$work/$n-rs.log" || return 1
}
# helper SCENARIO-NAME ARGS...: runs scripts/faults/scenarios.py, shows its output and counts its PASS/FAIL lines.
helper() {
    local rc=0 line
    python3 -B scripts/faults/scenarios.py "$1" --auth "$AUTH" --rs "$RS" --dump "$work/$1-requests.jsonl" "${@:2}" \
        >"$work/helper.out" 2>&1 || rc=$?
    while IFS= read -r line; do
        case $line in PASS\ *) pass "${line#PASS }" ;; FAIL\ *) fail "${line#FAIL }" ;; *) echo "$line" ;; esac
    done <"$work/helper.out"
    ((rc <= 1)) || fail "[$1] the helper itself failed (exit $rc)"
}
# alive LABEL PID LOG: the server did not die during the scenario.
alive() {
    if kill -0 "$2" 2>/dev/null; then pass "[$1] $(basename "$3" .log) still running"; else
        fail "[$1] $(basename "$3" .log) died"
        tail -n 20 "$3" | sed 's/^/    /'
    fi
}
# logs LABEL N: the servers' ERROR/WARN line counts and the first ERROR lines; a panic is a failure.
logs() {
    local file
    for file in "$work/$2-auth.log" "$work/$2-rs.log"; do
        [[ -f $file ]] || continue
        echo "  $(basename "$file"): $(grep -c ' ERROR ' "$file" || true) ERROR," \
            "$(grep -c ' WARN ' "$file" || true) WARN lines"
        grep ' ERROR ' "$file" | sed -E 's/^\[[^ ]+ /    /' | sort | uniq -c | sort -rn | head -5 || true
        if grep -q 'panicked at' "$file"; then
            fail "[$1] no panic in $(basename "$file")"
            grep -A3 'panicked at' "$file" | head -8 | sed 's/^/    /'
        fi
    done
}

# --- 1. every database backend terminated under load ---------------------------------------------------------------
# TTL 0: every request at the resource server introspects, so the auth server's database is under load too.
if scenario 1 pg-terminate -- RESOURCE_SERVER__CACHE__TTL_SECS=0; then
    helper pg-terminate --psql "$(q "${psql_cmd[@]}" -d postgres)" --dbs auth_1,rs_1
    alive pg-terminate "$auth_pid" "$work/1-auth.log"
    alive pg-terminate "$rs_pid" "$work/1-rs.log"
elif ((!skipped)); then fail "[pg-terminate] servers started"; fi
stop_servers
logs pg-terminate 1

# --- 2. PostgreSQL restarted under item creation -------------------------------------------------------------------
if scenario 2 pg-restart -- RESOURCE_SERVER__CACHE__TTL_SECS=1; then
    # Flushed now, what scenario 1 wrote does not make the shutdown checkpoint (and so the outage) longer.
    "${psql_cmd[@]}" -d postgres -c CHECKPOINT
    helper pg-restart --psql-rs "$(q "${psql_cmd[@]}" -d rs_2)" \
        --pg-stop "$(q "${as_pg_prefix[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop)" \
        --pg-start "$(q "${as_pg_prefix[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$work/pg/server.log" -W start)" \
        --pg-isready "$(q "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port")"
    alive pg-restart "$auth_pid" "$work/2-auth.log"
    alive pg-restart "$rs_pid" "$work/2-rs.log"
elif ((!skipped)); then fail "[pg-restart] servers started"; fi
# Whatever happened above, the next scenarios need PostgreSQL up.
as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null ||
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$work/pg/server.log" -w start >/dev/null
stop_servers
logs pg-restart 2

# --- 3. auth server frozen ---------------------------------------------------------------------------------------
# TTL 1 s: the cached tokens fall due during the freeze and are served from the grace; one introspection may
# take 1 s; the circuit stays open 2 s (default 5 s) so that recovery is seen within the scenario.
freeze_rs=(RESOURCE_SERVER__CACHE__TTL_SECS=1 RESOURCE_SERVER__CACHE__STALE_GRACE_SECS=60
    RESOURCE_SERVER__AUTH__TIMEOUT_MS=1000 RESOURCE_SERVER__AUTH__BREAKER_OPEN_MS=2000)
if scenario 3 auth-freeze -- "${freeze_rs[@]}"; then
    helper auth-freeze --auth-pid "$auth_pid" --timeout-ms 1000 --breaker-open-ms 2000
    alive auth-freeze "$auth_pid" "$work/3-auth.log"
    alive auth-freeze "$rs_pid" "$work/3-rs.log"
elif ((!skipped)); then fail "[auth-freeze] servers started"; fi
stop_servers
logs auth-freeze 3

# --- 4. auth server killed, then restarted on the same port ---------------------------------------------------------
if scenario 4 auth-kill -- "${freeze_rs[@]}"; then
    # (stderr discarded: bash would report the killed job there)
    helper auth-kill --auth-pid "$auth_pid" --rs-log "$work/4-rs.log" --state "$work/4-state.json" \
        --timeout-ms 1000 --stale-grace-secs 60 2>/dev/null
    wait "$auth_pid" 2>/dev/null || true
    if [[ -s $work/4-state.json ]]; then
        start_auth 4
        helper auth-recover --state "$work/4-state.json" --breaker-open-ms 2000
        alive auth-kill "$auth_pid" "$work/4-auth.log"
    fi
    alive auth-kill "$rs_pid" "$work/4-rs.log"
elif ((!skipped)); then fail "[auth-kill] servers started"; fi
stop_servers
logs auth-kill 4

# --- 5. slow bodies and slow request heads -----------------------------------------------------------------------
# A 3 s body timeout (default 5 s) on both servers: a cut-off at 3 s shows that the setting is what acts.
if scenario 5 slow-clients AUTH_SERVER__HTTP__BODY_TIMEOUT_MS=3000 -- RESOURCE_SERVER__HTTP__BODY_TIMEOUT_MS=3000; then
    helper slow-clients --body-timeout-ms 3000
    alive slow-clients "$auth_pid" "$work/5-auth.log"
    alive slow-clients "$rs_pid" "$work/5-rs.log"
elif ((!skipped)); then fail "[slow-clients] servers started"; fi
stop_servers
logs slow-clients 5
echo
