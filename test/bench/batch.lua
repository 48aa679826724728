-- wrk script for the batch benchmark: POST /api/batch with 50 realistic
-- events per request (varied pages, referrers, visitors' IPs and user
-- agents), authorised by the ingest key in MALLARD_BENCH_KEY.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MALLARD_BENCH_KEY")
local uas = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
}
local refs = { "", "https://www.google.com/search?q=x", "https://news.ycombinator.com/", "https://t.co/abc" }
local n = 0
request = function()
  local items = {}
  for i = 1, 50 do
    n = n + 1
    local v = (n * 7919) % 20000
    items[i] = '{"n":"pageview","u":"https://bench.example/docs/page-' .. ((n * 31) % 500) ..
      '","d":"bench.example","r":"' .. refs[(n % #refs) + 1] .. '","w":1280,"ip":"10.0.' ..
      math.floor(v / 256) .. '.' .. (v % 256) .. '","user_agent":"' .. uas[(v % #uas) + 1] .. '"}'
  end
  return wrk.format(nil, "/api/batch", nil, "[" .. table.concat(items, ",") .. "]")
end
