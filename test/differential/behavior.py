"""Differential test of the behavioural aggregates and of the walk behind
the reports.

Random groups of events go through the real extension in the real DuckDB
and through straightforward reference implementations written here, from
the definitions (exhaustive search where the extension scans once). Every
function and mode must agree on at least GROUPS random groups.

The walk aggregates (mallard_walk_*) get GROUPS random visitors spread over
several "files", each sorted by (visitor, time) but one, handed over in a
shuffled order; their counts must equal the references summed per visitor.

usage: python behavior.py <mallard.duckdb_extension> [groups] [seed]
"""

import functools
import random
import sys

import duckdb

GROUPS = 10_000


# --- reference implementations -------------------------------------------

def funnel_entries(rows, strict_order):
    """ClickHouse's entries: (ts, step, row) sorted by (ts, step); step 0 is a
    row matching no step (kept only under strict_order). Sorting by
    (ts, step, row) is stable with respect to arrival, as rows are numbered
    in arrival order."""
    entries = []
    for i, (ts, conds) in enumerate(rows):
        steps = [k + 1 for k, c in enumerate(conds) if c]
        if not steps and strict_order:
            entries.append((ts, 0, i))
        entries.extend((ts, s, i) for s in steps)
    return sorted(entries)


def longest_chain(entries, steps, window, strict_increase):
    """Under strict_once ClickHouse keeps every chain, so the deepest step is
    that of the longest chain: entries with steps 1, 2, … at increasing
    positions, from distinct rows, all within `window` of the first, with
    strictly increasing times under strict_increase. Exhaustive search."""
    best = 0

    def extend(pos, level, first, last, rows):
        nonlocal best
        best = max(best, level)
        if best == steps:
            return
        for j in range(pos, len(entries)):
            ts, step, row = entries[j]
            if step != level + 1 or ts > first + window or row in rows:
                continue
            if strict_increase and not last < ts:
                continue
            extend(j + 1, level + 1, first, ts, rows | {row})
            if best == steps:
                return

    for i, (ts, step, row) in enumerate(entries):
        if step == 1:
            extend(i + 1, 1, ts, ts, frozenset([row]))
    return best


def latest_chains(entries, steps, window, strict_increase):
    """Without strict_once ClickHouse remembers one chain per step: the most
    recent one. By definition, the chain at step k after the first i
    entries is (first, last) of the latest entry j < i of step k that
    extends the chain at step k-1 after the first j entries — within the
    window of its first entry, and later than its last under
    strict_increase. Returns reached(i): the deepest step after i entries."""

    @functools.lru_cache(maxsize=None)
    def latest(k, i):
        for j in range(i - 1, -1, -1):
            ts, step, _ = entries[j]
            if step != k:
                continue
            if k == 1:
                return (ts, ts)
            previous = latest(k - 1, j)
            if previous is None:
                continue
            first, last = previous
            if ts <= first + window and (not strict_increase or last < ts):
                return (first, ts)
        return None

    return lambda i: max([k for k in range(1, steps + 1) if latest(k, i) is not None], default=0)


def window_funnel(rows, window, modes, steps):
    """ClickHouse's windowFunnel by its definition: the deepest step reached,
    with the scan ending early where a mode says so."""
    dedup = "strict_deduplication" in modes
    order = "strict_order" in modes
    increase = "strict_increase" in modes
    once = "strict_once" in modes
    reentry = "allow_reentry" in modes
    entries = funnel_entries(rows, order)
    if not entries:
        return 0
    if not order and steps == 1:
        return 1
    if once:
        reached = lambda n: longest_chain(entries[:n], steps, window, increase)
    else:
        reached = latest_chains(entries, steps, window, increase)
    started = False
    for i, (ts, step, row) in enumerate(entries):
        if step == 0:
            if started:
                return reached(i)
            continue
        if step == 1:
            started = True
            continue
        if dedup and reached(i) >= step:
            # a step already reached repeats: the scan ends
            return reached(i)
        if order and started and reached(i) < step - 1:
            # a step comes before the one ahead of it was reached
            if reentry:
                continue
            return reached(i)
        if reached(i + 1) == steps:
            return steps
    return reached(len(entries))


