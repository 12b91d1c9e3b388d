-- GET the URL's path with a bearer token never sent before on every request. Thread `id` takes every
-- BENCH_THREADS-th line of the token file BENCH_TOKENS, so no two threads share a token. A thread that has
-- used up its share stops and leaves a marker file BENCH_TOKENS.done.<id>; bench.sh then ends the run with
-- SIGINT, so wrk's duration is the time really spent. By default it stops at once (a reused token would be
-- a cache hit, not a first sighting); with BENCH_DRAIN_SECS=N it first repeats its first token for N more
-- seconds, so that every token already sent gets its answer before the connections close.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local tokens = {}
local drain = tonumber(os.getenv("BENCH_DRAIN_SECS") or "0")
local exhausted_at, stopped = nil, false
used = 0

function init(args)
  local every, index = tonumber(os.getenv("BENCH_THREADS")), 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if index % every == id then tokens[#tokens + 1] = line end
    index = index + 1
  end
end

local function bearer(token)
  return wrk.format("GET", nil, { Authorization = "Bearer " .. (token or "none") })
end

function request()
  if used < #tokens then
    used = used + 1
    return bearer(tokens[used])
  end
  exhausted_at = exhausted_at or os.time()
  if not stopped and os.time() >= exhausted_at + drain then
    stopped = true
    local marker = io.open(os.getenv("BENCH_TOKENS") .. ".done." .. id, "w")
    if marker then marker:close() end
    wrk.thread:stop()
  end
  return bearer(tokens[1])
end
