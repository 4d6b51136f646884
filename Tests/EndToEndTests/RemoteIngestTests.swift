import Foundation
import TestSupport
import Testing

/// Ingest from real servers on 127.0.0.1: an HTTP server and an S3-compatible server (moto).
@Suite("Remote ingest", .offPool, .offPool)
struct RemoteIngestTests {
    func startHTTP(serving dir: URL, in ws: Workspace) async throws -> ServerProcess {
        let port = freePort()
        return try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "-d", dir.path],
            environment: ws.env, port: port, log: ws.temp.sub("http.log"))
    }

    @Test(
        "a catalog served over HTTP is ingested with its assets copied and their origin recorded",
        arguments: ["file", "git"])
    func httpCatalog(backend: String) async throws {
        let ws = Workspace("http")
        try await ws.initRepo(backend: backend)
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 3)
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        let r = try await ws.ok(["ingest", "\(base)/coll/collection.json", "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        #expect((report["added"] as? [Any])?.count == 4)
        #expect(report["assetsCopied"] as? Int == 6)
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-2/item-2.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["file:checksum"] as? String == "1220" + sha256Hex(assets["item-2/data.tif"]!))
        let original = (data["alternate"] as? [String: Any])?["original"] as? [String: Any]
        #expect(original?["href"] as? String == "\(base)/coll/item-2/data.tif")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-2/data.tif").path)
                == assets["item-2/data.tif"])
    }

    @Test(
        "an asset that cannot be fetched fails the ingest and changes nothing, unless --on-asset-error reference",
        arguments: ["file", "git"])
    func missingRemoteAsset(backend: String) async throws {
        let ws = Workspace("http404")
        try await ws.initRepo(backend: backend)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 2)
        try FileManager.default.removeItem(at: site.appendingPathComponent("coll/item-1/data.tif"))
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"
        let before = treeState(ws.repo)
        let failed = try await ws.tool(["ingest", url, "--retries", "0"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("404") && failed.stderr.contains("data.tif"), "\(failed.stderr)")
        #expect(failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(treeState(ws.repo) == before)

        let kept = try await ws.ok(["ingest", url, "--retries", "0", "--on-asset-error", "reference", "--json"])
        let report = try #require(jsonObject(kept.stdout) as? [String: Any])
        #expect((report["assetFailures"] as? [Any])?.count == 1)
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-1/item-1.json")))
        let data = (item["assets"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["href"] as? String == "http://127.0.0.1:\(server.port)/coll/item-1/data.tif")
    }

    @Test(
        "a remote original whose bytes changed behind the same JSON is fetched again; unchanged ones are only asked with HEAD",
        arguments: ["file", "git"])
    func remoteOriginalChangedBehindSameJSON(backend: String) async throws {
        let ws = Workspace("httpstamp")
        try await ws.initRepo(backend: backend)
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 2)
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"
        try await ws.ok(["ingest", url])
        let log = ws.temp.sub("http.log")
        func requests(_ method: String, _ path: String) -> Int {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\"\(method) \(path) ").count - 1
        }
        let asset = "/coll/item-0/data.tif"
        let getsAfterFirst = requests("GET", asset)
        #expect(getsAfterFirst == 1)

        // Unchanged on the server: the re-ingest asks (HEAD) and downloads nothing.
        let same = try #require(jsonObject(try await ws.ok(["ingest", url, "--json"]).stdout) as? [String: Any])
        #expect((same["updated"] as? [Any])?.isEmpty == true, "\(same)")
        #expect((same["unchanged"] as? [Any])?.count == 3, "\(same)")
        #expect(requests("GET", asset) == getsAfterFirst, "an unchanged original was downloaded again")
        #expect(requests("HEAD", asset) >= 1, "the server was not asked for the original's version")

        // One byte changed, same size and same JSON, a newer Last-Modified: an update.
        let file = site.appendingPathComponent("coll/item-0/data.tif")
        var bytes = try #require(assets["item-0/data.tif"])
        bytes[bytes.startIndex] ^= 0xFF
        try bytes.write(to: file)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file.path)
        let changed = try #require(jsonObject(try await ws.ok(["ingest", url, "--json"]).stdout) as? [String: Any])
        let updated = ((changed["updated"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        #expect(updated == ["item-0"], "\(changed)")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-0/data.tif").path) == bytes)
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-0/item-0.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["file:checksum"] as? String == "1220" + sha256Hex(bytes))
        try await ws.ok(["verify"])
    }

    @Test("--assets reference records checksum and size without keeping bytes")
    func referenceMode() async throws {
        let ws = Workspace("ref")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 1)
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path, "--assets", "reference"])
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-0/item-0.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["href"] as? String == site.appendingPathComponent("coll/item-0/data.tif").path)
        #expect(data["file:checksum"] as? String == "1220" + sha256Hex(assets["item-0/data.tif"]!))
        #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/item-0/data.tif").path))
    }

    @Test("a declared file:checksum that does not match fails the ingest, naming both values")
    func checksumMismatch() async throws {
        let ws = Workspace("mismatch")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 1)
        let itemURL = site.appendingPathComponent("coll/item-0/item-0.json")
        let wrong = "1220" + String(repeating: "ab", count: 32)
        let text = try String(contentsOf: itemURL, encoding: .utf8).replacingOccurrences(
            of: "\"roles\": [\"data\"]}", with: "\"roles\": [\"data\"], \"file:checksum\": \"\(wrong)\"}")
        try text.write(to: itemURL, atomically: true, encoding: .utf8)
        let before = treeState(ws.repo)
        let r = try await ws.tool(["ingest", site.appendingPathComponent("catalog.json").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains(wrong) || r.stderr.contains(String(repeating: "ab", count: 32)), "\(r.stderr)")
        #expect(treeState(ws.repo) == before)
    }

    @Test(
        "a catalog in S3 (moto on 127.0.0.1) is ingested through signed requests",
        .enabled(if: which("moto_server") != nil, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func s3Catalog() async throws {
        let moto = try #require(which("moto_server"))
        let ws = Workspace("s3")
        let port = freePort()
        let server = try await ServerProcess(
            executable: moto, arguments: ["-H", "127.0.0.1", "-p", String(port)], environment: ws.env, port: port,
            log: ws.temp.sub("moto.log"))
        defer { server.stop() }
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 2)
        var awsEnv = ws.env
        awsEnv["AWS_ACCESS_KEY_ID"] = "testing"
        awsEnv["AWS_SECRET_ACCESS_KEY"] = "testing"
        awsEnv["AWS_DEFAULT_REGION"] = "us-east-1"
        let endpoint = "http://127.0.0.1:\(port)"
        // Upload with boto3 (installed with moto).
        let upload = """
            import boto3, os, sys
            s3 = boto3.client('s3', endpoint_url=sys.argv[1])
            s3.create_bucket(Bucket='stac')
            root = sys.argv[2]
            for d, _, files in os.walk(root):
                for f in files:
                    p = os.path.join(d, f)
                    s3.upload_file(p, 'stac', 'cat/' + os.path.relpath(p, root))
            """
        let up = try await run(try #require(which("python3")), ["-c", upload, endpoint, site.path], env: awsEnv)
        try #require(up.status == 0, "upload: \(up.stderr)")

        try await ws.initRepo(backend: "git")
        let r = try await ws.tool(
            ["ingest", "s3://stac/cat/catalog.json"],
            env: [
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint,
            ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path)
                == assets["item-1/data.tif"])
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-1/item-1.json")))
        let original =
            (((item["assets"] as? [String: Any])?["data"] as? [String: Any])?["alternate"] as? [String: Any])?[
                "original"] as? [String: Any]
        #expect(original?["href"] as? String == "s3://stac/cat/coll/item-1/data.tif")
        // Credentials never land in the repository.
        let all = treeState(ws.repo).keys.compactMap {
            try? String(contentsOf: ws.repo.appendingPathComponent($0), encoding: .utf8)
        }.joined()
        #expect(!all.contains("testing\""))

        // A re-ingest asks S3 (a signed HEAD) and finds nothing changed; a replaced object is fetched again.
        let s3Env = [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        ]
        let again = try await ws.tool(["ingest", "s3://stac/cat/catalog.json"], env: s3Env)
        #expect(again.status == 0 && again.stdout.contains("0 updated"), "\(again.stdout)\(again.stderr)")
        let motoLog = (try? String(contentsOf: ws.temp.sub("moto.log"), encoding: .utf8)) ?? ""
        #expect(motoLog.contains("\"HEAD /stac/cat/coll/item-1/data.tif"), "no HEAD request reached moto")
        let replaced = Data("replaced bytes".utf8)
        let put = """
            import boto3, sys
            boto3.client('s3', endpoint_url=sys.argv[1]).put_object(Bucket='stac', Key='cat/coll/item-1/data.tif', Body=sys.argv[2].encode())
            """
        let putResult = try await run(
            try #require(which("python3")), ["-c", put, endpoint, "replaced bytes"], env: awsEnv)
        try #require(putResult.status == 0, "put: \(putResult.stderr)")
        let changed = try await ws.tool(["ingest", "s3://stac/cat/catalog.json"], env: s3Env)
        #expect(changed.status == 0 && changed.stdout.contains("~ item item-1"), "\(changed.stdout)\(changed.stderr)")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path)
                == replaced)
    }
}
