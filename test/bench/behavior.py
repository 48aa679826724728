"""Behavioural benchmark, side by side with ClickHouse (PyPI chdb) on the
same files in the same run, 2 threads each; the answers are compared.

1. Aggregates: each behavioural aggregate over one 10M-row Parquet file
   grouped by visitor; next to it DuckDB's floor (the same GROUP BY with
   built-in aggregates over the same columns) and ClickHouse's function.
   Median of 3 warm runs in this process.
2. Reports: each report over the 10M-event benchmark lake next to
   ClickHouse's equivalent query over the same lake files. Times are cold:
   each query is the first one in a fresh process (DuckDB: connect, LOAD
   mallard, then the timed query; ClickHouse: a fresh chdb session).

Ties on timestamp have no order in ClickHouse. Where an answer depends on
their order (sequences) ClickHouse is given ours: the timestamp, scaled,
plus the row's condition bits, so equal times sort by bits as ours do.

usage: behavior.py <extension> <bench lake> <cache dir>
"""

import json
import os
import statistics
import subprocess
import sys
import time

SITE = "bench.example"
START, END = "2026-10-01", "2026-10-30"
ROWS = 10_000_000
RUNS = 3
MODES = ["", "strict_deduplication", "strict_order", "strict_increase", "strict_once", "strict_order,allow_reentry"]


def median_time(run):
    times, result = [], None
    for _ in range(RUNS):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


# One query, timed as the first in a fresh process; prints JSON {seconds, rows}.
DUCK_CHILD = """
import duckdb, json, sys, time
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("SET threads = 2")
con.execute(f"LOAD '{sys.argv[1]}'")
t0 = time.perf_counter()
rows = con.execute(sys.argv[2]).fetchall()
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": [[str(v) for v in r] for r in rows]}))
"""
CH_CHILD = """
import chdb, json, sys, time
from chdb import session
s = session.Session()
t0 = time.perf_counter()
out = s.query(sys.argv[1] + " SETTINGS max_threads = 2, allow_experimental_funnel_functions = 1", "JSONCompact")
seconds = time.perf_counter() - t0
data = json.loads(out.bytes() if hasattr(out, "bytes") else str(out))["data"]
print(json.dumps({"seconds": seconds, "rows": [[str(v) for v in r] for r in data]}))
"""


