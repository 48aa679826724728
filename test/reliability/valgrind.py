"""Sorts the memcheck errors of `make valgrind` by where they happen: in a
frame of the mallard extension (a finding: exit 1), in DuckDB, or only in
CPython (its interpreter start-up is known to read uninitialised memory on
purpose, e.g. in small-int caching).

usage: valgrind.py <log dir>
"""

import collections
import glob
import os
import re
import sys

KIND = re.compile(r"==\d+== (Invalid [a-z]+ of size \d+|Conditional jump[^\n]*|Use of uninitialised[^\n]*"
                  r"|Syscall param[^\n]*|Mismatched free[^\n]*|Invalid free[^\n]*|Source and destination overlap[^\n]*)")


# A frame in the extension: its symbols, or its file when symbols are missing
# (not just "mallard": the venvs live under ~/.cache/mallard).
MALLARD = re.compile(r"mallard(_core)?::|mallard\.duckdb_extension|libmallard")


def main():
    logs = glob.glob(os.path.join(sys.argv[1], "vg.*.log"))
    kinds = collections.Counter()
    ours, duckdb, python = [], 0, 0
    for path in logs:
        with open(path, errors="replace") as f:
            for block in re.split(r"\n==\d+== \n", f.read()):
                m = KIND.search(block)
                if not m:
                    continue
                kinds[m.group(1)] += 1
                frames = [line for line in block.splitlines() if re.search(r"(at|by) 0x", line)]
                if any(MALLARD.search(line) for line in frames):
                    ours.append(block)
                elif any("duckdb" in line for line in frames):
                    duckdb += 1
                else:
                    python += 1
    print(f"valgrind: {len(logs)} host processes, {sum(kinds.values())} error reports: "
          f"{len(ours)} in mallard frames, {duckdb} in DuckDB, {python} only in CPython")
    for kind, n in kinds.most_common():
        print(f"  {n:6d}  {kind}")
    for block in ours[:10]:
        print("----\n" + block[:4000])
    sys.exit(1 if ours else 0)


if __name__ == "__main__":
    main()
