#!/usr/bin/env python3
"""Benchmarks for stac-repository (`just bench`).

Runs the release binary on synthetic catalogs and writes the figures to
bench-results/results.md (and .json). Each figure is the wall time of one whole command
(process start to exit) and the peak resident memory of that process, as GNU time reports it
(a child forked straight from this Python process would inherit this process's RSS as its
high-water mark, so the command runs under /usr/bin/time).
"""
import hashlib
import http.server
import json
import os
import platform
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from bench_catalog import make_catalog, single_item
from bench_item_export import bench_item_export
from bench_side_by_side import markdown as side_by_side_markdown
from bench_side_by_side import side_by_side

BIN = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench-results")
QUICK = os.environ.get("BENCH_QUICK") == "1"
# BENCH_ONLY=side runs only the side-by-side comparison; BENCH_ONLY=rest only the other figures.
ONLY = os.environ.get("BENCH_ONLY", "")
results = []
side = None


TIME = shutil.which("time") or "/usr/bin/time"


def run(args, cwd=None, env=None, check=True):
    start = time.perf_counter()
    p = subprocess.run([TIME, "-f", "BENCHTIME %M"] + args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and p.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    rss_kb = 0
    for line in p.stderr.splitlines():
        if line.startswith("BENCHTIME "):
            rss_kb = int(line.split()[1])
    return elapsed, rss_kb * 1024, p.stdout


def timed(args, env=None, input=None):
    """Wall time, peak RSS (GNU time), exit status and stderr of one command (side by side)."""
    start = time.perf_counter()
    p = subprocess.run([TIME, "-f", "BENCHTIME %M"] + args, env=env, input=input, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    rss_kb = 0
    err = []
    for line in p.stderr.splitlines():
        if line.startswith("BENCHTIME "):
            rss_kb = int(line.split()[1])
        elif not line.startswith("Command exited with non-zero status"):
            err.append(line)
    return elapsed, rss_kb * 1024, p.returncode, "\n".join(err)


def record(name, seconds, rss, target=None, extra=None):
    row = {"name": name, "seconds": round(seconds, 3), "peak_rss_mb": round(rss / 1e6, 1)}
    if target:
        row["target"] = target
    if extra:
        row.update(extra)
    results.append(row)
    print(f"bench: {name}: {seconds:.3f} s, peak RSS {rss / 1e6:.1f} MB" + (f" ({extra})" if extra else ""), flush=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def main():
    os.makedirs(OUT, exist_ok=True)
    work = tempfile.mkdtemp(prefix="stac-repository-bench-")
    env = dict(os.environ)
    env.setdefault("GIT_CONFIG_NOSYSTEM", "1")
    global side
    try:
        if ONLY in ("", "side"):
            sizes = [200] if QUICK else [1000, 10000]
            if os.environ.get("BENCH_SIZES"):  # e.g. BENCH_SIZES=1000,10000
                sizes = [int(x) for x in os.environ["BENCH_SIZES"].split(",")]
            side = side_by_side(BIN, ROOT, work, sizes, 3, timed)
            with open(os.path.join(OUT, "side-by-side.json"), "w") as f:
                json.dump(side, f, indent=2)
            with open(os.path.join(OUT, "side-by-side.md"), "w") as f:
                f.write(side_by_side_markdown(side))
            print(side_by_side_markdown(side), flush=True)
        if ONLY != "side":
            rest(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        write_results()


def rest(work, env):
    """The figures of our tool alone (single runs): the 1,000-item repository's history, diff,
    export and re-ingest, the file backend, a 1 GiB local asset, assets over loopback HTTP, item
    exports."""
    if True:
        n1 = 200 if QUICK else 1000
        src = make_catalog(os.path.join(work, "src1k"), n1)
        repo = os.path.join(work, "repo1k")
        run([BIN, "init", "--repository", repo, "--backend", "git", "--id", "bench"], env=env)
        t, rss, _ = run([BIN, "ingest", "--repository", repo, src, "-q"], env=env)
        record(f"ingest {n1} items (2 assets each, 64 KiB + 4 KiB), git backend", t, rss, "< 3 s for 1,000")
        one = single_item(os.path.join(work, "single"))
        t, rss, _ = run([BIN, "ingest", "--repository", repo, one, "-q"], env=env)
        record(f"ingest 1 more item into the {n1}-item repository", t, rss, "< 0.1 s")
        t, rss, _ = run([BIN, "history", "--repository", repo], env=env)
        record(f"history of the {n1}-item repository", t, rss, "< 1 s")
        t, rss, _ = run([BIN, "diff", "--repository", repo, "HEAD~1", "HEAD"], env=env)
        record("diff of two adjacent commits", t, rss, "< 1 s")
        t, rss, _ = run([BIN, "export", "--repository", repo, os.path.join(work, "export1k"), "--ref", "HEAD~1"], env=env)
        record(f"export --ref HEAD~1 of the {n1}-item catalog", t, rss, "< 1 s")
        t, rss, _ = run([BIN, "ingest", "--repository", repo, src, "-q"], env=env)
        record(f"re-ingest of the unchanged {n1}-item catalog (all skipped)", t, rss)

        frepo = os.path.join(work, "file1k")
        run([BIN, "init", "--repository", frepo, "--backend", "file", "--id", "bench"], env=env)
        t, rss, _ = run([BIN, "ingest", "--repository", frepo, src, "-q"], env=env)
        record(f"ingest {n1} items, file backend", t, rss)

        # The machine's own speed for writing new files, as a reference for the copy figures.
        t, rss, _ = run(["dd", "if=/dev/zero", f"of={os.path.join(work, 'dd.bin')}", "bs=1M", "count=1024", "status=none"])
        record("reference: dd writes a new 1 GiB file (no hashing)", t, rss, None, {"throughput_mb_s": round((1 << 30) / t / 1e6)})
        os.remove(os.path.join(work, "dd.bin"))

        # The 10,000-item ingest is in the side-by-side part above.

        # One big local asset.
        size = (256 if QUICK else 1024) * 1024 * 1024
        big = os.path.join(work, "big")
        os.makedirs(big)
        chunk = os.urandom(8 * 1024 * 1024)
        with open(os.path.join(big, "big.bin"), "wb") as f:
            for _ in range(size // len(chunk)):
                f.write(chunk)
        with open(os.path.join(big, "big.json"), "w") as f:
            json.dump({"type": "Feature", "stac_version": "1.1.0", "id": "big", "geometry": None,
                       "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [],
                       "assets": {"data": {"href": "./big.bin"}}}, f)
        with open(os.path.join(big, "big.bin"), "rb") as f:  # warm the page cache
            while f.read(64 << 20):
                pass
        brepo = os.path.join(work, "bigrepo")
        run([BIN, "init", "--repository", brepo, "--backend", "git", "--id", "bench"], env=env)
        t, rss, _ = run([BIN, "ingest", "--repository", brepo, os.path.join(big, "big.json"), "-q"], env=env)
        record(f"ingest one {size >> 20} MiB local asset (copy + SHA-256)", t, rss, ">= 1 GB/s, < 100 MB",
               {"throughput_mb_s": round(size / t / 1e6)})
        shutil.rmtree(big)
        shutil.rmtree(brepo)

        # Many assets over loopback HTTP.
        count = 200 if QUICK else 1000
        site = os.path.join(work, "site")
        coll = os.path.join(site, "web")
        os.makedirs(coll)
        links = []
        blob = os.urandom(1024 * 1024)
        for i in range(count):
            iid = f"w{i:05d}"
            d = os.path.join(coll, iid)
            os.makedirs(d)
            with open(os.path.join(d, "a.bin"), "wb") as f:
                f.write(blob[:-8] + i.to_bytes(8, "big"))
            with open(os.path.join(d, iid + ".json"), "w") as f:
                json.dump({"type": "Feature", "stac_version": "1.1.0", "id": iid, "geometry": None,
                           "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [],
                           "assets": {"data": {"href": "./a.bin"}}}, f)
            links.append({"rel": "item", "href": f"./{iid}/{iid}.json"})
        with open(os.path.join(coll, "collection.json"), "w") as f:
            json.dump({"type": "Collection", "stac_version": "1.1.0", "id": "web", "description": "bench",
                       "license": "CC-BY-4.0",
                       "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
                       "links": links}, f)
        handler = lambda *a, **k: QuietHandler(*a, directory=site, **k)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        hrepo = os.path.join(work, "httprepo")
        run([BIN, "init", "--repository", hrepo, "--backend", "git", "--id", "bench"], env=env)
        t, rss, _ = run([BIN, "ingest", "--repository", hrepo, f"http://127.0.0.1:{port}/web/collection.json", "--jobs", "8", "-q"], env=env)
        server.shutdown()
        record(f"ingest {count} assets of 1 MiB from a loopback HTTP server (Python ThreadingHTTPServer), --jobs 8", t, rss,
               ">= 300 MB/s", {"throughput_mb_s": round(count * len(blob) / t / 1e6)})

        bench_item_export(BIN, work, 10_000 if QUICK else 100_000, run, record, env)


def write_results():
    machine = f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}"
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"machine": machine, "date": time.strftime("%Y-%m-%d"), "uptime": uptime,
                   "results": results, "side_by_side": side}, f, indent=2)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(f"# Benchmark results\n\nMachine: {machine}; date {time.strftime('%Y-%m-%d')}; release build; "
                f"`uptime` at the end: {uptime}.\n\n")
        if side:
            f.write("## Side by side\n\n" + side_by_side_markdown(side) + "\n## Other figures\n\n")
        f.write("| benchmark | wall time | peak RSS | target | notes |\n|---|---|---|---|---|\n")
        for r in results:
            notes = f"{r['throughput_mb_s']} MB/s" if "throughput_mb_s" in r else ""
            f.write(f"| {r['name']} | {r['seconds']} s | {r['peak_rss_mb']} MB | {r.get('target', '')} | {notes} |\n")
    print(f"bench: figures written to {OUT}/results.md")


main()
