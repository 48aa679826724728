"""Query benchmark: the dashboard's calls over a 10M-event lake, each
`mallard_*` call next to hand-written DuckDB SQL over the raw events that
gives the same answer (checked), plus the whole dashboard set and peak
memory. Usage: query.py <extension> <collector> <lake_gen.py> [cache dir]

The lake is generated once (test/bench/lake_gen.py) and cached; the
collector's offline `compact` then writes the rollups it would write for
closed days. Times are the median of 3 warm runs on this machine.
"""

import os
import resource
import statistics
import subprocess
import sys
import threading
import time

import duckdb

SITE = "bench.example"
START, END = "2026-10-01", "2026-10-30"

# Hand-written SQL over raw events: the definitions in the README, written
# the way an analyst would, without the extension.
RAW = "read_parquet('{lake}/site=bench.example/*/*.parquet', hive_partitioning = false)"
IN_RANGE = f"ts >= DATE '{START}' AND ts < DATE '{END}' + 1"
EVENTS = f"""(SELECT * FROM {RAW} WHERE {IN_RANGE} AND name <> 'engagement')"""


def visits_of(events: str) -> str:
    return f"""(SELECT visit_id, any_value(visitor_id) AS visitor_id, min(ts) AS s, max(ts) AS e,
       count(*) FILTER (name = 'pageview') AS pv, count(*) AS n,
       count(*) FILTER (name <> 'pageview' AND interactive IS NOT false) AS ia,
       arg_min_null(coalesce(utm_source, referrer_source), ts) AS source,
       arg_min_null(browser, ts) AS browser, arg_min_null(os, ts) AS os,
       arg_min_null(device, ts) AS device, arg_min_null(country, ts) AS country,
       arg_min_null(pathname, ts) FILTER (name = 'pageview') AS entry_page
    FROM {events} GROUP BY visit_id)"""


VISITS = visits_of(EVENTS)


def calls(events: str, visits: str, engagement_of: str, suffix: str) -> list:
    """The dashboard's calls over `events`/`visits` (hand-written) and with
    `suffix` (named parameters) on the mallard_* side."""

    def visit_breakdown(attr: str) -> str:
        return f"""SELECT coalesce({attr}, '(none)') AS value, count(DISTINCT visitor_id) AS visitors, count(*) AS visits,
            sum(pv) AS pageviews, 100.0 * count(*) FILTER (pv = 1 AND ia = 0) / count(*) AS bounce_rate,
            avg(epoch(e) - epoch(s)) AS visit_duration
            FROM {visits} GROUP BY 1 ORDER BY visitors DESC, value LIMIT 10"""

    dated = f"'{{lake}}', '{SITE}', DATE '{START}', DATE '{END}'"
    out = [
        ("metrics",
         f"SELECT * FROM mallard_metrics({dated}{suffix})",
         f"""SELECT count(DISTINCT visitor_id), count(*), sum(pv), sum(n), sum(pv) / count(*),
             100.0 * count(*) FILTER (pv = 1 AND ia = 0) / count(*), avg(epoch(e) - epoch(s)) FROM {visits}"""),
        ("timeseries (day)",
         f"SELECT * FROM mallard_timeseries({dated}{suffix})",
         f"""WITH ev AS (SELECT date_trunc('day', ts) AS d, count(DISTINCT visitor_id) AS visitors,
                             count(*) FILTER (name = 'pageview') AS pageviews, count(*) AS events FROM {events} GROUP BY 1),
              v AS (SELECT date_trunc('day', s) AS d, count(*) AS visits, 100.0 * count(*) FILTER (pv = 1 AND ia = 0) / count(*) AS b,
                           avg(epoch(e) - epoch(s)) AS dur FROM {visits} GROUP BY 1)
             SELECT d, visitors, visits, pageviews, events, b, dur FROM ev JOIN v USING (d) ORDER BY d"""),
        ("breakdown event:page",
         f"SELECT * FROM mallard_breakdown({dated}, 'event:page'{suffix})",
         f"""WITH p AS (SELECT pathname AS value, count(DISTINCT visitor_id) AS visitors, count(*) AS pageviews
                        FROM {events} WHERE name = 'pageview' GROUP BY 1 ORDER BY visitors DESC, value LIMIT 10),
              g AS (SELECT pathname AS value, visitor_id, sum(engaged_ms) AS ms, max(scroll_depth) AS sd
                    FROM {RAW} WHERE {IN_RANGE} AND name = 'engagement' {engagement_of}
                      AND pathname IN (SELECT value FROM p) GROUP BY 1, 2)
             SELECT p.value, p.visitors, p.pageviews, q.seconds / p.pageviews, q.depth
             FROM p LEFT JOIN (SELECT value, sum(ms) / 1000.0 AS seconds, avg(sd) AS depth FROM g GROUP BY value) q USING (value)
             ORDER BY p.visitors DESC, p.value"""),
    ]
    for attr in ["entry_page", "source", "browser", "os", "country"]:
        out.append((f"breakdown visit:{attr}",
                    f"SELECT * FROM mallard_breakdown({dated}, 'visit:{attr}'{suffix})",
                    visit_breakdown(attr)))
    return out


