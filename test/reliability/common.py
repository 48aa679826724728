"""Shared pieces of the reliability harnesses: a real collector process on a
port, events with unique ids, and the lake read back with plain DuckDB."""

import http.client
import json
import os
import signal
import subprocess
import time

import duckdb

CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
          "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")


class Collector:
    """mallard-collector on 127.0.0.1:<free port> over `data_dir`."""

    def __init__(self, binary, data_dir, env=None, cpus=None):
        self.binary, self.data_dir, self.extra = binary, data_dir, env or {}
        self.cpus = cpus  # pin the process to these CPUs
        self.proc = None
        self.port = None

    def start(self, timeout=30):
        env = dict(os.environ, MALLARD_LISTEN="127.0.0.1:0", MALLARD_DATA_DIR=self.data_dir,
                   MALLARD_LOG_FORMAT="json", **self.extra)
        pin = (lambda: os.sched_setaffinity(0, self.cpus)) if self.cpus else None
        self.proc = subprocess.Popen([self.binary], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, preexec_fn=pin)
        deadline = time.time() + timeout
        for line in self.proc.stderr:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "listening":
                self.port = int(entry["addr"].rsplit(":", 1)[1])
                break
            if time.time() > deadline:
                raise RuntimeError("collector did not start")
        else:
            raise RuntimeError(f"collector exited with {self.proc.wait()}")
        # Keep draining its log so it never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        return self

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def wait_flushed(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                status, body = self.get("/health/detailed")
                if status == 200 and json.loads(body)["buffered_events"] == 0:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("events were not flushed in time")


def event(site, ident):
    """A pageview carrying a unique id in its props."""
    return json.dumps({"n": "pageview", "u": f"https://{site}/p", "d": site, "p": {"id": ident}}).encode()


def send(conn, site, ident):
    """POSTs one event; returns the status (0 when the connection failed)."""
    try:
        conn.request("POST", "/api/event", event(site, ident), {"User-Agent": CHROME, "Content-Type": "text/plain"})
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return 0


def visible_files(partition):
    """The lake format's reading rule (README, "The lake, format v1"): files
    are named <from>-<to>.parquet by the WAL segments they hold; a file whose
    range lies inside another file's range is hidden (the merge that
    replaced it landed before its inputs were deleted)."""
    ranges = []
    for name in sorted(os.listdir(partition)):
        stem, dot, ext = name.partition(".")
        if ext != "parquet" or name.startswith("."):
            continue
        a, b = stem.split("-")
        ranges.append((int(a, 16), int(b, 16), os.path.join(partition, name)))
    return [p for i, (f, t, p) in enumerate(ranges)
            if not any(j != i and g <= f and t <= h and ((g, h) != (f, t) or j < i)
                       for j, (g, h, _) in enumerate(ranges))]


def lake_ids(data_dir, site):
    """id → number of rows holding it, as a reader of the lake sees it,
    counted with plain DuckDB."""
    root = os.path.join(data_dir, "lake", f"site={site}")
    if not os.path.isdir(root):
        return {}
    files = [f for day in sorted(os.listdir(root)) for f in visible_files(os.path.join(root, day))]
    if not files:
        return {}
    con = duckdb.connect()
    rows = con.execute(
        "SELECT props['id'], count(*) FROM read_parquet(?, hive_partitioning = false) GROUP BY 1", [files]).fetchall()
    return {k: n for k, n in rows}
