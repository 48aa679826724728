-- wrk script for the ingest benchmark: realistic POST /api/event bodies with
-- varied pages, referrers and visitors (X-Forwarded-For; run the collector
-- with MALLARD_TRUST_PROXY=true).
local visit = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "visitors.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
local n = 0
request = function()
  n = n + 1
  local payload, ip, ua = visit(n)
  wrk.headers["User-Agent"] = ua
  wrk.headers["X-Forwarded-For"] = ip
  return wrk.format(nil, "/api/event", nil, "{" .. payload .. "}")
end