def retention(rows, n):
    held = [any(conds[k] for _, conds in rows) for k in range(n)]
    return [held[0] and held[k] for k in range(n)]


def parse_pattern(text):
    """(?N) → ('e', N-1); '.' → ('any',); '.*' → ('star',); (?t op S) →
    ('t', op, S). The implicit leading .* is added."""
    out, i = [("star",)], 0
    while i < len(text):
        if text.startswith("(?t", i):
            j = text.index(")", i)
            body = text[i + 3:j]
            op = next(o for o in ("<=", "<", ">=", ">", "==") if body.startswith(o))
            out.append(("t", op, int(body[len(op):])))
            i = j + 1
        elif text.startswith("(?", i):
            j = text.index(")", i)
            out.append(("e", int(text[i + 2:j]) - 1))
            i = j + 1
        elif text.startswith(".*", i):
            out.append(("star",))
            i += 2
        else:
            out.append(("any",))
            i += 1
    return out


def compare(op, a, b):
    return {"<=": a <= b, "<": a < b, ">=": a >= b, ">": a > b, "==": a == b}[op]


def sequence_search(actions, events, start):
    """The matches of `actions` from event `start`, as a depth-first search
    trying the earliest choice first (the order ClickHouse's matcher uses):
    yields (end position or None for a dead end, chain of matched (?N)
    timestamps) for every complete match and every partial chain."""

    def go(a, e, base, chain):
        if a == len(actions):
            yield e, chain
            return
        kind = actions[a][0]
        if e == len(events):
            # what can match nothing: .*, (?t<=…), (?t<…), (?t>=0)
            rest = actions[a:]
            ok = all(x[0] == "star" or (x[0] == "t" and (x[1] in ("<=", "<") or (x[1] == ">=" and x[2] == 0)))
                     for x in rest)
            yield (e if ok else None), chain
            return
        ts, conds = events[e]
        if kind == "e":
            if conds[actions[a][1]]:
                yield from go(a + 1, e + 1, e, chain + [ts])
            else:
                yield None, chain
        elif kind == "any":
            yield from go(a + 1, e + 1, e, chain)
        elif kind == "star":
            # Any number of events; only the implicit leading .* may also
            # give up every event (ClickHouse's matcher ends there when it
            # runs out of choices, then accepts what can match nothing).
            last = len(events) if a == 0 else len(events) - 1
            for e2 in range(e, last + 1):
                yield from go(a + 1, e2, e2 if e2 < len(events) else base, chain)
        else:
            _, op, seconds = actions[a]
            for e2 in range(e, len(events)):
                if compare(op, events[e2][0], events[base][0] + seconds * 1_000_000):
                    yield from go(a + 1, e2, e2, chain)
                elif op in ("<=", "<"):
                    break
            yield None, chain

    yield from go(0, start, start, [])


def sequence_events(rows):
    kept = [(ts, conds) for ts, conds in rows if any(conds)]
    return sorted(kept, key=lambda r: r[0])  # stable: ties keep arrival order


def sequence_match(rows, pattern, n):
    actions = parse_pattern(pattern)
    events = sequence_events(rows)
    named = {a[1] for a in actions if a[0] == "e"}
    if any(not any(c[k] for _, c in events) for k in named):
        return False
    return any(end is not None for end, _ in sequence_search(actions, events, 0))


def sequence_count(rows, pattern, n):
    actions = parse_pattern(pattern)
    events = sequence_events(rows)
    named = {a[1] for a in actions if a[0] == "e"}
    if any(not any(c[k] for _, c in events) for k in named):
        return 0
    count, start = 0, 0
    while start < len(events):
        end = next((end for end, _ in sequence_search(actions, events, start) if end is not None), None)
        if end is None:
            break
        count += 1
        start = end if end > start else start + 1
    return count


def sequence_match_events(rows, pattern, n):
    best = []
    for _, chain in sequence_search(parse_pattern(pattern), sequence_events(rows), 0):
        if len(chain) > len(best):
            best = chain
    return best


