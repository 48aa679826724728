"""Scans every log line the collector wrote during the HTTP test suite for
secrets the tests used: passwords, session/API/share tokens, salts and
client IP addresses (recorded by the tests in secrets.txt), and for any
IPv4 address that is not the server's own loopback or wildcard address.

usage: logscan.py <dir with *.log and secrets.txt>
"""

import glob
import ipaddress
import os
import re
import sys

IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def main() -> None:
    folder = sys.argv[1]
    with open(os.path.join(folder, "secrets.txt"), encoding="utf-8") as f:
        secrets = sorted({line.strip() for line in f if line.strip()})
    logs = sorted(glob.glob(os.path.join(folder, "*.log")))
    lines = 0
    found = []
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                lines += 1
                for s in secrets:
                    if s in line:
                        found.append(f"{os.path.basename(path)}:{n}: a secret ({s[:4]}…): {line.strip()[:160]}")
                for ip in IPV4.findall(line):
                    try:
                        addr = ipaddress.ip_address(ip)
                    except ValueError:
                        continue
                    if not (addr.is_loopback or addr.is_unspecified):
                        found.append(f"{os.path.basename(path)}:{n}: an IP address {ip}: {line.strip()[:160]}")
    # The scan must have had something to look at.
    kinds = {
        "passwords": any(" " in s for s in secrets),
        "tokens": any(s.startswith("mm_") for s in secrets),
        "ips": any(IPV4.fullmatch(s) for s in secrets),
    }
    print(f"log scan: {lines} log lines from {len(logs)} collector runs, {len(secrets)} secrets, {len(found)} leaks")
    if len(logs) < 10 or lines < 100 or not all(kinds.values()):
        sys.exit(f"the scan saw too little to mean anything: {len(logs)} logs, {lines} lines, kinds {kinds}")
    if found:
        print("\n".join(found[:50]))
        sys.exit(1)


if __name__ == "__main__":
    main()
