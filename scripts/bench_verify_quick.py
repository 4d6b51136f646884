"""verify --origin --quick against verify --origin on 1,000 originals of several MiB.

Usage: python3 scripts/bench_verify_quick.py BINARY [ITEMS] [MIB] [JOBS]

ITEMS items (default 1000) with one data asset of MIB MiB each (default 4; distinct bytes), the
originals, are served from 127.0.0.1 and ingested into a git repository; then plain `verify`,
`verify --origin` and `verify --origin --quick` run three times each (with --jobs JOBS when
given, else the tool's default of 8) and the medians are printed and appended to
bench-results/verify-quick.txt.

The server is, by default, Python's ThreadingHTTPServer speaking HTTP/1.1 (keep-alive) and
sending an nginx-style ETag ("mtime-size" in hex) besides Last-Modified. RATE_MBPS=N in the
environment sends bodies at about N MB/s per connection (a cloud link; HEADs are not slowed).
SERVER=moto serves the catalog and the originals from a moto S3 bucket instead (HeadObject and
GetObject, signed), with RATE_MBPS ignored.

Each verify runs with -v: the tool logs how long its originals phase took ("Checked the
originals"), which is reported beside the whole command's wall time (the whole command also
re-hashes the repository's own copies and work tree, in every mode). Nothing is timed inside the
test suite.
"""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

