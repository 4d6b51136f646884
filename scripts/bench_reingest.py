#!/usr/bin/env python3
"""Times an unchanged re-ingest of 1,000 items with 2 local assets each (git backend).

usage: scripts/bench_reingest.py BIN [BIN ...]   (release binaries to compare, e.g. main's and a branch's)

The catalog is the one of scripts/bench.py (64 KiB + 4 KiB per item). It ages 2.5 s before the
first ingest, so that the stat cache may trust its entries (files changed less than 2 s before
they are hashed are re-read, like git's racily clean entries). Prints the median of 5 runs.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench import make_catalog  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="stac-repository-reingest-")
    src = make_catalog(os.path.join(work, "src"), 1000)
    time.sleep(2.5)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    for n, binary in enumerate(sys.argv[1:]):
        repo = os.path.join(work, f"repo{n}")
        subprocess.run([binary, "init", "--repository", repo, "--backend", "git", "--id", "bench"], env=env,
                       check=True, capture_output=True)
        subprocess.run([binary, "ingest", "--repository", repo, src, "-q"], env=env, check=True)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            out = subprocess.run([binary, "ingest", "--repository", repo, src], env=env, check=True,
                                 capture_output=True, text=True).stdout
            times.append(time.perf_counter() - t0)
            assert "0 added, 0 updated, 1001 unchanged" in out, out
        print(f"{binary}: median {statistics.median(times):.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)})")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
