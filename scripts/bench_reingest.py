#!/usr/bin/env python3
"""Times an unchanged re-ingest of 1,000 items with 2 local assets each (git backend).

usage: scripts/bench_reingest.py BIN [BIN ...]   (release binaries to compare, e.g. main's and a branch's)

The catalog is the one of scripts/bench.py (64 KiB + 4 KiB per item). It ages 2.5 s before the
first ingest, so that the stat cache may trust its entries (files changed less than 2 s before
they are hashed are re-read, like git's racily clean entries). Prints the median and best of 7 runs, alternating between the binaries.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import hashlib
import json
import time

from bench_catalog import make_catalog


def main():
    work = tempfile.mkdtemp(prefix="stac-repository-reingest-")
    src = make_catalog(os.path.join(work, "src"), 1000)
    time.sleep(2.5)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    binaries = sys.argv[1:]
    repos = []
    for n, binary in enumerate(binaries):
        repo = os.path.join(work, f"repo{n}")
        subprocess.run([binary, "init", "--repository", repo, "--backend", "git", "--id", "bench"], env=env,
                       check=True, capture_output=True)
        subprocess.run([binary, "ingest", "--repository", repo, src, "-q"], env=env, check=True)
        repos.append(repo)
    # Runs alternate between the binaries, so that a busy machine slows them alike.
    times = [[] for _ in binaries]
    for _ in range(7):
        for n, binary in enumerate(binaries):
            t0 = time.perf_counter()
            out = subprocess.run([binary, "ingest", "--repository", repos[n], src], env=env, check=True,
                                 capture_output=True, text=True).stdout
            times[n].append(time.perf_counter() - t0)
            assert "0 added, 0 updated, 1001 unchanged" in out, out
    for n, binary in enumerate(binaries):
        runs = ", ".join(f"{t:.3f}" for t in times[n])
        print(f"{binary}: median {statistics.median(times[n]):.3f} s, best {min(times[n]):.3f} s (runs: {runs})")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
