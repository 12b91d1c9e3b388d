-- POST /o/token/ grant_type=authorization_code with a code never sent before on every request (a code is
-- single-use). Thread `id` takes every BENCH_THREADS-th line of the code file BENCH_TOKENS; the rest of the
-- form is BENCH_BODY (it starts with "&": redirect_uri, code_verifier), BENCH_AUTHORIZATION the client's
-- Basic credentials. As in token_pool.lua, a thread that has used up its codes leaves the marker file
-- BENCH_TOKENS.done.<id> and stops, and bench.sh ends the run once every thread has; the request such a
-- thread still returns is a harmless GET /health/live, never a second use of a code.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local codes = {}
local rest = os.getenv("BENCH_BODY") or ""
local headers = {
  ["Authorization"] = os.getenv("BENCH_AUTHORIZATION"),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local stopped = false
used = 0

function init(args)
  local every, index = tonumber(os.getenv("BENCH_THREADS")), 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if index % every == id then codes[#codes + 1] = line end
    index = index + 1
  end
end

function request()
  if used < #codes then
    used = used + 1
    return wrk.format("POST", nil, headers, "grant_type=authorization_code&code=" .. codes[used] .. rest)
  end
  if not stopped then
    stopped = true
    local marker = io.open(os.getenv("BENCH_TOKENS") .. ".done." .. id, "w")
    if marker then marker:close() end
    wrk.thread:stop()
  end
  return wrk.format("GET", "/health/live")
end
