-- The n-th simulated visit of the ingest benchmarks (ingest.lua, batch.lua):
-- one of 20 000 visitors (IP and user agent), one of 500 pages and of four
-- referrers. Returns the JSON object's fields, the visitor's IP and user agent.
local uas = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
}
local refs = { "", "https://www.google.com/search?q=x", "https://news.ycombinator.com/", "https://t.co/abc" }

return function(n)
  local v = (n * 7919) % 20000
  local ip = "10.0." .. math.floor(v / 256) .. "." .. (v % 256)
  local ua = uas[(v % #uas) + 1]
  local payload = '"n":"pageview","u":"https://bench.example/docs/page-' .. ((n * 31) % 500) ..
    '","d":"bench.example","r":"' .. refs[(n % #refs) + 1] .. '","w":1280'
  return payload, ip, ua
end