def next_node(rows, direction, base, n_events):
    """rows: (ts, value, base_condition, events…); ordered by (ts, value)."""
    nodes = sorted(rows, key=lambda r: (r[0], r[1].encode()))
    if len(nodes) <= n_events:
        return None
    if base == "head":
        b = 0 if nodes[0][2] else None
    elif base == "tail":
        b = len(nodes) - 1 if nodes[-1][2] else None
    else:
        candidates = [i for i, x in enumerate(nodes) if x[3] and x[2]]
        b = (candidates[0] if base == "first_match" else candidates[-1]) if candidates else None
    if b is None:
        return None
    if n_events == 0:
        return nodes[b][1]
    step = 1 if direction == "forward" else -1
    for k in range(n_events):
        i = b + step * k
        if not 0 <= i < len(nodes) or not nodes[i][3 + k]:
            return None
    target = b + step * n_events
    return nodes[target][1] if 0 <= target < len(nodes) else None


def sessions(times, gap):
    t = sorted(times)
    return 1 + sum(1 for a, b in zip(t, t[1:]) if b - a > gap) if t else None


# --- the runs --------------------------------------------------------------

def groups(rng, count, conditions, distinct_times, max_rows=10):
    """`count` groups of rows (ts µs, [conditions…]); a few larger groups."""
    out = []
    for _ in range(count):
        n = rng.randint(0, max_rows) if rng.random() > 0.02 else rng.randint(15, 25)
        if distinct_times:
            times = [t * 1_000_000 for t in rng.sample(range(0, 200), n)]
        else:
            times = [rng.randint(0, 15) * 1_000_000 for _ in range(n)]
        if rng.random() < 0.5:
            times.sort()
        density = rng.choice([0.2, 0.35, 0.6])
        out.append([(t, [rng.random() < density for _ in range(conditions)]) for t in times])
    return out


def table(con, name, columns, rows):
    """Creates table `name` with `columns` ({name: type}) from `rows`, via a
    CSV file (binding values one by one is slow in DuckDB's Python API)."""
    import csv, os, tempfile
    path = os.path.join(tempfile.mkdtemp(), f"{name}.csv")
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(["true" if v is True else "false" if v is False else v for v in r] for r in rows)
    spec = ", ".join(f"{c}: '{t}'" for c, t in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_csv('{path}', header = false, "
                f"columns = {{{spec}}}, nullstr = 'NULL')")


def load(con, name, groups_, conditions):
    """A table (g, r, ts, c1…) physically ordered by group and arrival, so
    one thread feeds each group's rows in arrival order."""
    columns = {"g": "INTEGER", "r": "INTEGER", "ts_us": "BIGINT", **{f"c{k + 1}": "BOOLEAN" for k in range(conditions)}}
    table(con, name, columns, [(g, r, ts, *conds) for g, rows in enumerate(groups_) for r, (ts, conds) in enumerate(rows)])
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT g, r, make_timestamp(ts_us) AS ts, * EXCLUDE (g, r, ts_us) "
                f"FROM {name} ORDER BY g, r")


def micros(value):
    import datetime
    return (value - datetime.datetime(1970, 1, 1)) // datetime.timedelta(microseconds=1)


failures = 0


def check(what, expected, got, groups_):
    global failures
    bad = [g for g in range(len(groups_)) if expected[g] != got.get(g, "missing")]
    print(f"{what}: {len(groups_)} groups, {len(bad)} differ")
    for g in bad[:3]:
        print(f"  group {g}: reference {expected[g]!r}, mallard {got.get(g, 'missing')!r}, rows {groups_[g]}")
    failures += len(bad)


def run_groups(con, sql, groups_):
    """{group: value} for every group, empty groups included."""
    got = dict(con.execute(sql).fetchall())
    return {g: got.get(g) for g in range(len(groups_))}


