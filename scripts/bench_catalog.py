"""The generated catalog the benchmarks ingest (scripts/bench.py, scripts/bench_reingest.py)."""

import hashlib
import json
import os


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


def single_item(root, collection="bench", folder="one"):
    """The +1 item of the benchmarks: a folder with one 64 KiB asset and its item document."""
    d = os.path.join(root, folder)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "data.tif"), "wb") as f:
        f.write(os.urandom(64 * 1024))
    item = {"type": "Feature", "stac_version": "1.1.0", "id": "one-more", "collection": collection,
            "geometry": None, "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [],
            "assets": {"data": {"href": "./data.tif", "roles": ["data"]}}}
    p = os.path.join(d, "one-more.json")
    with open(p, "w") as f:
        json.dump(item, f)
    return p