def cold(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def aggregates(ext, file):
    import chdb
    import duckdb

    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute("SET threads = 2")
    con.execute(f"LOAD '{ext}'")
    rows, visitors = con.execute(f"SELECT count(*), count(DISTINCT visitor_id) FROM '{file}'").fetchone()
    print(f"aggregates over {file}: {rows:,} rows, {visitors:,} visitors (groups); median of {RUNS}, 2 threads each")
    ch = chdb.session.Session()

    def clickhouse(sql):
        out = ch.query(f"{sql} SETTINGS max_threads = 2, allow_experimental_funnel_functions = 1", "JSONCompact")
        return json.loads(out.bytes() if hasattr(out, "bytes") else str(out))["data"][0]

    src_d, src_c = f"'{file}'", f"file('{file}', Parquet)"
    c3_d = "pathname = '/', pathname = '/docs/page-1', name = 'Signup'"
    c2 = "pathname = '/', name = 'Signup'"
    # The floor: the same GROUP BY with built-in aggregates over the same
    # columns, their results used (else DuckDB drops unused aggregates).
    floor3 = ("SELECT sum(epoch(m)), count(*) FILTER (a), count(*) FILTER (b), count(*) FILTER (c) FROM (SELECT max(ts) AS m, "
              f"bool_or(pathname = '/') AS a, bool_or(pathname = '/docs/page-1') AS b, bool_or(name = 'Signup') AS c FROM {src_d} GROUP BY visitor_id)")
    floor2 = ("SELECT sum(epoch(m)), count(*) FILTER (a), count(*) FILTER (c) FROM (SELECT max(ts) AS m, "
              f"bool_or(pathname = '/') AS a, bool_or(name = 'Signup') AS c FROM {src_d} GROUP BY visitor_id)")
    cases = []
    for mode in MODES:
        m_d = f"'{mode}', " if mode else ""
        m_c = "".join(f", '{m}'" for m in mode.split(",")) if mode else ""
        cases.append((
            f"window_funnel {mode or '(no mode)'}",
            f"SELECT sum(x) FROM (SELECT mallard_window_funnel(INTERVAL 1 DAY, {m_d}ts, {c3_d}) AS x FROM {src_d} GROUP BY visitor_id)",
            floor3,
            f"SELECT sum(x) FROM (SELECT windowFunnel(86400{m_c})(epoch, {c3_d}) AS x FROM {src_c} GROUP BY visitor_id)",
        ))
    weeks_d = ("ts < TIMESTAMP '2026-10-08', ts >= TIMESTAMP '2026-10-08' AND ts < TIMESTAMP '2026-10-15', "
               "ts >= TIMESTAMP '2026-10-15'")
    weeks_c = ("epoch < toUnixTimestamp('2026-10-08 00:00:00', 'UTC'), epoch >= toUnixTimestamp('2026-10-08 00:00:00', 'UTC') "
               "AND epoch < toUnixTimestamp('2026-10-15 00:00:00', 'UTC'), epoch >= toUnixTimestamp('2026-10-15 00:00:00', 'UTC')")
    cases += [
        ("retention",
         f"SELECT sum(x[1]::INT), sum(x[2]::INT), sum(x[3]::INT) FROM (SELECT mallard_retention({weeks_d}) AS x FROM {src_d} GROUP BY visitor_id)",
         f"SELECT count(*) FILTER (a), count(*) FILTER (b), count(*) FILTER (c) FROM (SELECT bool_or(ts < TIMESTAMP '2026-10-08') AS a, "
         f"bool_or(ts >= TIMESTAMP '2026-10-08' AND ts < TIMESTAMP '2026-10-15') AS b, bool_or(ts >= TIMESTAMP '2026-10-15') AS c "
         f"FROM {src_d} GROUP BY visitor_id)",
         f"SELECT sum(x[1]), sum(x[2]), sum(x[3]) FROM (SELECT retention({weeks_c}) AS x FROM {src_c} GROUP BY visitor_id)"),
        ("sequence_match",
         f"SELECT count(*) FILTER (x) FROM (SELECT mallard_sequence_match('(?1).*(?2)', ts, {c2}) AS x FROM {src_d} GROUP BY visitor_id)",
         floor2,
         f"SELECT countIf(x) FROM (SELECT sequenceMatch('(?1).*(?2)')(epoch, {c2}) AS x FROM {src_c} GROUP BY visitor_id)"),
        ("sequence_match (?t<=600)",
         f"SELECT count(*) FILTER (x) FROM (SELECT mallard_sequence_match('(?1)(?t<=600)(?2)', ts, {c2}) AS x FROM {src_d} GROUP BY visitor_id)",
         floor2,
         f"SELECT countIf(x) FROM (SELECT sequenceMatch('(?1)(?t<=600)(?2)')(epoch, {c2}) AS x FROM {src_c} GROUP BY visitor_id)"),
        ("sequence_count",
         f"SELECT sum(x) FROM (SELECT mallard_sequence_count('(?1).*(?2)', ts, {c2}) AS x FROM {src_d} GROUP BY visitor_id)",
         floor2,
         f"SELECT sum(x) FROM (SELECT sequenceCount('(?1).*(?2)')(epoch, {c2}) AS x FROM {src_c} GROUP BY visitor_id)"),
        ("sequence_match_events",
         f"SELECT sum(len(x)) FROM (SELECT mallard_sequence_match_events('(?1).*(?2)', ts, {c2}) AS x FROM {src_d} GROUP BY visitor_id)",
         floor2,
         f"SELECT sum(length(x)) FROM (SELECT sequenceMatchEvents('(?1).*(?2)')(epoch, {c2}) AS x FROM {src_c} GROUP BY visitor_id)"),
        ("sequence_next_node",
         f"SELECT count(x), sum(length(x)) FROM (SELECT mallard_sequence_next_node('forward', 'first_match', ts, pathname, true, pathname = '/') AS x FROM {src_d} GROUP BY visitor_id)",
         f"SELECT sum(epoch(m)), count(p), count(*) FILTER (a) FROM (SELECT max(ts) AS m, max(pathname) AS p, bool_or(pathname = '/') AS a "
         f"FROM {src_d} GROUP BY visitor_id)",
         f"SELECT count(x), sum(length(x)) FROM (SELECT sequenceNextNode('forward', 'first_match')(epoch, pathname, 1, pathname = '/') AS x FROM {src_c} GROUP BY visitor_id)"),
    ]
    print(f"{'aggregate':32} {'mallard':>9} {'floor':>8} {'/floor':>7} {'ClickHouse':>11} {'CH/ours':>8}  answers")
    for name, duck_sql, floor_sql, ch_sql in cases:
        t_d, r_d = median_time(lambda: con.execute(duck_sql).fetchone())
        t_f, _ = median_time(lambda: con.execute(floor_sql).fetchone())
        t_c, r_c = median_time(lambda: clickhouse(ch_sql))
        same = [float(a or 0) for a in r_d] == [float(b or 0) for b in r_c]
        print(f"{name:32} {t_d * 1000:7.0f}ms {t_f * 1000:6.0f}ms {t_d / t_f:6.2f}x {t_c * 1000:9.0f}ms {t_c / t_d:7.2f}x  "
              f"{'equal' if same else f'DIFFER {r_d} vs {r_c}'}")
    # sessionize has no ClickHouse counterpart: next to plain DuckDB window SQL.
    t_s, r_s = median_time(lambda: con.execute(
        f"SELECT max(s), sum(s) FROM (SELECT mallard_sessionize(ts, INTERVAL 30 MINUTE) OVER (PARTITION BY visitor_id ORDER BY ts) AS s FROM {src_d})").fetchone())
    t_p, r_p = median_time(lambda: con.execute(
        f"""SELECT max(s), sum(s) FROM (SELECT 1 + sum(b) OVER (PARTITION BY visitor_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS s FROM (
            SELECT visitor_id, ts, CASE WHEN ts - lag(ts) OVER (PARTITION BY visitor_id ORDER BY ts) > INTERVAL 30 MINUTE THEN 1 ELSE 0 END AS b
            FROM {src_d}))""").fetchone())
    print(f"{'sessionize (window)':32} {t_s * 1000:7.0f}ms {t_p * 1000:6.0f}ms {t_s / t_p:6.2f}x  (floor: plain DuckDB lag + sum) "
          f"{'equal' if r_s == r_p else f'DIFFER {r_s} vs {r_p}'}")


def reports(ext, lake):
    files = f"file('{lake}/site={SITE}/*/*.parquet', Parquet)"
    where = (f"site = '{SITE}' AND ts >= toDateTime64('{START} 00:00:00', 6, 'UTC') "
             f"AND ts < toDateTime64('2026-10-31 00:00:00', 6, 'UTC')")
    events = f"{where} AND name <> 'engagement'"
    us = "toUInt64(toUnixTimestamp64Micro(ts))"
    scope = f"'{lake}', '{SITE}', DATE '{START}', DATE '{END}'"
    steps = "name = 'pageview' AND pathname = '/', name = 'pageview' AND pathname = '/docs/page-1', name = 'Signup'"
    s1, s2 = "(name = 'pageview' AND pathname = '/')", "(name = 'Signup')"
    retention_ch = f"""
        WITH ev AS (SELECT visitor_id, toMonday(ts) AS w FROM {files} WHERE {events}),
             first AS (SELECT visitor_id, min(w) AS cohort FROM ev GROUP BY visitor_id)
        SELECT c, count() AS size, {', '.join(f'sum(r[{k + 1}])' for k in range(8))} FROM (
            SELECT visitor_id, any(cohort) AS c,
                   retention({', '.join(f'w = cohort + {7 * k}' for k in range(8))}) AS r
            FROM ev JOIN first USING (visitor_id) GROUP BY visitor_id)
        GROUP BY c ORDER BY c"""
    # sequenceNextNode orders rows wrongly with microsecond UInt64 times
    # (its answers then differ from its own on DateTime); the lake's times
    # are whole seconds, so seconds lose nothing.
    secs = "toUInt32(toUnixTimestamp(ts))"
    flow_ch = f"""
        SELECT e.1 AS step, e.2 AS from_page, e.3 AS to_page, uniqExact(visitor_id) AS visitors FROM (
            SELECT visit_id, any(visitor_id) AS visitor_id,
                   argMinIf(pathname, ({secs}, pathname), pathname = '/') AS p0,
                   sequenceNextNode('forward', 'first_match')({secs}, pathname, 1, pathname = '/') AS p1,
                   sequenceNextNode('forward', 'first_match')({secs}, pathname, 1, pathname = '/', 1) AS p2,
                   sequenceNextNode('forward', 'first_match')({secs}, pathname, 1, pathname = '/', 1, 1) AS p3
            FROM {files} WHERE {events} AND name = 'pageview'
            GROUP BY visit_id HAVING countIf(pathname = '/') > 0)
        ARRAY JOIN [(1, p0, p1), (2, p1, p2), (3, p2, p3)] AS e
        WHERE e.2 IS NOT NULL AND e.3 IS NOT NULL
        GROUP BY step, from_page, to_page ORDER BY step, visitors DESC, from_page, to_page"""
    cases = [
        ("mallard_funnel (3 steps, 1 day)",
         f"SELECT step, visitors FROM mallard_funnel({scope}, ['page:/', 'page:/docs/page-1', 'event:Signup'])",
         f"SELECT level, count() FROM (SELECT windowFunnel(86400000000)({us}, {steps}) AS level FROM {files} "
         f"WHERE {events} AND ({s1} OR (name = 'pageview' AND pathname = '/docs/page-1') OR {s2}) GROUP BY visitor_id) "
         f"GROUP BY level ORDER BY level",
         "windowFunnel levels"),
        ("mallard_funnel strict_order",
         f"SELECT step, visitors FROM mallard_funnel({scope}, ['page:/', 'page:/docs/page-1', 'event:Signup'], mode := 'strict_order')",
         f"SELECT level, count() FROM (SELECT windowFunnel(86400000000, 'strict_order')({us}, {steps}) AS level FROM {files} "
         f"WHERE {events} GROUP BY visitor_id) GROUP BY level ORDER BY level",
         "windowFunnel levels"),
        ("mallard_retention (8 weeks)",
         f"SELECT cohort, cohort_size, period_number, visitors FROM mallard_retention({scope})",
         retention_ch, "retention, cohorts joined"),
        ("mallard_sequences",
         f"SELECT matching_visitors, total_visitors FROM mallard_sequences({scope}, '(?1).*(?2)', ['page:/', 'event:Signup'])",
         f"SELECT countIf(m), count() FROM (SELECT sequenceMatch('(?1).*(?2)')({us} * 4 + {s1} + 2 * {s2}, {s1}, {s2}) AS m "
         f"FROM {files} WHERE {events} GROUP BY visitor_id)",
         "sequenceMatch"),
        ("mallard_flow (from /, depth 3)",
         f"SELECT step, from_page, to_page, visitors FROM mallard_flow({scope}, '/')",
         flow_ch, "sequenceNextNode per visit"),
    ]
    print(f"\nreports over the benchmark lake ({lake}), {START}..{END}; each time cold (first query of a fresh process)")
    print(f"{'report':34} {'mallard':>9} {'ClickHouse':>11} {'CH/ours':>8}  ClickHouse's query   answers")
    for name, ours, theirs, what in cases:
        d = cold(DUCK_CHILD, ext, ours)
        c = cold(CH_CHILD, theirs)
        print(f"{name:34} {d['seconds'] * 1000:7.0f}ms {c['seconds'] * 1000:9.0f}ms {c['seconds'] / d['seconds']:7.2f}x  "
              f"{what:20} {compare(name, d['rows'], c['rows'])}")


def compare(name, ours, theirs):
    """Whether a report's answer equals ClickHouse's, in the report's shape."""
    if name.startswith("mallard_funnel"):
        levels = {int(level): int(n) for level, n in theirs}
        expected = [[str(step), str(sum(n for level, n in levels.items() if level >= step))] for step in (1, 2, 3)]
        got = [[s, v] for s, v in ours]
    elif name.startswith("mallard_retention"):
        expected = []
        for row in theirs:
            cohort, size = row[0], row[1]
            for k in range(8):
                expected.append([cohort, size, str(k), row[2 + k]])
        # Ours leaves periods that have not begun NULL; compare the others.
        got = [r for r in ours if r[3] != "None"]
        expected = [e for e in expected if [e[0], e[1], e[2]] in [g[:3] for g in got]]
    elif name.startswith("mallard_sequences"):
        expected, got = theirs, ours
    else:
        expected, got = sorted(map(tuple, theirs)), sorted(map(tuple, ours))
    return f"equal ({len(got)} rows)" if expected == got else f"DIFFER: {str(got)[:200]} vs {str(expected)[:200]}"


def main() -> None:
    ext, lake, cache = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(cache, exist_ok=True)
    file = os.path.join(cache, "behavior-10m.parquet")
    if not os.path.exists(file):
        import duckdb
        con = duckdb.connect()
        # The lake's events, sorted like the lake (visitor, time); `epoch`
        # is the same time in seconds for ClickHouse's DateTime functions.
        con.execute(f"""COPY (
            SELECT visitor_id, ts, CAST(epoch(ts) AS UINTEGER) AS epoch, name, pathname
            FROM read_parquet('{lake}/site={SITE}/*/*.parquet', hive_partitioning = false)
            WHERE name <> 'engagement' ORDER BY visitor_id, ts LIMIT {ROWS}
        ) TO '{file}.tmp' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)""")
        os.rename(f"{file}.tmp", file)
    only = os.environ.get("BEHAVIOR_ONLY", "")
    if only in ("", "aggregates"):
        aggregates(ext, file)
    if only in ("", "reports"):
        reports(ext, lake)


if __name__ == "__main__":
    main()
