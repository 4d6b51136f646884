import Foundation
import TestSupport
import Testing

/// `export --format ndjson|geoparquet` (issue 14, formats): every item in one file, read back
/// by the tools people use (pyarrow, stac-geoparquet, rustac), equal to the JSON export.
@Suite("Export as NDJSON and stac-geoparquet", .offPool)
struct ExportFormatTests {
    static let realWorld = Env.packageRoot.appendingPathComponent("Tests/Fixtures/real-world")
    static let sample = Env.packageRoot.appendingPathComponent("docs/sample-catalog")

    static func pythonImports(_ module: String) -> Bool {
        guard let python = which("python3") else { return false }
        return (try? runBlocking(python, ["-c", "import \(module)"]).status) == 0
    }

    static let hasPyarrow = pythonImports("pyarrow.parquet")
    static let hasStacGeoparquet = pythonImports("stac_geoparquet.arrow")
    static let hasRustac = pythonImports("rustac")

    /// Runs a Python check script; it prints `OK …` when everything matched.
    func python(_ script: String, _ args: [String], _ ws: Workspace) async throws -> RunResult {
        try await run(which("python3") ?? "/usr/bin/python3", ["-c", script] + args, env: ws.env)
    }

    /// A repository with the real-world fixtures and the sample catalog ingested (git backend).
    func fixtures(_ name: String, backend: String = "git") async throws -> Workspace {
        let ws = Workspace(name)
        let source = ws.temp.sub("source")
        try FileManager.default.copyItem(at: Self.realWorld, to: source)
        let sample = ws.temp.sub("sample")
        try FileManager.default.copyItem(at: Self.sample, to: sample)
        try await ws.initRepo(backend: backend)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try await ws.ok(["ingest", sample.appendingPathComponent("catalog.json").path])
        return ws
    }

    /// Every item of a folder export, by repository path, parsed.
    func exportedItems(_ dir: URL) -> [(String, NSDictionary)] {
        var out: [(String, NSDictionary)] = []
        for path in treeState(dir).keys.sorted() where path.hasSuffix(".json") {
            let parts = path.split(separator: "/")
            guard parts.count >= 2, parts[parts.count - 1] == parts[parts.count - 2] + ".json",
                let object = readJSON(dir.appendingPathComponent(path)), object["type"] as? String == "Feature"
            else { continue }
            out.append((path, object as NSDictionary))
        }
        return out
    }

    // MARK: NDJSON

