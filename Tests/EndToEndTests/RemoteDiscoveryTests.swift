import Foundation
import TestSupport
import Testing

/// Discovery over `s3://bucket/prefix/` (moto on 127.0.0.1) and http(s) directory listings, for
/// STAC JSON and for processors on remote products; and honest partial failure.
@Suite("Remote discovery", .offPool)
struct RemoteDiscoveryTests {
    static let s3Env = [
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    ]

    func startMoto(_ ws: Workspace) async throws -> ServerProcess {
        let moto = try #require(which("moto_server"))
        let port = freePort()
        return try await ServerProcess(
            executable: moto, arguments: ["-H", "127.0.0.1", "-p", String(port)], environment: ws.env, port: port,
            log: ws.temp.sub("moto.log"))
    }

    func startHTTP(serving dir: URL, in ws: Workspace) async throws -> ServerProcess {
        let port = freePort()
        return try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "-d", dir.path],
            environment: ws.env, port: port, log: ws.temp.sub("http.log"))
    }

    /// Uploads `files` (key → local file) and `noise` tiny objects under `noisePrefix` with boto3.
    func upload(_ files: [String: URL], noise: Int, noisePrefix: String, endpoint: String, ws: Workspace) async throws {
        let script = """
            import boto3, sys, json
            from concurrent.futures import ThreadPoolExecutor
            s3 = boto3.client('s3', endpoint_url=sys.argv[1])
            s3.create_bucket(Bucket='stac')
            for key, path in json.loads(sys.argv[2]).items():
                s3.upload_file(path, 'stac', key)
            n, prefix = int(sys.argv[3]), sys.argv[4]
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: s3.put_object(Bucket='stac', Key='%sn%04d.txt' % (prefix, i), Body=b'x'), range(n)))
            """
        let mapping = String(
            decoding: try JSONSerialization.data(withJSONObject: files.mapValues(\.path)), as: UTF8.self)
        var env = ws.env
        for (k, v) in Self.s3Env { env[k] = v }
        let r = try await run(
            try #require(which("python3")), ["-c", script, endpoint, mapping, String(noise), noisePrefix], env: env)
        try #require(r.status == 0, "upload: \(r.stderr)")
    }

    @Test(
        "ingest --processor geotiff s3://bucket/prefix/ pages the listing, records s3 originals and downloads nothing twice",
        .enabled(if: which("moto_server") != nil, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func geotiffFromBucket() async throws {
        let ws = Workspace("s3-geotiff")
        let moto = try await startMoto(ws)
        defer { moto.stop() }
        let endpoint = "http://127.0.0.1:\(moto.port)"
        let samples = Env.packageRoot.appendingPathComponent("docs/sample-products")
        let p1 = samples.appendingPathComponent("P-001.tif")
        let p2 = samples.appendingPathComponent("P-002.tif")
        try await upload(
            [
                "events/fire/a/visual.tif": p1, "events/fire/b/visual.tif": p2,
                "events/fire/c/2024/visual.tif": p1, "events/other/visual.tif": p2,
            ], noise: 1000, noisePrefix: "events/fire/noise/", endpoint: endpoint, ws: ws)
        var env = Self.s3Env
        env["AWS_ENDPOINT_URL"] = endpoint
        try await ws.initRepo(backend: "git")
        let base = [
            "ingest", "--processor", "geotiff", "s3://stac/events/fire/", "--option", "datetime=2024-05-01T00:00:00Z",
            "--list-page-size", "100",
        ]
        // Three visual.tif: the same id without a template, an error naming both hrefs.
        let before = treeState(ws.repo)
        let collide = try await ws.tool(base, env: env)
        #expect(collide.status == 1, "\(collide.stderr)")
        #expect(
            collide.stderr.contains("s3://stac/events/fire/a/visual.tif")
                && collide.stderr.contains("s3://stac/events/fire/b/visual.tif")
                && collide.stderr.contains("id-template"), "\(collide.stderr)")
        #expect(!collide.stderr.contains("/tmp/"), "a scratch path leaked: \(collide.stderr)")
        #expect(treeState(ws.repo) == before)

        let motoLog = ws.temp.sub("moto.log")
        func requests(_ needle: String) -> Int {
            ((try? String(contentsOf: motoLog, encoding: .utf8)) ?? "").components(separatedBy: needle).count - 1
        }
        let listsBefore = requests("\"GET /stac?")
        let templated = base + ["--option", "id-template=${dir}-${stem}", "--json"]
        let r = try await ws.tool(templated, env: env)
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        let added = ((report["added"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
        #expect(added == ["a-visual", "b-visual", "c-2024-visual"], "\(r.stdout)")
        // 1,003 objects at 100 a page: at least 11 ListObjectsV2 requests.
        #expect(requests("\"GET /stac?") - listsBefore >= 11, "the listing did not page")
        let item = try #require(readJSON(ws.repo.appendingPathComponent("b-visual/b-visual.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        let bytes = try Data(contentsOf: p2)
        #expect(data["file:checksum"] as? String == "1220" + sha256Hex(bytes))
        let original = (data["alternate"] as? [String: Any])?["original"] as? [String: Any]
        #expect(original?["href"] as? String == "s3://stac/events/fire/b/visual.tif")
        #expect(original?["file:checksum"] as? String == "1220" + sha256Hex(bytes))
        #expect(
            FileManager.default.contents(
                atPath: ws.repo.appendingPathComponent("b-visual/\(data["href"] as? String ?? "")").path) == bytes)

        // A re-run: everything unchanged, and no GeoTIFF fetched again.
        let gets = requests("\"GET /stac/events/fire/b/visual.tif")
        #expect(gets >= 1)
        let again = try await ws.tool(templated, env: env)
        #expect(again.status == 0, "\(again.stderr)")
        let report2 = try #require(jsonObject(again.stdout) as? [String: Any])
        #expect((report2["unchanged"] as? [Any])?.count == 3, "\(again.stdout)")
        #expect((report2["added"] as? [Any])?.isEmpty == true, "\(again.stdout)")
        #expect(requests("\"GET /stac/events/fire/b/visual.tif") == gets, "an unchanged product was downloaded again")
        try await ws.ok(["verify"])
    }

    @Test("an http directory listing is discovered with --include/--exclude; links outside it are not followed")
    func httpListing() async throws {
        let ws = Workspace("autoindex")
        let site = ws.temp.sub("site")
        try makeCatalog(at: site.appendingPathComponent("listed"), items: 2)
        // A second, excluded collection, and a non-STAC JSON file.
        try makeCatalog(at: site.appendingPathComponent("listed/skip"), collection: "skipped", items: 1)
        try Data(#"{"not": "stac"}"#.utf8).write(to: site.appendingPathComponent("listed/config.json"))
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        try await ws.initRepo(backend: "git")
        let r = try await ws.ok(["ingest", "\(base)/listed/", "--exclude", "skip/*", "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        let added = ((report["added"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
        #expect(added == ["coll", "item-0", "item-1"], "\(r.stdout)")

        // A hostile listing: links above it and to another address are ignored.
        let evil = site.appendingPathComponent("evil")
        try FileManager.default.createDirectory(at: evil, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: site.appendingPathComponent("outside"), withIntermediateDirectories: true)
        func item(_ id: String) -> Data {
            Data(
                #"{"type": "Feature", "stac_version": "1.1.0", "id": "\#(id)", "geometry": null, "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [], "assets": {}}"#
                    .utf8)
        }
        try item("inside").write(to: evil.appendingPathComponent("inside.json"))
        try item("outside").write(to: site.appendingPathComponent("outside/outside.json"))
        try """
        <html><body>
        <a href="inside.json">inside.json</a>
        <a href="../outside/outside.json">up</a>
        <a href="/outside/outside.json">absolute</a>
        <a href="http://localhost:\(server.port)/outside/outside.json">other host</a>
        <a href="?C=N;O=D">sort</a>
        </body></html>
        """.write(to: evil.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let ws2 = Workspace("autoindex-evil")
        try await ws2.initRepo(backend: "file")
        let r2 = try await ws2.ok(["ingest", "\(base)/evil/", "--json"])
        let report2 = try #require(jsonObject(r2.stdout) as? [String: Any])
        let added2 = ((report2["added"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(added2 == ["inside"], "\(r2.stdout)")
        let log = (try? String(contentsOf: ws.temp.sub("http.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains("outside.json"), "a link outside the listing was fetched")
    }

    @Test("ingest --processor geotiff over an http listing: remote originals, HEAD stamps, errors that name the href")
    func geotiffFromListing() async throws {
        let ws = Workspace("http-geotiff")
        let site = ws.temp.sub("site")
        let fm = FileManager.default
        let samples = Env.packageRoot.appendingPathComponent("docs/sample-products")
        for (folder, name) in [("2024/a", "P-001.tif"), ("2024/b", "P-002.tif")] {
            let dir = site.appendingPathComponent("products/\(folder)")
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try fm.copyItem(at: samples.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        try Data("not a tiff".utf8).write(to: site.appendingPathComponent("products/2024/broken.tif"))
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)/products/"
        try await ws.initRepo(backend: "file")
        let args = ["ingest", "--processor", "geotiff", base, "--option", "datetime=2024-05-01T00:00:00Z"]
        let broken = try await ws.tool(args)
        #expect(broken.status == 1, "\(broken.stderr)")
        #expect(broken.stderr.contains("\(base)2024/broken.tif"), "\(broken.stderr)")
        #expect(!broken.stderr.contains("/remote/"), "a scratch path leaked: \(broken.stderr)")

        let good = args + ["--exclude", "*/broken.tif", "--json"]
        let r = try await ws.ok(good)
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        #expect((report["added"] as? [Any])?.count == 2, "\(r.stdout)")
        let item = try #require(readJSON(ws.repo.appendingPathComponent("P-002/P-002.json")))
        let data = (item["assets"] as? [String: Any])?["data"] as? [String: Any]
        let original = (data?["alternate"] as? [String: Any])?["original"] as? [String: Any]
        #expect(original?["href"] as? String == "\(base)2024/b/P-002.tif")
        let log = ws.temp.sub("http.log")
        func gets() -> Int {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").components(
                separatedBy: "\"GET /products/2024/b/P-002.tif"
            ).count - 1
        }
        let before = gets()
        let again = try await ws.ok(good)
        let report2 = try #require(jsonObject(again.stdout) as? [String: Any])
        #expect((report2["unchanged"] as? [Any])?.count == 2, "\(again.stdout)")
        #expect(gets() == before, "an unchanged product was downloaded again")
        try await ws.ok(["verify", "--origin", "--quick"])
    }

    @Test("with --on-asset-error reference every failed asset is listed and the ingest exits 2")
    func partialFailure() async throws {
        let ws = Workspace("partial")
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 4)
        for i in 0..<3 {
            try FileManager.default.removeItem(at: site.appendingPathComponent("coll/item-\(i)/data.tif"))
        }
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        try await ws.initRepo(backend: "git")
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"
        let r = try await ws.tool(["ingest", url, "--retries", "0", "--on-asset-error", "reference"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        for i in 0..<3 { #expect(r.stderr.contains("coll/item-\(i)/data.tif"), "\(r.stderr)") }
        #expect(r.stdout.contains("3 assets kept as references"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/item-3/data.tif").path))
        // verify names them (a warning: the catalog is complete, the copies are missing).
        let verify = try await ws.tool(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(
            verify.stderr.components(separatedBy: "kept as a reference because its copy failed").count - 1 == 3,
            "\(verify.stderr)")
        // Once the server has the files again, a re-ingest fetches them and exits 0.
        for i in 0..<3 {
            try #require(assets["item-\(i)/data.tif"]).write(to: site.appendingPathComponent("coll/item-\(i)/data.tif"))
        }
        let healed = try await ws.tool(["ingest", url, "--retries", "0", "--on-asset-error", "reference"])
        #expect(healed.status == 0, "\(healed.stderr)")
        #expect(healed.stdout.contains("3 updated"), "\(healed.stdout)")
        let clean = try await ws.ok(["verify"])
        #expect(!clean.stderr.contains("copy failed"), "\(clean.stderr)")
    }
}
