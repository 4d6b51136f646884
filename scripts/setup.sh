#!/usr/bin/env bash
# Installs what stac-repository needs to build, test and run its demo, when it is missing:
# Debian packages (libgit2, git-lfs, libcurl), the `just` task runner, and the Python packages
# the tests use (pystac, jsonschema, moto, and giftless in its own venv). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need_apt=()
dpkg -s libgit2-dev >/dev/null 2>&1 || need_apt+=(libgit2-dev)
dpkg -s git-lfs >/dev/null 2>&1 || need_apt+=(git-lfs)
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need_apt+=(libcurl4-openssl-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v git >/dev/null 2>&1 || need_apt+=(git)
[ -x /usr/bin/time ] || need_apt+=(time)   # GNU time: peak memory in just bench
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PIP="python3 -m pip"
if ! command -v just >/dev/null 2>&1; then
  echo "setup: installing the just task runner (pip rust-just)" >&2
  $PIP install -q rust-just 2>/dev/null || $PIP install -q --user rust-just
  # pyenv serves scripts through shims that exist only after a rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi

if [ "${1:-}" = "--test-tools" ]; then
  missing=()
  python3 -c 'import pystac' 2>/dev/null || missing+=(pystac)
  python3 -c 'import jsonschema' 2>/dev/null || missing+=(jsonschema)
  command -v moto_server >/dev/null 2>&1 || missing+=('moto[server]')
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Python packages: ${missing[*]}" >&2
    $PIP install -q "${missing[@]}"
  fi
  venv=.build-tools/giftless
  if [ ! -x "$venv/bin/flask" ]; then
    echo "setup: installing giftless (a Git LFS server for the tests) in $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q giftless==0.6.2 flask==2.3.3 werkzeug==3.0.3 flask-classful==0.16.0 \
      flask-marshmallow==0.15.0 marshmallow==3.21.1 webargs==8.4.0 figcan==0.0.4 pyyaml==6.0.1 \
      pyjwt==2.8.0 python-dotenv==1.0.1 python-dateutil==2.9.0.post0 typing-extensions==4.10.0 \
      cachetools==5.3.3 importlib-metadata==7.0.2 cryptography
  fi
fi
