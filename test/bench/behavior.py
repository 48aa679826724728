"""Behavioural benchmark: each aggregate's throughput through SQL over one
10M-row Parquet file grouped by visitor, side by side with ClickHouse's own
function on the same file (PyPI chdb, in this process), and each report's
time on the 10M-event benchmark lake. Both engines get 2 threads; times are
the median of 3 warm runs; the engines' answers are compared too.

usage: behavior.py <extension> <bench lake> <cache dir>
"""

import json
import os
import statistics
import sys
import time

import chdb
import duckdb

SITE = "bench.example"
START, END = "2026-10-01", "2026-10-30"
ROWS = 10_000_000
RUNS = 3


def median_time(run):
    times = []
    result = None
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ext, lake, cache = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(cache, exist_ok=True)
    file = os.path.join(cache, "behavior-10m.parquet")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute("SET threads = 2")
    con.execute(f"LOAD '{ext}'")
    if not os.path.exists(file):
        # The lake's events, sorted like the lake (visitor, time); `epoch`
        # is the same time in seconds for ClickHouse (its functions take
        # DateTime, not DateTime64).
        con.execute(f"""COPY (
            SELECT visitor_id, ts, CAST(epoch(ts) AS UINTEGER) AS epoch, name, pathname
            FROM read_parquet('{lake}/site={SITE}/*/*.parquet', hive_partitioning = false)
            WHERE name <> 'engagement' ORDER BY visitor_id, ts LIMIT {ROWS}
        ) TO '{file}.tmp' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)""")
        os.rename(f"{file}.tmp", file)
    rows, visitors = con.execute(f"SELECT count(*), count(DISTINCT visitor_id) FROM '{file}'").fetchone()
    print(f"behavioural aggregates over {file}: {rows:,} rows, {visitors:,} visitors (groups); "
          f"median of {RUNS}, 2 threads each")

    ch = chdb.session.Session() if hasattr(chdb, "session") else None
    query = (ch.query if ch else chdb.query)

    def clickhouse(sql):
        out = query(f"{sql} SETTINGS max_threads = 2, allow_experimental_funnel_functions = 1", "JSONCompact")
        return json.loads(out.bytes() if hasattr(out, "bytes") else str(out))["data"][0]

    steps_d = "pathname = '/', pathname = '/docs/page-1', name = 'Signup'"
    steps_c = "pathname = '/', pathname = '/docs/page-1', name = 'Signup'"
    cases = [
        ("window_funnel",
         f"SELECT sum(x) FROM (SELECT mallard_window_funnel(INTERVAL 1 DAY, ts, {steps_d}) AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT sum(x) FROM (SELECT windowFunnel(86400)(epoch, {steps_c}) AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("window_funnel strict_order",
         f"SELECT sum(x) FROM (SELECT mallard_window_funnel(INTERVAL 1 DAY, 'strict_order', ts, {steps_d}) AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT sum(x) FROM (SELECT windowFunnel(86400, 'strict_order')(epoch, {steps_c}) AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("retention",
         f"SELECT sum(x[1]::INT), sum(x[2]::INT), sum(x[3]::INT) FROM (SELECT mallard_retention(ts < TIMESTAMP '2026-10-08', "
         f"ts >= TIMESTAMP '2026-10-08' AND ts < TIMESTAMP '2026-10-15', ts >= TIMESTAMP '2026-10-15') AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT sum(x[1]), sum(x[2]), sum(x[3]) FROM (SELECT retention(epoch < toUnixTimestamp('2026-10-08 00:00:00', 'UTC'), "
         f"epoch >= toUnixTimestamp('2026-10-08 00:00:00', 'UTC') AND epoch < toUnixTimestamp('2026-10-15 00:00:00', 'UTC'), "
         f"epoch >= toUnixTimestamp('2026-10-15 00:00:00', 'UTC')) AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("sequence_match",
         f"SELECT count(*) FILTER (x) FROM (SELECT mallard_sequence_match('(?1).*(?2)', ts, pathname = '/', name = 'Signup') AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT countIf(x) FROM (SELECT sequenceMatch('(?1).*(?2)')(epoch, pathname = '/', name = 'Signup') AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("sequence_match (?t)",
         f"SELECT count(*) FILTER (x) FROM (SELECT mallard_sequence_match('(?1)(?t<=600)(?2)', ts, pathname = '/', name = 'Signup') AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT countIf(x) FROM (SELECT sequenceMatch('(?1)(?t<=600)(?2)')(epoch, pathname = '/', name = 'Signup') AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("sequence_count",
         f"SELECT sum(x) FROM (SELECT mallard_sequence_count('(?1).*(?2)', ts, pathname = '/', name = 'Signup') AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT sum(x) FROM (SELECT sequenceCount('(?1).*(?2)')(epoch, pathname = '/', name = 'Signup') AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("sequence_match_events",
         f"SELECT sum(len(x)) FROM (SELECT mallard_sequence_match_events('(?1).*(?2)', ts, pathname = '/', name = 'Signup') AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT sum(length(x)) FROM (SELECT sequenceMatchEvents('(?1).*(?2)')(epoch, pathname = '/', name = 'Signup') AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
        ("sequence_next_node",
         f"SELECT count(x), sum(length(x)) FROM (SELECT mallard_sequence_next_node('forward', 'first_match', ts, pathname, true, pathname = '/') AS x FROM '{file}' GROUP BY visitor_id)",
         f"SELECT count(x), sum(length(x)) FROM (SELECT sequenceNextNode('forward', 'first_match')(epoch, pathname, 1, pathname = '/') AS x FROM file('{file}', Parquet) GROUP BY visitor_id)"),
    ]
    print(f"{'aggregate':28} {'mallard':>10} {'ClickHouse':>11} {'mallard rows/s':>15} {'CH rows/s':>12} {'ratio':>6}  answers")
    for name, duck_sql, ch_sql in cases:
        t_d, r_d = median_time(lambda: con.execute(duck_sql).fetchone())
        t_c, r_c = median_time(lambda: clickhouse(ch_sql))
        same = [float(a or 0) for a in r_d] == [float(b or 0) for b in r_c]
        print(f"{name:28} {t_d * 1000:8.0f}ms {t_c * 1000:9.0f}ms {rows / t_d:15,.0f} {rows / t_c:12,.0f} "
              f"{t_c / t_d:5.2f}x  {'equal' if same else f'DIFFER {r_d} vs {r_c}'}")

    # sessionize has no ClickHouse counterpart: next to plain DuckDB window SQL
    t_s, r_s = median_time(lambda: con.execute(
        f"SELECT max(s), sum(s) FROM (SELECT mallard_sessionize(ts, INTERVAL 30 MINUTE) OVER (PARTITION BY visitor_id ORDER BY ts) AS s FROM '{file}')").fetchone())
    t_p, r_p = median_time(lambda: con.execute(
        f"""SELECT max(s), sum(s) FROM (SELECT 1 + sum(b) OVER (PARTITION BY visitor_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS s FROM (
            SELECT visitor_id, ts, CASE WHEN ts - lag(ts) OVER (PARTITION BY visitor_id ORDER BY ts) > INTERVAL 30 MINUTE THEN 1 ELSE 0 END AS b
            FROM '{file}'))""").fetchone())
    print(f"{'sessionize (window)':28} {t_s * 1000:8.0f}ms {'':>11} {rows / t_s:15,.0f}   plain DuckDB lag+sum: "
          f"{t_p * 1000:.0f} ms ({t_p / t_s:.2f}x) {'equal' if r_s == r_p else f'DIFFER {r_s} vs {r_p}'}")

    print(f"\nreports over the benchmark lake ({lake}), {START}..{END}, median of {RUNS}:")
    reports = [
        ("mallard_funnel", f"SELECT * FROM mallard_funnel('{lake}', '{SITE}', DATE '{START}', DATE '{END}', "
                           "['page:/', 'page:/docs/page-1', 'event:Signup'])"),
        ("mallard_funnel strict_order", f"SELECT * FROM mallard_funnel('{lake}', '{SITE}', DATE '{START}', DATE '{END}', "
                                        "['page:/', 'page:/docs/page-1', 'event:Signup'], mode := 'strict_order')"),
        ("mallard_retention (weeks)", f"SELECT * FROM mallard_retention('{lake}', '{SITE}', DATE '{START}', DATE '{END}')"),
        ("mallard_sequences", f"SELECT * FROM mallard_sequences('{lake}', '{SITE}', DATE '{START}', DATE '{END}', "
                              "'(?1).*(?2)', ['page:/', 'event:Signup'])"),
        ("mallard_flow", f"SELECT * FROM mallard_flow('{lake}', '{SITE}', DATE '{START}', DATE '{END}', '/')"),
    ]
    for name, sql in reports:
        t, result = median_time(lambda: con.execute(sql).fetchall())
        print(f"{name:30} {t * 1000:8.0f} ms  ({len(result)} rows; first {result[0] if result else None})")


if __name__ == "__main__":
    main()
