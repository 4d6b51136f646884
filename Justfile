# Every developer task of stac-repository. On a fresh machine run them through ./scripts/just,
# which installs what is missing first.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Every optimised build uses the same flags, so switching recipes never rebuilds the package. Only
# the tool is built: the test-support library links swift-testing, which has no static library
# for `--static-swift-stdlib` ("no such module 'Testing'").
release_build := "swift build -c release --static-swift-stdlib --product stac-repository"
release_bin := "$(swift build -c release --static-swift-stdlib --show-bin-path)/stac-repository"

# Build, init a repository in a temporary folder, ingest the sample catalog, show history, export.
default: demo

# Debug build of the tool.
build:
    swift build

# The optimised build of the tool that benchmarks and installs use: the Swift runtime and Foundation
# linked in (`--static-swift-stdlib`), so the binary starts in about half the time (no dynamic
# symbol lookups into libswiftCore/Foundation) and needs no Swift toolchain where it runs; libgit2
# and libcurl stay shared (docs/benchmarks.md, "Start-up").
release:
    {{release_build}}

# The whole test suite (unit, in-process backend contract, compatibility with git/git-lfs, real
# HTTP/S3/LFS servers, crash safety), in one `swift test`: no test helper blocks Swift's
# cooperative threads, the in-process servers run on threads of their own, and no test asserts
# on elapsed time (docs/architecture.md).
test:
    swift build --build-tests
    swift test --skip-build --disable-xctest

# The demo: init, ingest docs/sample-catalog, history, export, verify.
demo:
    swift build
    scripts/demo.sh "$(swift build --show-bin-path)/stac-repository"

# Benchmarks (release build); figures go to bench-results/ and are summarised in docs/benchmarks.md.
bench:
    {{release_build}}
    scripts/bench.sh "{{release_bin}}"

# verify --origin --quick against --origin on 1,000 originals over loopback HTTP (figure in docs/benchmarks.md).
bench-verify-quick:
    {{release_build}}
    python3 scripts/bench_verify_quick.py "{{release_bin}}" 1000 4

# push and clone of 1,000 items (2,000 Git LFS objects of 64 KiB) to giftless on loopback, next to stock git + git-lfs (figure in docs/benchmarks.md).
bench-push-clone:
    {{release_build}}
    python3 scripts/bench_push_clone.py "{{release_bin}}" 1000 64

# Single-product commits on a templated collection of N items (default 100,000): +1 item, prune, diff.
bench-scale N="100000":
    {{release_build}}
    python3 scripts/bench_scale.py "{{release_bin}}" {{N}} git

# Format the sources in place.
fmt:
    swift format --in-place --recursive Sources Tests Processors Package.swift

# Check formatting and the lint rules of .swift-format (fails on any finding).
lint:
    swift format lint --strict --recursive Sources Tests Processors Package.swift

# Fuzz the JSON parser, the STAC reader, the href resolver and the TIFF reader with libFuzzer,
# FUZZ_SECONDS (default 60) each; `just fuzz href` runs one. See docs/fuzzing.md.
fuzz *targets:
    scripts/fuzz.sh {{targets}}

# Shell completion scripts (bash, zsh, fish) in .build/completions/; the README says how to install them.
completions:
    swift build
    mkdir -p .build/completions
    bin="$(swift build --show-bin-path)/stac-repository"; \
        "$bin" --generate-completion-script bash > .build/completions/stac-repository.bash; \
        "$bin" --generate-completion-script zsh > .build/completions/_stac-repository; \
        "$bin" --generate-completion-script fish > .build/completions/stac-repository.fish
    @echo "completions: .build/completions/stac-repository.bash, _stac-repository (zsh), stac-repository.fish"

# The man page, .build/man/stac-repository.1 (ArgumentParser's generate-manual tool, debug build:
# no second, optimised build of the package).
man:
    swift build
    swift build --product generate-manual
    mkdir -p .build/man
    "$(swift build --show-bin-path)/generate-manual" "$(swift build --show-bin-path)/stac-repository" --output-directory .build/man
    test -s .build/man/stac-repository.1
    @echo "man: .build/man/stac-repository.1 (man -l .build/man/stac-repository.1)"
