#!/usr/bin/env bash
# Runs COMMAND... as a new user would on a fresh Debian 12 with Swift and nothing else: `env -i`,
# a fresh empty HOME (no user config, no pip --user packages, no pyenv), Debian's /usr/bin/python3
# first on PATH, then Swift's directory. CI runs the README's Quick start commands through it, so
# whatever they need must come from scripts/setup.sh, not from this machine's environment.
#
# Usage: scripts/clean-env.sh COMMAND...
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/python3 ]; then
    echo "clean-env: installing Debian's python3 (a stock Debian 12 has it)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
for module in pystac jsonschema moto; do
    if /usr/bin/python3 -c "import $module" 2>/dev/null; then
        echo "clean-env: note: /usr/bin/python3 can import $module here; the tools must not rely on it" >&2
    fi
done
swift="$(command -v swift || true)"
[ -n "$swift" ] || { echo "clean-env: error: swift is not on PATH; install Swift 6 first." >&2; exit 1; }
home="$(mktemp -d "${TMPDIR:-/tmp}/stac-repository-clean-home.XXXXXX")"
trap 'rm -rf "$home"' EXIT
# pip's download cache is kept (it makes nothing importable, it only saves downloading the same
# wheels again); everything else starts empty.
pip_cache="${PIP_CACHE_DIR:-${HOME:-/root}/.cache/pip}"
env -i HOME="$home" PIP_CACHE_DIR="$pip_cache" PATH="/usr/bin:/bin:/usr/sbin:/sbin:$(dirname "$swift")" LANG=C.UTF-8 \
    ${CI:+CI="$CI"} ${STAC_REPOSITORY_TOOLS:+STAC_REPOSITORY_TOOLS="$STAC_REPOSITORY_TOOLS"} "$@"
