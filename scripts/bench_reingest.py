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


# The catalog of scripts/bench.py (which runs on import, so it is repeated here).
def make_catalog(root, n, big=64 * 1024, small=4 * 1024, collection="bench"):
    coll = os.path.join(root, collection)
    os.makedirs(coll, exist_ok=True)
    links = []
    for i in range(n):
        iid = f"item-{i:06d}"
        d = os.path.join(coll, iid)
        os.makedirs(d, exist_ok=True)
        seed = hashlib.sha256(f"{collection}-{i}".encode()).digest()
        with open(os.path.join(d, "data.tif"), "wb") as f:
            f.write((seed * (big // len(seed) + 1))[:big])
        with open(os.path.join(d, "thumb.png"), "wb") as f:
            f.write((seed[::-1] * (small // len(seed) + 1))[:small])
        item = {
            "type": "Feature", "stac_version": "1.1.0", "id": iid, "collection": collection,
            "geometry": {"type": "Point", "coordinates": [i % 360 - 180 + 0.5, 10.0]},
            "bbox": [i % 360 - 180 + 0.5, 10.0, i % 360 - 180 + 0.5, 10.0],
            "properties": {"datetime": "2024-01-01T00:00:00Z"},
            "links": [{"rel": "collection", "href": "../collection.json"}],
            "assets": {
                "data": {"href": "./data.tif", "type": "image/tiff; application=geotiff", "roles": ["data"]},
                "thumbnail": {"href": "./thumb.png", "type": "image/png", "roles": ["thumbnail"]},
            },
        }
        with open(os.path.join(d, iid + ".json"), "w") as f:
            json.dump(item, f)
        links.append({"rel": "item", "href": f"./{iid}/{iid}.json", "type": "application/geo+json"})
    with open(os.path.join(coll, "collection.json"), "w") as f:
        json.dump({"type": "Collection", "stac_version": "1.1.0", "id": collection, "description": "bench",
                   "license": "CC-BY-4.0",
                   "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
                   "links": links}, f)
    with open(os.path.join(root, "catalog.json"), "w") as f:
        json.dump({"type": "Catalog", "stac_version": "1.1.0", "id": "src", "description": "bench",
                   "links": [{"rel": "child", "href": f"./{collection}/collection.json"}]}, f)
    return os.path.join(root, "catalog.json")


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