CALLS = calls(EVENTS, VISITS, "", "")
# The same view filtered by one visit dimension, as a dashboard click makes
# it: whole visits whose country is DE, and their events.
DE_VISITS = f"(SELECT * FROM {VISITS} WHERE country = 'DE')"
DE_EVENTS = f"(SELECT * FROM {EVENTS} WHERE visit_id IN (SELECT visit_id FROM {DE_VISITS}))"
FILTERED = calls(DE_EVENTS, DE_VISITS, f"AND visit_id IN (SELECT visit_id FROM {DE_VISITS})",
                 ", filters := ['visit:country == DE']")


def timed(con, sql: str, runs: int = 3) -> tuple[float, list]:
    con.execute(sql).fetchall()  # warm up
    times, rows = [], None
    for _ in range(runs):
        t = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    return statistics.median(times), rows


def same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None or abs(float(x) - float(y)) > 1e-6 * max(1.0, abs(float(y))):
                    if not (x is None and y is None):
                        return False
            elif str(x) != str(y):
                return False
    return True


def main() -> None:
    extension, collector, generator = sys.argv[1], sys.argv[2], sys.argv[3]
    cache = sys.argv[4] if len(sys.argv) > 4 else os.path.expanduser("~/.cache/mallard/bench")
    data = os.path.join(cache, "query-10m")
    lake = os.path.join(data, "lake")
    if not os.path.exists(os.path.join(data, ".complete")):
        subprocess.run(["rm", "-rf", data], check=True)
        subprocess.run([sys.executable, generator, lake], check=True)
        open(os.path.join(data, ".complete"), "w").close()
    t = time.perf_counter()
    subprocess.run([collector, "compact"], env=dict(os.environ, MALLARD_DATA_DIR=data), check=True,
                   stderr=subprocess.DEVNULL)
    print(f"query bench: lake {lake}; rollups up to date in {time.perf_counter() - t:.1f} s "
          f"(mallard-collector compact); DuckDB {duckdb.__version__}, {os.cpu_count()} threads")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    for title, calls_ in [("the first render's calls", CALLS), ("filtered by visit:country == DE", FILTERED)]:
        total_m = total_h = 0.0
        print(f"  {title}")
        print(f"  {'call':28} {'mallard_*':>10} {'hand-written':>13} {'ratio':>7}  same answer")
        for name, ours, hand in calls_:
            tm, rm = timed(con, ours.format(lake=lake))
            th, rh = timed(con, hand.format(lake=lake))
            total_m += tm
            total_h += th
            print(f"  {name:28} {tm * 1000:8.0f} ms {th * 1000:10.0f} ms {tm / th:7.2f}  {'yes' if same(rm, rh) else 'NO'}")
        print(f"  {'whole set, one after another':28} {total_m * 1000:8.0f} ms {total_h * 1000:10.0f} ms {total_m / total_h:7.2f}")
    # The dashboard sends its calls at once: time them concurrently too.
    errors = []

    def run(sql: str) -> None:
        try:
            c = con.cursor()
            c.execute(sql.format(lake=lake)).fetchall()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    for _ in range(2):
        threads = [threading.Thread(target=run, args=(ours,)) for _, ours, _ in CALLS]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
    print(f"  {'whole set, concurrently':28} {wall * 1000:8.0f} ms {'':>13}          {'errors: ' + str(errors) if errors else ''}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of the DuckDB process (host + mallard's private instance): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
