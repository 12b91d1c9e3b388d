#!/usr/bin/env bash
# End-to-end check of the deployment artifacts, for CI (no container engine needed):
#  (a) docker-compose.yml is valid for a real compose implementation (Debian's docker-compose);
#  (b) the compose file, the Dockerfile and the workspace agree, and the release binaries, started with exactly
#      the environment compose gives them (hosts -> 127.0.0.1, fresh ports and databases), pass their
#      healthchecks, scripts/demo.sh and the Postman collection (newman) on PostgreSQL;
#  (c) the same on SQLite (fresh temporary files).
# Each phase ends with the auth server's audit trail (JSON lines: a success, a failure, a token issued) and a
# search of both servers' logs for every password and token the phase used: none may appear. While both run,
# the Grafana dashboard's queries are checked against the metrics they export after the phase's traffic.
# Ends with one line "N passed, M failed"; exits non-zero when anything failed.
# It also runs the Dockerfile's builder stage on this machine (scripts/dockerfile_sim.py).
# Needs: cargo, curl, jq, psql and PostgreSQL on $PGHOST:$PGPORT (trust auth), npm (for newman), apt (for
# compose and jq).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

TOOLS=${TOOLS:-$root/target/tools}         # newman is installed here (target/ is not committed)
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
READY_TIMEOUT=${READY_TIMEOUT:-60}

work=$(mktemp -d)
run_id="e2e_$(date +%s)_$$"
passed=0 failed=0
pids=() databases=()

stop_servers() {
    if ((${#pids[@]})); then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    pids=()
}
cleanup() {
    local status=$?
    stop_servers
    for db in "${databases[@]}"; do
        psql -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
    if ((failed > 0 && status == 0)); then status=1; fi
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
# check LABEL CMD...: runs CMD quietly, counts it, shows its output only when it fails.
check() {
    local label=$1
    shift
    if "$@" >"$work/check.log" 2>&1; then pass "$label"; else fail "$label"; sed 's/^/    /' "$work/check.log"; fi
}
# count_lines FILE: counts the PASS/FAIL lines a helper printed.
count_lines() {
    local line
    while IFS= read -r line; do
        case $line in PASS\ *) pass "${line#PASS }" ;; FAIL\ *) fail "${line#FAIL }" ;; *) echo "$line" ;; esac
    done <"$1"
}

echo "== (a) docker-compose.yml with a real compose implementation"
if ! command -v docker-compose >/dev/null || ! command -v jq >/dev/null; then
    sudo=""
    ((EUID == 0)) || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose jq >/dev/null
fi
# The helper needs PyYAML and Python >= 3.11; Debian's python3 has both once docker-compose is installed.
py=python3
python3 -c 'import yaml, tomllib' 2>/dev/null || py=/usr/bin/python3
check "docker-compose config -q accepts docker-compose.yml" docker-compose -f docker-compose.yml config -q
check "docker-compose config -q accepts the monitoring profile (Prometheus, Grafana)" \
    docker-compose -f docker-compose.yml --profile monitoring config -q
check "the Grafana dashboard is JSON" jq -e '.panels | length > 0' docker/grafana/dashboards/oauth.json
docker-compose -f docker-compose.yml config >"$work/compose.yml"
compose() { "$py" scripts/e2e_compose.py "$work/compose.yml" "$@"; }

echo "== (b) Dockerfile, compose file and workspace agree"
compose static Dockerfile >"$work/static.log" || true
count_lines "$work/static.log"

# BuildKit's own Dockerfile parser (Go, shipped in the PyPI package "dockerfile"): syntax, flags, JSON forms.
# tools_venv MODULE PIP_SPEC: $TOOLS/venv, with PIP_SPEC installed unless MODULE imports already.
tools_venv() {
    [[ -x $TOOLS/venv/bin/python ]] || python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/python" -c "import $1" 2>/dev/null || "$TOOLS/venv/bin/pip" install -q "$2"
}
dockerfile_parses() {
    tools_venv dockerfile dockerfile==3.4.0 || return 1
    "$TOOLS/venv/bin/python" -c 'import dockerfile; print(len(dockerfile.parse_file("Dockerfile")), "instructions")'
}
check "BuildKit's parser accepts the Dockerfile" dockerfile_parses
# The Dockerfile's builder stage, run without a container engine on the files its COPY lines bring in
# (into the repository's target folder, so only the workspace crates compile again). Cargo's fingerprints
# do not depend on where the workspace is: the workspace crates' release artifacts are removed before (so
# that the stage really compiles the sources it copied) and after (so that the repository's own build
# does not take the copies' artifacts for its own, which would go stale with its next edit).
clean_workspace_release() { cargo clean --release --quiet -p shared-core -p auth-server -p resource-server; }
clean_workspace_release
check "the Dockerfile's builder stage builds both binaries (scripts/dockerfile_sim.py)" \
    "$py" scripts/dockerfile_sim.py --target-dir "$root/target"
clean_workspace_release

echo "== Building the release binaries"
cargo build --release --locked --bin auth-server --bin resource-server
# The runtime image installs only libpq5 (plus libc): the binaries may link nothing else.
linked_libs_ok() {
    local bin lib
    for bin in target/release/auth-server target/release/resource-server; do
        for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
            case $lib in
                libpq.so.5 | libc.so.6 | libm.so.6 | libgcc_s.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux*) ;;
                *) echo "$bin links $lib, which the runtime image does not install"; return 1 ;;
            esac
        done
    done
}
check "the binaries link only libraries the runtime image has (libpq5, libc)" linked_libs_ok

