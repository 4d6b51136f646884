#!/usr/bin/env bash
# Builds the libFuzzer targets with `swiftc -sanitize=fuzzer,address` and runs each for a fixed
# budget. Usage: scripts/fuzz.sh [TARGET...]   (targets: json stac href tiff; default: all)
# FUZZ_SECONDS (default 60) is the budget per target. Seeds come from
# Tests/Fixtures/fuzz-corpus/<target>/ (committed, replayed by `just test`); new inputs go to
# .build/fuzz/corpus/<target>/ and crashes to .build/fuzz/artifacts/. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(json stac href tiff)
out=.build/fuzz
mkdir -p "$out/artifacts"
flags=(-sanitize=fuzzer,address -parse-as-library -O -enable-upcoming-feature InternalImportsByDefault
    -enable-upcoming-feature ExistentialAny)

sources_for() {
    case "$1" in
        json) echo Sources/STAC/*.swift Fuzz/FuzzJSON.swift ;;
        stac) echo Sources/STAC/*.swift Fuzz/FuzzSTAC.swift ;;
        href) echo Sources/STAC/*.swift Fuzz/FuzzHref.swift ;;
        tiff) echo Processors/GeoTIFF/TIFF/*.swift Fuzz/FuzzTIFF.swift ;;
        *) echo "unknown fuzz target $1 (json, stac, href, tiff)" >&2; exit 64 ;;
    esac
}

status=0
for target in "${targets[@]}"; do
    # shellcheck disable=SC2046
    srcs=$(sources_for "$target")
    binary="$out/$target"
    newest=$(ls -t $srcs "$0" | head -1)
    if [ ! -x "$binary" ] || [ "$newest" -nt "$binary" ]; then
        echo "building fuzz target $target"
        # The gold linker warns about every ASan symbol it cannot export; those warnings are noise.
        swiftc "${flags[@]}" -module-name "Fuzz_$target" $srcs -o "$binary" 2> >(grep -v "ld.gold: warning" >&2)
    fi
    mkdir -p "$out/corpus/$target"
    echo "fuzzing $target for $seconds s"
    if ! "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$out/artifacts/$target-" -print_final_stats=1 \
        "$out/corpus/$target" "Tests/Fixtures/fuzz-corpus/$target" 2>"$out/$target.log"; then
        echo "fuzz target $target FAILED: see $out/$target.log and $out/artifacts/" >&2
        status=1
    fi
    grep -E "^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::new_units_added|^#[0-9]+.*DONE" \
        "$out/$target.log" || true
done
# The TIFF target's scratch files (one folder per fuzzer process).
rm -rf /dev/shm/stac-repository-fuzz-tiff-* "${TMPDIR:-/tmp}"/stac-repository-fuzz-tiff-*
exit $status
