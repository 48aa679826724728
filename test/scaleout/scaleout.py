"""Several collectors on one shared lake (DuckLake: a PostgreSQL catalog and
S3 files), against real PostgreSQL and a real S3 server on loopback.

1. Three collectors take events while they are killed with SIGKILL at random
   (KILLS in all) and restarted. Then the lake holds every acknowledged (202)
   event exactly once; a visitor whose events reached all three collectors is
   one visitor with one visit; every collector's /api/stats/main counts every
   collector's events, and a maintainer pass (compaction) changes no number.
2. PostgreSQL restarted and S3 stopped for 30 s during load: ingestion goes
   on (202 only once WAL-durable), stats answer 503 while the catalog is
   down, and the backlog commits afterwards: 0 lost, 0 duplicated.
3. An erase on the shared lake leaves the visitor in no live or old file on
   S3 and in no catalog row.

Expected values come from plain DuckDB over the catalog, never from the
collector. usage: scaleout.py <collector binary> [kills]
Env: MALLARD_DUCKDB_EXTENSIONS (ducklake/postgres_scanner/httpfs for this
DuckDB), WEED (the SeaweedFS binary), MALLARD_EXT (the built extension).
"""

import atexit
import datetime
import glob
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliability"))
from common import CHROME, Collector  # noqa: E402

SITE = "shared.example"
PASSWORD = "scale-out-password"
SPREAD_IP = "10.9.9.9"  # the visitor whose events go to every collector


def fail(message):
    sys.exit(f"scaleout: FAILED: {message}")


class Services:
    """PostgreSQL and SeaweedFS on loopback (services.sh)."""

    def __init__(self, work):
        self.dir = os.path.join(work, "services")
        self.script = os.path.join(HERE, "services.sh")
        self.ports = {"PGPORT": free_port(), "S3PORT": free_port(), "MASTERPORT": free_port()}

    def run(self, command):
        subprocess.run(["bash", self.script, command, self.dir], check=True,
                       env=dict(os.environ, **{k: str(v) for k, v in self.ports.items()}))

    def pg_bin(self):
        return sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]

    def env(self):
        out = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key:
                    out[key] = value.strip("'")
        return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lake(env):
    """A plain DuckDB with the shared lake attached read-only."""
    con = duckdb.connect(config={"extension_directory": os.environ["MALLARD_DUCKDB_EXTENSIONS"],
                                 "autoinstall_known_extensions": "false", "allow_unsigned_extensions": "true"})
    for ext in ("ducklake", "postgres_scanner", "httpfs"):
        con.execute(f"LOAD {ext}")
    con.execute(f"""CREATE SECRET (TYPE S3, KEY_ID '{env["MALLARD_S3_KEY_ID"]}', SECRET '{env["MALLARD_S3_SECRET"]}',
                    ENDPOINT '{env["MALLARD_S3_ENDPOINT"]}', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')""")
    con.execute(f"ATTACH '{env['MALLARD_LAKE']}' AS lake (READ_ONLY)")
    return con


def post(port, ident, ip):
    """One pageview with a unique id; the status, 0 if the connection failed."""
    body = json.dumps({"n": "pageview", "u": f"https://{SITE}/p{hash(ident) % 7}", "d": SITE,
                       "p": {"id": ident}}).encode()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/api/event", body, {"User-Agent": CHROME, "Content-Type": "text/plain",
                                                "X-Forwarded-For": ip})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status
    except (OSError, http.client.HTTPException):
        return 0


