"""Email digests against a real SMTP server (aiosmtpd) on loopback.

A collector over a copy of the fixture lake, with MALLARD_SMTP_URL pointing at
the test's SMTP server, gets a monthly and a weekly subscriber. Checked:

1. The digests arrive (sent because their periods ended before the
   collector started: a missed digest is sent when it is back); each one's
   visitors, visits, pageviews, top pages and sources equal the stats API's
   for the range the message names; the message has a one-click unsubscribe
   link (List-Unsubscribe + List-Unsubscribe-Post).
2. A restart sends nothing again.
3. The unsubscribe link's page does not unsubscribe on GET; its POST does,
   and the address is no longer listed.
4. Users opt in themselves (/api/digests/mine): an invited viewer gets the
   weekly digest at their own address; a user whose role on the site was
   taken away after opting in gets nothing.

usage: python digest.py <mallard-collector>
"""

import email
import email.policy
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from aiosmtpd.controller import Controller

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SITE = "example.com"
PASSWORD = "the owner's long password"
# Headers of every call: the owner's session once logged in.
AUTH = {}


def fail(message):
    print(f"email-test: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


def call(port, method, path, body=None, headers=None, reply=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Content-Type": "application/json", **(AUTH if headers is None else headers)}
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    raw = r.read()
    if reply:
        return r.status, raw.decode(), r
    return r.status, raw.decode()


def session(port, status, reply):
    """The session headers from a login (or invitation) reply."""
    if status != 200:
        fail(f"login: {status}")
    cookie = reply.getheader("Set-Cookie").split(";")[0]
    return {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}


def login(port):
    AUTH.clear()
    status, _, r = call(port, "POST", "/api/auth/login", {"password": PASSWORD}, reply=True)
    AUTH.update(session(port, status, r))


def join(port, name):
    """Invites `name` as a viewer of SITE; they accept: their session headers and user id."""
    status, body = call(port, "POST", f"/api/invitations?site_id={SITE}", {"name": name, "role": "viewer"})
    if status != 201:
        fail(f"inviting {name}: {status} {body}")
    token = json.loads(body)["url"].rsplit("/invite/", 1)[1]
    status, body, r = call(port, "POST", "/api/invitations/accept", {"token": token, "password": f"{name} secret"},
                           headers={}, reply=True)
    users = json.loads(call(port, "GET", f"/api/users?site_id={SITE}")[1])["users"]
    return session(port, status, r), next(u["id"] for u in users if u["name"] == name)


def start(binary, data, port, smtp_port):
    env = {**os.environ, "MALLARD_DATA_DIR": data, "MALLARD_LISTEN": f"127.0.0.1:{port}",
           "MALLARD_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "MALLARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "MALLARD_SMTP_FROM": "Mallard <stats@example.com>", "MALLARD_ADMIN_PASSWORD": PASSWORD}
    p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        try:
            if call(port, "GET", "/health", headers={})[0] == 200:
                login(port)
                return p
        except OSError:
            time.sleep(0.1)
    fail("the collector did not start")


def stop(p):
    p.terminate()
    p.wait(60)


def wait_for(inbox, count, timeout=75):
    deadline = time.time() + timeout
    while time.time() < deadline and len(inbox.messages) < count:
        time.sleep(0.5)
    return len(inbox.messages) >= count


def check_digest(port, raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_content().replace("\r\n", "\n")
    subject = msg["Subject"]
    m = re.search(r"(weekly|monthly) report, (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", subject)
    if not m:
        fail(f"subject {subject!r} names no period")
    cadence, start_date, end_date = m.groups()
    q = f"site_id={SITE}&period=custom&date={start_date},{end_date}"
    status, main = call(port, "GET", f"/api/stats/main?{q}")
    main = json.loads(main)["results"]
    for key, label in [("visitors", "Visitors"), ("visits", "Visits"), ("pageviews", "Pageviews")]:
        got = re.search(rf"^{label}: (\d+)", body, re.M)
        if not got or int(got.group(1)) != main[key]:
            fail(f"{cadence} digest says {label} {got and got.group(1)}, the stats API {main[key]}\n{body}")
    for dimension, title in [("event:page", "Top pages"), ("visit:source", "Top sources")]:
        rows = json.loads(call(port, "GET", f"/api/stats/breakdown/{dimension}?{q}&limit=5")[1])["results"]
        want = [f"  {r['value']}  {r['visitors']}" for r in rows]
        if f"{title}:\n" not in body:
            fail(f"{cadence} digest has no {title}:\n{body}")
        section = body.split(f"{title}:\n", 1)[1].split("\n\n", 1)[0].rstrip("\n").split("\n")
        section = [line for line in section if line.startswith("  ")]
        if section != want:
            fail(f"{cadence} digest's {title} {section}, the stats API {want}")
    unsubscribe = msg["List-Unsubscribe"]
    if not unsubscribe or msg["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
        fail(f"no one-click unsubscribe headers: {unsubscribe!r}")
    return cadence, (start_date, end_date), main, unsubscribe.strip("<>")


def main():
    binary = sys.argv[1]
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    work = tempfile.mkdtemp(prefix="mallard-email-")
    data = os.path.join(work, "data")
    shutil.copytree(os.path.join(ROOT, "test", "fixtures", "lake"), os.path.join(data, "lake"))
    port = free_port()
    p = start(binary, data, port, smtp_port)
    try:
        for who, cadences in [("month@example.org", {"monthly": True, "weekly": False}),
                              ("week@example.org", {"monthly": False, "weekly": True})]:
            status, body = call(port, "PUT", f"/api/digests?site_id={SITE}", {"email": who, **cadences})
            if status != 200:
                fail(f"subscribing {who}: {status} {body}")
        status, body = call(port, "PUT", f"/api/digests?site_id={SITE}", {"email": "not an address", "weekly": True})
        if status != 400:
            fail(f"a bad address was accepted: {status} {body}")
        # Users opt in themselves: a viewer, and one who then loses the site.
        vera, _ = join(port, "vera@example.org")
        status, body = call(port, "PUT", f"/api/digests/mine?site_id={SITE}", {"weekly": True}, headers=vera)
        if status != 200 or json.loads(body)["email"] != "vera@example.org":
            fail(f"vera's opt-in: {status} {body}")
        gone, gone_id = join(port, "gone@example.org")
        status, body = call(port, "PUT", f"/api/digests/mine?site_id={SITE}", {"monthly": True, "weekly": True},
                            headers=gone)
        if status != 200:
            fail(f"gone's opt-in: {status} {body}")
        status, body = call(port, "DELETE", f"/api/users?site_id={SITE}&id={gone_id}")
        if status != 200:
            fail(f"taking gone's role away: {status} {body}")
        # The housekeeping pass (every 30 s) sends what is due.
        if not wait_for(inbox, 3):
            fail(f"{len(inbox.messages)} digests arrived within 75 s, expected 3")
        time.sleep(3)
        seen = {}
        recipients = sorted(r for rcpt, _ in inbox.messages for r in rcpt)
        if recipients != ["month@example.org", "vera@example.org", "week@example.org"]:
            fail(f"digests went to {recipients}")
        for rcpt, raw in inbox.messages:
            cadence, period, numbers, link = check_digest(port, raw)
            seen.setdefault(cadence, (rcpt, period, numbers, link))
        if set(seen) != {"monthly", "weekly"} or seen["monthly"][0] != ["month@example.org"]:
            fail(f"unexpected digests: {seen}")
        print("  a viewer who opted in got the weekly digest at their address; a user whose role was taken got none")
        print(f"  monthly digest {seen['monthly'][1]}: visitors, visits, pageviews {[seen['monthly'][2][k] for k in ('visitors', 'visits', 'pageviews')]} "
              f"and top pages/sources = /api/stats for the same range; weekly {seen['weekly'][1]} likewise")
        stop(p)

        # A restart does not send them again.
        p = start(binary, data, port, smtp_port)
        time.sleep(40)
        if len(inbox.messages) != 3:
            fail(f"a restart sent {len(inbox.messages) - 3} digests again")
        print("  a restart sent nothing again (each period's digest goes out once)")

        link = urllib.parse.urlsplit(seen["monthly"][3])
        path = f"{link.path}?{link.query}"
        status, page = call(port, "GET", path)
        if status != 200 or "method=post" not in page:
            fail(f"the unsubscribe page: {status} {page[:200]}")
        listed = json.loads(call(port, "GET", f"/api/digests?site_id={SITE}")[1])["subscribers"]
        if "month@example.org" not in [s["email"] for s in listed]:
            fail("opening the unsubscribe page unsubscribed (a link scanner would)")
        status, page = call(port, "POST", path)
        listed = json.loads(call(port, "GET", f"/api/digests?site_id={SITE}")[1])["subscribers"]
        if status != 200 or "month@example.org" in [s["email"] for s in listed]:
            fail(f"one-click unsubscribe: {status}, still listed: {listed}")
        if call(port, "POST", path)[0] != 404:
            fail("an unsubscribe link worked twice")
        print("  one-click unsubscribe: the page's GET keeps the address, its POST removes it")
    finally:
        stop(p)
        controller.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("email-test: passed")


if __name__ == "__main__":
    main()
