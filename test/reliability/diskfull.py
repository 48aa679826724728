"""Disk full: the data directory on a small tmpfs. While the disk is full
ingestion must answer 503 — never 202 for an
event it could not make durable — and recover by itself once space returns;
every acknowledged event ends up in the lake exactly once. Needs root (it
mounts a tmpfs). (A read-only remount cannot be tested this way: the kernel
refuses it, EBUSY, while the WAL is open for writing; a write that fails
for that reason takes the same path as a full disk.)

usage: diskfull.py <collector binary>
"""

import http.client
import os
import subprocess
import sys
import tempfile
import time

from common import Collector, lake_ids, send

SITE = "full.example"


def burst(c, acked, statuses, prefix, n):
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    for i in range(n):
        ident = f"{prefix}-{i}"
        status = send(conn, SITE, ident)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 202:
            acked.add(ident)
        if status == 0:
            conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)


def until_accepting(c, acked, statuses, prefix, timeout=30):
    """Sends until a 202 comes back; returns the seconds it took."""
    start = time.time()
    i = 0
    while time.time() - start < timeout:
        before = len(acked)
        burst(c, acked, statuses, f"{prefix}-{i}", 5)
        i += 1
        if len(acked) > before:
            return time.time() - start
        time.sleep(0.2)
    sys.exit(f"{prefix}: ingestion did not recover within {timeout} s: {statuses}")


def main():
    if os.geteuid() != 0:
        sys.exit("diskfull.py needs root: it mounts a small tmpfs for the data directory")
    binary = sys.argv[1]
    mnt = tempfile.mkdtemp(prefix="mallard-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt], check=True)
    try:
        data = os.path.join(mnt, "data")
        c = Collector(binary, data, {"MALLARD_FLUSH_INTERVAL": "200ms"}).start()
        acked, report = set(), {}
        s = {}
        burst(c, acked, s, "before", 200)
        report["before"] = dict(s)
        c.wait_flushed()

        # Fill the disk to the last byte.
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * (1 << 16))
                    f.flush()
            except OSError:
                pass
        s = {}
        burst(c, acked, s, "full", 2000)
        report["disk full"] = dict(s)
        if s.get(503, 0) == 0:
            sys.exit(f"a full disk gave no 503: {s}")
        os.remove(filler)
        s = {}
        report["recovered after (s)"] = round(until_accepting(c, acked, s, "after-full"), 2)
        burst(c, acked, s, "after-full-more", 200)
        report["after space returned"] = dict(s)

        c.wait_flushed(timeout=120)
        c.stop()
        ids = lake_ids(data, SITE)
        lost = [i for i in acked if ids.get(i, 0) == 0]
        dup = [i for i, n in ids.items() if n > 1]
        print(f"disk-full test: {report}")
        print(f"  acknowledged {len(acked)}, in the lake {len(ids)}, lost {len(lost)}, duplicated {len(dup)}")
        if lost or dup:
            sys.exit(f"lost {lost[:5]}, duplicated {dup[:5]}")
    finally:
        subprocess.run(["umount", "-l", mnt])


if __name__ == "__main__":
    main()
