"""Generates a realistic benchmark lake in format v1 with plain DuckDB SQL.

Usage: lake_gen.py <lake dir> [events] [days] [visitors]
Defaults: 10M events over 30 days from ~1M visitors. Visits (≈3.3 events
each) start uniformly over the days with a daily rhythm; pages, sources,
countries and browsers are Zipf-distributed; 5 % of events are custom events;
a quarter of pageviews get an engagement row. One file per day (what
compaction leaves), sorted by (visitor_id, ts), zstd, ≤ 1M rows per row group.
Deterministic: the same arguments give the same lake.
"""

import os
import sys
import time

import duckdb

SITE = "bench.example"


def main() -> None:
    lake = sys.argv[1]
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000_000
    days = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    visitors = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    visits = events * 10 // 33
    start = "2026-10-01"
    t0 = time.time()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    # u(i, k): a deterministic uniform in [0, 1) per row and stream.
    con.execute("CREATE MACRO u(i, k) AS (hash(i * 7919 + k) % 1000000007) / 1000000007.0")
    # zipf(x, n): rank in [0, n) with P(rank) ~ 1/(rank+1).
    con.execute("CREATE MACRO zipf(x, n) AS least(floor(pow(n + 1, x) - 1)::BIGINT, n - 1)")
    con.execute(f"""
        CREATE TABLE visits AS
        SELECT i AS visit_id,
               -- most visits come from many one-time visitors, some from a
               -- Zipf-distributed core of returning ones
               CASE WHEN u(i, 0) < 0.75 THEN floor(u(i, 1) * {visitors})::BIGINT
                    ELSE zipf(u(i, 1), {visitors}) END AS visitor_rank,
               TIMESTAMP '{start}' + to_microseconds(
                   (floor(u(i, 2) * {days}) * 86400
                    + 86400 * (0.5 + 0.45 * sin(2 * pi() * (u(i, 3) - 0.25))) ) ::BIGINT * 1000000) AS start_ts,
               greatest(1, round(-ln(1 - u(i, 4)) * 3.3))::INTEGER AS n,
               zipf(u(i, 5), 40) AS source_rank,
               u(i, 6) < 0.1 AS campaign,
               zipf(u(i, 7), 60) AS country_rank,
               zipf(u(i, 8), 12) AS browser_rank,
               u(i, 9) AS device_u
        FROM range({visits}) t(i)
    """)
    con.execute("""
        CREATE TABLE ev AS
        SELECT v.*, k,
               start_ts + to_seconds((k * 20 + floor(u(visit_id * 131 + k, 10) * 40))::BIGINT) AS ts,
               CASE WHEN u(visit_id * 131 + k, 11) < 0.05 AND k > 0 THEN 'Signup' ELSE 'pageview' END AS name,
               zipf(u(visit_id * 131 + k, 12), 2000) AS page_rank
        FROM visits v, range(n) r(k)
    """)
    sources = ["Google", None, "Twitter", "Bing", "DuckDuckGo", "Hacker News", "Reddit", "GitHub", "LinkedIn", "Facebook"]
    con.execute(f"CREATE TABLE sources AS SELECT unnest({[s or 'NULL' for s in sources]}) AS s, generate_subscripts({[s or 'NULL' for s in sources]}, 1) - 1 AS r")
    con.execute("""
        CREATE TABLE rows AS
        SELECT 'bench.example' AS site, ts,
               (hash(visitor_rank, 42) % 9223372036854775807)::UBIGINT AS visitor_id,
               (hash(visit_id, 43) % 9223372036854775807)::UBIGINT AS visit_id,
               name, 'bench.example' AS hostname,
               CASE WHEN page_rank = 0 THEN '/' ELSE '/docs/page-' || page_rank END AS pathname,
               CASE WHEN k = 0 AND source_rank % 10 NOT IN (1) THEN 'https://' || lower(replace(coalesce((SELECT s FROM sources WHERE r = source_rank % 10), 'x'), ' ', '')) || '.com/' END AS referrer,
               CASE WHEN source_rank % 10 = 1 THEN NULL
                    WHEN source_rank < 10 THEN (SELECT s FROM sources WHERE r = source_rank)
                    ELSE 'site' || source_rank || '.example' END AS referrer_source,
               CASE WHEN campaign AND k = 0 THEN 'newsletter' END AS utm_source,
               CASE WHEN campaign AND k = 0 THEN 'email' END AS utm_medium,
               CASE WHEN campaign AND k = 0 THEN 'launch' END AS utm_campaign,
               NULL::VARCHAR AS utm_content, NULL::VARCHAR AS utm_term,
               ['Chrome', 'Mobile Safari', 'Safari', 'Firefox', 'Chrome Mobile', 'Edge', 'Samsung Internet', 'Opera', 'Chrome Mobile iOS', 'Firefox Mobile', 'Yandex Browser', 'UC Browser'][browser_rank + 1] AS browser,
               '120.0' AS browser_version,
               CASE WHEN device_u < 0.55 THEN 'Windows' WHEN device_u < 0.7 THEN 'Mac OS X' WHEN device_u < 0.85 THEN 'iOS' ELSE 'Android' END AS os,
               '10' AS os_version,
               CASE WHEN device_u < 0.7 THEN 'desktop' WHEN device_u < 0.95 THEN 'mobile' ELSE 'tablet' END AS device,
               (CASE WHEN device_u < 0.7 THEN 1920 ELSE 390 END)::USMALLINT AS screen_width,
               ['US','DE','GB','FR','IN','BR','CA','NL','ES','IT','PL','SE','JP','AU','CH'][country_rank % 15 + 1] AS country,
               NULL::VARCHAR AS region, NULL::VARCHAR AS city,
               CASE WHEN name = 'Signup' THEN MAP {'plan': ['free','pro','team'][visit_id % 3 + 1]} ELSE MAP {}::MAP(VARCHAR, VARCHAR) END AS props,
               NULL::DECIMAL(18,4) AS revenue_amount, NULL::VARCHAR AS revenue_currency,
               CASE WHEN name = 'Signup' THEN true END AS interactive,
               NULL::UINTEGER AS engaged_ms, NULL::UTINYINT AS scroll_depth
        FROM ev
    """)
    con.execute("""
        INSERT INTO rows
        SELECT site, ts + INTERVAL 15 SECOND, visitor_id, visit_id, 'engagement', hostname, pathname,
               NULL, NULL, NULL, NULL, NULL, NULL, NULL, browser, browser_version, os, os_version, device,
               screen_width, country, region, city, MAP {}::MAP(VARCHAR, VARCHAR), NULL, NULL, NULL,
               (hash(visit_id, ts) % 60000)::UINTEGER, (hash(ts, visit_id) % 101)::UTINYINT
        FROM rows WHERE name = 'pageview' AND hash(visit_id, ts, 7) % 4 = 0
    """)
    total, evs = con.execute("SELECT count(*), count(*) FILTER (name <> 'engagement') FROM rows").fetchone()
    dates = [d[0] for d in con.execute("SELECT DISTINCT CAST(ts AS DATE) FROM rows ORDER BY 1").fetchall()]
    for seq, d in enumerate(dates, start=1):
        directory = os.path.join(lake, f"site={SITE}", f"date={d}")
        os.makedirs(directory, exist_ok=True)
        name = f"{seq:016x}-{seq:016x}.parquet"
        con.execute(f"""COPY (SELECT * FROM rows WHERE CAST(ts AS DATE) = DATE '{d}' ORDER BY visitor_id, ts)
                        TO '{os.path.join(directory, name)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)""")
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(lake) for f in fs)
    vis, vts = con.execute("SELECT count(DISTINCT visitor_id), count(DISTINCT visit_id) FROM rows").fetchone()
    print(f"lake: {evs} events + {total - evs} engagement rows, {vis} visitors, {vts} visits, {len(dates)} days, "
          f"{size / 1e6:.0f} MB ({size / total:.1f} bytes/row) in {time.time() - t0:.0f} s -> {lake}")


if __name__ == "__main__":
    main()
