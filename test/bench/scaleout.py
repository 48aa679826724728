"""Shared-lake benchmark, side by side in one run on this machine: a release
collector's durable ingest on the local folder lake against the shared lake
(DuckLake: PostgreSQL catalog, SeaweedFS S3, both on loopback), three
collectors on the shared lake together against one, and the dashboard's
first render over the 10M-event bench lake, local against shared.

On 2 cores three collectors share the same two cores (and PostgreSQL and
S3 run there too): the point is the cost of sharing and that nothing
collapses, not scaling.

usage: scaleout.py <collector> <bench data dir holding lake/> <extension>
Env: MALLARD_DUCKDB_EXTENSIONS, WEED, CHROMIUM.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scaleout"))
from scaleout import Services, lake  # noqa: E402

SECONDS = os.environ.get("BENCH_SECONDS", "15")


def start(collector, data, env):
    full = dict(os.environ, MALLARD_LISTEN="127.0.0.1:0", MALLARD_DATA_DIR=data, MALLARD_TRUST_PROXY="true",
                MALLARD_LOG_FORMAT="json", **env)
    proc = subprocess.Popen([collector], env=full, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "listening":
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, entry["addr"]
    raise SystemExit(f"collector did not start (exit {proc.wait()})")


def wrk(addr, conns, out):
    """Acknowledged events/s of wrk -t1 against one collector."""
    text = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{SECONDS}s", "-s", os.path.join(HERE, "ingest.lua"),
                           f"http://{addr}/"], capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", text).group(1))
    secs = float(re.search(r"requests in ([\d.]+)s", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out.append((total - (int(non2xx.group(1)) if non2xx else 0)) / secs)


def buffered(addr):
    with urllib.request.urlopen(f"http://{addr}/health/detailed") as r:
        return json.load(r)["buffered_events"]


def ingest(collector, n, env, label):
    """n collectors, one wrk each (64 connections in all); events/s summed,
    then how long the last acknowledged event took to reach the lake."""
    dirs = [tempfile.mkdtemp(prefix="mallard-bench-scaleout-") for _ in range(n)]
    procs = [start(collector, d, env) for d in dirs]
    for _, addr in procs:  # warm up
        subprocess.run(["wrk", "-t1", "-c8", "-d2s", "-s", os.path.join(HERE, "ingest.lua"), f"http://{addr}/"],
                       capture_output=True, check=True)
    rates = []
    threads = [threading.Thread(target=wrk, args=(addr, 64 // n, rates)) for _, addr in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stopped = time.time()
    while any(buffered(addr) for _, addr in procs):
        time.sleep(0.1)
    drained = time.time() - stopped
    for proc, _ in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    total = sum(rates)
    print(f"  {label:46} {total:9.0f} events/s   in the lake {drained:5.1f} s after the load stopped", flush=True)
    return total


def session_store(services, shared):
    """The alternative to assigning visits where all events meet: a shared
    session store, one PostgreSQL upsert per event (pgbench, 64 clients, as
    many as wrk's connections), durable and not."""
    pg = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(services.ports["PGPORT"]), PGUSER="postgres",
              PGDATABASE="mallard")
    psql = [os.path.join(services.pg_bin(), "psql"), "-qAtc"]
    subprocess.run(psql + ["CREATE TABLE IF NOT EXISTS mallard_visits (visitor bigint PRIMARY KEY, visit bigint, "
                           "last_ts bigint)"], env=pg, check=True)
    for sync in ("on", "off"):
        out = subprocess.run([os.path.join(services.pg_bin(), "pgbench"), "-n", "-c64", "-j2", f"-T{SECONDS}",
                              "-f", os.path.join(HERE, "session_store.sql")],
                             env=dict(pg, PGOPTIONS=f"-c synchronous_commit={sync}"),
                             capture_output=True, text=True, check=True).stdout
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        print(f"  shared session store instead (1 PostgreSQL upsert per event, synchronous_commit={sync:3}): "
              f"{tps:6.0f} events/s at most = {tps / shared:.2f}x the shared-lake ingest above", flush=True)
    subprocess.run(psql + ["DROP TABLE mallard_visits"], env=pg, check=True)


