"""verify --origin --quick against verify --origin on 1,000 originals served over loopback HTTP.

Usage: python3 scripts/bench_verify_quick.py BINARY [ITEMS] [BIG_KIB]
ITEMS items with two assets each (a BIG_KIB KiB data.tif and a 4 KiB thumb.png), served by a
threading http.server on 127.0.0.1, ingested into a git repository; then both verify modes run
three times each and the median wall time is printed. Nothing is timed inside the test suite.
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_catalog import make_catalog  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary = sys.argv[1]
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    big = int(sys.argv[3]) * 1024 if len(sys.argv) > 3 else 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site")
        make_catalog(site, items, big=big)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", site],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    time.sleep(0.1)
            repo = os.path.join(tmp, "repo")
            run = lambda *a: subprocess.run([binary, *a], check=True, capture_output=True, text=True)
            run("init", "--repository", repo, "--id", "bench", "--description", "bench")
            run("ingest", "--repository", repo, f"http://127.0.0.1:{port}/catalog.json")
            times = {}
            for mode in ([], ["--origin"], ["--origin", "--quick"]):
                runs = []
                for _ in range(3):
                    t = time.perf_counter()
                    run("verify", "--repository", repo, *mode)
                    runs.append(time.perf_counter() - t)
                times[" ".join(mode)] = statistics.median(runs)
            plain, full, quick = times[""], times["--origin"], times["--origin --quick"]
            print(f"{2 * items} originals ({items} x {big // 1024} KiB + {items} x 4 KiB) over loopback HTTP")
            print(f"verify                   {plain:.2f} s (median of 3; the stored copies only)")
            print(f"verify --origin          {full:.2f} s -> originals {full - plain:.2f} s")
            print(f"verify --origin --quick  {quick:.2f} s -> originals {quick - plain:.2f} s")
            print(f"originals: {(full - plain) / max(quick - plain, 1e-3):.1f}x faster; whole command {full / quick:.1f}x")
        finally:
            server.kill()


if __name__ == "__main__":
    main()