class Load:
    """Client threads posting to whichever collectors are up; `acked` maps
    each acknowledged id to the collector index that took it."""

    def __init__(self, collectors, phase, clients=3):
        self.collectors, self.clients, self.phase = collectors, clients, phase
        self.acked, self.sent, self.lock = {}, 0, threading.Lock()
        self.stop = threading.Event()
        self.threads = []

    def client(self, k):
        rng = random.Random(k)
        n = 0
        while not self.stop.is_set():
            n += 1
            i = rng.randrange(len(self.collectors))
            c = self.collectors[i]
            port = c.port if c and c.proc and c.proc.poll() is None else None
            if port is None:
                time.sleep(0.01)
                continue
            # One visitor in ten events goes to every collector in turn.
            spread = n % 10 == 0
            ident = f"{'spread' if spread else 'ev'}-{self.phase}-{k}-{n}"
            ip = SPREAD_IP if spread else f"10.0.{k}.{rng.randrange(40)}"
            if spread:
                i = (n // 10) % len(self.collectors)
                port = self.collectors[i].port
            status = post(port, ident, ip)
            with self.lock:
                self.sent += 1
                if status == 202:
                    self.acked[ident] = i

    def __enter__(self):
        self.threads = [threading.Thread(target=self.client, args=(k,)) for k in range(self.clients)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


STARTED = []


def kill_all():
    """No collector outlives the test, however it ends."""
    for c in STARTED:
        if c.proc and c.proc.poll() is None:
            c.proc.kill()


atexit.register(kill_all)


class Logged(Collector):
    """A collector whose log lines are kept, for the failure message."""

    def start(self, timeout=60):
        env = dict(os.environ, MALLARD_LISTEN="127.0.0.1:0", MALLARD_DATA_DIR=self.data_dir,
                   MALLARD_LOG_FORMAT="json", **self.extra)
        self.proc = subprocess.Popen([self.binary], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        STARTED.append(self)
        self.lines = []
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line)
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "listening":
                    self.port = int(entry["addr"].rsplit(":", 1)[1])
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or self.port is None:
            if shutil.which("gdb") and self.proc.poll() is None:
                subprocess.run(["gdb", "-batch", "-ex", "thread apply all bt 12", "-p", str(self.proc.pid)])
            self.proc.kill()
            fail(f"collector in {self.data_dir} did not start:\n{''.join(self.lines[-15:])}")
        return self


def start(binary, work, i, env):
    return Logged(binary, os.path.join(work, f"c{i}"), env).start()


def wait_flushed(collectors, timeout=180):
    for c in collectors:
        try:
            c.wait_flushed(timeout=timeout)
        except RuntimeError:
            status, body = c.get("/health/detailed")
            errors = [line for line in c.lines if '"level":"warn"' in line or '"level":"error"' in line][-8:]
            fail(f"collector {c.port} did not commit its events in {timeout} s: {status} {body[:600]!r}\n"
                 + "".join(errors))


def lake_ids(con):
    # Events sent by the test carry an id (the rollup fixture's do not).
    return dict(con.execute("SELECT props['id'], count(*) FROM lake.events WHERE site = ? AND props['id'] IS NOT NULL "
                            "GROUP BY 1", [SITE]).fetchall())


def check_once(con, acked, what):
    ids = lake_ids(con)
    lost = [i for i in acked if ids.get(i, 0) == 0]
    dup = [i for i, n in ids.items() if n > 1]
    if lost or dup:
        fail(f"{what}: {len(lost)} acknowledged events lost (e.g. {lost[:3]}), {len(dup)} duplicated (e.g. {dup[:3]})")
    return ids


def login(c):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    conn.request("POST", "/api/auth/login", json.dumps({"password": PASSWORD}), {"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie", "").split(";")[0]
    if r.status != 200 or not cookie:
        fail(f"login on collector {c.port} answered {r.status}")
    return cookie


def main_stats(c, cookie):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=60)
    conn.request("GET", f"/api/stats/main?site_id={SITE}&period=day", headers={"Cookie": cookie})
    r = conn.getresponse()
    return r.status, r.read()


def expected_main(con):
    """visitors and pageviews of today (UTC), by plain SQL over the catalog."""
    return con.execute("""SELECT count(DISTINCT visitor_id), count(*) FILTER (name = 'pageview')
                          FROM lake.events WHERE site = ? AND date = current_date""", [SITE]).fetchone()


def phase_kills(binary, work, env, kills):
    rng = random.Random(20261204)
    collectors = [start(binary, work, i, env) for i in range(3)]
    started = time.time()
    with Load(collectors, 'kills') as load:
        for k in range(kills):
            time.sleep(rng.uniform(0.1, 0.8))
            i = rng.randrange(3)
            collectors[i].kill9()
            collectors[i] = start(binary, work, i, env)
    wait_flushed(collectors)
    con = lake(env)
    ids = check_once(con, load.acked, f"after {kills} kills")
    spread = [i for i in load.acked if i.startswith("spread")]
    reached = {load.acked[i] for i in spread}
    if reached != {0, 1, 2}:
        fail(f"the spread visitor reached collectors {sorted(reached)} only")
    print(f"  {kills} SIGKILLs over 3 collectors in {time.time() - started:.0f} s: {load.sent} requests, "
          f"{len(load.acked)} acknowledged, 0 lost, 0 duplicated ({len(ids)} events in the shared lake)", flush=True)

    # Visits are made right where all events meet: by the maintainer.
    deadline = time.time() + 120
    while True:
        con = lake(env)
        visitors, visits = con.execute("""SELECT count(DISTINCT visitor_id), count(DISTINCT visit_id)
            FROM lake.events WHERE site = ? AND props['id'] LIKE 'spread-%'""", [SITE]).fetchone()
        all_visitors, all_visits = con.execute(
            "SELECT count(DISTINCT visitor_id), count(DISTINCT visit_id) FROM lake.events WHERE site = ?",
            [SITE]).fetchone()
        if visitors == 1 and visits == 1 and all_visits == all_visitors:
            break
        if time.time() > deadline:
            fail(f"the spread visitor has {visitors} visitor ids and {visits} visits; "
                 f"{all_visitors} visitors have {all_visits} visits (each should have one)")
        time.sleep(1)
    print(f"  the visitor spread over 3 collectors ({len(spread)} events): 1 visitor, 1 visit; "
          f"{all_visitors} visitors, {all_visits} visits in all (every visit within 30 minutes)", flush=True)

    # Every collector counts every collector's events; a pass changes nothing.
    want = expected_main(lake(env))
    answers = []
    for round_ in range(2):
        for c in collectors:
            status, body = main_stats(c, login(c))
            if status != 200:
                errors = [line for line in c.lines if '"error"' in line][-3:]
                fail(f"/api/stats/main on collector {c.port} answered {status}: {body[:200]}\n{''.join(errors)}")
            r = json.loads(body)["results"]
            got = (r["visitors"], r["pageviews"])
            if got != want:
                fail(f"collector {c.port} says visitors, pageviews = {got}; the lake holds {want}")
            answers.append(got)
        if round_ == 0:
            files = lake(env).execute("SELECT count(*) FROM ducklake_list_files('lake', 'events')").fetchone()[0]
            time.sleep(8)  # the maintainer (every 3 s) merges again; the cache (5 s) expires
    files_after = lake(env).execute("SELECT count(*) FROM ducklake_list_files('lake', 'events')").fetchone()[0]
    log = [json.loads(line) for c in collectors for line in c.lines if line.startswith("{")]
    passes = [e for e in log if e.get("msg") == "shared lake maintained"]
    failed = [e for e in log if e.get("msg", "").startswith("shared lake maintenance failed")]
    if failed:
        print(f"  note: {len(failed)} maintainer passes failed, e.g. {failed[0].get('error', '')[:1500]}")
    print(f"  /api/stats/main on each collector: visitors {want[0]}, pageviews {want[1]} = plain SQL over the "
          f"lake; again after maintainer passes ({files} → {files_after} data files, {len(passes)} passes "
          f"in the collectors' logs since their last start): unchanged", flush=True)
    # LOAD mallard in a plain DuckDB reads the same lake with the same numbers.
    con = lake(env)
    con.execute(f"LOAD '{os.environ['MALLARD_EXT']}'")
    got = con.execute(f"""SELECT visitors, pageviews FROM mallard_metrics('{env["MALLARD_LAKE"]}', '{SITE}',
                          current_date, current_date)""").fetchone()
    if tuple(got) != tuple(want):
        fail(f"LOAD mallard over the shared lake says visitors, pageviews = {got}; plain SQL says {want}")
    print(f"  LOAD mallard in DuckDB {duckdb.__version__}, mallard_metrics over the shared lake: {tuple(got)}, the same",
          flush=True)
    return collectors


def call(c, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=30)
    data = json.dumps(body) if body is not None else None
    sent = {"Origin": f"http://127.0.0.1:{c.port}", **({"Content-Type": "application/json"} if data else {})}
    conn.request(method, path, data, dict(sent, **(headers or {})))
    r = conn.getresponse()
    text = r.read().decode()
    try:
        return r.status, json.loads(text)
    except ValueError:
        return r.status, text


def until(what, check, timeout=5.0):
    """Polls `check` until it holds; fails after `timeout` seconds."""
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            fail(what)
        time.sleep(0.1)
    return time.time() - (deadline - timeout)


def phase_settings(services, collectors):
    """Sessions, API keys, shared links and saved funnels made on one
    collector work on every other; a revocation or logout reaches them all
    within the settings cache's 1 s."""
    a, b, c = collectors
    cookie = login(a)
    owner = {"Cookie": cookie}
    for other in (b, c):
        status, body = call(other, "GET", "/api/auth/status", headers=owner)
        if status != 200 or not body.get("authenticated"):
            fail(f"a session made on one collector is unknown on another: {status} {body}")
    status, made = call(b, "POST", "/api/keys", {"name": "shared", "scope": "read"}, owner)
    if status != 201:
        fail(f"creating a key answered {status} {made}")
    bearer = {"Authorization": f"Bearer {made['key']}"}
    for other in (a, c):
        status, body = call(other, "GET", f"/api/stats/main?site_id={SITE}&period=day", headers=bearer)
        if status != 200:
            fail(f"a key made on one collector does not open stats on another: {status} {body}")
    funnel = {"name": "signup", "steps": ["page:/p1", "page:/p2"], "within": 600}
    status, body = call(c, "PUT", f"/api/funnels?site_id={SITE}", funnel, owner)
    if status not in (200, 201):
        fail(f"saving a funnel answered {status} {body}")
    status, body = call(a, "GET", f"/api/funnels?site_id={SITE}", headers=owner)
    if [f["name"] for f in body.get("funnels", [])] != ["signup"]:
        fail(f"a funnel saved on one collector is missing on another: {body}")
    status, share = call(a, "POST", "/api/shares", {"site_id": SITE, "name": "board"}, owner)
    if status != 201:
        fail(f"creating a shared link answered {status} {share}")
    status, _ = call(b, "GET", share["url"])
    if status != 200:
        fail(f"a shared link made on one collector does not open on another: {status}")
    # Nothing secret in the catalog: tokens are kept as digests.
    dump = subprocess.run([os.path.join(services.pg_bin(), "pg_dump"), "-h", "127.0.0.1", "-p",
                           str(services.ports["PGPORT"]), "-U", "postgres", "--data-only", "-t", "mallard_documents",
                           "mallard"], capture_output=True, text=True, check=True).stdout
    for secret in (made["key"], share["url"].rsplit("/", 1)[1], cookie.split("=", 1)[1], PASSWORD):
        if secret in dump:
            fail("the catalog's settings hold a token or password in the clear")
    # Revocations reach every collector.
    status, _ = call(c, "DELETE", f"/api/keys?id={made['info']['id']}", headers=owner)
    if status != 200:
        fail(f"revoking the key answered {status}")
    key_gone = until("a revoked key still opens stats on another collector after 5 s", lambda: call(
        a, "GET", f"/api/stats/main?site_id={SITE}&period=day", headers=bearer)[0] in (401, 403))
    status, _ = call(b, "POST", "/api/auth/logout", headers=owner)
    if status != 200:
        fail(f"logout answered {status}")
    session_gone = until("a session logged out on one collector still works on another after 5 s", lambda: not call(
        c, "GET", "/api/auth/status", headers=owner)[1].get("authenticated"))
    print(f"  settings shared: a session, key, funnel and link made on one collector work on the others; "
          f"a revoked key stopped working elsewhere after {key_gone:.1f} s, a logout after {session_gone:.1f} s; "
          f"no token or password in the catalog", flush=True)


ROLLUP_PROBE = r"""
import json, os, sys, duckdb
con = duckdb.connect(config={"extension_directory": os.environ["MALLARD_DUCKDB_EXTENSIONS"],
                             "allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{os.environ['MALLARD_EXT']}'")
lake, site, start, end = sys.argv[1:5]
out = {}
for name, sql in [
        ("metrics", "SELECT * FROM mallard_metrics(?, ?, CAST(? AS DATE), CAST(? AS DATE))"),
        ("timeseries", "SELECT * FROM mallard_timeseries(?, ?, CAST(? AS DATE), CAST(? AS DATE)) ORDER BY 1"),
        ("sources", "SELECT * FROM mallard_breakdown(?, ?, CAST(? AS DATE), CAST(? AS DATE), 'visit:source') ORDER BY ALL"),
        ("pages", "SELECT * FROM mallard_breakdown(?, ?, CAST(? AS DATE), CAST(? AS DATE), 'event:page') ORDER BY ALL"),
        ("countries", "SELECT * FROM mallard_breakdown(?, ?, CAST(? AS DATE), CAST(? AS DATE), 'visit:country', "
                      "filters := ['visit:source == Google']) ORDER BY ALL")]:
    out[name] = [[str(v) for v in row] for row in con.execute(sql, [lake, site, start, end]).fetchall()]
print(json.dumps(out))
"""


def probe(lake_arg, first, last):
    """The reports over `lake_arg` from a fresh DuckDB process (whose SQL
    MALLARD_DEBUG_SQL prints): (results, whether they read the rollups)."""
    run = subprocess.run([sys.executable, "-c", ROLLUP_PROBE, lake_arg, SITE, str(first), str(last)],
                         env=dict(os.environ, MALLARD_DEBUG_SQL="1"), capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"reports over {lake_arg[:40]} failed: {run.stderr[-800:]}")
    return json.loads(run.stdout), ".visit_rollups AT (VERSION" in run.stderr


def phase_rollups(work, env, collector):
    """Closed days get rollups from the maintainer, and the reports read
    them: their numbers equal plain SQL, and the same reports over a folder
    lake of the same rows (read raw). An erase of a day leaves no copy of
    its events or its rollups, live or old."""
    rng = random.Random(7)
    today = datetime.date.today()
    first, last = today - datetime.timedelta(days=12), today - datetime.timedelta(days=10)
    rows = []
    visit = 10_000
    for v in range(1, 301):
        day = first + datetime.timedelta(days=rng.randrange(3))
        for _ in range(rng.randint(1, 3)):
            visit += 1
            # Some visits run across midnight (into the next fixture day).
            hour = 23 if rng.random() < 0.1 and day < last else rng.randrange(22)
            t = datetime.datetime.combine(day, datetime.time(hour, rng.randrange(60)))
            source = rng.choice(["Google", "Direct", "Twitter", None])
            country = rng.choice(["DE", "FR", "US"])
            for k in range(rng.randint(1, 6)):
                name = "pageview" if k == 0 or rng.random() < 0.7 else rng.choice(["engagement", "Signup"])
                rows.append((t, v, visit, name, f"/p{rng.randrange(5)}", source, country,
                             rng.randrange(1000, 60000) if name == "engagement" else None))
                t += datetime.timedelta(minutes=rng.randint(1, 20))
            day = t.date() if t.date() <= last else day
    mem = duckdb.connect()
    mem.execute("CREATE TABLE f (ts TIMESTAMP, visitor_id UBIGINT, visit_id UBIGINT, name VARCHAR, pathname VARCHAR, "
                "referrer_source VARCHAR, country VARCHAR, engaged_ms UINTEGER)")
    mem.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    mem.execute(f"CREATE TABLE fixture AS SELECT '{SITE}' AS site, CAST(ts AS DATE) AS date, 'shared.example' AS hostname, "
                "true AS interactive, * FROM f WHERE CAST(ts AS DATE) <= ?", [last])
    folder = os.path.join(work, "folder-lake")
    mem.execute(f"COPY fixture TO '{folder}' (FORMAT parquet, PARTITION_BY (site, date), WRITE_PARTITION_COLUMNS true)")
    con = lake(env)
    con.execute("DETACH lake")
    con.execute(f"ATTACH '{env['MALLARD_LAKE']}' AS lake (DATA_PATH '{env['MALLARD_LAKE_DATA_PATH']}')")
    con.execute(f"INSERT INTO lake.events BY NAME SELECT * FROM read_parquet('{folder}/*/*/*.parquet', "
                "hive_partitioning = false)")
    con.close()
    # The maintainer's next passes roll the three days up.
    deadline = time.time() + 120
    while True:
        used = probe(env["MALLARD_LAKE"], first, last)
        if used[1]:
            break
        if time.time() > deadline:
            fail("no rollups of closed days were used within 120 s of their events landing")
        time.sleep(3)
    shared, _ = used
    raw, raw_used = probe(folder, first, last)
    if raw_used:
        fail("the folder lake's raw rows were read as rollups")
    want = mem.execute("""SELECT count(DISTINCT visitor_id), count(DISTINCT visit_id) FILTER (name <> 'engagement'),
                          count(*) FILTER (name = 'pageview') FROM fixture""").fetchone()
    got = shared["metrics"][0]
    if [int(got[0]), int(got[1]), int(got[2])] != list(want):
        fail(f"metrics over the rollups: visitors, visits, pageviews {got[:3]}, plain SQL {want}")
    for name in shared:
        if shared[name] != raw[name]:
            fail(f"{name} over the rollups differs from the same report over the raw rows:\n"
                 f"{shared[name][:5]}\n{raw[name][:5]}")
    # Erasing the first day removes its rollups too, with every old copy.
    cookie = login(collector)
    status, body = call(collector, "DELETE", f"/api/admin/erase?site_id={SITE}&from={first}&to={first}",
                        headers={"Cookie": cookie})
    if status != 200:
        fail(f"erasing a rolled-up day answered {status} {body}")
    deadline = time.time() + 120
    while True:
        con = lake(env)
        left = con.execute("""SELECT (SELECT count(*) FROM lake.events WHERE site = $1 AND date = $2)
                                     + (SELECT count(*) FROM lake.visit_rollups WHERE site = $1 AND date = $2)
                                     + (SELECT count(*) FROM lake.page_rollups WHERE site = $1 AND date = $2)""",
                           [SITE, first]).fetchone()[0]
        objects = [r[0] for r in con.execute("SELECT file FROM glob('s3://lake/**')").fetchall()
                   if f"date={first}" in r[0]]
        con.close()
        if left == 0 and not objects:
            break
        if time.time() > deadline:
            fail(f"120 s after erasing {first}: {left} rows of it (events and rollups), S3 objects {objects[:3]}")
        time.sleep(3)
    print(f"  rollups of closed days ({first} to {last}, {len(rows)} events): the reports read them; visitors, "
          f"visits, pageviews {tuple(want)} = plain SQL; metrics, time series and 3 breakdowns = the same "
          f"reports over the raw rows; an erase of {first} left no row, rollup or S3 object of it", flush=True)


def phase_outages(services, collectors, env):
    cookie = login(collectors[0])
    with Load(collectors, 'outages') as load:
        time.sleep(2)
        services.run("pg-stop")
        time.sleep(1)
        status, body = main_stats(collectors[0], cookie)
        if status != 503:
            fail(f"stats while PostgreSQL is down answered {status} (wanted 503): {body[:200]}")
        reason = json.loads(body).get("error", "")
        time.sleep(3)
        services.run("pg-start")
        time.sleep(2)
        services.run("s3-stop")
        during = len(load.acked)
        time.sleep(30)
        during = len(load.acked) - during
        services.run("s3-start")
        time.sleep(3)
    wait_flushed(collectors, timeout=240)
    con = lake(env)
    check_once(con, load.acked, "after the outages")
    status, body = main_stats(collectors[2], login(collectors[2]))
    if status != 200:
        errors = [line for line in collectors[2].lines if '"error"' in line][-3:]
        fail(f"stats after the outages answered {status}: {body[:200]}\n{''.join(errors)}")
    print(f"  PostgreSQL restarted and S3 down for 30 s under load: {len(load.acked)} acknowledged "
          f"({during} while S3 was down), 0 lost, 0 duplicated; stats meanwhile: 503 \"{reason}\"", flush=True)


def erase(c, visitor):
    cookie = login(c)
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=120)
    conn.request("DELETE", f"/api/admin/erase?site_id={SITE}&visitor_id={visitor}",
                 headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{c.port}"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        fail(f"erase answered {r.status}: {body[:300]}")
    return json.loads(body)


def erase_leftovers(services, env, visitor, others):
    """What still holds `visitor` (None: nothing): the lake, any object on
    S3 (live or not: old snapshots' files, abandoned files), any catalog row."""
    con = lake(env)
    left = con.execute("SELECT count(*) FROM lake.events WHERE visitor_id = ?", [visitor]).fetchone()[0]
    kept = con.execute("SELECT count(*) FROM lake.events WHERE visitor_id <> ?", [visitor]).fetchone()[0]
    if left or kept != others:
        return f"lake: after the erase it holds {left} rows of the visitor and {kept} of others (had {others})"
    files = [r[0] for r in con.execute("SELECT file FROM glob('s3://lake/**')").fetchall()]
    holding = []
    for f in files:
        if not f.endswith(".parquet"):
            continue
        columns = [c[0] for c in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [f]).fetchall()]
        if "visitor_id" in columns and con.execute(
                "SELECT count(*) FROM read_parquet(?) WHERE visitor_id = ?", [f, visitor]).fetchone()[0]:
            holding.append(f)
    if holding:
        return f"{len(holding)} files on S3 still hold the visitor, e.g. {holding[:2]}"
    dump = subprocess.run([os.path.join(services.pg_bin(), "pg_dump"), "-h", "127.0.0.1", "-p",
                           str(services.ports["PGPORT"]), "-U", "postgres", "--data-only", "mallard"],
                          capture_output=True, text=True, check=True).stdout
    hits = [line for line in dump.splitlines() if str(visitor) in line]
    if hits:
        return f"{len(hits)} catalog rows still hold the visitor id, e.g. {hits[:2]}"
    return None


def phase_erase(services, collectors, env):
    # The outage phase's events must all be in the lake before "the other
    # rows" are counted (a slow catch-up once counted them short).
    wait_flushed(collectors)
    con = lake(env)
    visitor = con.execute("SELECT DISTINCT visitor_id FROM lake.events WHERE site = ? AND props['id'] LIKE 'spread-%'",
                          [SITE]).fetchone()[0]
    before = con.execute("SELECT count(*) FROM lake.events WHERE visitor_id = ?", [visitor]).fetchone()[0]
    others = con.execute("SELECT count(*) FROM lake.events WHERE visitor_id <> ?", [visitor]).fetchone()[0]
    # Some of the visitor's events are still on their way in each collector.
    for i, c in enumerate(collectors):
        if post(c.port, f"spread-late-{i}", SPREAD_IP) != 202:
            fail("a late event was refused")
    outcome = erase(collectors[0], visitor)
    erased_at = time.time()
    # The answer counts at least the rows the lake held (the maintainer may
    # delete them first, once the erasure is recorded).
    if outcome["rows_removed"] < before:
        fail(f"the erase answered rows_removed {outcome['rows_removed']} for {before} rows in the lake")
    wait_flushed(collectors)
    # Within a few maintainer passes: no copy at all, including files a
    # commit wrote and never adopted (failed during the outages), which
    # count as abandoned once a minute old.
    deadline = time.time() + 180
    while True:
        problem = erase_leftovers(services, env, visitor, others)
        if problem is None:
            break
        if time.time() > deadline:
            fail(problem)
        time.sleep(5)
    parquet = sum(1 for r in lake(env).execute("SELECT file FROM glob('s3://lake/**')").fetchall()
                  if r[0].endswith(".parquet"))
    print(f"  erase of the visitor spread over 3 collectors: {before} rows in the lake + 3 on their way, "
          f"rows_removed {outcome['rows_removed']}; {time.time() - erased_at:.0f} s later 0 rows, 0 of {parquet} "
          f"Parquet objects on S3 and 0 catalog rows hold it; the {others} other rows untouched", flush=True)


def main():
    binary = sys.argv[1]
    kills = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    work = tempfile.mkdtemp(prefix="mallard-scaleout-")
    os.chmod(work, 0o711)  # PostgreSQL runs as its own user when we are root
    services = Services(work)
    passed = False
    services.run("start")
    try:
        env = services.env()
        env.update({
            "MALLARD_DUCKDB_EXTENSIONS": os.environ["MALLARD_DUCKDB_EXTENSIONS"],
            "MALLARD_FLUSH_INTERVAL": "300ms", "MALLARD_HOT_INTERVAL": "100ms",
            "MALLARD_MAINTAIN_INTERVAL": "3s", "MALLARD_TRUST_PROXY": "true",
            "MALLARD_ADMIN_PASSWORD": PASSWORD,
        })
        # The extension inside each collector reads the S3 settings itself.
        os.environ.update({k: v for k, v in env.items() if k.startswith("MALLARD_S3_")})
        started = time.time()
        collectors = phase_kills(binary, work, env, kills)
        phase_settings(services, collectors)
        phase_rollups(work, env, collectors[0])
        phase_outages(services, collectors, env)
        phase_erase(services, collectors, env)
        for c in collectors:
            c.stop()
        print(f"scaleout: passed in {time.time() - started:.0f} s")
        passed = True
    finally:
        services.run("stop")
    # Kept after a failure, for its logs.
    if passed:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
