#!/usr/bin/env bash
# The one place that installs what the build and the checks need on a fresh
# Debian machine. `make run` calls it with `build`, `make test` (and so
# `.ci/run`) with `test`. Python venvs and npm packages are not system
# packages: the Makefile builds those itself, into ~/.cache/mallard and
# test/browser/node_modules.
#
#   build: cargo, curl (pinned downloads), objcopy (binutils: splits the
#          extension's debug info off)
#   test:  the above, plus rustfmt and clippy, python3 with venv (the DuckDB
#          hosts of the SQL suite), Node.js and npm (browser tests, vendored
#          dashboard check), Chromium from Debian (browser tests) and
#          PostgreSQL from Debian (the shared-lake tests' catalog), and what
#          `image` installs
#   image: podman and runc (build and run the container image), debootstrap
#          (its Debian base, made locally: no registry is reachable)
set -euo pipefail
profile="${1:-test}"

have() { command -v "$1" >/dev/null 2>&1; }
# dpkg's own record, not a file on disk: a binary moved aside still leaves
# the package "installed", and a removed package may leave files behind.
installed() {
  if have dpkg-query; then
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
  else
    have "$1"
  fi
}

have cargo || { echo "install.sh: cargo is missing: install Rust (https://rustup.rs), then run make again" >&2; exit 1; }

packages=()
have curl || packages+=(curl)
have objcopy || packages+=(binutils)
if [ "$profile" = test ] || [ "$profile" = image ]; then
  installed podman || packages+=(podman)
  installed runc || packages+=(runc)
  installed debootstrap || packages+=(debootstrap)
fi
if [ "$profile" = test ]; then
  have python3 || packages+=(python3)
  { have python3 && python3 -c 'import venv, ensurepip' 2>/dev/null; } || packages+=(python3-venv)
  installed chromium && [ -x /usr/bin/chromium ] || packages+=(chromium)
  # The shared-lake tests run a PostgreSQL catalog on loopback.
  installed postgresql || packages+=(postgresql)
  # Node.js comes with this machine kind as a NodeSource build whose package
  # conflicts with Debian's `npm`: never reinstall it from here.
  if ! have node || ! have npm; then
    echo "install.sh: Node.js and npm are missing: install Node.js 18 or newer with npm (https://nodejs.org), then run make again" >&2
    exit 1
  fi
fi

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif have sudo && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "install.sh: missing ${packages[*]}: run 'sudo apt-get install ${packages[*]}' (or make as root), then make again" >&2
    exit 1
  fi
  have apt-get || { echo "install.sh: missing ${packages[*]} and no apt-get here: install them, then make again" >&2; exit 1; }
  echo "install.sh: installing ${packages[*]} from Debian"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi

if [ "$profile" = test ]; then
  cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
  cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
fi
