"""Soak and overload: mallard-loadgen drives ingestion at a multiple of the
measured capacity while dashboard queries run, slow-loris connections hang
on, and oversized headers arrive. Arrivals are open-loop and each one takes
an idle connection or opens a new one (up to MAX_CLIENT_CONNECTIONS), like
independent visitors, so the queueing happens in the server, which must shed.
On a machine with 2+ CPUs the collector runs on one and the load generator on
another, so the generator's own work cannot starve the server it measures
(capacity is measured the same way).

Checks: the collector stays up and sheds load (503) instead of queueing; p99
of the accepted requests stays within 10x the unloaded p99; RSS stays under
RSS_BOUND_MIB and does not keep growing (the last third's peak is within 25%
of the middle third's); during the flood every /health check and at least
99% of the dashboard's stats requests answer, with a p95 under 2 s; /health
answers during the slow-loris connections; a 1 MiB header is refused; and
afterwards every 202 is in the lake.

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
# The collector serves this many connections at once (MALLARD_MAX_CONNECTIONS);
# the load generator may open more, so the limit is exercised too.
SERVER_CONNECTIONS = 1024
MAX_CLIENT_CONNECTIONS = 2048
RSS_BOUND_MIB = 256
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS, LOADGEN_CPUS = ({CPUS[0]}, set(CPUS[1:])) if len(CPUS) > 1 else (None, None)


def loadgen(binary, port, seconds, rate=None, connections=64, max_connections=None):
    args = [binary, "--target", f"127.0.0.1:{port}", "--duration", str(seconds), "--site", SITE,
            "--connections", str(connections), "--max-connections", str(max_connections or connections)]
    if rate:
        args += ["--rate", str(rate)]
    pin = (lambda: os.sched_setaffinity(0, LOADGEN_CPUS)) if LOADGEN_CPUS else None
    out = subprocess.run(args, check=True, capture_output=True, text=True, preexec_fn=pin).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    collector, gen, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    factor = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    data = os.path.join(tempfile.mkdtemp(prefix="mallard-soak-"), "data")
    c = Collector(collector, data, {"MALLARD_TRUST_PROXY": "true",
                                    "MALLARD_MAX_CONNECTIONS": str(SERVER_CONNECTIONS)},
                  cpus=SERVER_CPUS).start()
    unloaded = loadgen(gen, c.port, 10, rate=200, connections=8)
    closed = loadgen(gen, c.port, 5)
    capacity = closed["throughput_per_s"]
    samples = []  # (seconds since the overload started, RSS KiB)
    began = time.time()
    stop = threading.Event()
    queries = {"ok": 0, "failed": 0}
    query_ms = []
    health_checks = {"ok": 0, "failed": 0}

    def watch():
        while not stop.is_set():
            samples.append((time.time() - began, c.rss_kib()))
            time.sleep(0.5)

    def dashboard():
        q = "?site_id=bench.example&period=7d"
        while not stop.is_set():
            for path in ["/api/stats/main", "/api/stats/timeseries", "/api/stats/breakdown/visit:source"]:
                t0 = time.time()
                try:
                    status, _ = c.get(path + q)
                    queries["ok" if status == 200 else "failed"] += 1
                except OSError:
                    queries["failed"] += 1
                query_ms.append((time.time() - t0) * 1000)
            time.sleep(0.5)

    def health_watch():
        while not stop.is_set():
            try:
                status, _ = c.get("/health")
                health_checks["ok" if status == 200 else "failed"] += 1
            except OSError:
                health_checks["failed"] += 1
            time.sleep(1)

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

    threads = [threading.Thread(target=f, daemon=True) for f in (watch, dashboard, health_watch, loris)]
    for t in threads:
        t.start()
    began = time.time()
    loaded = loadgen(gen, c.port, seconds, rate=int(capacity * factor), connections=8,
                     max_connections=MAX_CLIENT_CONNECTIONS)
    overload_s = time.time() - began
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
    rss_mib = max(kib for _, kib in samples) / 1024

    def third_peak(i):
        kibs = [kib for t, kib in samples if i * overload_s / 3 <= t < (i + 1) * overload_s / 3]
        return max(kibs, default=0) / 1024
    middle_mib, last_mib = third_peak(1), third_peak(2)
    c.stop()
    lake = os.path.join(data, "lake")
    stored = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{lake}/site={SITE}/*/*.parquet', hive_partitioning = false) "
        "WHERE name <> 'engagement'").fetchone()[0]
    accepted = unloaded["accepted_202"] + closed["accepted_202"] + loaded["accepted_202"]
    unloaded_p99 = unloaded["accepted_latency_ms"]["p99"]
    loaded_p99 = loaded["accepted_latency_ms"]["p99"]
    shed = loaded["statuses"].get("503", 0) + loaded["statuses"].get("429", 0)
    query_ms.sort()
    query_p95 = query_ms[int(len(query_ms) * 0.95)] if query_ms else 0
    answered = queries["ok"] / max(1, queries["ok"] + queries["failed"])
    result = {"capacity_per_s": round(capacity), "offered_per_s": int(capacity * factor),
              "dashboard_p95_ms": round(query_p95), "health_checks_during_flood": health_checks,
              "unloaded_p99_ms": unloaded_p99, "loaded_accepted_p99_ms": loaded_p99,
              "loaded": loaded, "shed": shed,
              "dashboard_queries": queries, "health_during_loris_ms": round(health_ms, 1),
              "health_status": health, "oversized_header": big, "peak_rss_mib": round(rss_mib),
              "rss_peak_middle_third_mib": round(middle_mib), "rss_peak_last_third_mib": round(last_mib),
              "accepted_202_total": accepted, "stored": stored}
    print(json.dumps(result, indent=1))
    problems = []
    if shed == 0:
        problems.append("no request was shed at 2x capacity")
    if loaded_p99 > 10 * unloaded_p99:
        problems.append(f"accepted p99 {loaded_p99} ms is over 10x the unloaded {unloaded_p99} ms")
    if rss_mib > RSS_BOUND_MIB:
        problems.append(f"peak RSS {rss_mib:.0f} MiB is over {RSS_BOUND_MIB} MiB")
    if last_mib > 1.25 * middle_mib:
        problems.append(f"RSS kept growing: {middle_mib:.0f} MiB then {last_mib:.0f} MiB")
    if big != "431":
        problems.append(f"a 1 MiB header got {big}, not 431")
    if stored < accepted:
        problems.append(f"{accepted - stored} acknowledged events are not in the lake")
    if answered < 0.99:
        problems.append(f"only {answered:.1%} of the dashboard's stats requests answered during the flood")
    if query_p95 >= 2000:
        problems.append(f"dashboard stats p95 {query_p95:.0f} ms during the flood (bound: 2 s)")
    if health_checks["failed"]:
        problems.append(f"{health_checks['failed']} /health checks failed during the flood")
    if health != 200:
        problems.append("the health check failed during the slow-loris connections")
    if problems:
        sys.exit("; ".join(problems))


if __name__ == "__main__":
    main()
