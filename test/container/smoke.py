"""The container image, smoke-tested with podman (`make container-test`).

1. The image: its size; it runs as a non-root user; it has a HEALTHCHECK;
   no secret is baked in (no secret-looking MALLARD_* variable, an empty
   /data, and two fresh containers print different one-time setup tokens).
2. A container on a fresh volume, listening on 0.0.0.0 as by default: first-run
   setup with the setup token from its log, pageviews sent over HTTP, read back
   through the stats API (visitors and pageviews counted by hand from what was
   acknowledged), `podman healthcheck run` passes, the process is not root.
3. SIGTERM under load: the container exits 0 after flushing; every
   acknowledged event is in the volume's Parquet lake exactly once (plain
   DuckDB SQL over the files).
4. A new container on the same volume serves the same numbers.

Environment: PODMAN (the podman command line, with its flags), IMAGE.
"""

import http.client
import json
import os
import random
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

import duckdb

PODMAN = shlex.split(os.environ.get("PODMAN", "podman"))
# Leading VAR=value words of PODMAN (as the Makefile writes it) are its environment.
PODMAN_ENV = {}
while PODMAN and re.fullmatch(r"[A-Z_]+=.*", PODMAN[0]):
    key, _, value = PODMAN.pop(0).partition("=")
    PODMAN_ENV[key] = value
IMAGE = os.environ.get("IMAGE", "mallard-metrics:latest")
SITE = "smoke.example"
PASSWORD = "container smoke password 1"
CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")
TAG = f"mallard-smoke-{os.getpid()}"