def random_pattern(rng, conditions):
    parts = []
    for _ in range(rng.randint(1, 5)):
        r = rng.random()
        if r < 0.55:
            parts.append(f"(?{rng.randint(1, conditions)})")
        elif r < 0.7:
            parts.append(".")
        elif r < 0.85:
            parts.append(".*")
        elif parts and not parts[-1].startswith("(?t"):
            parts.append(f"(?t{rng.choice(['<=', '<', '>=', '>', '=='])}{rng.randint(0, 60)})")
    return "".join(parts)


def flow_edges(rows, forward, depth):
    """rows: (ts, visit, page, is_anchor) of one visitor → its set of edges
    (step, from, to): per visit, from the first view of the page in
    (time, page) order, as sequenceNextNode('first_match') finds them."""
    edges = set()
    for visit in {v for _, v, _, _ in rows}:
        views = sorted(((t, p, a) for t, v, p, a in rows if v == visit), key=lambda r: (r[0], r[1].encode()))
        anchors = [i for i, (_, _, a) in enumerate(views) if a]
        if not anchors:
            continue
        base = anchors[0]
        at = lambda k: views[base + k][1] if forward and base + k < len(views) else (
            views[base - k][1] if not forward and base - k >= 0 else None)
        for k in range(1, depth + 1):
            near, far = at(k - 1), at(k)
            if near is None or far is None:
                break
            edges.add((k, near, far) if forward else (k, far, near))
    return edges


def check_walk(what, expected, got, visitors):
    """A walk's whole answer over all visitors against the reference's."""
    global failures
    same = expected == got
    print(f"{what}: {visitors} visitors, {'0 differ' if same else 'DIFFERS'}")
    if not same:
        print(f"  reference {str(expected)[:300]}\n  mallard   {str(got)[:300]}")
        failures += 1


