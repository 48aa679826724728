#!/usr/bin/env bash
# The extension file loads everywhere a user would load it:
#  - the DuckDB CLI (PyPI duckdb-cli, the reference version), by path;
#  - the CLI again by name after `make install` (into a throwaway HOME);
#  - Python DuckDB at the reference version, the newest 1.5.x and the newest 2.0.x, where
#    mallard_visitor_id is also checked against Python's own hmac module.
# Env: MALLARD_EXT, DUCKDB_CLI, PYTHON_REF, PYTHON_ALSO (the newest 1.5.x), PYTHON_NEWEST,
# PYTHON_OLD (older than we support: must refuse the file by name).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fail() { echo "load-test FAILED: $*" >&2; exit 1; }
checks=0

out=$("$DUCKDB_CLI" -unsigned -csv -noheader -c "LOAD '$MALLARD_EXT'; SELECT mallard_version(), mallard_visitor_id('s','example.com','1.2.3.4','Mozilla/5.0'), unnest(mallard_parse_ua('Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1')), mallard_is_bot('curl/8.4.0'), mallard_referrer_source('https://www.google.com/search?q=x','example.com');")
version=$(grep -E '^version = ' "$root/Cargo.toml" | head -1 | cut -d'"' -f2)
want="$version,2278945468666064428,Mobile Safari,17.1,iOS,17.1,mobile,true,Google"
[ "$out" = "$want" ] || fail "CLI by path printed '$out', wanted '$want'"
checks=$((checks + 1))

# Without -unsigned the CLI must refuse the unsigned file (and say why).
if "$DUCKDB_CLI" -c "LOAD '$MALLARD_EXT';" 2>/dev/null; then
  fail "an unsigned extension loaded without allow_unsigned_extensions"
fi
checks=$((checks + 1))

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
# rustup and cargo find their homes through HOME: pin them before replacing it.
RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} \
  make -s -C "$root" install HOME="$home" >/dev/null
out=$(HOME="$home" "$DUCKDB_CLI" -unsigned -csv -noheader -c "LOAD mallard; SELECT mallard_is_bot('Wget/1.21');")
[ "$out" = "true" ] || fail "LOAD mallard by name after make install printed '$out'"
checks=$((checks + 1))

for py in "$PYTHON_REF" "$PYTHON_ALSO" "$PYTHON_NEWEST"; do
  "$py" "$here/python_load.py" "$MALLARD_EXT" || fail "Python host $py"
  checks=$((checks + 1))
done
# An older DuckDB accepts the C API version but is refused by name.
if out=$("$PYTHON_OLD" -c "
import duckdb, sys
con = duckdb.connect(config={'allow_unsigned_extensions': 'true'})
try:
    con.execute(\"LOAD '$MALLARD_EXT'\")
except Exception as e:
    print(e); sys.exit(0)
sys.exit(1)"); then
  case $out in *"mallard needs DuckDB 1.5.5 or newer"*) ;; *) fail "DuckDB $("$PYTHON_OLD" -c 'import duckdb; print(duckdb.__version__)') said '$out'" ;; esac
else
  fail "an older DuckDB loaded the file"
fi
checks=$((checks + 1))
echo "load-test: $checks checks passed (CLI by path, unsigned refused, LOAD by name, older refused, Python $(for py in "$PYTHON_REF" "$PYTHON_ALSO" "$PYTHON_NEWEST"; do "$py" -c 'import duckdb; print(duckdb.__version__)'; done | paste -sd' '))"
