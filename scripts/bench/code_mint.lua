-- Mints authorization codes for the code-exchange scenario: GET /o/authorize/ (the URL's query) with the
-- session cookie BENCH_COOKIE of a user whose consent is remembered; each answer is a redirect carrying a
-- new code. Thread `id` appends its codes, one a line, to BENCH_CODES_OUT.<id>; `used` counts them (a
-- response without a code is not counted, so bench.sh compares `used` with the number of requests).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.method = "GET"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
used = 0
local out

function init(args)
  out = assert(io.open(os.getenv("BENCH_CODES_OUT") .. "." .. id, "w"))
end

function response(status, headers, body)
  local location = headers["location"] or headers["Location"]
  local code = location and location:match("[?&]code=([^&]+)")
  if code then
    out:write(code, "\n")
    used = used + 1
  end
end