# A threading HTTP/1.1 server with ETags; with a rate > 0 it sends bodies at about that many MB/s.
SERVER = """
import functools, http.server, os, sys, time
rate = float(sys.argv[3]) * 1e6
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def end_headers(self):
        path = self.translate_path(self.path)
        if os.path.isfile(path):
            st = os.stat(path)
            self.send_header("ETag", '"%x-%x"' % (int(st.st_mtime), st.st_size))
        super().end_headers()
    def copyfile(self, source, outputfile):
        if rate <= 0:
            return super().copyfile(source, outputfile)
        start, sent = time.monotonic(), 0
        while chunk := source.read(262144):
            outputfile.write(chunk)
            sent += len(chunk)
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer.request_queue_size = 64
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), functools.partial(Handler, directory=sys.argv[2])).serve_forever()
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def make_site(root, items, size):
    """A catalog, one collection, ITEMS items with one SIZE-byte data.tif each (distinct bytes)."""
    block = os.urandom(1 << 20)
    coll = os.path.join(root, "bench")
    os.makedirs(coll, exist_ok=True)
    links = []
    files = {}
    for i in range(items):
        iid = f"item-{i:06d}"
        d = os.path.join(coll, iid)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "data.tif"), "wb") as f:
            f.write(f"{iid:<32}".encode())
            left = size - 32
            while left > 0:
                f.write(block[: min(left, len(block))])
                left -= len(block)
        item = {
            "type": "Feature", "stac_version": "1.1.0", "id": iid, "collection": "bench",
            "geometry": {"type": "Point", "coordinates": [i % 360 - 180 + 0.5, 10.0]},
            "bbox": [i % 360 - 180 + 0.5, 10.0, i % 360 - 180 + 0.5, 10.0],
            "properties": {"datetime": "2024-01-01T00:00:00Z"},
            "links": [{"rel": "collection", "href": "../collection.json"}],
            "assets": {"data": {"href": "./data.tif", "type": "image/tiff; application=geotiff", "roles": ["data"]}},
        }
        with open(os.path.join(d, iid + ".json"), "w") as f:
            json.dump(item, f)
        files[f"bench/{iid}/data.tif"] = os.path.join(d, "data.tif")
        files[f"bench/{iid}/{iid}.json"] = os.path.join(d, iid + ".json")
        links.append({"rel": "item", "href": f"./{iid}/{iid}.json", "type": "application/geo+json"})
    with open(os.path.join(coll, "collection.json"), "w") as f:
        json.dump({"type": "Collection", "stac_version": "1.1.0", "id": "bench", "description": "bench",
                   "license": "CC-BY-4.0",
                   "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
                   "links": links}, f)
    with open(os.path.join(root, "catalog.json"), "w") as f:
        json.dump({"type": "Catalog", "stac_version": "1.1.0", "id": "src", "description": "bench",
                   "links": [{"rel": "child", "href": "./bench/collection.json"}]}, f)
    files["bench/collection.json"] = os.path.join(coll, "collection.json")
    files["catalog.json"] = os.path.join(root, "catalog.json")
    return files


def start_http(site, rate):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), site, str(rate)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port)
    return server, f"http://127.0.0.1:{port}/catalog.json", {}


def start_moto(files):
    import boto3  # the test tools' venv

    port = free_port()
    server = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(port)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}"}
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="bench")
    for key, path in files.items():
        s3.upload_file(path, "bench", key)
    return server, "s3://bench/catalog.json", env


def main():
    binary = sys.argv[1]
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    mib = float(sys.argv[3]) if len(sys.argv) > 3 else 4
    jobs = ["--jobs", sys.argv[4]] if len(sys.argv) > 4 else []
    kind = os.environ.get("SERVER", "http")
    rate = float(os.environ.get("RATE_MBPS", "0")) if kind == "http" else 0
    size = int(mib * (1 << 20))
    tmp = tempfile.mkdtemp(prefix="bench-verify-quick-")
    server = None
    try:
        site = os.path.join(tmp, "site")
        files = make_site(site, items, size)
        server, url, extra = start_moto(files) if kind == "moto" else start_http(site, rate)
        if kind == "moto":  # moto holds its own copy
            subprocess.run(["rm", "-rf", site], check=True)
        env = {**os.environ, **extra}
        repo = os.path.join(tmp, "repo")

        def run(*a):
            return subprocess.run([binary, *a], check=True, capture_output=True, text=True, env=env)

        run("init", "--repository", repo, "--id", "bench", "--description", "bench")
        t = time.perf_counter()
        run("ingest", "--repository", repo, url)
        ingest = time.perf_counter() - t
        load = os.getloadavg()
        times, phases = {}, {}
        for mode in ([], ["--origin"], ["--origin", "--quick"]):
            runs, phase = [], []
            for _ in range(3):
                t = time.perf_counter()
                out = run("-v", "verify", "--repository", repo, *mode, *jobs)
                runs.append(time.perf_counter() - t)
                m = re.search(r"Checked the originals in ([0-9.]+) s", out.stderr)
                if m:
                    phase.append(float(m.group(1)))
            times[" ".join(mode)] = statistics.median(runs)
            phases[" ".join(mode)] = statistics.median(phase) if phase else None
        load_after = os.getloadavg()
        plain, full, quick = times[""], times["--origin"], times["--origin --quick"]
        pf, pq = phases["--origin"], phases["--origin --quick"]
        link = {"moto": "from moto S3 (HeadObject/GetObject)",
                "http": f"over HTTP/1.1 at about {rate:g} MB/s per connection" if rate else "over loopback HTTP/1.1"}[kind]
        lines = [
            f"{items} originals of {mib:g} MiB ({items * size / 1e9:.1f} GB) {link}"
            + (f", --jobs {jobs[1]}" if jobs else "") + f"; ingest {ingest:.1f} s",
            f"load average {load[0]:.1f} before the verifies, {load_after[0]:.1f} after",
            f"verify                   {plain:.2f} s (median of 3; stored copies and work tree only)",
            f"verify --origin          {full:.2f} s; originals phase {pf if pf is not None else float('nan'):.2f} s",
            f"verify --origin --quick  {quick:.2f} s; originals phase {pq if pq is not None else float('nan'):.2f} s",
            f"originals phase: {pf / max(pq, 1e-3):.1f}x faster; whole command {full / quick:.1f}x"
            if pf is not None and pq is not None else f"whole command {full / quick:.1f}x",
        ]
        print("\n".join(lines))
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-results")
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "verify-quick.txt"), "a") as f:
            f.write("\n".join(lines) + "\n\n")
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
