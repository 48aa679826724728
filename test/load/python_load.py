"""Loads the extension into this Python's DuckDB and checks mallard_visitor_id
against an independent HMAC-SHA256 (Python's hmac) on fixed and random
vectors, including non-ASCII, empty strings and long inputs."""

import hashlib
import hmac
import random
import sys

import duckdb


def reference(salt: str, site: str, ip: str, ua: str) -> int:
    message = site.encode() + b"\0" + ip.encode() + b"\0" + ua.encode()
    return int.from_bytes(hmac.new(salt.encode(), message, hashlib.sha256).digest()[:8], "big")


def random_text(rng: random.Random) -> str:
    alphabet = "abcXYZ019 ./:;-_()" + "äöüßéñ" + "ключ" + "例え日本" + "🦆🚀"
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 40, 300])))


def main() -> None:
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{sys.argv[1]}'")
    rng = random.Random(20261128)
    vectors = [
        ("s", "example.com", "1.2.3.4", "Mozilla/5.0"),
        ("ключ", "例え.jp", "10.0.0.1", "Ünïcødé/1.0 🦆"),
        ("", "", "", ""),
    ] + [tuple(random_text(rng) for _ in range(4)) for _ in range(1000)]
    con.execute("CREATE TABLE v(n INTEGER, salt VARCHAR, site VARCHAR, ip VARCHAR, ua VARCHAR)")
    con.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?)", [(i, *v) for i, v in enumerate(vectors)])
    got = con.execute("SELECT mallard_visitor_id(salt, site, ip, ua) FROM v ORDER BY n").fetchall()
    mismatches = [(v, g[0], reference(*v)) for v, g in zip(vectors, got) if g[0] != reference(*v)]
    if len(got) != len(vectors) or mismatches:
        print(f"mallard_visitor_id differs from Python hmac: {mismatches[:3]}", file=sys.stderr)
        sys.exit(1)
    print(f"duckdb {duckdb.__version__}: loaded; mallard_visitor_id = Python hmac on {len(vectors)} vectors")


if __name__ == "__main__":
    main()
