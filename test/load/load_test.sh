#!/usr/bin/env bash
# The extension file loads everywhere a user would load it:
#  - the DuckDB CLI (PyPI duckdb-cli, the reference version), by path;
#  - the CLI again by name after `make install` (into a throwaway HOME);
#  - Python DuckDB at the reference version and the newest 2.0.x, where
#    mallard_visitor_id is also checked against Python's own hmac module.
# Env: MALLARD_EXT, DUCKDB_CLI, PYTHON_REF, PYTHON_NEWEST.
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

for py in "$PYTHON_REF" "$PYTHON_NEWEST"; do
  "$py" "$here/python_load.py" "$MALLARD_EXT" || fail "Python host $py"
  checks=$((checks + 1))
done
echo "load-test: $checks checks passed (CLI by path, unsigned refused, LOAD by name, Python $("$PYTHON_REF" -c 'import duckdb; print(duckdb.__version__)') and $("$PYTHON_NEWEST" -c 'import duckdb; print(duckdb.__version__)'))"
