-- One fixed request, described by environment variables (wrk then builds it once, the cheapest way):
--   BENCH_METHOD (GET), BENCH_BODY, BENCH_CONTENT_TYPE, BENCH_AUTHORIZATION (a full header value),
--   BENCH_COOKIE (a full Cookie header value).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.body = os.getenv("BENCH_BODY")
local content_type = os.getenv("BENCH_CONTENT_TYPE")
if content_type then wrk.headers["Content-Type"] = content_type end
local authorization = os.getenv("BENCH_AUTHORIZATION")
if authorization then wrk.headers["Authorization"] = authorization end
local cookie = os.getenv("BENCH_COOKIE")
if cookie then wrk.headers["Cookie"] = cookie end