echo "== newman"
newman=$(command -v newman || true)
if [[ -z $newman ]]; then
    newman=$TOOLS/node_modules/.bin/newman
    [[ -x $newman ]] || npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error newman@6
fi
"$newman" --version

free_ports() { "$py" -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))'; }

# start NAME ENVFILE LOG: runs target/release/NAME with exactly the variables in ENVFILE (plus PATH, HOME).
start() {
    local vars
    mapfile -t vars <"$2"
    (cd "$work" && exec env -i PATH="$PATH" HOME="$HOME" "${vars[@]}" "$root/target/release/$1") >"$3" 2>&1 &
    pids+=($!)
}
# ready URL PID LOG: bounded wait for 200; shows the log when the server dies or never gets ready.
ready() {
    local deadline=$((SECONDS + READY_TIMEOUT))
    until curl -fs -o /dev/null "$1"; do
        if ! kill -0 "$2" 2>/dev/null || ((SECONDS >= deadline)); then
            echo "not ready: $1"
            tail -n 30 "$3" | sed 's/^/    /'
            return 1
        fi
        sleep 0.3
    done
}
http_200() { [[ $(curl -sS -o /dev/null -w '%{http_code}' "$1") == 200 ]]; }
json_get() { "$py" -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1]) or "")' "$1"; } # FIELD < JSON

# audit_probe AUTH_URL RS_URL SECRETS: a user of its own through the account calls (signup, login, a wrong
# password, refresh, password change, a login at the auth server, a revocation), so that the audit trail has a
# success, a failure and tokens issued whatever the walkthroughs do. Every password it sends and every token
# it gets is appended to SECRETS, one a line, for no_secrets_in_logs.
audit_probe() {
    local auth=$1 rs=$2 secrets=$3 email="audit-$run_id-$RANDOM@example.com" body status
    local password="Quartz-Meadow-$RANDOM$RANDOM" wrong="Wrong-Lantern-$RANDOM$RANDOM" new="Cobalt-Fjord-$RANDOM$RANDOM"
    local access refresh
    printf '%s\n' "$password" "$wrong" "$new" >>"$secrets"
    curl -fsS -o /dev/null "$rs/users/signup/" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\",\"password2\":\"$password\"}" ||
        { echo "signup through the resource server failed"; return 1; }
    body=$(curl -fsS "$rs/users/token/" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}") || { echo "login through the resource server failed"; return 1; }
    access=$(json_get access_token <<<"$body") refresh=$(json_get refresh_token <<<"$body")
    printf '%s\n' "$access" "$refresh" >>"$secrets"
    curl -fsS -o /dev/null "$rs/items/" -H "Authorization: Bearer $access" || { echo "GET /items/ failed"; return 1; }
    status=$(curl -sS -o /dev/null -w '%{http_code}' -u rs-id:rs-secret "$auth/o/token/" -d grant_type=password \
        --data-urlencode "username=$email" --data-urlencode "password=$wrong")
    [[ $status == 400 ]] || { echo "a wrong password answered $status, not 400"; return 1; }
    body=$(curl -fsS "$rs/users/token/refresh/" -H 'Content-Type: application/json' -d "{\"refresh\":\"$refresh\"}") ||
        { echo "refresh through the resource server failed"; return 1; }
    access=$(json_get access_token <<<"$body") refresh=$(json_get refresh_token <<<"$body")
    printf '%s\n' "$access" "$refresh" >>"$secrets"
    curl -fsS -o /dev/null -X PUT "$rs/users/password/" -H "Authorization: Bearer $access" \
        -H 'Content-Type: application/json' \
        -d "{\"old_password\":\"$password\",\"password\":\"$new\",\"password2\":\"$new\"}" ||
        { echo "the password change through the resource server failed"; return 1; }
    body=$(curl -fsS -u rs-id:rs-secret "$auth/o/token/" -d grant_type=password --data-urlencode "username=$email" \
        --data-urlencode "password=$new") || { echo "login at the auth server with the new password failed"; return 1; }
    access=$(json_get access_token <<<"$body") refresh=$(json_get refresh_token <<<"$body")
    printf '%s\n' "$access" "$refresh" >>"$secrets"
    curl -fsS -o /dev/null -u rs-id:rs-secret "$auth/o/revoke_token/" --data-urlencode "token=$access" ||
        { echo "the revocation failed"; return 1; }
}

