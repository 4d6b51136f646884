#!/usr/bin/env python3
"""Writes the sample STAC catalog and the sample raw products shipped with stac-repository.

    python3 scripts/make-sample-catalog.py [ROOT]     # ROOT defaults to the repository root

Outputs (overwritten; the same bytes on every run):

  docs/sample-catalog/                      a STAC 1.1.0 catalog to try `stac-repository ingest` on
    catalog.json                            root catalog "sample"
    sample-orthophotos/collection.json      collection, CC-BY-4.0
    sample-orthophotos/S-00N/S-00N.json     3 items, each with
    sample-orthophotos/S-00N/S-00N.tif        a 16x16 uint8 GeoTIFF (EPSG:4326) as the data asset
    sample-orthophotos/S-00N/S-00N.png        an 8x8 PNG thumbnail
  docs/sample-products/                     raw GeoTIFFs (no STAC) for `--processor geotiff`
    P-001.tif                               16x16 uint8, UTM zone 33N (EPSG:32633), striped
    P-002.tif + P-002.png                   32x32 uint8, Web Mercator (EPSG:3857), tiled with an
                                            overview (a tiny COG), and its thumbnail

Python standard library only (struct, zlib, hashlib, json).
"""

import hashlib
import json
import os
import struct
import sys
import zlib

ROOT = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG_DIR = os.path.join(ROOT, "docs", "sample-catalog")
PRODUCTS_DIR = os.path.join(ROOT, "docs", "sample-products")

STAC_VERSION = "1.1.0"
PROJECTION = "https://stac-extensions.github.io/projection/v2.0.0/schema.json"
RASTER = "https://stac-extensions.github.io/raster/v1.1.0/schema.json"
FILE = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
GEOTIFF = "image/tiff; application=geotiff"
COG = "image/tiff; application=geotiff; profile=cloud-optimized"

# --------------------------------------------------------------------------- TIFF


def geokeys(model, projected=None, geographic=None):
    """A GeoKeyDirectory: model type (1 projected, 2 geographic), PixelIsArea, the EPSG code."""
    keys = [(1024, model), (1025, 1)]
    if geographic is not None:
        keys.append((2048, geographic))
    if projected is not None:
        keys.append((3072, projected))
    out = [1, 1, 0, len(keys)]
    for key, value in keys:
        out += [key, 0, 1, value]
    return out


def tiff(width, height, pixels, *, scale, tiepoint, keys, datetime, tile=None, overviews=0):
    """A little-endian classic TIFF, uncompressed, one band of uint8.

    `pixels(col, row)` gives each value. With `tile`, the image is tiled and `overviews`
    reduced-resolution directories (NewSubfileType 1) follow the main one.
    """
    images = [(width, height, pixels, True)]
    w, h = width, height
    for level in range(1, overviews + 1):
        w, h = (w + 1) // 2, (h + 1) // 2
        factor = 2**level
        images.append((w, h, lambda c, r, f=factor: pixels(c * f, r * f), False))

    out = bytearray(b"II" + struct.pack("<HI", 42, 0))
    blocks = []
    for w, h, px, _ in images:
        offsets = []
        if tile is None:
            offsets.append((len(out), w * h))
            out += bytes(px(c, r) & 0xFF for r in range(h) for c in range(w))
        else:
            for ty in range(0, h, tile):
                for tx in range(0, w, tile):
                    offsets.append((len(out), tile * tile))
                    out += bytes(
                        px(tx + c, ty + r) & 0xFF if tx + c < w and ty + r < h else 0
                        for r in range(tile)
                        for c in range(tile)
                    )
        blocks.append(offsets)

    pointer = 4  # where the next directory's offset goes
    for (w, h, _, main), offsets in zip(images, blocks):
        entries = []  # (tag, type, values); 2 ASCII, 3 SHORT, 4 LONG, 12 DOUBLE
        if not main:
            entries.append((254, 4, [1]))
        entries += [
            (256, 4, [w]),
            (257, 4, [h]),
            (258, 3, [8]),
            (259, 3, [1]),
            (262, 3, [1]),
            (277, 3, [1]),
            (284, 3, [1]),
            (339, 3, [1]),
        ]
        if tile is None:
            entries += [(273, 4, [o for o, _ in offsets]), (278, 4, [h]), (279, 4, [n for _, n in offsets])]
        else:
            entries += [
                (322, 4, [tile]),
                (323, 4, [tile]),
                (324, 4, [o for o, _ in offsets]),
                (325, 4, [n for _, n in offsets]),
            ]
        if main:
            entries += [
                (306, 2, datetime),
                (33550, 12, list(scale)),
                (33922, 12, list(tiepoint)),
                (34735, 3, keys),
            ]
        entries.sort(key=lambda e: e[0])

        if len(out) % 2:
            out += b"\0"
        start = len(out)
        struct.pack_into("<I", out, pointer, start)
        external = start + 2 + 12 * len(entries) + 4
        body = bytearray(struct.pack("<H", len(entries)))
        tail = bytearray()
        for tag, typ, values in entries:
            if typ == 2:
                data = values.encode("ascii") + b"\0"
                count = len(data)
            else:
                fmt = {3: "<H", 4: "<I", 12: "<d"}[typ]
                data = b"".join(struct.pack(fmt, v) for v in values)
                count = len(values)
            body += struct.pack("<HHI", tag, typ, count)
            if len(data) <= 4:
                body += data.ljust(4, b"\0")
            else:
                body += struct.pack("<I", external + len(tail))
                tail += data
                if len(tail) % 2:
                    tail += b"\0"
        pointer = start + len(body)
        body += struct.pack("<I", 0)
        out += body + tail
    return bytes(out)


