#!/usr/bin/env python3
"""A static STAC API for tests and the tutorial: python3 stac-api-server.py PORT

Landing page (/), /collections, /collections/{id}, /collections/{id}/items and /search, paged by
`limit` (default 5) with `next` links: GET links for GET requests, POST links with a `body` and
`"merge": true` for POST /search. Collection "x" has 12 items; "old" is a pre-1.0 (0.9.0)
collection without "type", with 2 items. /loop/search loops; /catalog/search answers a Catalog.
Serves 127.0.0.1 only. Used by Tests/EndToEndTests/STACAPISourceTests.swift and docs/tutorial.md.
"""
import json, sys
from http.server import HTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs
PORT = int(sys.argv[1])
BASE = "http://127.0.0.1:%d" % PORT

def item(i, coll="x", version="1.0.0"):
    return {"type": "Feature", "stac_version": version, "id": "%s-%02d" % (coll, i), "collection": coll,
            "geometry": {"type": "Point", "coordinates": [i, 1]}, "bbox": [i, 1, i, 1],
            "properties": {"datetime": "2024-01-%02dT00:00:00Z" % (i + 1)},
            "links": [{"rel": "self", "href": "%s/collections/%s/items/%s-%02d" % (BASE, coll, coll, i)},
                      {"rel": "collection", "href": "%s/collections/%s" % (BASE, coll)}],
            "assets": {}}

ITEMS = {"x": [item(i) for i in range(12)], "old": [item(i, "old", "0.9.0") for i in range(2)]}

def collection(cid):
    c = {"stac_version": "1.0.0", "id": cid, "description": "Collection " + cid, "license": "CC-BY-4.0",
         "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                    "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
         "links": [{"rel": "items", "href": "%s/collections/%s/items" % (BASE, cid)},
                   {"rel": "self", "href": "%s/collections/%s" % (BASE, cid)}]}
    if cid == "old":
        c["stac_version"] = "0.9.0"
    else:
        c = {"type": "Collection", **c}
    return c

def page(items, start, limit, next_link):
    links = []
    if start + limit < len(items):
        links.append(next_link(start + limit))
    return {"type": "FeatureCollection", "features": items[start:start + limit], "links": links}

class H(BaseHTTPRequestHandler):
    def send(self, obj, status=200):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/":
            return self.send({"type": "Catalog", "stac_version": "1.0.0", "id": "api", "description": "API",
                "conformsTo": ["https://api.stacspec.org/v1.0.0/core"],
                "links": [{"rel": "data", "href": BASE + "/collections"},
                          {"rel": "search", "href": BASE + "/search", "method": "GET"}]})
        if u.path == "/collections":
            return self.send({"collections": [collection("x"), collection("old")], "links": []})
        parts = u.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "collections" and parts[1] in ITEMS:
            return self.send(collection(parts[1]))
        limit = int(q.get("limit", "5"))
        start = int(q.get("token", "0"))
        if len(parts) == 3 and parts[0] == "collections" and parts[2] == "items" and parts[1] in ITEMS:
            cid = parts[1]
            return self.send(page(ITEMS[cid], start, limit, lambda n: {"rel": "next", "href":
                "%s/collections/%s/items?limit=%d&token=%d" % (BASE, cid, limit, n)}))
        if u.path == "/search":
            cid = q.get("collections", "x")
            return self.send(page(ITEMS[cid], start, limit, lambda n: {"rel": "next", "href":
                "%s/search?collections=%s&limit=%d&token=%d" % (BASE, cid, limit, n)}))
        if u.path == "/loop/search":
            return self.send({"type": "FeatureCollection", "features": ITEMS["x"][:2],
                "links": [{"rel": "next", "href": BASE + "/loop/search"}]})
        if u.path == "/catalog/search":
            return self.send({"type": "Catalog", "stac_version": "1.0.0", "id": "c", "description": "c",
                "links": []})
        self.send({"code": "NotFound"}, 404)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if urlparse(self.path).path != "/search":
            return self.send({"code": "NotFound"}, 404)
        cid = (body.get("collections") or ["x"])[0]
        limit = int(body.get("limit", 5))
        start = int(body.get("token", 0))
        self.send(page(ITEMS[cid], start, limit, lambda n: {"rel": "next", "href": BASE + "/search",
            "method": "POST", "body": {"token": n}, "merge": True}))

HTTPServer(("127.0.0.1", PORT), H).serve_forever()
