"""Goals against plain SQL over a random lake.

A random lake (format v1, written here with plain DuckDB: visitors, visits,
pages, custom events with properties, revenue in three currencies) is read by
mallard_goals and by mallard_breakdown(..., goal := ...) through the real
extension, and by straightforward SQL written here from the definitions:

- a visitor converts when one of their events in the range matches the goal;
  unique conversions count such visitors, total conversions the events;
- the conversion rate is converting visitors / all visitors of the range, in %;
- revenue is summed (and averaged) per currency, never across currencies;
- a time series bucket holds the events of its day;
- a breakdown row's value is the event's (page, name, property) or its visit's
  (the visit's first event's country), and its rate divides the row's
  converting visitors by the row's visitors.

usage: python goals.py <mallard.duckdb_extension> [visitors] [seed]
"""

import os
import random
import sys
import tempfile

import duckdb

SITE = "shop.example"
PAGES = ["/", "/pricing", "/signup/start", "/signup/done", "/blog/a", "/blog/b", "/docs/x/y"]
EVENTS = ["Signup", "Purchase", "Download"]
GOALS = ['page:/signup/*', 'event:Signup', 'event:Purchase', 'event:Purchase {"plan":"pro"}',
         'page:/pricing|event:Download', 'page:/docs/**']
DIMENSIONS = ["event:page", "event:name", "event:props:plan", "visit:country"]


def make_lake(con, root, visitors, rng):
    """Writes the random events as two days' partitions; returns the dates."""
    rows = []
    base = 1_793_491_200_000_000  # 2026-11-03 00:00 UTC, µs
    visit = 0
    for v in range(1, visitors + 1):
        country = rng.choice(["DE", "FR", "US", None])
        t = base + rng.randrange(0, 40 * 3600) * 1_000_000
        for _ in range(rng.randint(1, 3)):
            visit += 1
            for _ in range(rng.randint(1, 6)):
                t += rng.randrange(1, 300) * 1_000_000 + rng.randrange(1000)
                if rng.random() < 0.7:
                    rows.append((v, visit, t, "pageview", rng.choice(PAGES), {}, None, None, country))
                else:
                    name = rng.choice(EVENTS)
                    props = {"plan": rng.choice(["pro", "free"])} if rng.random() < 0.6 else {}
                    amount, currency = None, None
                    if name == "Purchase" and rng.random() < 0.8:
                        amount = f"{rng.randrange(100, 100000) / 100:.2f}"
                        currency = rng.choice(["EUR", "USD", "JPY"])
                    rows.append((v, visit, t, name, rng.choice(PAGES), props, amount, currency, country))
            t += 3 * 3600 * 1_000_000
    con.execute("""CREATE TABLE raw (visitor_id UBIGINT, visit_id UBIGINT, us BIGINT, name VARCHAR,
                   pathname VARCHAR, props MAP(VARCHAR, VARCHAR), amount VARCHAR, currency VARCHAR,
                   country VARCHAR)""")
    con.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"""CREATE TABLE events AS SELECT
        '{SITE}' AS site, make_timestamp(us) AS ts, visitor_id, visit_id, name, 'shop.example' AS hostname,
        pathname, NULL::VARCHAR AS referrer, NULL::VARCHAR AS referrer_source, NULL::VARCHAR AS utm_source,
        NULL::VARCHAR AS utm_medium, NULL::VARCHAR AS utm_campaign, NULL::VARCHAR AS utm_content,
        NULL::VARCHAR AS utm_term, 'Chrome' AS browser, '124' AS browser_version, 'Linux' AS os,
        NULL::VARCHAR AS os_version, 'Desktop' AS device, 1280::USMALLINT AS screen_width, country,
        NULL::VARCHAR AS region, NULL::VARCHAR AS city, props, amount::DECIMAL(18,4) AS revenue_amount,
        currency AS revenue_currency, CASE WHEN name <> 'pageview' THEN true END AS interactive,
        NULL::UINTEGER AS engaged_ms, NULL::UTINYINT AS scroll_depth
        FROM raw""")
    dates = [d for (d,) in con.execute("SELECT DISTINCT ts::DATE FROM events ORDER BY 1").fetchall()]
    for i, d in enumerate(dates):
        folder = os.path.join(root, f"site={SITE}", f"date={d}")
        os.makedirs(folder)
        path = os.path.join(folder, f"{i + 1:016x}-{i + 1:016x}.parquet")
        con.execute(f"""COPY (SELECT * FROM events WHERE ts::DATE = DATE '{d}' ORDER BY visitor_id, ts)
                        TO '{path}' (FORMAT parquet)""")
    return dates


def goal_sql(goal):
    """The goal as a plain SQL condition, written from its definition."""
    step, _, props = goal.partition(" {")
    parts = []
    for alt in step.split("|"):
        if alt.startswith("event:"):
            parts.append(f"name = '{alt[6:]}'")
        else:
            glob = alt[5:]
            regex = glob.replace("**", "\0").replace("*", "[^/]*").replace("\0", ".*")
            parts.append(f"(name = 'pageview' AND regexp_full_match(pathname, '{regex}'))")
    cond = "(" + " OR ".join(parts) + ")"
    if props:
        key, value = props.rstrip("}").replace('"', "").split(":")
        cond += f" AND props['{key}'] = '{value}'"
    return cond


