"""Benchmark of the scalar functions over 1M rows of real-world user agents.

The corpus is every user-agent string in uap-core's own test files (shipped in
the ua-parser crate's package, ~18k distinct real strings); 1M rows are drawn
from it with a Zipf(1) distribution, as real traffic repeats a few agents
a lot and many agents rarely. Prints the time of each function next to a
plain DuckDB scan of the same column. Usage: scalars.py <extension> <uap-core dir>
"""

import glob
import os
import re
import sys
import time

import duckdb

ROWS = 1_000_000


def corpus(uap_core: str) -> list[str]:
    pattern = re.compile(r"""^\s*-\s*user_agent_string:\s*(?:'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)"|(.*))\s*$""")
    seen = set()
    for path in sorted(glob.glob(os.path.join(uap_core, "tests", "test_*.yaml"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = pattern.match(line)
                if m:
                    ua = (m.group(1) or "").replace("''", "'") if m.group(1) is not None else (m.group(2) or m.group(3) or "")
                    if ua:
                        seen.add(ua)
    return sorted(seen)


def timed(con, sql: str) -> tuple[float, list]:
    start = time.perf_counter()
    rows = con.execute(sql).fetchall()
    return time.perf_counter() - start, rows


def main() -> None:
    extension, uap_core = sys.argv[1], sys.argv[2]
    uas = corpus(uap_core)
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{extension}'")
    con.execute("CREATE TABLE corpus(ua VARCHAR)")
    con.executemany("INSERT INTO corpus VALUES (?)", [(u,) for u in uas])
    con.execute("SELECT setseed(0.2026)")
    con.execute("""CREATE TABLE cdf AS
        SELECT r, ua, sum(1.0 / r) OVER (ORDER BY r) / sum(1.0 / r) OVER () AS c
        FROM (SELECT row_number() OVER (ORDER BY hash(ua)) AS r, ua FROM corpus)""")
    con.execute(f"CREATE TABLE draws AS SELECT i, random() AS u FROM range({ROWS}) t(i)")
    con.execute("""CREATE TABLE hits AS
        SELECT d.i, c.ua FROM draws d ASOF JOIN cdf c ON c.c >= d.u ORDER BY d.i""")
    n, distinct = con.execute("SELECT count(*), count(DISTINCT ua) FROM hits").fetchone()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"scalars bench: {n} rows, {distinct} distinct user agents (uap-core test corpus, Zipf(1)), "
          f"DuckDB {duckdb.__version__}, {threads} threads")
    cases = [
        ("plain DuckDB: length(ua)               ", "SELECT sum(length(ua)) FROM hits"),
        ("mallard_parse_ua (cold: empty cache)   ", "SELECT count(p.browser), count(p.device) FROM (SELECT mallard_parse_ua(ua) p FROM hits)"),
        ("mallard_parse_ua (warm)                ", "SELECT count(p.browser), count(p.device) FROM (SELECT mallard_parse_ua(ua) p FROM hits)"),
        ("mallard_is_bot (warm)                  ", "SELECT count(*) FILTER (WHERE mallard_is_bot(ua)) FROM hits"),
        ("mallard_visitor_id                     ", "SELECT count(DISTINCT mallard_visitor_id('salt', 'example.com', (i % 50000)::VARCHAR, ua)) FROM hits"),
        ("mallard_referrer_source                ", "SELECT count(mallard_referrer_source('https://www.google.com/search?q=' || i, 'example.com')) FROM hits"),
    ]
    for label, sql in cases:
        seconds, rows = timed(con, sql)
        print(f"  {label} {seconds * 1000:8.0f} ms  {n / seconds / 1e6:6.2f} M rows/s  -> {rows[0]}")


if __name__ == "__main__":
    main()
