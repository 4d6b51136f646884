"""verify --origin --quick against verify --origin on 1,000 originals served over loopback HTTP.

Usage: python3 scripts/bench_verify_quick.py BINARY [ITEMS] [BIG_KIB] [SMALL_KIB] [JOBS]
ITEMS items with two assets each (a BIG_KIB KiB data.tif and a SMALL_KIB KiB thumb.png, default
4), served by a threading http.server on 127.0.0.1, ingested into a git repository; then both
verify modes run three times each (with --jobs JOBS, default the tool's 8) and the median wall
time is printed and written to bench-results/verify-quick.txt. RATE_MBPS=N in the environment
serves bodies at about N MB/s per connection (a slower link than loopback; HEADs are unaffected).
Nothing is timed inside the test suite.
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


# A threading http.server; with a rate > 0 it sends bodies in 64 KiB chunks at about that many MB/s.
SERVER = """
import functools, http.server, sys, time
rate = float(sys.argv[3]) * 1e6
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def copyfile(self, source, outputfile):
        if rate <= 0:
            return super().copyfile(source, outputfile)
        start, sent = time.monotonic(), 0
        while chunk := source.read(65536):
            outputfile.write(chunk)
            sent += len(chunk)
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), functools.partial(Handler, directory=sys.argv[2])).serve_forever()
"""


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
    small = int(sys.argv[4]) * 1024 if len(sys.argv) > 4 else 4 * 1024
    jobs = ["--jobs", sys.argv[5]] if len(sys.argv) > 5 else []
    rate = float(os.environ.get("RATE_MBPS", "0"))
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site")
        make_catalog(site, items, big=big, small=small)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), site, str(rate)],
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
                    run("verify", "--repository", repo, *mode, *jobs)
                    runs.append(time.perf_counter() - t)
                times[" ".join(mode)] = statistics.median(runs)
            plain, full, quick = times[""], times["--origin"], times["--origin --quick"]
            link = f"at about {rate:g} MB/s per connection" if rate else "over loopback HTTP"
            lines = [
                f"{2 * items} originals ({items} x {big // 1024} KiB + {items} x {small // 1024} KiB) {link}"
                + (f", --jobs {jobs[1]}" if jobs else ""),
                f"verify                   {plain:.2f} s (median of 3; the stored copies only)",
                f"verify --origin          {full:.2f} s -> originals {full - plain:.2f} s",
                f"verify --origin --quick  {quick:.2f} s -> originals {quick - plain:.2f} s",
                f"originals: {(full - plain) / max(quick - plain, 1e-3):.1f}x faster; whole command {full / quick:.1f}x",
            ]
            print("\n".join(lines))
            out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-results")
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, "verify-quick.txt"), "a") as f:
                f.write("\n".join(lines) + "\n\n")
        finally:
            server.kill()


if __name__ == "__main__":
    main()
