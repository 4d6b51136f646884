#!/usr/bin/env bash
# Runs the benchmarks with the given (release) binary; figures go to bench-results/.
set -euo pipefail
exec python3 "$(dirname "$0")/bench.py" "${1:?usage: bench.sh PATH-TO-stac-repository}"