# secrets_in FILE...: the passwords and tokens written in FILEs (demo.sh's and the README walkthrough's output,
# which print what they send and receive; newman's JSON report, bodies included): JSON fields and form fields
# named like them, 8 characters or more.
secrets_in() {
    "$py" - "$@" <<'PY'
import json, re, sys
names = r"(?:password2?|old_password|new_password|access_token|refresh_token|id_token|refresh|token)"
patterns = [re.compile(r'"' + names + r'"\s*:\s*"([^"$]+)"'), re.compile(r"(?:^|[\s&])" + names + r"=([^\s&\"'$);]+)")]
found = set()

def scan(text):
    for pattern in patterns:
        found.update(pattern.findall(text))

def walk(node):  # newman's report: form fields as {"key", "value"}, bodies as strings or byte buffers
    if isinstance(node, dict):
        if node.get("type") == "Buffer" and isinstance(node.get("data"), list):
            scan(bytes(b for b in node["data"] if isinstance(b, int) and 0 <= b < 256).decode(errors="replace"))
        elif isinstance(node.get("key"), str) and isinstance(node.get("value"), str) \
                and re.fullmatch(names, node["key"]):
            found.add(node["value"])
        for value in node.values():
            walk(value)
    elif isinstance(node, list):
        for value in node:
            walk(value)
    elif isinstance(node, str):
        scan(node)

for path in sys.argv[1:]:
    text = open(path, errors="replace").read()
    try:
        walk(json.loads(text)) if path.endswith(".json") else scan(text)
    except ValueError:
        scan(text)
print("\n".join(sorted(s for s in found if len(s) >= 8 and "{{" not in s)))
PY
}

# audit_trail LOG: the auth server's log holds parseable audit lines (one JSON object per line, target
# `audit`) for a successful login, a failed login and a token issued.
audit_trail() {
    "$py" - "$1" <<'PY'
import collections, json, sys
events = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    try:
        record = json.loads(line)
    except ValueError:
        continue  # an ordinary log line
    if isinstance(record, dict) and isinstance(record.get("event"), str):
        events[record["event"]] += 1
print("audit events seen:", dict(sorted(events.items())) or "none")
missing = [e for e in ("login_succeeded", "login_failed", "token_issued") if not events[e]]
if missing:
    sys.exit(f"no parseable audit line (a bare JSON object with \"event\") for {', '.join(missing)}")
PY
}

# traced_login RS_URL ID: a wrong-password login through the resource server's proxy, sent with X-Request-Id
# ID; the answer must echo it.
# dashboard_matches AUTH_LOG RS_LOG PREFIX: scrapes both servers' private metrics ports (each logs its address
# at start) after the phase's traffic, and checks every query of the Grafana dashboard against what they
# export: it parses, and names only metrics and labels that exist (scripts/check_dashboard.py).
dashboard_matches() {
    local log url n=0
    for log in "$1" "$2"; do
        url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/metrics' "$log" | head -1)
        [[ -n $url ]] || { echo "no 'metrics on http://...' line in $log"; return 1; }
        n=$((n + 1)) # not in curl's redirection: that is expanded in the forked child
        curl -fsS "$url" >"$3-metrics-$n.prom" || return 1
        echo "${log##*/}: $url, $(grep -vc '^#' "$3-metrics-$n.prom") samples"
    done
    tools_venv promql_parser promql-parser==0.12.0 || return 1
    # The per-IP rate limits are off in this phase (above), so their rejection counter does not exist.
    "$TOOLS/venv/bin/python" scripts/check_dashboard.py docker/grafana/dashboards/oauth.json "$3"-metrics-*.prom \
        --may-be-absent rate_limit_rejections_total
}
traced_login() {
    local echoed
    echoed=$(curl -sS -o /dev/null -D - -H "X-Request-Id: $2" -H 'Content-Type: application/json' \
        -d '{"email":"nobody-traced@example.com","password":"not-the-password"}' "$1/users/token/" |
        tr -d '\r' | sed -n 's/^x-request-id: //Ip')
    [[ $echoed == "$2" ]] || { echo "X-Request-Id echoed: '$echoed', sent: '$2'"; return 1; }
}

