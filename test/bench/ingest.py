"""Ingest benchmark: a release collector on loopback with the WAL on.

Reports, in one run on this machine: sustained throughput (wrk, and our
closed-loop load generator), p50/p99 latency at a fixed 2 000 req/s (open
loop, no coordinated omission), collector RSS under load, and stored bytes
per event before and after compaction.

With `--baseline <collector>` (a build of an earlier commit, see `make
bench`) it first measures durable single-event throughput (wrk) and RSS for
both collectors, alternating, side by side in one run; then batches of 50
through `/api/batch` (the new collector only), and the idle RSS after 1M
ingested events.

Usage: ingest.py <collector> <loadgen> [seconds] [--baseline <collector>]
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


def start(collector: str, data: str) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, MALLARD_LISTEN="127.0.0.1:0", MALLARD_DATA_DIR=data,
               MALLARD_TRUST_PROXY="true", MALLARD_LOG_FORMAT="json")
    proc = subprocess.Popen([collector], env=env, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        entry = json.loads(line)
        if entry.get("msg") == "listening":
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, entry["addr"]
    raise SystemExit("collector did not start")


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
                self.peak = max(self.peak, rss)
            except (OSError, AttributeError):
                pass
            time.sleep(0.1)


def loadgen(binary: str, addr: str, *args: str) -> dict:
    out = subprocess.run([binary, "--target", addr, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def lake_stats(data: str) -> tuple[int, int, int]:
    lake = os.path.join(data, "lake")
    files = [os.path.join(d, f) for d, _, fs in os.walk(lake) for f in fs if f.endswith(".parquet")]
    size = sum(os.path.getsize(f) for f in files)
    events = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{lake}/**/*.parquet', hive_partitioning = false)").fetchone()[0]
    return events, size, len(files)


def wrk(addr: str, script: str, secs: str, env: dict | None = None) -> tuple[float, str]:
    # One wrk thread: on 2 cores, a second one competes with the collector.
    out = subprocess.run(["wrk", "-t1", "-c64", f"-d{secs}s", "--latency", "-s", os.path.join(HERE, script),
                          f"http://{addr}/"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, **(env or {}))).stdout
    # Only answers that acknowledged events count: a 503 (shed) is not one.
    total = int(re.search(r"(\d+) requests in ([\d.]+)(m?s)", out).group(1))
    secs = float(re.search(r"requests in ([\d.]+)(m?s)", out).group(1))
    secs = secs / 1000 if re.search(r"requests in [\d.]+ms", out) else secs
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    refused = int(non2xx.group(1)) if non2xx else 0
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    errors = re.search(r"Socket errors:.*", out)
    note = (f", {refused} refused" if refused else "") + (f"  [{errors.group(0)}]" if errors else "")
    return (total - refused) / secs, p99 + note


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def ingest_key(addr: str) -> str:
    # Before a password exists, loopback is the owner and may create keys.
    req = urllib.request.Request(f"http://{addr}/api/keys", method="POST",
                                 data=json.dumps({"name": "bench", "scope": "ingest"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["key"]


def single_events(collector: str, seconds: str) -> tuple[float, str, float]:
    """Durable single events/s with wrk, its p99, and the collector's peak RSS (MiB)."""
    data = tempfile.mkdtemp(prefix="mallard-bench-ingest-")
    proc, addr = start(collector, data)
    sampler = RssSampler(proc.pid)
    sampler.start()
    wrk(addr, "ingest.lua", "3")  # warm up
    rps, p99 = wrk(addr, "ingest.lua", seconds)
    sampler.running = False
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    shutil.rmtree(data, ignore_errors=True)
    return rps, p99, sampler.peak / 1024


def batches(collector: str, seconds: str) -> None:
    """Events/s through /api/batch (50 per request), then the idle RSS after 1M events."""
    data = tempfile.mkdtemp(prefix="mallard-bench-batch-")
    proc, addr = start(collector, data)
    sampler = RssSampler(proc.pid)
    sampler.start()
    env = {"MALLARD_BENCH_KEY": ingest_key(addr)}
    wrk(addr, "batch.lua", "3", env)  # warm up
    rps, p99 = wrk(addr, "batch.lua", seconds, env)
    print(f"  /api/batch, 50 events each, wrk -t1 -c64: {rps * 50:10.0f} events/s   (p99 {p99}), "
          f"peak RSS {sampler.peak / 1024:.0f} MiB")
    sent = int(rps * 50 * (int(seconds) + 3))
    while sent < 1_000_000:
        rps, _ = wrk(addr, "batch.lua", "5", env)
        sent += int(rps * 50 * 5)
    time.sleep(30)  # a flush interval and the hot files' grace period
    sampler.running = False
    print(f"  idle RSS after {sent / 1e6:.1f}M ingested events (30 s later): {rss_kib(proc.pid) / 1024:.0f} MiB")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    args = sys.argv[1:]
    baseline = None
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = args[i + 1]
        del args[i:i + 2]
    collector, gen = args[0], args[1]
    seconds = args[2] if len(args) > 2 else "20"
    if shutil.which("wrk"):
        runs = [("this build", collector)] + ([("baseline", baseline)] if baseline else [])
        print(f"ingest bench: durable single events, wrk -t1 -c64 for {seconds}s, {os.cpu_count()} CPUs, "
              "alternating builds, 2 rounds")
        for round_ in (1, 2):
            for name, binary in runs:
                rps, p99, rss = single_events(binary, seconds)
                print(f"  round {round_}, {name:10}: {rps:10.0f} events/s   (p99 {p99}), peak RSS {rss:.0f} MiB")
        batches(collector, seconds)
    data = tempfile.mkdtemp(prefix="mallard-bench-ingest-")
    proc, addr = start(collector, data)
    sampler = RssSampler(proc.pid)
    sampler.start()
    print(f"ingest bench: collector at {addr}, data in {data}, loads on the same machine")
    loadgen(gen, addr, "--duration", "3", "--connections", "32")  # warm up
    closed = loadgen(gen, addr, "--duration", seconds, "--connections", "64")
    print(f"  throughput, loadgen closed-loop 64 conns:  {closed['throughput_per_s']:10.0f} events/s   "
          f"(p99 {closed['latency_ms']['p99']:.1f} ms, statuses {closed['statuses']})")
    fixed = loadgen(gen, addr, "--rate", "2000", "--duration", seconds, "--connections", "32")
    lat = fixed["latency_ms"]
    print(f"  latency at 2 000 req/s (open loop):        p50 {lat['p50']:.2f} ms   p99 {lat['p99']:.2f} ms   "
          f"p99.9 {lat['p999']:.2f} ms   ({fixed['answered']} answered, {fixed['errors']} errors)")
    idle = loadgen(gen, addr, "--rate", "200", "--duration", "5", "--connections", "8")
    print(f"  latency at 200 req/s (unloaded):           p50 {idle['latency_ms']['p50']:.2f} ms   "
          f"p99 {idle['latency_ms']['p99']:.2f} ms")
    sampler.running = False
    print(f"  collector peak RSS under load:             {sampler.peak / 1024:10.1f} MiB")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    events, size, files = lake_stats(data)
    print(f"  lake before full compaction:               {size / events:10.1f} bytes/event ({events} events, {files} files)")
    subprocess.run([collector, "compact"], env=dict(os.environ, MALLARD_DATA_DIR=data), check=True,
                   stderr=subprocess.DEVNULL)
    events, size, files = lake_stats(data)
    print(f"  lake after compaction:                     {size / events:10.1f} bytes/event ({events} events, {files} files)")
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
