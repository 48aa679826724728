"""Soak and overload: mallard-loadgen drives ingestion at a multiple of the
measured capacity while dashboard queries run, slow-loris connections hang
on, and oversized headers arrive. Checks: the collector stays up, sheds load
(429/503) or queues within bounds instead of growing memory, p99 of the
unloaded run vs. the loaded one, peak RSS, and afterwards every 202 is in the
lake.

usage: soak.py <collector> <loadgen> <seconds> [overload factor]
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import duckdb

from common import Collector

SITE = "bench.example"


def loadgen(binary, port, seconds, rate=None, connections=64):
    args = [binary, "--target", f"127.0.0.1:{port}", "--duration", str(seconds), "--site", SITE,
            "--connections", str(connections)]
    if rate:
        args += ["--rate", str(rate)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    collector, gen, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    factor = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    data = os.path.join(tempfile.mkdtemp(prefix="mallard-soak-"), "data")
    c = Collector(collector, data, {"MALLARD_TRUST_PROXY": "true"}).start()
    unloaded = loadgen(gen, c.port, 5, rate=200)
    closed = loadgen(gen, c.port, 5)
    capacity = closed["throughput_per_s"]
    peak = [c.rss_kib()]
    stop = threading.Event()
    queries = {"ok": 0, "failed": 0}

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], c.rss_kib())
            time.sleep(0.5)

    def dashboard():
        q = "?site_id=bench.example&period=7d"
        while not stop.is_set():
            for path in ["/api/stats/main", "/api/stats/timeseries", "/api/stats/breakdown/visit:source"]:
                try:
                    status, _ = c.get(path + q)
                    queries["ok" if status == 200 else "failed"] += 1
                except OSError:
                    queries["failed"] += 1
            time.sleep(0.5)

    def loris(n=100):
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", c.port))
            s.sendall(b"POST /api/event HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        while not stop.is_set():
            for s in socks:
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(5)

    threads = [threading.Thread(target=f, daemon=True) for f in (watch, dashboard, loris)]
    for t in threads:
        t.start()
    loaded = loadgen(gen, c.port, seconds, rate=int(capacity * factor), connections=256)
    # A healthy request while the loris connections hang on.
    t0 = time.time()
    health, _ = c.get("/health")
    health_ms = (time.time() - t0) * 1000
    # An oversized header block.
    s = socket.create_connection(("127.0.0.1", c.port))
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        big = s.recv(100).split(b" ")[1].decode() if s else "closed"
    except OSError:
        big = "closed"
    stop.set()
    c.wait_flushed(timeout=300)
    rss_mib = peak[0] / 1024
    c.stop()
    lake = os.path.join(data, "lake")
    stored = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{lake}/site={SITE}/*/*.parquet', hive_partitioning = false) "
        "WHERE name <> 'engagement'").fetchone()[0]
    accepted = unloaded["accepted_202"] + closed["accepted_202"] + loaded["accepted_202"]
    result = {"capacity_per_s": round(capacity), "offered_per_s": int(capacity * factor),
                      "unloaded_p99_ms": unloaded["latency_ms"]["p99"], "loaded": loaded,
                      "dashboard_queries": queries, "health_during_loris_ms": round(health_ms, 1),
                      "health_status": health, "oversized_header": big, "peak_rss_mib": round(rss_mib),
                      "accepted_202_total": accepted, "stored": stored}
    print(json.dumps(result, indent=1))
    problems = []
    if stored < accepted:
        problems.append(f"{accepted - stored} acknowledged events are not in the lake")
    if health != 200:
        problems.append("the health check failed during the slow-loris connections")
    if problems:
        sys.exit("; ".join(problems))


if __name__ == "__main__":
    main()