# json_logs ID LOG...: every line of every LOG parses as a JSON object with time, level and target, and
# each LOG has a line whose request_id is ID (the request crossed both servers).
json_logs() {
    "$py" - "$@" <<'PY'
import json, sys
trace, bad = sys.argv[1], 0
for path in sys.argv[2:]:
    traced = 0
    for number, line in enumerate(open(path, errors="replace"), 1):
        try:
            record = json.loads(line)
            ok = isinstance(record, dict) and all(isinstance(record.get(k), str) for k in ("time", "level", "target"))
        except ValueError:
            ok = False
        if not ok:
            bad += 1
            print(f"{path.rsplit('/', 1)[-1]}:{number} is not a JSON log line: {line[:160].rstrip()}")
            continue
        traced += record.get("request_id") == trace
    print(f"{path.rsplit('/', 1)[-1]}: {number} lines, {traced} with request id {trace}")
    bad += traced == 0
sys.exit(1 if bad else 0)
PY
}

# no_secrets_in_logs SECRETS LOG...: no line of any LOG (audit lines included) contains a line of SECRETS.
no_secrets_in_logs() {
    "$py" - "$@" <<'PY'
import sys
secrets = {s.strip() for s in open(sys.argv[1]) if s.strip()}
leaks = 0
for path in sys.argv[2:]:
    for number, line in enumerate(open(path, errors="replace"), 1):
        for secret in secrets:
            if secret in line:
                leaks += 1
                name = path.rsplit("/", 1)[-1]
                print(f"{name}:{number} contains a password or token ({secret[:4]}...): {line[:200].rstrip()}")
print(f"{len(secrets)} passwords and tokens looked for in {len(sys.argv) - 2} logs: {leaks} found")
sys.exit(1 if leaks else 0)
PY
}

# newman_run LABEL AUTH_URL RS_URL: runs the collection; each assertion counts as a check.
newman_run() {
    local label=$1 report="$work/newman-$1.json"
    "$newman" run postman/oauth-demo.postman_collection.json -e postman/local.postman_environment.json \
        --env-var "auth_url=$2" --env-var "rs_url=$3" --timeout-request 30000 \
        --reporters cli,json --reporter-json-export "$report" >"$work/newman-$label.log" 2>&1 || true
    if [[ ! -s $report ]]; then
        fail "[$label] newman produced no report"
        tail -n 40 "$work/newman-$label.log"
        return
    fi
    "$py" - "$report" "$label" >"$work/newman-$label.counts" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["run"]
label = sys.argv[2]
for execution in run["executions"]:
    name = execution["item"]["name"]
    if "requestError" in execution:
        print(f"FAIL [{label}] newman: {name}: request error {execution['requestError'].get('message')}")
    for a in execution.get("assertions", []):
        error = a.get("error")
        print(("FAIL" if error else "PASS") + f" [{label}] newman: {name}: {a['assertion']}"
              + (f": {error['message']}" if error else ""))
PY
    count_lines "$work/newman-$label.counts"
}

