# shellcheck shell=bash
# Results of scripts/bench.sh (sourced, not run): one row per measurement, printed when measured and again
# as a table at the end, in the issue's order (and as Markdown with --out).

TABLE_ORDER=(ceiling_rs ceiling_as rs_get_item rs_get_item_metrics_off rs_list_items revocation_latency revocation_latency_under_load
    rs_first_seen rs_first_seen_jwt as_introspect as_introspect_metrics_off as_token_cc as_token_cc_jwt as_authorize_remembered as_code_exchange
    as_token_password rs_create_item as_introspect_under_password_flood as_password_login_solo
    password_flood_unknown_client rs_rss_cached_tokens rs_get_item_big_db as_introspect_big_db)
declare -A R_RPS R_P50 R_P99 R_NON2XX R_RATIO R_TARGET R_MET R_NOTE
SCENARIOS_RUN=0

# holds EXPRESSION: "yes" when the awk expression is true, else "no" (targets are informational only).
holds() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo no; fi; }

# ratio A B: A / B to two decimals ("-" when B is zero or missing).
ratio() { awk -v a="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }

# result NAME RATIO TARGET MET NOTE: records the numbers of the last wrk_numbers call under NAME (callers that
# measure otherwise set W_rps, W_p50, W_p99 and W_non2xx themselves, "-" where nothing applies).
# shellcheck disable=SC2154 # W_* are set by wrk_numbers
result() {
    local name=$1
    R_RPS[$name]=$W_rps R_P50[$name]=$W_p50 R_P99[$name]=$W_p99 R_NON2XX[$name]=$W_non2xx
    R_RATIO[$name]=$2 R_TARGET[$name]=$3 R_MET[$name]=$4 R_NOTE[$name]=$5
    [[ $name == ceiling_* ]] || SCENARIOS_RUN=$((SCENARIOS_RUN + 1))
    result_line "$name" >&2
}

result_line() {
    local n=$1
    printf '%-34s %9s req/s  p50 %7s ms  p99 %8s ms  non-2xx %-6s ratio %-5s  target %-30s %-3s  %s\n' \
        "$n" "${R_RPS[$n]}" "${R_P50[$n]}" "${R_P99[$n]}" "${R_NON2XX[$n]}" "${R_RATIO[$n]}" \
        "${R_TARGET[$n]}" "${R_MET[$n]}" "${R_NOTE[$n]}"
}

print_table() {
    local name
    for name in "${TABLE_ORDER[@]}"; do [[ -v R_RPS[$name] ]] && result_line "$name"; done
    return 0
}

# write_markdown FILE: the table plus what it was measured on.
write_markdown() {
    local name
    {
        echo "# Benchmark: auth-server and resource-server"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "- git commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (work tree modified)')"
        echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
        echo "- database: $DB_LABEL"
        echo "- load: wrk, $THREADS threads, $CONNECTIONS connections, ${DURATION}s per scenario$( ((SMOKE)) && echo ', smoke mode (small seeds)')"
        echo "- ratio: scenario 2xx req/s over the \`GET /health/live\` ceiling of the server it hits, measured in the same run; password_flood_unknown_client's: its 2xx req/s over as_password_login_solo's"
        echo "- revocation_latency rows: no wrk run; p50 and p99 are the times from the answer of \`POST /o/revoke_token/\` to the resource server's first 401 for that token, cached there before"
        echo
        echo "| scenario | req/s | p50 ms | p99 ms | non-2xx | ratio | target | met | notes |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
        for name in "${TABLE_ORDER[@]}"; do
            [[ -v R_RPS[$name] ]] || continue
            echo "| $name | ${R_RPS[$name]} | ${R_P50[$name]} | ${R_P99[$name]} | ${R_NON2XX[$name]} | ${R_RATIO[$name]} | ${R_TARGET[$name]} | ${R_MET[$name]} | ${R_NOTE[$name]} |"
        done
    } >"$1"
}
