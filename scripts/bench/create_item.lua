-- POST /items/ with a name no other request uses: "<BENCH_RUN_TAG>-<thread id>-<counter>" (under 50 chars).
-- BENCH_AUTHORIZATION carries the user's bearer token.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local run_tag = os.getenv("BENCH_RUN_TAG") or "bench"
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")

function request()
  counter = counter + 1
  local body = string.format('{"name":"%s-%d-%d","description":"created by bench","price":"1.00"}',
    run_tag, id, counter)
  return wrk.format(nil, nil, nil, body)
end