def fail(message):
    print(f"container-test: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def podman(*args, check=True):
    r = subprocess.run(PODMAN + list(args), capture_output=True, text=True, env={**os.environ, **PODMAN_ENV})
    if check and r.returncode != 0:
        fail(f"podman {' '.join(args)} exited {r.returncode}: {r.stderr.strip()[-800:]}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    c.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return r.status, parsed, r


def run(name, volume, port, extra_env=()):
    """Starts a detached container on the host network (the only network
    podman has here), listening on 0.0.0.0:port like the image's default."""
    env = ["-e", f"MALLARD_LISTEN=0.0.0.0:{port}", "-e", "MALLARD_TRUST_PROXY=true",
           "-e", "MALLARD_FLUSH_INTERVAL=2s"]
    for e in extra_env:
        env += ["-e", e]
    podman("run", "-d", "--name", name, "--network", "host", "-v", f"{volume}:/data", *env, IMAGE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if call(port, "GET", "/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        if state not in ("running", "created", "configured"):
            fail(f"container {name} is {state}: {podman('logs', name, check=False).stderr[-2000:]}")
        time.sleep(0.3)
    fail(f"container {name} did not answer /health within 60 s")


def setup_token(name):
    deadline = time.time() + 20
    while time.time() < deadline:
        logs = podman("logs", name).stderr + podman("logs", name).stdout
        m = re.search(r"setup_token=(setup_[A-Za-z0-9_-]+)", logs)
        if m:
            return m.group(1)
        time.sleep(0.3)
    fail(f"{name} printed no setup token on 0.0.0.0")


def post(port, ident, ip):
    body = json.dumps({"n": "pageview", "u": f"https://{SITE}/page/{ident % 5}", "d": SITE,
                       "p": {"id": str(ident)}}).encode()
    try:
        status, _, _ = call(port, "POST", "/api/event", body,
                            {"User-Agent": CHROME, "Content-Type": "text/plain", "X-Forwarded-For": ip},
                            timeout=10)
        return status
    except (OSError, http.client.HTTPException):
        return 0


def login(port):
    status, body, r = call(port, "POST", "/api/auth/login", {"password": PASSWORD})
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    if status != 200 or not cookie:
        fail(f"login answered {status}: {body}")
    return {"Cookie": cookie}


def main_stats(port, auth):
    status, body, _ = call(port, "GET", f"/api/stats/main?site_id={SITE}&period=day", headers=auth, timeout=60)
    if status != 200:
        fail(f"/api/stats/main answered {status}: {body}")
    return body


def until_stats(port, auth, want, timeout=30):
    """Waits until the stats API counts `want` (visitors, pageviews)."""
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        body = main_stats(port, auth)
        got = (body["results"]["visitors"], body["results"]["pageviews"])
        if got == want:
            return body
        time.sleep(0.5)
    fail(f"stats API counts (visitors, pageviews) {got}, sent and acknowledged {want}")


def check_image():
    info = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
    config = info.get("Config", {})
    size = info.get("Size", 0)
    print(f"  image {IMAGE}: {size / 2**20:.0f} MiB, user {config.get('User')!r}")
    if config.get("User") in (None, "", "root", "0", "0:0"):
        fail(f"the image runs as root (User={config.get('User')!r})")
    if not (info.get("Healthcheck") or {}).get("Test"):
        fail("the image has no HEALTHCHECK (build with --format docker)")
    for var in config.get("Env", []):
        key, _, value = var.partition("=")
        if re.search(r"PASSWORD|SECRET|TOKEN|KEY", key) and value:
            fail(f"the image bakes in a secret-looking variable {key}")
    listing = podman("run", "--rm", "--network", "none", "--entrypoint", "/bin/ls", IMAGE, "-A", "/data").stdout
    if listing.strip():
        fail(f"the image's /data is not empty: {listing.split()}")
    rpath = podman("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", IMAGE, "-c",
                   "ldd /usr/local/bin/mallard-collector | grep duckdb").stdout
    if "/usr/local/bin/../lib/libduckdb.so" not in rpath:
        fail(f"the collector does not find libduckdb.so through $ORIGIN/../lib: {rpath.strip()}")
    down = podman("run", "--rm", "--network", "none", IMAGE, "health", check=False)
    if down.returncode == 0:
        fail("the health check passes with no collector running")
    print(f"  runs as {config.get('User')}, HEALTHCHECK set, no secret in env or /data, "
          f"libduckdb via {rpath.split('=>')[1].split('(')[0].strip()}")


class Load(threading.Thread):
    """Posts pageviews until told to stop or the collector goes away."""

    def __init__(self, port, first):
        super().__init__(daemon=True)
        self.port, self.next, self.acked = port, first, []
        self.stop = threading.Event()

    def run(self):
        misses = 0
        while not self.stop.is_set() and misses < 20:
            ident = self.next
            self.next += 1
            if post(self.port, ident, f"198.51.100.{ident % 50}") == 202:
                self.acked.append(ident)
                misses = 0
            else:
                misses += 1
                time.sleep(0.05)


def lake_ids(volume):
    mount = podman("volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout.strip()
    files = os.path.join(mount, "lake", f"site={SITE}", "*", "*.parquet")
    con = duckdb.connect()
    rows = con.execute(f"""SELECT props['id'] AS id, count(*) AS n
                           FROM read_parquet('{files}', hive_partitioning = false)
                           WHERE name = 'pageview' GROUP BY ALL""").fetchall()
    return {int(i): n for i, n in rows if i is not None}


def main():
    volume = f"{TAG}-data"
    names = [f"{TAG}-a", f"{TAG}-b", f"{TAG}-c"]
    try:
        check_image()
        podman("volume", "create", volume)

        # 1. A fresh volume, first-run setup with the token from the log.
        port = free_port()
        run(names[0], volume, port)
        token = setup_token(names[0])
        uid = podman("exec", names[0], "sh", "-c", "awk '/^Uid:/ {print $2}' /proc/1/status").stdout.strip()
        if uid in ("", "0"):
            fail(f"the collector in the container runs as uid {uid!r}")
        health = podman("healthcheck", "run", names[0], check=False)
        if health.returncode != 0:
            fail(f"podman healthcheck run failed: {health.stdout} {health.stderr}")
        status, body, _ = call(port, "POST", "/api/auth/setup", {"password": PASSWORD, "token": token})
        if status != 200:
            fail(f"first-run setup with the log's token answered {status}: {body}")
        print(f"  fresh volume: /health 200, healthcheck passes, process uid {uid}, setup with the log's token")
        auth = login(port)

        sent = list(range(1, 121))
        acked = [i for i in sent if post(port, i, f"203.0.113.{i % 12}") == 202]
        if len(acked) != len(sent):
            fail(f"{len(sent) - len(acked)} of {len(sent)} pageviews were not acknowledged")
        want = (len({i % 12 for i in acked}), len(acked))
        until_stats(port, auth, want)
        print(f"  {len(acked)} pageviews from {want[0]} visitors read back through /api/stats/main")

        # 2. SIGTERM under load: graceful exit, nothing acknowledged lost.
        load = Load(port, 1000)
        load.start()
        time.sleep(2)
        podman("kill", "--signal", "TERM", names[0])
        code = podman("wait", names[0]).stdout.strip()
        load.stop.set()
        load.join(30)
        logs = podman("logs", names[0]).stderr
        if code != "0":
            fail(f"the container exited {code} after SIGTERM: {logs[-2000:]}")
        if "shutting down" not in logs:
            fail("the collector did not log its graceful shutdown")
        acked += load.acked
        ids = lake_ids(volume)
        lost = sorted(set(acked) - set(ids))
        dup = sorted(i for i, n in ids.items() if n > 1)
        if lost or dup:
            fail(f"after SIGTERM the lake misses {len(lost)} acknowledged events (e.g. {lost[:5]}) "
                 f"and holds {len(dup)} twice")
        print(f"  SIGTERM under load: exit 0; {len(acked)} acknowledged ({len(load.acked)} during the load), "
              f"all in the volume's Parquet lake once (plain SQL), 0 lost")

        # 3. A new container on the same volume.
        podman("rm", names[0])
        port = free_port()
        run(names[1], volume, port)
        auth = login(port)
        want = (len({i % 12 for i in acked if i < 1000} | {f"l{i % 50}" for i in acked if i >= 1000}), len(acked))
        until_stats(port, auth, want)
        print(f"  new container on the same volume: the password and all {len(acked)} pageviews are there")
        podman("stop", "-t", "60", names[1])

        # 4. No secret in the image: another fresh container makes its own token.
        other = f"{TAG}-fresh"
        podman("volume", "create", other)
        port = free_port()
        try:
            run(names[2], other, port)
            if setup_token(names[2]) == token:
                fail("two fresh containers printed the same setup token")
        finally:
            podman("rm", "-f", names[2], check=False)
            podman("volume", "rm", "-f", other, check=False)
        print("  a second fresh container prints its own setup token")
    finally:
        for name in names:
            podman("rm", "-f", name, check=False)
        podman("volume", "rm", "-f", volume, check=False)
    print("container-test: passed")


if __name__ == "__main__":
    random.seed(1)
    main()