def walks(con, rng, count):
    """The walk aggregates over `count` visitors whose rows are spread over
    files, against the references per visitor."""
    files = 5
    visitors = []
    for v in range(count):
        n = rng.randint(1, 8) if rng.random() > 0.02 else rng.randint(15, 25)
        times = sorted(rng.sample(range(0, 400), n))
        # Hours apart: a visitor's rows span days (retention by day).
        visitors.append([(t * 3_600_000_000, rng.randrange(files), [rng.random() < 0.35 for _ in range(3)],
                          rng.choice("ab") + str(t // 100), rng.choice(["/", "/x", "/y", "/z"])) for t in times])
    # Rows per file sorted by (visitor, ts), numbered; the last file is
    # written in reverse (a file not sorted), and all rows are handed over
    # in a shuffled order.
    rows = []
    for f in range(files):
        mine = [(v, *r) for v, rs in enumerate(visitors) for r in rs if r[1] == f]
        if f == files - 1:
            mine.reverse()
        rows += [(f, i, v, ts, int(c[0]) | int(c[1]) << 1 | int(c[2]) << 2, visit, page)
                 for i, (v, ts, _, c, visit, page) in enumerate(mine)]
    rng.shuffle(rows)
    table(con, "w", {"file": "UBIGINT", "file_row": "BIGINT", "visitor_id": "UBIGINT", "ts_us": "BIGINT",
                     "bits": "UINTEGER", "visit": "VARCHAR", "pathname": "VARCHAR"}, rows)
    con.execute("CREATE OR REPLACE TABLE w AS SELECT * EXCLUDE (ts_us, visit), make_timestamp(ts_us) AS ts, "
                "hash(visit) AS visit_id FROM w")
    con.execute("SET threads = 4")
    globs = "['page:/c1*', 'page:/c2*', 'page:/c3*']"
    codes = "1, 0, bits"  # a page view matching the globs of the bits it has

    for modes in ["", "strict_order", "strict_deduplication", "strict_increase", "strict_once"]:
        got = con.execute(f"SELECT mallard_walk_funnel(INTERVAL 100 HOUR, '{modes}', {globs}, file, file_row, "
                          f"visitor_id, ts, {codes}) FROM w").fetchone()[0]
        levels = [0] * 4
        for rs in visitors:
            events = [(ts, c) for ts, _, c, _, _ in rs]
            if "strict_order" in modes or any(any(c) for _, c in events):
                levels[window_funnel(events, 100 * 3_600_000_000, modes.split(","), 3)] += 1
        # Visitors without a matching row are not walked (level 0 is not counted).
        expected = levels if "strict_order" in modes else [0] + levels[1:]
        got = got if "strict_order" in modes else [0] + got[1:]
        check_walk(f"mallard_walk_funnel mode '{modes}' over {files} files", expected, got, len(visitors))

    for pattern in ["(?1).*(?2)", "(?1)(?2)", "(?2).(?3)", "(?1)(?t<=180000)(?3)"]:
        got = con.execute(f"SELECT mallard_walk_sequences('{pattern}', {globs}, file, file_row, visitor_id, ts, "
                          f"{codes}) FROM w").fetchone()[0]
        matching = sum(sequence_match([(ts, c) for ts, _, c, _, _ in rs], pattern, 3) for rs in visitors)
        check_walk(f"mallard_walk_sequences '{pattern}'", [matching, len(visitors)], got, len(visitors))

    got = con.execute("SELECT mallard_walk_retention('day', 5, file, file_row, visitor_id, ts, ts) FROM w").fetchone()[0]
    cohorts = {}
    for rs in visitors:
        days = {ts // 86_400_000_000 - 4 for ts, *_ in rs}  # day numbers from 1970-01-05
        first = min(days)
        size, returned = cohorts.setdefault(first, [0, [0] * 5])
        cohorts[first][0] += 1
        for k in range(5):
            returned[k] += first + k in days
    expected = sorted((c, size, k, n) for c, (size, ret) in cohorts.items() for k, n in enumerate(ret))
    got = sorted((r["cohort"], r["cohort_size"], r["period_number"], r["visitors"]) for r in got)
    check_walk("mallard_walk_retention (days)", expected, got, len(visitors))

    for forward, depth in [(True, 3), (False, 2)]:
        direction = "forward" if forward else "backward"
        got = con.execute(f"SELECT mallard_walk_flow('{direction}', {depth}, 'page:/', file, file_row, visitor_id, ts, "
                          f"visit_id, pathname, 1, CAST(coalesce(list_position(['/'], pathname), 0) AS INTEGER), CAST(0 AS UINTEGER)) FROM w").fetchone()[0]
        counts = {}
        for rs in visitors:
            for edge in flow_edges([(ts, visit, page, page == "/") for ts, _, _, visit, page in rs], forward, depth):
                counts[edge] = counts.get(edge, 0) + 1
        got = {(r["step"], r["from_page"], r["to_page"]): r["visitors"] for r in got}
        check_walk(f"mallard_walk_flow {direction} depth {depth}", counts, got, len(visitors))
    con.execute("SET threads = 1")


def main():
    ext = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else GROUPS
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20261128)
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ext}'")
    con.execute("SET threads = 1")

    # window funnel: ties on purpose (timestamps 0..15 s)
    fg = groups(rng, count, 4, distinct_times=False)
    load(con, "f", fg, 4)
    for modes in ["", "strict_deduplication", "strict_order", "strict_increase", "strict_once",
                  "strict_order,allow_reentry", "strict_order,strict_once", "strict_deduplication,strict_increase",
                  "strict_once,strict_deduplication,strict_order"]:
        # a window that cuts some chains (times span 0..15 s)
        window = 4
        steps = 4 if "strict_once" not in modes else 3
        conds = ", ".join(f"c{k + 1}" for k in range(steps))
        expected = [window_funnel([(t, c[:steps]) for t, c in rows], window * 1_000_000, modes.split(","), steps)
                    for rows in fg]
        got = run_groups(con, f"SELECT g, mallard_window_funnel(INTERVAL {window} SECOND, '{modes}', ts, {conds}) "
                              f"FROM f GROUP BY g", fg)
        check(f"mallard_window_funnel mode '{modes}' window {window}s steps {steps}", expected,
              {g: (v if v is not None else 0) for g, v in got.items()}, fg)

    got = run_groups(con, "SELECT g, mallard_retention(c1, c2, c3, c4) FROM f GROUP BY g", fg)
    check("mallard_retention", [retention(rows, 4) for rows in fg],
          {g: (v if v is not None else [False] * 4) for g, v in got.items()}, fg)

    # sequences: distinct timestamps (ties keep arrival order, covered in sequence.test)
    sg = groups(rng, count, 3, distinct_times=True)
    load(con, "s", sg, 3)
    patterns = [random_pattern(rng, 3) for _ in range(count)]
    table(con, "p", {"g": "INTEGER", "pattern": "VARCHAR"}, list(enumerate(patterns)))
    for fn, ref, conv in [
        ("mallard_sequence_match", sequence_match, lambda v: bool(v)),
        ("mallard_sequence_count", sequence_count, lambda v: v or 0),
        ("mallard_sequence_match_events", sequence_match_events, lambda v: [micros(x) for x in v or []]),
    ]:
        expected = [ref(rows, patterns[g], 3) for g, rows in enumerate(sg)]
        got = run_groups(con, f"SELECT g, {fn}(pattern, ts, c1, c2, c3) FROM s JOIN p USING (g) GROUP BY g", sg)
        # groups without rows never see their pattern: compare what the reference gives for no rows
        check(f"{fn} (random patterns)", expected,
              {g: conv(v) if sg[g] else ref([], patterns[g], 3) for g, v in got.items()}, sg)

    # next node: values with ties in time, distinct (time, value) pairs
    ng = []
    for _ in range(count):
        n = rng.randint(0, 10)
        keys = rng.sample([(t, v) for t in range(8) for v in "abcd"], n)
        ng.append([(t * 1_000_000, v, rng.random() < 0.7, *[rng.random() < 0.4 for _ in range(3)]) for t, v in keys])
    table(con, "n", {"g": "INTEGER", "r": "INTEGER", "ts_us": "BIGINT", "v": "VARCHAR", "b": "BOOLEAN",
                     "e1": "BOOLEAN", "e2": "BOOLEAN", "e3": "BOOLEAN"},
          [(g, r, ts, v, b, *e) for g, rows in enumerate(ng) for r, (ts, v, b, *e) in enumerate(rows)])
    con.execute("CREATE OR REPLACE TABLE n AS SELECT g, r, make_timestamp(ts_us) AS ts, * EXCLUDE (g, r, ts_us) "
                "FROM n ORDER BY g, r")
    for direction, base in [("forward", "head"), ("backward", "tail"), ("forward", "first_match"),
                            ("backward", "last_match"), ("forward", "last_match"), ("backward", "first_match")]:
        for n_events in ([0, 1, 3] if base in ("head", "tail") else [1, 2, 3]):
            events = "".join(f", e{k + 1}" for k in range(n_events))
            expected = [next_node(rows, direction, base, n_events) for rows in ng]
            got = run_groups(con, f"SELECT g, mallard_sequence_next_node('{direction}', '{base}', ts, v, b{events}) "
                                  f"FROM n GROUP BY g", ng)
            check(f"mallard_sequence_next_node {direction} {base} events {n_events}", expected, got, ng)

    # sessionize, as a window function and as an aggregate
    got = dict(con.execute("SELECT g, list(s ORDER BY ts, s) FROM (SELECT g, ts, "
                           "mallard_sessionize(ts, INTERVAL 3 SECOND) OVER (PARTITION BY g ORDER BY ts) AS s FROM f) "
                           "GROUP BY g").fetchall())
    expected = []
    for rows in fg:
        times = sorted(t for t, _ in rows)
        expected.append(sorted(sessions([u for u in times if u <= t], 3_000_000) for t in times) or None)
    check("mallard_sessionize over (partition by g order by ts)", expected, {g: got.get(g) for g in range(len(fg))}, fg)
    got = run_groups(con, "SELECT g, mallard_sessionize(ts, INTERVAL 3 SECOND) FROM f GROUP BY g", fg)
    check("mallard_sessionize (aggregate)", [sessions([t for t, _ in rows], 3_000_000) for rows in fg], got, fg)

    walks(con, rng, count)

    if failures:
        sys.exit(f"{failures} groups differ")


if __name__ == "__main__":
    main()
