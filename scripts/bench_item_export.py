#!/usr/bin/env python3
"""`export --format ndjson|geoparquet` of a large catalog: wall time and peak memory (GNU time).

Part of `just bench` (scripts/bench.py calls bench_item_export); alone:
`python3 scripts/bench_item_export.py PATH-TO-stac-repository [N]` (default 100,000 items).
The catalog is written straight into a file-backend repository (no ingest: this measures the
export), each item with three assets referencing absolute URLs and a dozen properties.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIME = shutil.which("time") or "/usr/bin/time"


def _run(args, env=None):
    start = time.perf_counter()
    p = subprocess.run([TIME, "-f", "BENCHTIME %M"] + args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    rss = next((int(l.split()[1]) * 1024 for l in p.stderr.splitlines() if l.startswith("BENCHTIME ")), 0)
    return elapsed, rss, p.stdout


def _record(name, seconds, rss, target=None, extra=None):
    print(f"bench: {name}: {seconds:.3f} s, peak RSS {rss / 1e6:.1f} MB" + (f" ({extra})" if extra else ""), flush=True)


def make_repository(binary, repo, n, env=None):
    subprocess.run([binary, "init", "--repository", repo, "--backend", "file", "--id", "bench",
                    "--description", "bench"], check=True, capture_output=True, env=env)
    coll = os.path.join(repo, "bench")
    os.makedirs(coll)
    links = []
    for i in range(n):
        iid = f"item-{i:06d}"
        d = os.path.join(coll, iid)
        os.makedirs(d)
        x, y = i % 360 - 180 + 0.5, i % 170 - 85 + 0.25
        item = {
            "type": "Feature", "stac_version": "1.1.0",
            "stac_extensions": ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
            "id": iid, "collection": "bench",
            "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.1], [x, y + 0.1], [x, y]]]},
            "bbox": [x, y, x + 0.1, y + 0.1],
            "properties": {"datetime": f"2024-{i % 12 + 1:02d}-01T10:00:{i % 60:02d}.{i:07d}Z", "platform": f"sat-{i % 3}",
                           "eo:cloud_cover": i % 100 + (0.5 if i % 2 else 0), "gsd": 10, "proj:code": "EPSG:32633",
                           "proj:shape": [10980, 10980], "view:sun_elevation": 40.5 + i % 10, "sequence": i},
            "links": [{"rel": "collection", "href": "../collection.json", "type": "application/json"},
                      {"rel": "parent", "href": "../collection.json", "type": "application/json"}],
            "assets": {k: {"href": f"https://data.example.org/{iid}/{k}.tif", "type": "image/tiff; application=geotiff",
                           "roles": ["data"], "file:size": 1000000 + i} for k in ("red", "green", "blue")},
        }
        with open(os.path.join(d, iid + ".json"), "w") as f:
            json.dump(item, f)
        links.append({"rel": "item", "href": f"./{iid}/{iid}.json", "type": "application/geo+json"})
    with open(os.path.join(coll, "collection.json"), "w") as f:
        json.dump({"type": "Collection", "stac_version": "1.1.0", "id": "bench", "description": "bench",
                   "license": "CC-BY-4.0",
                   "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
                   "links": links}, f)
    cat_path = os.path.join(repo, "catalog.json")
    with open(cat_path) as f:
        cat = json.load(f)
    cat["links"].append({"rel": "child", "href": "./bench/collection.json", "type": "application/json"})
    with open(cat_path, "w") as f:
        json.dump(cat, f)


def bench_item_export(binary, work, n, run=_run, record=_record, env=None):
    repo = os.path.join(work, f"items{n}")
    make_repository(binary, repo, n, env)
    for fmt, name in (("ndjson", "items.ndjson"), ("geoparquet", "items.parquet")):
        out = os.path.join(work, name)
        t, rss, _ = run([binary, "export", "--repository", repo, out, "--format", fmt, "-q"], env=env)
        size = os.path.getsize(out)
        record(f"export --format {fmt} of {n:,} items ({size / 1e6:.1f} MB file)", t, rss,
               "bounded memory" if fmt == "geoparquet" else None, {"items_per_s": round(n / t)})


if __name__ == "__main__":
    binary = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    tmp = tempfile.mkdtemp(prefix="stac-repository-bench-items-")
    try:
        bench_item_export(binary, tmp, count)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