    @Test(
        "NDJSON: one compact line per item in stored-path order, each equal to the --assets none export",
        arguments: ["git", "file"])
    func ndjsonEqualsJSONExport(backend: String) async throws {
        let ws = try await fixtures("ndjson-\(backend)", backend: backend)
        let folder = ws.temp.sub("folder")
        try await ws.ok(["export", folder.path, "--assets", "none"])
        let file = ws.temp.sub("out/items.ndjson")
        let r = try await ws.ok(["export", file.path, "--format", "ndjson"])
        let expected = exportedItems(folder)
        #expect(expected.count == 6)
        #expect(r.stdout.contains("export: \(expected.count) items written to \(file.path)"), "\(r.stdout)")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(lines.count == expected.count, "\(lines.count) lines")
        for (line, (path, item)) in zip(lines, expected) {
            #expect(!line.contains("\n  "), "a line is compact")
            let parsed = try #require(jsonObject(String(line)) as? NSDictionary, "\(path): \(line)")
            #expect(parsed == item, "\(path)")
        }
        // Asset hrefs are the original locations, never the repository's relative copies.
        for (_, item) in expected {
            for case let asset as [String: Any] in (item["assets"] as? [String: Any] ?? [:]).values {
                #expect(
                    (asset["href"] as? String ?? "").hasPrefix("/") || (asset["href"] as? String ?? "").contains("://"))
            }
        }
        // The same export twice: the same bytes (deterministic); an existing file needs --force.
        let again = try await ws.tool(["export", file.path, "--format", "ndjson"])
        #expect(again.status == 1)
        #expect(again.stderr.hasPrefix("error: ") && again.stderr.contains("--force"), "\(again.stderr)")
        #expect(again.stderr.split(separator: "\n").count == 1, "\(again.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8) == text)
        try await ws.ok(["export", file.path, "--format", "ndjson", "--force"])
        #expect(try String(contentsOf: file, encoding: .utf8) == text)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: ws.temp.sub("out").path)
        #expect(siblings == ["items.ndjson"], "no temporary file is left: \(siblings)")
    }

    @Test("--href-base: every href inside the catalog becomes an absolute URL under the base, naming the exported file")
    func hrefBase() async throws {
        let ws = try await fixtures("hrefbase")
        let folder = ws.temp.sub("folder")
        try await ws.ok(["export", folder.path])
        let file = ws.temp.sub("items.ndjson")
        let base = "https://cdn.example.org/oam/"
        try await ws.ok(["export", file.path, "--format", "ndjson", "--href-base", "https://cdn.example.org/oam"])
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        var checked = 0
        for line in lines {
            let item = try #require(jsonObject(String(line)) as? [String: Any])
            var hrefs = (item["assets"] as? [String: [String: Any]] ?? [:]).values.compactMap { $0["href"] as? String }
            hrefs += (item["links"] as? [[String: Any]] ?? []).compactMap { $0["href"] as? String }
            for href in hrefs where !href.hasPrefix("https://example.com") && !href.hasPrefix("https://stac") {
                #expect(href.hasPrefix(base), "\(href)")
                let rel = try #require(String(href.dropFirst(base.count)).removingPercentEncoding)
                #expect(!href.contains(" ") && !href.contains("#"), "percent-encoded: \(href)")
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(rel).path), "\(href)")
                checked += 1
            }
        }
        #expect(checked > 20)
        let bad = try await ws.tool([
            "export", ws.temp.sub("x.ndjson").path, "--format", "ndjson", "--href-base", "cdn/x",
        ])
        #expect(bad.status == 1 && bad.stderr.contains("--href-base"), "\(bad.stderr)")
        let usage = try await ws.tool(["export", ws.temp.sub("dir").path, "--href-base", base])
        #expect(usage.status == 64, "\(usage.stderr)")
    }

    // MARK: GeoParquet

    /// Compares a stac-geoparquet file with the NDJSON export of the same items, with pyarrow
    /// (and shapely for the geometries).
    static let pyarrowCheck = """
        import sys, json, re, datetime
        import pyarrow.parquet as pq
        pf = pq.ParquetFile(sys.argv[1])
        items = [json.loads(l) for l in open(sys.argv[2])]
        rows = pf.read().to_pylist()
        assert len(rows) == len(items), (len(rows), len(items))
        meta = {k.decode(): json.loads(v) for k, v in pf.metadata.metadata.items()}
        geo = meta["geo"]
        assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB", geo
        assert meta["stac-geoparquet"]["version"] == "1.0.0", meta["stac-geoparquet"]
        schema = pf.schema_arrow
        assert str(schema.field("datetime").type) == "timestamp[us, tz=UTC]", schema
        assert str(schema.field("bbox").type).startswith("struct<xmin: double, ymin: double, xmax: double"), schema
        TS = {"datetime", "start_datetime", "end_datetime", "created", "updated", "expires", "published", "unpublished"}
        def ts(s):
            m = re.match(r"^(.*T\\d\\d:\\d\\d:\\d\\d)(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$", s)
            frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
            tz = "+00:00" if m.group(3) == "Z" else m.group(3)
            return datetime.datetime.fromisoformat(m.group(1) + "." + frac + tz).astimezone(datetime.timezone.utc)
        def norm(v):
            if isinstance(v, dict): return {k: norm(x) for k, x in v.items() if x is not None}
            if isinstance(v, list): return [norm(x) for x in v]
            return v
        def same(got, want):
            if norm(got) == norm(want): return True
            # A column of mixed shapes holds each value's JSON text.
            return isinstance(got, str) and json.loads(got) == want
        try:
            import shapely, shapely.geometry
        except ImportError:
            shapely = None
        types = set()
        stride = int(sys.argv[3]) if len(sys.argv) > 3 else 1
        assert [r["id"] for r in rows] == [it["id"] for it in items]
        for r, it in list(zip(rows, items))[::stride]:
            assert r["collection"] == it.get("collection")
            assert r["type"] == "Feature" and r["stac_version"] == it["stac_version"]
            assert r["stac_extensions"] == it.get("stac_extensions", []), r["stac_extensions"]
            assert [r["bbox"][k] for k in ("xmin", "ymin", "xmax", "ymax")] == it["bbox"], (r["bbox"], it["bbox"])
            for k, v in it["properties"].items():
                if k in TS:
                    assert r[k] == ts(v), (it["id"], k, r[k], v)
                else:
                    assert same(r[k], v), (it["id"], k, r[k], v)
            assert set(k for k, a in r["assets"].items() if a is not None) == set(it["assets"]), (it["id"], r["assets"].keys())
            for key, a in it["assets"].items():
                assert r["assets"][key]["href"] == a["href"], (key, r["assets"][key]["href"], a["href"])
                assert same(r["assets"][key], a), (it["id"], key, r["assets"][key], a)
            assert same(r["links"], it["links"]), (r["links"], it["links"])
            if shapely:
                g = shapely.from_wkb(r["geometry"])
                assert g.equals_exact(shapely.geometry.shape(it["geometry"]), 0), (it["id"], g.wkt)
                types.add(g.geom_type + (" Z" if g.has_z else ""))
        if shapely:
            assert sorted(types) == sorted(geo["columns"]["geometry"]["geometry_types"]), (types, geo)
        colls = meta["stac-geoparquet"].get("collections", {})
        assert set(colls) == {it["collection"] for it in items if it.get("collection")}, colls.keys()
        for cid, c in colls.items():
            assert c["id"] == cid and c["type"] == "Collection"
            assert not [l for l in c.get("links", []) if l["rel"] in ("item", "child")], cid
        try:
            import geopandas
        except ImportError:
            geopandas = None
        if geopandas:
            df = geopandas.read_parquet(sys.argv[1])
            assert len(df) == len(items) and str(df.crs) == "OGC:CRS84", (len(df), df.crs)
        print("OK", len(rows), pf.metadata.num_row_groups)
        """

    @Test(
        "geoparquet of real-shaped items: pyarrow reads every row, property, timestamp, bbox, geometry and asset href of the NDJSON export",
        .enabled(if: hasPyarrow, "pyarrow is not installed (scripts/setup.sh --test-tools)"))
    func geoparquetMatchesNDJSON() async throws {
        let ws = try await fixtures("geoparquet")
        let ndjson = ws.temp.sub("items.ndjson")
        let parquet = ws.temp.sub("items.parquet")
        try await ws.ok(["export", ndjson.path, "--format", "ndjson"])
        let r = try await ws.ok(["export", parquet.path, "--format", "geoparquet", "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any], "\(r.stdout)")
        #expect(report["items"] as? Int == 6 && report["format"] as? String == "geoparquet")
        #expect(
            report["bytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: parquet.path)[.size] as? Int))
        let check = try await python(Self.pyarrowCheck, [parquet.path, ndjson.path], ws)
        #expect(check.status == 0 && check.stdout.hasPrefix("OK 6 1"), "\(check.stdout)\(check.stderr)")
        // 7-digit fractional seconds are truncated to microseconds, not rounded.
        let landsat = try await python(
            """
            import sys, pyarrow.parquet as pq
            t = pq.read_table(sys.argv[1]).to_pylist()
            print([r["datetime"].isoformat() for r in t if r["id"].startswith("LC09")][0])
            """, [parquet.path], ws)
        #expect(landsat.stdout.hasPrefix("2023-10-05T18:31:21.674951+00:00"), "\(landsat.stdout)\(landsat.stderr)")
        // Deterministic: the same catalog, the same bytes.
        let second = ws.temp.sub("again.parquet")
        try await ws.ok(["export", second.path, "--format", "geoparquet"])
        #expect(FileManager.default.contents(atPath: second.path) == FileManager.default.contents(atPath: parquet.path))
    }

    @Test(
        "stac-geoparquet turns the file back into the exported items",
        .enabled(if: hasStacGeoparquet, "stac-geoparquet is not installed (scripts/setup.sh --test-tools)"))
    func stacGeoparquetReadsBack() async throws {
        let ws = try await fixtures("stac-geoparquet")
        let ndjson = ws.temp.sub("items.ndjson")
        let parquet = ws.temp.sub("items.parquet")
        try await ws.ok(["export", ndjson.path, "--format", "ndjson"])
        try await ws.ok(["export", parquet.path, "--format", "geoparquet"])
        let script = """
            import sys, json, re, datetime, pyarrow.parquet as pq, stac_geoparquet.arrow as sga
            TS = {"datetime", "start_datetime", "end_datetime", "created", "updated", "expires", "published", "unpublished"}
            def ts(s):
                m = re.match(r"^(.*T\\d\\d:\\d\\d:\\d\\d)(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$", s)
                frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
                tz = "+00:00" if m.group(3) == "Z" else m.group(3)
                return datetime.datetime.fromisoformat(m.group(1) + "." + frac + tz).astimezone(datetime.timezone.utc)
            items = [json.loads(l) for l in open(sys.argv[2])]
            back = list(sga.stac_table_to_items(pq.read_table(sys.argv[1])))
            assert len(back) == len(items), len(back)
            def norm(v):
                if isinstance(v, dict): return {k: norm(x) for k, x in v.items() if x is not None}
                if isinstance(v, list): return [norm(x) for x in v]
                if isinstance(v, tuple): return [norm(x) for x in v]
                return v
            for b, it in zip(back, items):
                assert b["id"] == it["id"] and b["collection"] == it["collection"]
                assert list(b["bbox"]) == it["bbox"], (b["bbox"], it["bbox"])
                assert norm(b["geometry"]) == norm(it["geometry"]), (b["geometry"], it["geometry"])
                assert norm(b["assets"]) == norm(it["assets"]), it["id"]
                assert norm(b["links"]) == norm(it["links"]), it["id"]
                for k, v in it["properties"].items():
                    got = b["properties"][k]
                    if k in TS:
                        # Older stac-geoparquet releases write whole seconds, newer ones microseconds.
                        g = datetime.datetime.fromisoformat(got.replace("Z", "+00:00"))
                        assert g in (ts(v), ts(v).replace(microsecond=0)), (got, v)
                    elif not isinstance(got, str) or isinstance(v, str):
                        assert norm(got) == norm(v), (it["id"], k, got, v)
            print("OK", len(back))
            """
        let r = try await python(script, [parquet.path, ndjson.path], ws)
        #expect(r.status == 0 && r.stdout.hasPrefix("OK 6"), "\(r.stdout)\(r.stderr)")
    }

    @Test(
        "rustac reads the file: the same ids, hrefs and properties as the NDJSON export",
        .enabled(if: hasRustac, "rustac is not installed (scripts/setup.sh --test-tools)"))
    func rustacReadsBack() async throws {
        let ws = try await fixtures("rustac")
        let ndjson = ws.temp.sub("items.ndjson")
        let parquet = ws.temp.sub("items.parquet")
        try await ws.ok(["export", ndjson.path, "--format", "ndjson"])
        try await ws.ok(["export", parquet.path, "--format", "geoparquet"])
        let script = """
            import sys, json, rustac
            items = [json.loads(l) for l in open(sys.argv[2])]
            back = rustac.read_sync(sys.argv[1])["features"]
            assert len(back) == len(items), len(back)
            for b, it in zip(back, items):
                assert b["id"] == it["id"] and b.get("collection") == it.get("collection")
                assert list(b["bbox"]) == it["bbox"], (b["bbox"], it["bbox"])
                assert b["geometry"]["type"] == it["geometry"]["type"]
                assert {k: a["href"] for k, a in b["assets"].items()} == {k: a["href"] for k, a in it["assets"].items()}
                for k, v in it["properties"].items():
                    if k == "datetime": continue
                    got = b["properties"].get(k)
                    if isinstance(got, str) and not isinstance(v, str): got = json.loads(got)
                    assert got == v, (it["id"], k, got, v)
            print("OK", len(back))
            """
        let r = try await python(script, [parquet.path, ndjson.path], ws)
        #expect(r.status == 0 && r.stdout.hasPrefix("OK 6"), "\(r.stdout)\(r.stderr)")
    }

    // MARK: Many items, history, refusals

    /// Adds items FROM..<TO to the `synthetic` collection of ``syntheticRepository(_:count:shape:)``,
    /// in the same shape (argv: repository, from, to).
    static let syntheticItems = """
        import json, os, sys
        repo, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        coll = os.path.join(repo, "synthetic")
        cpath = os.path.join(coll, "collection.json")
        c = json.load(open(cpath))
        for i in range(start, end):
            iid = f"item-{i:05d}"
            os.makedirs(os.path.join(coll, iid))
            x, y = i % 360 - 180 + 0.25, i % 170 - 85
            assets = {"data": {"href": f"https://example.com/{iid}.tif", "type": "image/tiff", "roles": ["data"], "file:size": 1000 + i}}
            if i % 2 == 0:
                assets["thumb"] = {"href": f"https://example.com/{iid}.png", "roles": ["thumbnail"]}
            assets["meta"] = {"href": f"https://example.com/{iid}.json", "type": "application/json"}
            item = {"type": "Feature", "stac_version": "1.1.0", "id": iid, "collection": "synthetic",
                    "geometry": {"type": "Point", "coordinates": [x, y]}, "bbox": [x, y, x, y],
                    "properties": {"datetime": f"2024-01-{i % 28 + 1:02d}T12:00:00.{i:07d}Z",
                                   "eo:cloud_cover": i % 100 if i % 2 == 0 else i % 100 + 0.5,
                                   "platform": None if i % 3 == 0 else f"sat-{i % 5}", "sequence": i,
                                   "flags": [] if i % 4 == 0 else [True, False],
                                   "mixed": {"a": 1} if i % 10 == 0 else "text"},
                    "links": [{"rel": "collection", "href": "../collection.json", "type": "application/json"},
                              {"rel": "parent", "href": "../collection.json", "type": "application/json"}],
                    "assets": assets}
            with open(os.path.join(coll, iid, iid + ".json"), "w") as f:
                json.dump(item, f)
            c["links"].append({"rel": "item", "href": f"./{iid}/{iid}.json", "type": "application/geo+json"})
        json.dump(c, open(cpath, "w"))
        """

    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func itemID(_ i: Int) -> String { "item-" + padded(i, 5) }

    /// A file-backend repository whose catalog holds `count` items written directly (no ingest:
    /// this is about export), assets referencing absolute URLs; `shape` alters item `i`.
    func syntheticRepository(_ ws: Workspace, count: Int, shape: (Int) -> String? = { _ in nil }) async throws {
        try await ws.initRepo(backend: "file")
        let coll = ws.repo.appendingPathComponent("synthetic")
        var links: [String] = []
        for i in 0..<count {
            let id = Self.itemID(i)
            let dir = coll.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let x = Double(i % 360) - 180 + 0.25
            let geometry =
                shape(i)
                ?? "{\"type\":\"Point\",\"coordinates\":[\(x),\(Double(i % 170) - 85)]}"
            let item = """
                {"type":"Feature","stac_version":"1.1.0","id":"\(id)","collection":"synthetic",
                 "geometry":\(geometry),"bbox":[\(x),\(Double(i % 170) - 85),\(x),\(Double(i % 170) - 85)],
                 "properties":{"datetime":"2024-01-\(Self.padded(i % 28 + 1, 2))T12:00:00.\(Self.padded(i, 7))Z",
                   "eo:cloud_cover":\(i % 2 == 0 ? "\(i % 100)" : "\(Double(i % 100) + 0.5)"),
                   "platform":\(i % 3 == 0 ? "null" : "\"sat-\(i % 5)\""),"sequence":\(i),
                   "flags":\(i % 4 == 0 ? "[]" : "[true,false]"),
                   "mixed":\(i % 10 == 0 ? "{\"a\":1}" : "\"text\"")},
                 "links":[{"rel":"collection","href":"../collection.json","type":"application/json"},
                          {"rel":"parent","href":"../collection.json","type":"application/json"}],
                 "assets":{"data":{"href":"https://example.com/\(id).tif","type":"image/tiff","roles":["data"],"file:size":\(1000 + i)},
                           \(i % 2 == 0 ? "\"thumb\":{\"href\":\"https://example.com/\(id).png\",\"roles\":[\"thumbnail\"]}," : "")
                           "meta":{"href":"https://example.com/\(id).json","type":"application/json"}}}
                """
            try Data(item.utf8).write(to: dir.appendingPathComponent("\(id).json"))
            links.append("{\"rel\":\"item\",\"href\":\"./\(id)/\(id).json\",\"type\":\"application/geo+json\"}")
        }
        let collection = """
            {"type":"Collection","stac_version":"1.1.0","id":"synthetic","description":"Synthetic","license":"CC0-1.0",
             "extent":{"spatial":{"bbox":[[-180,-90,180,90]]},"temporal":{"interval":[["2024-01-01T00:00:00Z",null]]}},
             "links":[{"rel":"root","href":"../catalog.json"},\(links.joined(separator: ","))]}
            """
        try Data(collection.utf8).write(to: coll.appendingPathComponent("collection.json"))
        let rootURL = ws.repo.appendingPathComponent("catalog.json")
        var root = try #require(readJSON(rootURL))
        var rootLinks = root["links"] as? [[String: Any]] ?? []
        rootLinks.append(["rel": "child", "href": "./synthetic/collection.json", "type": "application/json"])
        root["links"] = rootLinks
        try JSONSerialization.data(withJSONObject: root).write(to: rootURL)
    }

    @Test(
        "10,000 synthetic items in row groups of 3,000: every row, mixed int/float as double, mixed shapes as JSON, 7-digit seconds",
        .enabled(if: hasPyarrow, "pyarrow is not installed (scripts/setup.sh --test-tools)"))
    func tenThousandItems() async throws {
        let ws = Workspace("geoparquet-10k")
        try await syntheticRepository(ws, count: 1)
        // The other 9,999 items, written by Python (much faster than a debug-built Swift loop).
        let made = try await python(Self.syntheticItems, [ws.repo.path, "1", "10000"], ws)
        try #require(made.status == 0, "\(made.stderr)")
        let ndjson = ws.temp.sub("items.ndjson")
        let parquet = ws.temp.sub("items.parquet")
        try await ws.ok(["export", ndjson.path, "--format", "ndjson"])
        let r = try await ws.ok(["export", parquet.path, "--format", "geoparquet", "--row-group-size", "3000"])
        #expect(r.stdout.contains("export: 10000 items written to"), "\(r.stdout)")
        let check = try await python(Self.pyarrowCheck, [parquet.path, ndjson.path, "7"], ws)
        #expect(check.status == 0 && check.stdout.hasPrefix("OK 10000 4"), "\(check.stdout)\(check.stderr)")
        let types = try await python(
            """
            import sys, pyarrow.parquet as pq
            s = pq.read_schema(sys.argv[1])
            print(s.field("eo:cloud_cover").type, s.field("sequence").type, s.field("mixed").type,
                  s.field("flags").type, s.field("platform").type)
            """, [parquet.path], ws)
        #expect(
            types.stdout.hasPrefix("double int64 string list<element: bool> string"), "\(types.stdout)\(types.stderr)")
    }

    @Test("--ref exports an older version, in both formats")
    func refExportsHistory() async throws {
        let ws = Workspace("formats-ref")
        try await ws.initRepo(backend: "git")
        let first = ws.temp.sub("first")
        try makeCatalog(at: first, items: 3, assetBytes: 64)
        try await ws.ok(["ingest", first.appendingPathComponent("catalog.json").path])
        let second = ws.temp.sub("second")
        try makeCatalog(at: second, collection: "other", items: 2, seed: 1, assetBytes: 64)
        try await ws.ok(["ingest", second.appendingPathComponent("catalog.json").path])
        let old = ws.temp.sub("old.ndjson")
        let now = ws.temp.sub("now.ndjson")
        try await ws.ok(["export", old.path, "--format", "ndjson", "--ref", "HEAD~1"])
        try await ws.ok(["export", now.path, "--format", "ndjson"])
        func ids(_ url: URL) throws -> [String] {
            try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap {
                (jsonObject(String($0)) as? [String: Any])?["id"] as? String
            }
        }
        #expect(try ids(old) == ["item-0", "item-1", "item-2"])
        #expect(try ids(now) == ["item-0", "item-1", "item-2", "item-0", "item-1"])
        let parquet = ws.temp.sub("old.parquet")
        let r = try await ws.ok(["export", parquet.path, "--format", "geoparquet", "--ref", "HEAD~1", "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any], "\(r.stdout)")
        #expect(report["items"] as? Int == 3)
        #expect((report["version"] as? String)?.count == 40)
        if Self.hasPyarrow {
            let rows = try await python(
                "import sys, pyarrow.parquet as pq; print(pq.read_table(sys.argv[1]).column('id').to_pylist())",
                [parquet.path], ws)
            #expect(rows.stdout.hasPrefix("['item-0', 'item-1', 'item-2']"), "\(rows.stdout)\(rows.stderr)")
        }
    }

    @Test("items stac-geoparquet cannot hold are named in one sentence and nothing is written; NDJSON still takes them")
    func unrepresentableItems() async throws {
        let ws = Workspace("geoparquet-refusals")
        try await syntheticRepository(ws, count: 5) { i -> String? in i == 3 ? "null" : nil }
        let parquet = ws.temp.sub("items.parquet")
        let r = try await ws.tool(["export", parquet.path, "--format", "geoparquet"])
        #expect(r.status == 1)
        #expect(
            r.stderr.hasPrefix("error: ") && r.stderr.contains("\"item-00003\"") && r.stderr.contains("geometry"),
            "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: parquet.path))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: ws.temp.url.path).filter { $0.contains("stac-export") }
                .isEmpty)
        try await ws.ok(["export", ws.temp.sub("items.ndjson").path, "--format", "ndjson"])
        // A destination that is a directory is refused.
        let dir = ws.temp.sub("adir")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let d = try await ws.tool(["export", dir.path, "--format", "ndjson"])
        #expect(d.status == 1 && d.stderr.contains("is a directory"), "\(d.stderr)")
    }

    @Test("a kill before the rename leaves the old file whole; the next export removes the stray temporary file")
    func killBeforeRename() async throws {
        let ws = Workspace("formats-kill")
        try await syntheticRepository(ws, count: 4)
        let file = ws.temp.sub("items.ndjson")
        try Data("old\n".utf8).write(to: file)
        let killed = try await ws.tool(
            ["export", file.path, "--format", "ndjson", "--force"],
            env: ["STAC_REPOSITORY_CRASH_AT": "item-export-before-rename"])
        #expect(killed.status != 0)
        #expect(try String(contentsOf: file, encoding: .utf8) == "old\n")
        let stray = try FileManager.default.contentsOfDirectory(atPath: ws.temp.url.path).filter {
            $0.hasPrefix(".items.ndjson.stac-export-")
        }
        #expect(stray.count == 1, "\(stray)")
        try await ws.ok(["export", file.path, "--format", "ndjson", "--force"])
        #expect(try String(contentsOf: file, encoding: .utf8).split(separator: "\n").count == 4)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: ws.temp.url.path).filter {
                $0.contains(".stac-export-")
            }.isEmpty)
    }

    @Test(
        "3-D geometries and six-value bboxes are written as Point Z and a six-field bbox",
        .enabled(if: hasPyarrow, "pyarrow is not installed (scripts/setup.sh --test-tools)"))
    func threeDimensional() async throws {
        let ws = Workspace("geoparquet-3d")
        try await syntheticRepository(ws, count: 3) { i in "{\"type\":\"Point\",\"coordinates\":[1.5,2.5,\(i).0]}" }
        // Rewrite the bboxes with six values.
        for i in 0..<3 {
            let id = Self.itemID(i)
            let url = ws.repo.appendingPathComponent("synthetic/\(id)/\(id).json")
            var item = try #require(readJSON(url))
            item["bbox"] = [1.5, 2.5, Double(i), 1.5, 2.5, Double(i)]
            try JSONSerialization.data(withJSONObject: item).write(to: url)
        }
        let parquet = ws.temp.sub("items.parquet")
        try await ws.ok(["export", parquet.path, "--format", "geoparquet"])
        let r = try await python(
            """
            import sys, json, pyarrow.parquet as pq
            f = pq.ParquetFile(sys.argv[1])
            print(json.loads(f.metadata.metadata[b"geo"])["columns"]["geometry"]["geometry_types"],
                  [b["zmax"] for b in f.read().column("bbox").to_pylist()])
            """, [parquet.path], ws)
        #expect(r.stdout.hasPrefix("['Point Z'] [0.0, 1.0, 2.0]"), "\(r.stdout)\(r.stderr)")
    }
}
