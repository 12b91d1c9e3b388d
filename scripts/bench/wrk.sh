# shellcheck shell=bash
# Running wrk and reading its numbers, for scripts/bench.sh (sourced, not run). Uses $TMP, $THREADS,
# $CONNECTIONS and $LUA_DIR from the caller.

# markers TOKENS_FILE: how many wrk threads have used up their share of TOKENS_FILE (token_pool.lua).
markers() {
    local count=0 file
    for file in "$1".done.*; do [[ -e $file ]] && count=$((count + 1)); done
    echo "$count"
}

# run_wrk NAME SECONDS URL SCRIPT [VAR=VALUE...]: one wrk run with SCRIPT (a file in $LUA_DIR) and the VARs
# in its environment; its output goes to $TMP/NAME.wrk. With BENCH_TOKENS=FILE among the VARs the run ends
# early (SIGINT, which makes wrk report the time really spent) once every thread has used up its tokens.
run_wrk() {
    local name=$1 seconds=$2 url=$3 script=$4 tokens='' var
    shift 4
    for var in "$@"; do [[ $var == BENCH_TOKENS=* ]] && tokens=${var#BENCH_TOKENS=}; done
    env BENCH_LUA_DIR="$LUA_DIR" BENCH_THREADS="$THREADS" "$@" \
        wrk -t "$THREADS" -c "$CONNECTIONS" -d "${seconds}s" --timeout 30s -s "$LUA_DIR/$script" "$url" \
        >"$TMP/$name.wrk" 2>&1 &
    local pid=$!
    if [[ -n $tokens ]]; then
        while kill -0 "$pid" 2>/dev/null; do
            if (($(markers "$tokens") >= THREADS)); then
                kill -INT "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    fi
    if ! wait "$pid"; then
        echo "bench: wrk failed for $name:" >&2
        cat "$TMP/$name.wrk" >&2
        return 1
    fi
}

# wrk_numbers NAME: reads $TMP/NAME.wrk into W_requests, W_secs, W_rps (all responses), W_ok_rps (2xx only),
# W_p50 and W_p99 (ms), W_non2xx, W_socket_errors and W_used. Fails when wrk printed no result.
# shellcheck disable=SC2034,SC2154 # the W_* variables are this function's output, set from the BENCH line
wrk_numbers() {
    local out="$TMP/$1.wrk" line kv
    if ! line=$(grep '^BENCH ' "$out"); then
        echo "bench: wrk printed no result for $1:" >&2
        cat "$out" >&2
        return 1
    fi
    for kv in ${line#BENCH }; do printf -v "W_${kv%%=*}" '%s' "${kv#*=}"; done
    # wrk's summary line is the reference for non-2xx; the done() hook's figure is the same counter.
    W_non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$out")
    W_non2xx=${W_non2xx:-0}
    W_secs=$(awk -v d="$W_duration_us" 'BEGIN { printf "%.3f", d / 1e6 }')
    W_rps=$(awk -v n="$W_requests" -v s="$W_secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
    W_ok_rps=$(awk -v n="$W_requests" -v e="$W_non2xx" -v s="$W_secs" 'BEGIN { printf "%.1f", (s > 0 ? (n - e) / s : 0) }')
    W_p50=$(awk -v u="$W_p50_us" 'BEGIN { printf "%.2f", u / 1000 }')
    W_p99=$(awk -v u="$W_p99_us" 'BEGIN { printf "%.2f", u / 1000 }')
}
