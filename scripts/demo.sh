#!/usr/bin/env bash
# The demo: a repository in a temporary folder, the sample catalog ingested, history, export.
set -euo pipefail
BIN="${1:?usage: demo.sh PATH-TO-stac-repository}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/stac-repository-demo.XXXXXX")"
REPO="$WORK/repo"
if [ -t 1 ]; then B=$'\033[1m'; N=$'\033[0m'; else B=''; N=''; fi
say() { printf '\n%s$ %s%s\n' "$B" "$*" "$N"; }
# Each word as a shell would need it, so that the echoed commands can be pasted.
quote() {
    local a out=()
    for a in "$@"; do
        if [[ "$a" =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
    done
    printf '%s' "${out[*]}"
}
run() { say "stac-repository $(quote "$@")"; "$BIN" "$@"; }

run version
run init --repository "$REPO" --backend git --id demo --title "Demo catalog" --description "The sample catalog, kept as a versioned data product." --license CC-BY-4.0
run ingest --repository "$REPO" "$ROOT/docs/sample-catalog/catalog.json"
run ingest --repository "$REPO" "$ROOT/docs/sample-catalog/catalog.json"
run history --repository "$REPO"
run verify --repository "$REPO"
run export --repository "$REPO" "$WORK/export"
say "find $WORK/export -type f | sort"
(cd "$WORK/export" && find . -type f | sort)
say "git -C $REPO log --oneline"
git -C "$REPO" log --oneline || true
echo
echo "demo: the repository is in $REPO and the exported catalog in $WORK/export"