def revenue(con, where, key_sql, group):
    """{key: [(currency, total, average)]} by plain SQL."""
    out = {}
    for key, cur, total, avg in con.execute(f"""
            SELECT {key_sql}, revenue_currency, sum(revenue_amount), avg(revenue_amount)::DOUBLE FROM ev
            WHERE ({where}) AND revenue_currency IS NOT NULL AND revenue_amount IS NOT NULL
            GROUP BY ALL ORDER BY {group}, revenue_currency""").fetchall():
        out.setdefault(key, []).append((cur, total, round(avg, 6)))
    return out


def theirs(revenue_list):
    return [(r["currency"], r["total"], round(r["average"], 6)) for r in revenue_list]


def main():
    ext = sys.argv[1]
    visitors = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 11
    rng = random.Random(seed)
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ext}'")
    root = tempfile.mkdtemp(prefix="mallard-goals-")
    dates = make_lake(con, root, visitors, rng)
    first, last = dates[0], dates[-1]
    con.execute("CREATE VIEW ev AS SELECT * FROM events WHERE name <> 'engagement'")
    (total,) = con.execute("SELECT count(DISTINCT visitor_id) FROM ev").fetchone()
    args = f"'{root}', '{SITE}', DATE '{first}', DATE '{last}'"
    checked = 0

    # mallard_goals: one row per goal.
    got = con.execute(f"SELECT goal, visitors, events, conversion_rate, revenue FROM mallard_goals({args}, ?)",
                      [GOALS]).fetchall()
    for (goal, v, e, rate, money), want_goal in zip(got, GOALS):
        cond = goal_sql(want_goal)
        wv, we = con.execute(f"SELECT count(DISTINCT visitor_id), count(*) FROM ev WHERE {cond}").fetchone()
        want_money = revenue(con, cond, "1", "1").get(1, [])
        if (goal, v, e) != (want_goal, wv, we) or abs(rate - 100.0 * wv / total) > 1e-9 or theirs(money) != want_money:
            sys.exit(f"FAIL mallard_goals {want_goal}: got {(goal, v, e, rate, theirs(money))}, "
                     f"plain SQL {(wv, we, 100.0 * wv / total, want_money)}")
        checked += 1

    # mallard_breakdown with a goal: every row of every dimension.
    values = {
        "event:page": "coalesce(pathname, '(none)')",
        "event:name": "coalesce(name, '(none)')",
        "event:props:plan": "coalesce(props['plan'], '(none)')",
        "visit:country": "coalesce(first_country, '(none)')",
    }
    con.execute("""CREATE OR REPLACE VIEW ev AS SELECT e.*, f.first_country FROM events e
                   JOIN (SELECT visit_id, arg_min(country, ts) AS first_country FROM events GROUP BY visit_id) f
                   USING (visit_id) WHERE name <> 'engagement'""")
    for dim in DIMENSIONS:
        for goal in GOALS:
            cond = goal_sql(goal)
            key = values[dim]
            want = {k: (v, c, e) for k, v, c, e in con.execute(f"""
                SELECT {key}, count(DISTINCT visitor_id), count(DISTINCT visitor_id) FILTER (WHERE {cond}),
                       count(*) FILTER (WHERE {cond})
                FROM ev GROUP BY 1""").fetchall()}
            want_money = revenue(con, cond, key, "1")
            rows = con.execute(f"""SELECT value, visitors, conversions, events, conversion_rate, revenue
                                   FROM mallard_breakdown({args}, '{dim}', goal := ?, top := 1000)""",
                               [goal]).fetchall()
            if {r[0] for r in rows} != set(want):
                sys.exit(f"FAIL {dim} / {goal}: rows {sorted(r[0] for r in rows)}, plain SQL {sorted(want)}")
            for value, v, c, e, rate, money in rows:
                wv, wc, we = want[value]
                if (v, c, e) != (wv, wc, we) or abs(rate - 100.0 * wc / wv) > 1e-9 \
                        or theirs(money) != want_money.get(value, []):
                    sys.exit(f"FAIL {dim} / {goal} / {value}: got {(v, c, e, rate, theirs(money))}, "
                             f"plain SQL {(wv, wc, we, 100.0 * wc / wv, want_money.get(value, []))}")
                checked += 1
    # mallard_timeseries with a goal: every day.
    for goal in GOALS:
        cond = goal_sql(goal)
        want = {d: (v, c, e) for d, v, c, e in con.execute(f"""
            SELECT ts::DATE, count(DISTINCT visitor_id), count(DISTINCT visitor_id) FILTER (WHERE {cond}),
                   count(*) FILTER (WHERE {cond})
            FROM ev GROUP BY 1""").fetchall()}
        want_money = revenue(con, cond, "ts::DATE", "1")
        rows = con.execute(f"""SELECT bucket::DATE, visitors, conversions, events, revenue
                               FROM mallard_timeseries({args}, granularity := 'day', goal := ?)""", [goal]).fetchall()
        for day, v, c, e, money in rows:
            if (v, c, e) != want.get(day, (0, 0, 0)) or theirs(money) != want_money.get(day, []):
                sys.exit(f"FAIL timeseries {goal} / {day}: got {(v, c, e, theirs(money))}, "
                         f"plain SQL {want.get(day)}, {want_money.get(day, [])}")
            checked += 1
    print(f"goals: {checked} goal, breakdown and time series rows over {visitors} random visitors "
          f"({first} to {last}) equal plain SQL (conversions, rate, revenue per currency)")


if __name__ == "__main__":
    main()
