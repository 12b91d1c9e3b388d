-- Shared by every bench scenario: numbers each wrk thread (global `id`, 0-based) and, when wrk is done,
-- prints one machine-readable line that scripts/bench.sh parses:
--   BENCH requests=N duration_us=N p50_us=N p99_us=N non2xx=N socket_errors=N used=N
-- `non2xx` is wrk's own "Non-2xx or 3xx responses" counter; `used` sums the threads' `used` globals
-- (what a script counts: distinct tokens sent in token_pool.lua, codes in code_mint.lua and code_pool.lua,
-- 401 answers in unknown_client.lua; 0 for the others).
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local used = 0
  for _, thread in ipairs(threads) do
    used = used + (tonumber(thread:get("used")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d used=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, used))
end
