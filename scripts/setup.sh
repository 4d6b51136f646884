#!/usr/bin/env bash
# Installs what stac-repository needs to build, test and run its demo, when it is missing:
# Debian packages (libgit2, git-lfs, libcurl, python3 with venv and pip), the Git LFS filters,
# and, in a virtual environment the project owns (.build-tools/venv, or $STAC_REPOSITORY_TOOLS/venv),
# the `just` task runner and the Python packages the tests use (pystac, jsonschema, moto, pyarrow, stac-geoparquet, rustac), plus
# giftless in a venv of its own. Nothing goes into the system's (or pyenv's) Python. Safe to run again.
#
# With --bench-tools: the Python `stac-repository` 0.0.6 (PyPI) that `just bench` compares against,
# in a venv of its own ($TOOLS/bench-venv); scripts/bench.py also creates it on first use.
#
# Usage: scripts/setup.sh [--test-tools | --bench-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${STAC_REPOSITORY_TOOLS:-$PWD/.build-tools}"
VENV="$TOOLS/venv"

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need_apt=()
dpkg -s libgit2-dev >/dev/null 2>&1 || need_apt+=(libgit2-dev)
dpkg -s git-lfs >/dev/null 2>&1 || need_apt+=(git-lfs)
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need_apt+=(libcurl4-openssl-dev)
dpkg -s libzstd-dev >/dev/null 2>&1 || need_apt+=(libzstd-dev) # zstd pages of export --format geoparquet
dpkg -s pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
dpkg -s python3 >/dev/null 2>&1 || need_apt+=(python3)
dpkg -s python3-venv >/dev/null 2>&1 || need_apt+=(python3-venv)
dpkg -s python3-pip >/dev/null 2>&1 || need_apt+=(python3-pip)
command -v git >/dev/null 2>&1 || need_apt+=(git)
[ -x /usr/bin/time ] || need_apt+=(time) # GNU time: peak memory in just bench
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Without the LFS filters in git's config, `git status` marks every asset modified and
# `git lfs pull` leaves pointers. The tool itself never needs them.
if ! git config --get filter.lfs.process >/dev/null 2>&1; then
    echo "setup: installing the Git LFS filters (git lfs install)" >&2
    if [ "$(id -u)" = "0" ]; then git lfs install --system --skip-repo >/dev/null; else git lfs install --skip-repo >/dev/null; fi
fi

# Debian's interpreter, not whatever comes first on PATH (a pyenv or conda Python works too, but
# the venv must not depend on it).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

make_venv() { # DIR
    if [ ! -x "$1/bin/python" ] || ! "$1/bin/python" -c 'import sys' >/dev/null 2>&1; then
        rm -rf "$1"
        "$PYTHON" -m venv "$1"
    fi
}

make_venv "$VENV"
if [ ! -x "$VENV/bin/just" ]; then
    echo "setup: installing the just task runner (PyPI rust-just) in $VENV" >&2
    "$VENV/bin/python" -m pip install -q rust-just
fi

if [ "${1:-}" = "--test-tools" ]; then
    # A private sshd for the ssh remote tests (SSHRemoteTests start their own on 127.0.0.1; the
    # system service is never started: a policy-rc.d that denies starts while the package installs).
    if [ ! -x /usr/sbin/sshd ]; then
        echo "setup: installing openssh-server (the tests run their own sshd; the service is not started)" >&2
        policy=""
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            policy=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
        fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq openssh-server >/dev/null
        if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
    fi
    [ -d /run/sshd ] || $SUDO install -d -m 0755 /run/sshd # sshd's privilege separation directory
    missing=()
    "$VENV/bin/python" -c 'import pystac' 2>/dev/null || missing+=(pystac)
    "$VENV/bin/python" -c 'import jsonschema' 2>/dev/null || missing+=(jsonschema)
    "$VENV/bin/python" -c 'import boto3' 2>/dev/null || missing+=(boto3)
    [ -x "$VENV/bin/moto_server" ] || missing+=('moto[server]')
    # Readers of export --format geoparquet (tests only): pyarrow, stac-geoparquet (with shapely), rustac.
    "$VENV/bin/python" -c 'import pyarrow.parquet' 2>/dev/null || missing+=(pyarrow)
    "$VENV/bin/python" -c 'import stac_geoparquet, shapely' 2>/dev/null || missing+=(stac-geoparquet shapely)
    "$VENV/bin/python" -c 'import rustac' 2>/dev/null || missing+=(rustac)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Python packages in $VENV: ${missing[*]}" >&2
        "$VENV/bin/python" -m pip install -q "${missing[@]}"
    fi
    giftless="$TOOLS/giftless"
    if [ ! -x "$giftless/bin/flask" ]; then
        echo "setup: installing giftless (a Git LFS server for the tests) in $giftless" >&2
        make_venv "$giftless"
        "$giftless/bin/python" -m pip install -q giftless==0.6.2 flask==2.3.3 werkzeug==3.0.3 flask-classful==0.16.0 \
            flask-marshmallow==0.15.0 marshmallow==3.21.1 webargs==8.4.0 figcan==0.0.4 pyyaml==6.0.1 \
            pyjwt==2.8.0 python-dotenv==1.0.1 python-dateutil==2.9.0.post0 typing-extensions==4.10.0 \
            cachetools==5.3.3 importlib-metadata==7.0.2 cryptography
    fi
    # giftless's S3 storage adapter (tests of giftless on moto) needs boto3 in its venv.
    if ! "$giftless/bin/python" -c 'import boto3' 2>/dev/null; then
        echo "setup: installing boto3 in $giftless" >&2
        "$giftless/bin/python" -m pip install -q boto3==1.44.8
    fi
fi

if [ "${1:-}" = "--bench-tools" ]; then
    bench="$TOOLS/bench-venv"
    if [ "$("$bench/bin/stac-repository" version 2>/dev/null)" != "0.0.6" ]; then
        echo "setup: installing stac-repository==0.0.6 (the Python tool just bench compares with) in $bench" >&2
        make_venv "$bench"
        "$bench/bin/python" -m pip install -q stac-repository==0.0.6
    fi
fi
