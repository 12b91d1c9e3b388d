-- POST /o/token/ grant_type=password in the name of a client that does not exist: client_id
-- "unknown-<thread id>-<counter>" (a new one on every request) with client_secret "wrong" in the form
-- (client_secret_post), then BENCH_BODY (the rest of the form: grant_type, username, password). Each answer
-- should be 401 invalid_client; `used` counts the 401s, so that bench.sh tells them from other answers
-- (503 when the auth server's bcrypt queue is full, 429 when rate-limited).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local rest = os.getenv("BENCH_BODY") or ""
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local counter = 0
used = 0

function request()
  counter = counter + 1
  local body = string.format("client_id=unknown-%d-%d&client_secret=wrong&%s", id, counter, rest)
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status == 401 then used = used + 1 end
end
