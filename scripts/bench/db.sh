# shellcheck shell=bash
# Database helpers for scripts/bench.sh (sourced, not run): one function per job, each working on SQLite
# (a file path) or PostgreSQL (a URL) as $BACKEND says. Bulk seeding is done in SQL, never row by row over
# HTTP: recursive CTEs on SQLite, generate_series on PostgreSQL.

# sql TARGET STATEMENT...: runs statements, prints result rows (one a line, fields joined by '|').
sql() {
    local target=$1
    shift
    if [[ $BACKEND == sqlite ]]; then
        # The servers hold the same file open (WAL); wait for their write lock rather than fail.
        sqlite3 -bail -cmd '.timeout 30000' "$target" "$@"
    else
        local args=()
        for statement in "$@"; do args+=(-c "$statement"); done
        psql -X -q -v ON_ERROR_STOP=1 -At -d "$target" "${args[@]}"
    fi
}

# pg_url_for DBNAME: $PG_URL with its database name replaced (a query string is kept).
pg_url_for() {
    local base=${PG_URL%%\?*} query=
    [[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
    [[ ${base#*://} == */* ]] && base=${base%/*}
    echo "$base/$1$query"
}

pg_create() { sql "$PG_URL" "CREATE DATABASE $1" >/dev/null; }
pg_drop() { sql "$PG_URL" "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }

# load_token_hashes AUTH_DB CSV CLIENT_PK NOW: inserts "sha256hex,user_id" rows from CSV as access tokens
# of the client with primary key CLIENT_PK, scope "read write", valid for an hour from NOW.
load_token_hashes() {
    local db=$1 csv=$2 client=$3 now=$4
    local insert="INSERT INTO access_tokens (token_hash, client_id, user_id, scope, issued_at, expires_at)
        SELECT h, $client, u, 'read write', $now, $((now + 3600)) FROM stage"
    if [[ $BACKEND == sqlite ]]; then
        sqlite3 -bail "$db" <<SQL
.timeout 30000
CREATE TEMP TABLE stage (h TEXT, u BIGINT);
.import --csv --schema temp $csv stage
$insert;
SQL
    else
        sql "$db" "CREATE TEMP TABLE stage (h text, u bigint)" "\\copy stage FROM '$csv' WITH (FORMAT csv)" \
            "$insert" >/dev/null
    fi
}

# rows_cte N: a row source "n(i)" of 1..N for the statement that follows (recursive CTE / generate_series).
rows_cte() {
    if [[ $BACKEND == sqlite ]]; then
        echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)"
    else
        echo "WITH n(i) AS (SELECT generate_series(1, $1))"
    fi
}

# seed_filler_tokens AUTH_DB COUNT CLIENT_PK USER_ID NOW: COUNT access tokens nobody holds (random-looking
# 64-hex digests), to make the table big.
seed_filler_tokens() {
    local digest
    if [[ $BACKEND == sqlite ]]; then digest="lower(hex(randomblob(32)))"
    else digest="encode(sha256(convert_to('filler-' || i, 'UTF8')), 'hex')"; fi
    sql "$1" "$(rows_cte "$2")
        INSERT INTO access_tokens (token_hash, client_id, user_id, scope, issued_at, expires_at)
        SELECT $digest, $3, $4, 'read write', $5, $(($5 + 3600)) FROM n" "ANALYZE access_tokens" >/dev/null
}

# seed_filler_items RS_DB COUNT USER_ID NOW: COUNT items named "filler-<i>" owned by local user USER_ID.
seed_filler_items() {
    sql "$1" "$(rows_cte "$2")
        INSERT INTO items (name, description, price_cents, user_id, created_at, updated_at)
        SELECT 'filler-' || i, 'seeded by bench', 100, $3, $4, $4 FROM n" "ANALYZE items" >/dev/null
}
