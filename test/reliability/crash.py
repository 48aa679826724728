"""Crash consistency at every point: SIGKILL the collector at random moments
while clients send events — with flushes every 100 ms, hot files every 50 ms
and compaction after every 2 files, so kills land during WAL appends, fsyncs,
Parquet writes, renames, WAL truncation and merges — restart it, and check
that every acknowledged (202) event is in the lake exactly once and no event
is in it twice.

usage: crash.py <collector binary> <runs> [work dir]
"""

import http.client
import os
import random
import shutil
import sys
import tempfile
import threading
import time

from common import Collector, lake_ids, send

SITE = "crash.example"
CLIENTS = 4


def main():
    binary, runs = sys.argv[1], int(sys.argv[2])
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp(prefix="mallard-crash-")
    data = os.path.join(work, "data")
    shutil.rmtree(data, ignore_errors=True)
    env = {"MALLARD_FLUSH_INTERVAL": "100ms", "MALLARD_HOT_INTERVAL": "50ms", "MALLARD_COMPACT_FILES": "2"}
    acked, sent = set(), 0
    rng = random.Random(20261129)
    started = time.time()
    for run in range(runs):
        c = Collector(binary, data, env).start()
        stop = threading.Event()
        lock = threading.Lock()

        def client(k):
            nonlocal sent
            conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
            n = 0
            while not stop.is_set():
                ident = f"{run}-{k}-{n}"
                n += 1
                status = send(conn, SITE, ident)
                with lock:
                    sent += 1
                    if status == 202:
                        acked.add(ident)
                if status == 0:
                    return

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 1.2))
        c.kill9()
        stop.set()
        for t in threads:
            t.join()
        # Restart: recovery replays the WAL; then everything must be there once.
        c = Collector(binary, data, env).start()
        c.wait_flushed()
        ids = lake_ids(data, SITE)
        lost = [i for i in acked if ids.get(i, 0) == 0]
        dup = [i for i, n in ids.items() if n > 1]
        if lost or dup:
            c.stop()
            sys.exit(f"run {run}: {len(lost)} acknowledged events lost (e.g. {lost[:3]}), "
                     f"{len(dup)} duplicated (e.g. {dup[:3]})")
        # Alternate: half the runs end with a graceful stop, half go straight on killing.
        c.kill9() if run % 2 else c.stop()
        if (run + 1) % 20 == 0:
            print(f"  {run + 1} kills: {len(acked)} acknowledged, all in the lake once", flush=True)
    ids = lake_ids(data, SITE)
    print(f"crash harness: {runs} SIGKILLs in {time.time() - started:.0f} s; {sent} requests, "
          f"{len(acked)} acknowledged, {sum(1 for i in acked if i not in ids)} lost, "
          f"{sum(1 for n in ids.values() if n > 1)} duplicated; {len(ids)} events in the lake")


if __name__ == "__main__":
    main()