# phase LABEL sqlite|postgres: both servers with the compose environment on that backend, then every check.
phase() {
    local label=$1 backend=$2 auth_port rs_port db args=()
    read -r auth_port rs_port < <(free_ports)
    args=(--port "auth-server=$auth_port" --port "resource-server=$rs_port")
    if [[ $backend == postgres ]]; then
        for db in $(compose databases); do
            psql -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"${db}_$run_id\"" >/dev/null
            databases+=("${db}_$run_id")
            args+=(--rename "$db=${db}_$run_id")
        done
    else
        mkdir -p "$work/$label-data"
        args+=(--sqlite "$work/$label-data")
    fi
    echo "== ($label) auth-server :$auth_port, resource-server :$rs_port on $backend"
    compose env auth-server "${args[@]}" >"$work/$label-auth.env"
    compose env resource-server "${args[@]}" >"$work/$label-rs.env"
    # Every request here comes from 127.0.0.1: the per-IP rate limits compose keeps on would throttle the
    # walkthroughs (per-account lockout stays on).
    echo AUTH_SERVER__RATE_LIMIT__ENABLED=false >>"$work/$label-auth.env"
    echo RESOURCE_SERVER__RATE_LIMIT__ENABLED=false >>"$work/$label-rs.env"
    grep DATABASE__URL "$work/$label-auth.env" "$work/$label-rs.env" | sed "s|^$work/|    |"

    local auth="http://127.0.0.1:$auth_port" rs="http://127.0.0.1:$rs_port"
    # In compose order: the resource server starts once the auth server is healthy. When either never gets
    # ready, the phase stops here and its remaining checks are missing from the count.
    start auth-server "$work/$label-auth.env" "$work/$label-auth.log"
    if ready "$auth$(compose health auth-server)" "${pids[0]}" "$work/$label-auth.log" &&
        start resource-server "$work/$label-rs.env" "$work/$label-rs.log" &&
        ready "$rs$(compose health resource-server)" "${pids[1]}" "$work/$label-rs.log"; then
        pass "[$label] both servers start with the compose environment and get ready"
    else
        fail "[$label] both servers start with the compose environment and get ready"
        stop_servers
        return 0
    fi

    # The paths the compose and Dockerfile healthchecks probe, on each server's own port.
    local path
    path=$(compose health auth-server)
    check "[$label] auth-server GET $path (compose healthcheck) answers 200" http_200 "$auth$path"
    path=$(sed -n 's|.*127.0.0.1:8000\(/[^ ]*\).*|\1|p' Dockerfile)
    check "[$label] auth-server GET $path (Dockerfile HEALTHCHECK, port 8000) answers 200" http_200 "$auth$path"
    path=$(compose health resource-server)
    check "[$label] resource-server GET $path (compose healthcheck) answers 200" http_200 "$rs$path"
    path=$(sed -n 's|.*127.0.0.1:8001\(/[^ ]*\).*|\1|p' Dockerfile)
    check "[$label] resource-server GET $path (Dockerfile HEALTHCHECK, port 8001) answers 200" http_200 "$rs$path"
    check "[$label] auth-server GET /health/live answers 200" http_200 "$auth/health/live"
    check "[$label] resource-server GET /health/live answers 200" http_200 "$rs/health/live"

    # Their output (what they sent and received) is kept for the search for secrets in the logs below.
    check "[$label] scripts/demo.sh runs the whole tutorial" \
        env AUTH_URL="$auth" RS_URL="$rs" timeout 180 scripts/demo.sh
    cp "$work/check.log" "$work/$label-demo.out"
    check "[$label] the README's curl walkthrough runs as written (scripts/readme_walkthrough.sh)" \
        env AUTH_URL="$auth" RS_URL="$rs" timeout 120 scripts/readme_walkthrough.sh
    cp "$work/check.log" "$work/$label-walkthrough.out"
    scripts/readme_walkthrough.sh --print >>"$work/$label-walkthrough.out"
    newman_run "$label" "$auth" "$rs"
    local secrets="$work/$label-secrets"
    : >"$secrets"
    check "[$label] the audit probe: signup, login, a wrong password, refresh, password change, revocation" \
        audit_probe "$auth" "$rs" "$secrets"
    local trace="e2e-$run_id-$label"
    check "[$label] a login through the resource server answers with the X-Request-Id it was sent" \
        traced_login "$rs" "$trace"
    check "[$label] every query of the Grafana dashboard parses and names metrics and labels both servers export" \
        dashboard_matches "$work/$label-auth.log" "$work/$label-rs.log" "$work/$label"
    stop_servers

    check "[$label] every line of both logs is a JSON object (log.format=json) and one request id is in both" \
        json_logs "$trace" "$work/$label-auth.log" "$work/$label-rs.log"

    check "[$label] the auth server's audit trail has JSON lines for login_succeeded, login_failed, token_issued" \
        audit_trail "$work/$label-auth.log"
    local sources=("$work/$label-demo.out" "$work/$label-walkthrough.out")
    if [[ -s $work/newman-$label.json ]]; then sources+=("$work/newman-$label.json"); fi
    secrets_in "${sources[@]}" >>"$secrets"
    check "[$label] no password or token the phase used appears in either server's log (audit lines included)" \
        no_secrets_in_logs "$secrets" "$work/$label-auth.log" "$work/$label-rs.log"
}

phase postgres postgres
phase sqlite sqlite
