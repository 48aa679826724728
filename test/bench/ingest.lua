-- wrk script for the ingest benchmark: realistic POST /api/event bodies with
-- varied pages, referrers and visitors (X-Forwarded-For; run the collector
-- with MALLARD_TRUST_PROXY=true).
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
local uas = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
}
local refs = { "", "https://www.google.com/search?q=x", "https://news.ycombinator.com/", "https://t.co/abc" }
local n = 0
request = function()
  n = n + 1
  local v = (n * 7919) % 20000
  wrk.headers["User-Agent"] = uas[(v % #uas) + 1]
  wrk.headers["X-Forwarded-For"] = "10.0." .. math.floor(v / 256) .. "." .. (v % 256)
  local body = '{"n":"pageview","u":"https://bench.example/docs/page-' .. ((n * 31) % 500) ..
    '","d":"bench.example","r":"' .. refs[(n % #refs) + 1] .. '","w":1280}'
  return wrk.format(nil, "/api/event", nil, body)
end
