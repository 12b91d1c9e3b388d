#!/usr/bin/env bash
# Runs every test of the workspace: unit tests, and the integration tests of both servers on SQLite and,
# when a PostgreSQL server answers, on PostgreSQL too (each test creates its own database and drops it).
#
#   scripts/test.sh                    # PostgreSQL from TEST_POSTGRES_URL, else 127.0.0.1:5432 if it answers
#   REQUIRE_POSTGRES=1 scripts/test.sh # fail instead of skipping the PostgreSQL half (CI)
#   scripts/test.sh --release          # extra arguments go to `cargo test`
#
# Needs only cargo. The PostgreSQL probe uses pg_isready or psql when installed (never prompting for a
# password), else a plain TCP connection; the tests then need trust (or password-in-URL) authentication.
set -euo pipefail
cd "$(dirname "$0")/.."

default_url="postgres://postgres@127.0.0.1:5432/postgres"

# postgres_answers URL: does a PostgreSQL server accept this URL, without ever asking for a password?
postgres_answers() {
    local url=$1
    if command -v psql >/dev/null; then
        PGCONNECT_TIMEOUT=3 psql -w "$url" -Atqc 'select 1' >/dev/null 2>&1
    elif command -v pg_isready >/dev/null; then
        pg_isready -q -t 3 -d "$url"
    else
        # Only that something listens on 127.0.0.1:5432; the tests report it if it is not PostgreSQL.
        timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432' 2>/dev/null
    fi
}

if [[ -z "${TEST_POSTGRES_URL:-}" ]] && postgres_answers "$default_url"; then
    export TEST_POSTGRES_URL="$default_url"
fi

if [[ -n "${TEST_POSTGRES_URL:-}" ]]; then
    echo "== tests on SQLite and PostgreSQL (${TEST_POSTGRES_URL%%@*}@...)"
elif [[ "${REQUIRE_POSTGRES:-0}" == 1 ]]; then
    echo "PostgreSQL is required (REQUIRE_POSTGRES=1) but TEST_POSTGRES_URL is unset and 127.0.0.1:5432 does not answer" >&2
    exit 1
else
    echo "######## PostgreSQL tests SKIPPED: no TEST_POSTGRES_URL and nothing answers on 127.0.0.1:5432 ########"
fi

cargo test --workspace --locked "$@"

if [[ -z "${TEST_POSTGRES_URL:-}" ]]; then
    echo "######## Reminder: the PostgreSQL half of the suite was SKIPPED (see above) ########"
fi
