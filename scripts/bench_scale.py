"""Single-product commits on a large templated collection (issue 11).

Usage: python3 scripts/bench_scale.py BINARY [N] [BACKEND]

Makes a repository (BACKEND git or file, default git) holding one collection laid out as
`${year}/${month}/${day}` with N items (default 20000; datetimes spread over five years),
ingested from NDJSON on stdin with `--assets reference --no-checksum` (the items' assets are
http hrefs that are never read) in batches of 10,000, then times, three runs each (median,
whole process, `/usr/bin/time`): `ingest` of one new item from stdin, `prune` of one item, and
`diff HEAD~1 HEAD` (git only), and (git only) `ingest` of one item with the layout cache
removed first, so that the whole catalog is read, and 200 one-item commits through one process
(`ingest - --batch-size 1`, commits per second). Prints a table and appends it to bench-results/scale.txt.
KEEP=1 keeps the repository (for a profile). Nothing here is run by the test suite.
"""

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def item(i, collection="scale"):
    # One item per hour over five years (43,824 hours), then again: about 550 per day at 1,000,000.
    day = datetime.datetime(2020, 1, 1) + datetime.timedelta(hours=i % 43824, microseconds=i % 1000)
    lon = (i * 7919) % 360 - 180 + 0.25
    lat = (i * 104729) % 170 - 85 + 0.25
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": f"S2_{i:07d}", "collection": collection,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "bbox": [lon, lat, lon, lat],
        "properties": {"datetime": day.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "eo:cloud_cover": i % 100},
        "links": [],
        "assets": {
            "data": {"href": f"https://example.com/scenes/{i:07d}/B04.tif", "type": "image/tiff; application=geotiff",
                     "roles": ["data"]},
            "tilejson": {"href": f"https://example.com/scenes/{i:07d}/tilejson.json", "type": "application/json",
                         "roles": ["tiles"]},
        },
    }


def timed(cmd, stdin=None):
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], input=stdin, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1])
    return wall, rss_kb / 1024


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    backend = sys.argv[3] if len(sys.argv) > 3 else "git"
    tmp = tempfile.mkdtemp(prefix="bench-scale-")
    try:
        repo = os.path.join(tmp, "repo")
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        collection = {
            "type": "Collection", "stac_version": "1.1.0", "id": "scale", "description": "scale test",
            "license": "CC-BY-4.0",
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]}},
            "links": [],
        }
        with open(os.path.join(src, "collection.json"), "w") as f:
            json.dump(collection, f)
        subprocess.run([binary, "init", "--repository", repo, "--backend", backend, "--id", "scale",
                        "--description", "scale"], check=True, capture_output=True)
        subprocess.run([binary, "ingest", "-q", "--repository", repo, os.path.join(src, "collection.json"),
                        "--layout", "${year}/${month}/${day}"], check=True)
        common = ["--assets", "reference", "--no-checksum", "--no-with-collections"]
        t = time.perf_counter()
        lines = "".join(json.dumps(item(i)) + "\n" for i in range(n))
        ingest, ingest_rss = timed([binary, "ingest", "-q", "--repository", repo, "-", *common,
                                    "--batch-size", "10000"], stdin=lines)
        del lines
        rows = [("ingest of all items (batches of 10,000)", [ingest], [ingest_rss])]
        plus, prune, diff = ([], []), ([], []), ([], [])
        for r in range(3):
            w, m = timed([binary, "ingest", "-q", "--repository", repo, "-", *common],
                         stdin=json.dumps(item(n + r)) + "\n")
            plus[0].append(w)
            plus[1].append(m)
            w, m = timed([binary, "prune", "-q", "--repository", repo, f"S2_{(r * 7777) % n:07d}"])
            prune[0].append(w)
            prune[1].append(m)
            if backend == "git":
                w, m = timed([binary, "diff", "-q", "--repository", repo, "HEAD~1", "HEAD"])
                diff[0].append(w)
                diff[1].append(m)
        rows += [("+1 item", *plus), ("prune 1 item", *prune)]
        if backend == "git":
            # The same +1 item with the layout cache removed first: the whole catalog is read (as
            # before the cache, plus writing the cache again).
            cache = os.path.join(repo, ".git", "stac-repository", "cache", "layout-ids")
            whole = ([], [])
            for r in range(3):
                subprocess.run(["rm", "-rf", cache], check=True)
                w, m = timed([binary, "ingest", "-q", "--repository", repo, "-", *common],
                             stdin=json.dumps(item(n + 10 + r)) + "\n")
                whole[0].append(w)
                whole[1].append(m)
            rows.append(("+1 item, layout cache removed first (whole read)", *whole))
        if backend == "git":
            rows.append(("diff HEAD~1 HEAD", *diff))
        # One commit per item through one process: 200 new items on stdin, `--batch-size 1`.
        stream = "".join(json.dumps(item(n + 100 + i)) + "\n" for i in range(200))
        w, m = timed([binary, "ingest", "-q", "--repository", repo, "-", *common, "--batch-size", "1"], stdin=stream)
        rows.append((f"200 one-item commits in one process ({200 / w:.1f} commits/s)", [w], [m]))
        load = os.getloadavg()[0]
        out = [f"{n} items, {backend} backend, layout ${{year}}/${{month}}/${{day}}, load average {load:.1f}",
               "| step | wall (median) | runs | peak RSS |", "|---|---|---|---|"]
        for name, walls, rss in rows:
            out.append(f"| {name} | {statistics.median(walls):.3f} s | "
                       f"{' / '.join(f'{w:.3f}' for w in walls)} | {max(rss):.0f} MB |")
        text = "\n".join(out)
        print(text)
        results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench-results")
        os.makedirs(results, exist_ok=True)
        with open(os.path.join(results, "scale.txt"), "a") as f:
            f.write(text + "\n\n")
    finally:
        if os.environ.get("KEEP"):
            print("kept", repo)
        else:
            subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
