-- wrk script for the batch benchmark: POST /api/batch with 50 realistic
-- events per request (varied pages, referrers, visitors' IPs and user
-- agents), authorised by the ingest key in MALLARD_BENCH_KEY.
local visit = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "visitors.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MALLARD_BENCH_KEY")
local n = 0
request = function()
  local items = {}
  for i = 1, 50 do
    n = n + 1
    local payload, ip, ua = visit(n)
    items[i] = "{" .. payload .. ',"ip":"' .. ip .. '","user_agent":"' .. ua .. '"}'
  end
  return wrk.format(nil, "/api/batch", nil, "[" .. table.concat(items, ",") .. "]")
end