def main():
    collector, bench_dir, extension = sys.argv[1], sys.argv[2], sys.argv[3]
    work = tempfile.mkdtemp(prefix="mallard-bench-shared-")
    os.chmod(work, 0o711)
    services = Services(work)
    services.run("start")
    try:
        env = services.env()
        env["MALLARD_DUCKDB_EXTENSIONS"] = os.environ["MALLARD_DUCKDB_EXTENSIONS"]
        os.environ.update({k: v for k, v in env.items() if k.startswith("MALLARD_S3_")})
        print(f"shared lake bench: wrk -t1, 64 connections in all, {SECONDS} s each, durable single events, "
              f"{os.cpu_count()} CPUs (collectors, wrk, PostgreSQL and S3 all on them):")
        local = ingest(collector, 1, {}, "1 collector, local folder lake")
        shared = ingest(collector, 1, env, "1 collector, shared lake (DuckLake)")
        three = ingest(collector, 3, env, "3 collectors together, shared lake")
        print(f"  shared / local: {shared / local:.2f}x;  3 collectors / 1 on the shared lake: {three / shared:.2f}x")
        session_store(services, shared)

        # The 10M-event bench lake copied into the shared lake, through the
        # extension's reader (its visibility rule), sorted like a flush.
        started = time.time()
        con = duckdb.connect(config={"extension_directory": os.environ["MALLARD_DUCKDB_EXTENSIONS"],
                                     "allow_unsigned_extensions": "true"})
        for ext in ("ducklake", "postgres_scanner", "httpfs"):
            con.execute(f"LOAD {ext}")
        con.execute(f"LOAD '{extension}'")
        con.execute(f"""CREATE SECRET (TYPE S3, KEY_ID '{env["MALLARD_S3_KEY_ID"]}', SECRET '{env["MALLARD_S3_SECRET"]}',
                        ENDPOINT '{env["MALLARD_S3_ENDPOINT"]}', URL_STYLE 'path', USE_SSL false, REGION 'us-east-1')""")
        con.execute(f"ATTACH '{env['MALLARD_LAKE']}' AS lake (DATA_PATH '{env['MALLARD_LAKE_DATA_PATH']}')")
        con.execute("DELETE FROM lake.events WHERE site = 'bench.example'")
        con.execute(f"""INSERT INTO lake.events SELECT * FROM mallard_events('{bench_dir}/lake', site := 'bench.example')
                        ORDER BY date, visitor_id, ts""")
        rows, files = con.execute("""SELECT (SELECT count(*) FROM lake.events WHERE site = 'bench.example'),
                                            (SELECT count(*) FROM ducklake_list_files('lake', 'events'))""").fetchone()
        con.close()
        print(f"  bench lake copied into the shared lake: {rows} events, {files} files, {time.time() - started:.0f} s",
              flush=True)
        # A collector's maintainer rolls the closed days up, as it would have
        # day by day, before the dashboard is timed.
        started = time.time()
        prep = tempfile.mkdtemp(prefix="mallard-bench-scaleout-")
        proc, _ = start(collector, prep, env)
        con = lake(env)
        days = con.execute("SELECT count(DISTINCT date) FROM lake.events WHERE site = 'bench.example' "
                           "AND date < current_date").fetchone()[0]
        while True:
            con = lake(env)
            try:
                rolled = con.execute("SELECT count(DISTINCT date) FROM lake.visit_rollups "
                                     "WHERE site = 'bench.example'").fetchone()[0]
            except duckdb.Error:
                rolled = 0
            con.close()
            if rolled >= days:
                break
            time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
        shutil.rmtree(prep, ignore_errors=True)
        print(f"  the maintainer rolled up its {days} closed days in {time.time() - started:.0f} s", flush=True)
        render = os.path.join(HERE, "dashboard.mjs")
        node = {"CHROMIUM": os.environ.get("CHROMIUM", "/usr/bin/chromium")}
        subprocess.run(["node", render, collector, bench_dir, "10M events, local folder lake"],
                       env=dict(os.environ, **node), check=True)
        shared_data = os.path.join(work, "dashboard")
        os.makedirs(shared_data)
        subprocess.run(["node", render, collector, shared_data, "10M events, shared lake"],
                       env=dict(os.environ, **node, **env), check=True)
    finally:
        services.run("stop")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