# --------------------------------------------------------------------------- PNG


def png(width, height, rgb):
    """An RGB PNG; `rgb(x, y)` gives each pixel. Stored (level 0) deflate keeps the bytes stable."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + b"".join(bytes(rgb(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------- STAC


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_bytes(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def link(rel, href, title=None):
    out = {"rel": rel, "href": href, "type": "application/json"}
    if title:
        out["title"] = title
    return out


# Three adjacent 16x16 tiles of 0.0005 degrees (about 37 x 55 m pixels) over Vienna.
PIXEL = 0.0005
SIZE = 16
TILES = [
    ("S-001", 16.3600, 48.2160, "2024-05-01T10:00:00Z", "Tile S-001: Prater, north-west"),
    ("S-002", 16.3680, 48.2160, "2024-05-08T10:00:00Z", "Tile S-002: Prater, north-east"),
    ("S-003", 16.3600, 48.2080, "2024-05-15T10:00:00Z", "Tile S-003: Prater, south-west"),
]
COLLECTION = "sample-orthophotos"


def r(value):
    """Rounds a coordinate to 10 decimals so float noise never reaches the JSON."""
    return round(value, 10)


def make_item(index, item_id, west, north, datetime, title):
    east, south = r(west + SIZE * PIXEL), r(north - SIZE * PIXEL)
    folder = os.path.join(CATALOG_DIR, COLLECTION, item_id)
    tif = tiff(
        SIZE,
        SIZE,
        lambda c, row: (c * 16 + row * 7 + index * 60),
        scale=(PIXEL, PIXEL, 0),
        tiepoint=(0, 0, 0, west, north, 0),
        keys=geokeys(2, geographic=4326),
        datetime=datetime[:10].replace("-", ":") + " " + datetime[11:19],
    )
    thumbnail = png(8, 8, lambda x, y: (x * 32, y * 32, 80 * index))
    write_bytes(os.path.join(folder, f"{item_id}.tif"), tif)
    write_bytes(os.path.join(folder, f"{item_id}.png"), thumbnail)

    properties = {
        "title": title,
        "datetime": datetime,
        "gsd": 50,
        "proj:code": "EPSG:4326",
        "proj:shape": [SIZE, SIZE],
        "proj:transform": [PIXEL, 0, west, 0, -PIXEL, north],
        "proj:bbox": [west, south, east, north],
    }
    if index == 1:
        # Not from any extension: the repository must keep it verbatim.
        properties["custom:note"] = "kept verbatim"
    item = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [FILE, PROJECTION, RASTER],
        "id": item_id,
        "collection": COLLECTION,
        "bbox": [west, south, east, north],
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[west, north], [west, south], [east, south], [east, north], [west, north]]],
        },
        "properties": properties,
        "links": [
            link("root", "../../catalog.json", "Sample catalog"),
            link("parent", "../collection.json", "Sample orthophotos"),
            link("collection", "../collection.json", "Sample orthophotos"),
        ],
        "assets": {
            "data": {
                "href": f"./{item_id}.tif",
                "type": GEOTIFF,
                "title": "Orthophoto (16x16, uint8)",
                "roles": ["data"],
                "file:size": len(tif),
                "file:checksum": "1220" + hashlib.sha256(tif).hexdigest(),
                "raster:bands": [{"data_type": "uint8", "spatial_resolution": 50}],
            },
            "thumbnail": {
                "href": f"./{item_id}.png",
                "type": "image/png",
                "title": "Thumbnail",
                "roles": ["thumbnail"],
                "file:size": len(thumbnail),
                "file:checksum": "1220" + hashlib.sha256(thumbnail).hexdigest(),
            },
        },
    }
    write_json(os.path.join(folder, f"{item_id}.json"), item)
    return item


def make_catalog():
    items = [make_item(i, *tile) for i, tile in enumerate(TILES)]
    bboxes = [item["bbox"] for item in items]
    union = [min(b[0] for b in bboxes), min(b[1] for b in bboxes), max(b[2] for b in bboxes), max(b[3] for b in bboxes)]
    datetimes = sorted(item["properties"]["datetime"] for item in items)
    collection = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": COLLECTION,
        "title": "Sample orthophotos",
        "description": "Three tiny 16x16 orthophoto tiles over Vienna, made up for trying stac-repository.",
        "license": "CC-BY-4.0",
        "keywords": ["sample", "orthophoto"],
        "providers": [{"name": "stac-repository sample data", "roles": ["producer", "host"]}],
        "extent": {"spatial": {"bbox": [union]}, "temporal": {"interval": [[datetimes[0], datetimes[-1]]]}},
        "links": [
            link("root", "../catalog.json", "Sample catalog"),
            link("parent", "../catalog.json", "Sample catalog"),
            {
                "rel": "license",
                "href": "https://creativecommons.org/licenses/by/4.0/",
                "type": "text/html",
                "title": "CC-BY-4.0",
            },
        ]
        + [link("item", f"./{item['id']}/{item['id']}.json", item["properties"]["title"]) for item in items],
    }
    write_json(os.path.join(CATALOG_DIR, COLLECTION, "collection.json"), collection)
    catalog = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "sample",
        "title": "Sample catalog",
        "description": "A small STAC catalog shipped with stac-repository for its tutorial.",
        "links": [
            link("root", "./catalog.json", "Sample catalog"),
            link("child", f"./{COLLECTION}/collection.json", "Sample orthophotos"),
        ],
    }
    write_json(os.path.join(CATALOG_DIR, "catalog.json"), catalog)


def make_products():
    # UTM zone 33N, 10 m pixels, east of Vienna; striped.
    write_bytes(
        os.path.join(PRODUCTS_DIR, "P-001.tif"),
        tiff(
            16,
            16,
            lambda c, row: (c ^ row) * 16,
            scale=(10, 10, 0),
            tiepoint=(0, 0, 0, 610000, 5340000, 0),
            keys=geokeys(1, projected=32633),
            datetime="2024:06:01 09:15:00",
        ),
    )
    # Web Mercator, 20 m pixels, tiled 16x16 with one overview: a tiny cloud-optimized GeoTIFF.
    write_bytes(
        os.path.join(PRODUCTS_DIR, "P-002.tif"),
        tiff(
            32,
            32,
            lambda c, row: c * 8,
            scale=(20, 20, 0),
            tiepoint=(0, 0, 0, 1822000, 6141000, 0),
            keys=geokeys(1, projected=3857),
            datetime="2024:06:02 09:15:00",
            tile=16,
            overviews=1,
        ),
    )
    write_bytes(os.path.join(PRODUCTS_DIR, "P-002.png"), png(8, 8, lambda x, y: (200, x * 30, y * 30)))


if __name__ == "__main__":
    make_catalog()
    make_products()
    print(f"wrote {os.path.relpath(CATALOG_DIR, ROOT)} and {os.path.relpath(PRODUCTS_DIR, ROOT)}")
