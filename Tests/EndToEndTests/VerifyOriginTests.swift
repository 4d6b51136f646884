import Foundation
import TestSupport
import Testing

/// `verify --origin` over every `alternate.*` entry, and `--origin --quick` (HEAD first, re-hash
/// only what differs) against real servers on 127.0.0.1.
@Suite("Verify origins", .offPool)
struct VerifyOriginTests {
    func startHTTP(serving dir: URL, in ws: Workspace) async throws -> ServerProcess {
        let port = freePort()
        return try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "-d", dir.path],
            environment: ws.env, port: port, log: ws.temp.sub("http.log"))
    }

    @Test("--origin --quick asks with HEAD, re-reads nothing unchanged, and catches a changed or resized original")
    func quickOverHTTP() async throws {
        let ws = Workspace("quick-http")
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 3)
        // One asset also names a mirror, with its checksum: verify checks it too.
        let mirror = Data("mirror bytes".utf8)
        try mirror.write(to: site.appendingPathComponent("mirror.bin"))
        let server = try await startHTTP(serving: site, in: ws)
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port)"
        let itemURL = site.appendingPathComponent("coll/item-1/item-1.json")
        let text = try String(contentsOf: itemURL, encoding: .utf8).replacingOccurrences(
            of: "\"roles\": [\"thumbnail\"]}",
            with:
                "\"roles\": [\"thumbnail\"], \"alternate\": {\"mirror\": {\"href\": \"\(base)/mirror.bin\", \"file:checksum\": \"1220\(sha256Hex(mirror))\"}}}"
        )
        try text.write(to: itemURL, atomically: true, encoding: .utf8)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", "\(base)/coll/collection.json"])
        let log = ws.temp.sub("http.log")
        func count(_ method: String, _ path: String) -> Int {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").components(separatedBy: "\"\(method) \(path) ")
                .count - 1
        }
        let gets = count("GET", "/coll/item-0/data.tif")

        let quick = try await ws.tool(["verify", "--origin", "--quick", "--json"])
        #expect(quick.status == 0, "\(quick.stdout)\(quick.stderr)")
        let report = try #require(jsonObject(quick.stdout) as? [String: Any])
        #expect(report["originsChecked"] as? Int == 7, "6 originals and one mirror: \(quick.stdout)")
        #expect(count("GET", "/coll/item-0/data.tif") == gets, "an unchanged original was downloaded")
        #expect(count("HEAD", "/coll/item-0/data.tif") >= 1)

        // Same size, other bytes, a newer Last-Modified: caught.
        let file = site.appendingPathComponent("coll/item-0/data.tif")
        var bytes = try #require(assets["item-0/data.tif"])
        bytes[bytes.startIndex] ^= 0xFF
        try bytes.write(to: file)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file.path)
        // Another size: caught.
        try Data("short".utf8).write(to: site.appendingPathComponent("coll/item-2/thumb.png"))
        // The mirror vanished: caught, named as the alternate.
        try FileManager.default.removeItem(at: site.appendingPathComponent("mirror.bin"))
        let changed = try await ws.tool(["verify", "--origin", "--quick", "--retries", "0"])
        #expect(changed.status == 1, "\(changed.stdout)")
        let all = changed.stdout + changed.stderr
        #expect(all.contains("coll/item-0/data.tif") && all.contains("has changed"), "\(all)")
        #expect(all.contains("coll/item-2/thumb.png"), "\(all)")
        #expect(all.contains("alternate \"mirror\""), "\(all)")
        #expect(count("GET", "/coll/item-1/data.tif") == 1, "an unchanged original was re-read: \(all)")
    }

    /// A server that sends a strong ETag (of the bytes) and one fixed Last-Modified date for every
    /// file, and logs each request line: only the ETag tells versions apart.
    static let etagServer = """
        import hashlib, http.server, os, sys
        root = sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass
            def answer(self, body):
                path = os.path.join(root, self.path.lstrip("/"))
                sys.stderr.write('"%s %s "\\n' % (self.command, self.path))
                sys.stderr.flush()
                if not os.path.isfile(path):
                    self.send_error(404)
                    return
                data = open(path, "rb").read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", '"%s"' % hashlib.sha256(data).hexdigest()[:20])
                self.send_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
                self.end_headers()
                if body:
                    self.wfile.write(data)
            def do_GET(self):
                self.answer(True)
            def do_HEAD(self):
                self.answer(False)
        http.server.ThreadingHTTPServer.daemon_threads = True
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """

    @Test(
        "--origin --quick catches a same-size change that only the ETag shows, and checks every alternate with HEAD once learnt"
    )
    func quickByETagAndEveryAlternate() async throws {
        let ws = Workspace("quick-etag")
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 2)
        let mirror = Data("mirror bytes".utf8)
        try mirror.write(to: site.appendingPathComponent("mirror.bin"))
        let script = ws.temp.sub("etag_server.py")
        try Data(Self.etagServer.utf8).write(to: script)
        let port = freePort()
        let server = try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3", arguments: [script.path, String(port), site.path],
            environment: ws.env, port: port, log: ws.temp.sub("http.log"))
        defer { server.stop() }
        let base = "http://127.0.0.1:\(port)"
        let itemURL = site.appendingPathComponent("coll/item-1/item-1.json")
        let text = try String(contentsOf: itemURL, encoding: .utf8).replacingOccurrences(
            of: "\"roles\": [\"thumbnail\"]}",
            with:
                "\"roles\": [\"thumbnail\"], \"alternate\": {\"mirror\": {\"href\": \"\(base)/mirror.bin\", \"file:checksum\": \"1220\(sha256Hex(mirror))\"}}}"
        )
        try text.write(to: itemURL, atomically: true, encoding: .utf8)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", "\(base)/coll/collection.json"])
        let log = ws.temp.sub("http.log")
        func count(_ method: String, _ path: String) -> Int {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").components(separatedBy: "\"\(method) \(path) ")
                .count - 1
        }
        #expect(count("GET", "/mirror.bin") == 0, "the ingest fetched an alternate it only records")

        // The first quick verify reads the mirror (no stamp yet) and learns its stamp; the second
        // asks it with a HEAD only. Every alternate is checked each time: 4 originals + the mirror.
        for round in 1...2 {
            let r = try await ws.tool(["verify", "--origin", "--quick", "--json"])
            #expect(r.status == 0, "round \(round): \(r.stdout)\(r.stderr)")
            let report = try #require(jsonObject(r.stdout) as? [String: Any])
            #expect(report["originsChecked"] as? Int == 5, "round \(round): \(r.stdout)")
        }
        #expect(count("GET", "/mirror.bin") == 1, "the mirror was read again although its ETag did not change")
        #expect(count("HEAD", "/mirror.bin") >= 1, "the second quick verify did not ask the mirror")
        #expect(count("GET", "/coll/item-0/data.tif") == 1, "an unchanged original was re-read")

        // Same size, same Last-Modified, other bytes: only the ETag differs. Caught, and named.
        var bytes = try #require(assets["item-0/data.tif"])
        bytes[bytes.startIndex] ^= 0xFF
        try bytes.write(to: site.appendingPathComponent("coll/item-0/data.tif"))
        var other = mirror
        other[other.startIndex] ^= 0x01
        try other.write(to: site.appendingPathComponent("mirror.bin"))
        let changed = try await ws.tool(["verify", "--origin", "--quick"])
        #expect(changed.status == 1, "\(changed.stdout)\(changed.stderr)")
        let all = changed.stdout + changed.stderr
        #expect(all.contains("coll/item-0/data.tif") && all.contains("has changed"), "\(all)")
        #expect(all.contains("alternate \"mirror\"") && all.contains("\(base)/mirror.bin"), "\(all)")
        #expect(!all.contains("item-1/data.tif"), "an unchanged original was reported: \(all)")
        #expect(count("GET", "/coll/item-1/data.tif") == 1, "an unchanged original was re-read")
    }

    @Test(
        "--origin --quick lists S3 originals (no HEAD each) and catches an object replaced behind its key (ETag)",
        .enabled(if: which("moto_server") != nil, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func quickOverS3() async throws {
        let moto = try #require(which("moto_server"))
        let ws = Workspace("quick-s3")
        let port = freePort()
        let server = try await ServerProcess(
            executable: moto, arguments: ["-H", "127.0.0.1", "-p", String(port)], environment: ws.env, port: port,
            log: ws.temp.sub("moto.log"))
        defer { server.stop() }
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 5)
        let endpoint = "http://127.0.0.1:\(port)"
        var env = ws.env
        let s3: [String: String] = [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        ]
        for (k, v) in s3 { env[k] = v }
        let upload = """
            import boto3, os, sys
            s3 = boto3.client('s3', endpoint_url=sys.argv[1])
            s3.create_bucket(Bucket='stac')
            for d, _, files in os.walk(sys.argv[2]):
                for f in files:
                    p = os.path.join(d, f)
                    s3.upload_file(p, 'stac', 'cat/' + os.path.relpath(p, sys.argv[2]))
            """
        let python = try #require(which("python3"))
        let up = try await run(python, ["-c", upload, endpoint, site.path], env: env)
        try #require(up.status == 0, "upload: \(up.stderr)")
        try await ws.initRepo(backend: "git")
        let ingest = try await ws.tool(["ingest", "s3://stac/cat/catalog.json"], env: s3)
        try #require(ingest.status == 0, "\(ingest.stderr)")
        let same = try await ws.tool(["verify", "--origin", "--quick"], env: s3)
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        let motoLog = ws.temp.sub("moto.log")
        let gets =
            ((try? String(contentsOf: motoLog, encoding: .utf8)) ?? "").components(
                separatedBy: "\"GET /stac/cat/coll/item-0/data.tif"
            ).count - 1
        #expect(gets == 1, "quick verify downloaded an unchanged original")
        // Ten originals under one folder: one ListObjectsV2 of cat/, not ten HEADs.
        let log = (try? String(contentsOf: motoLog, encoding: .utf8)) ?? ""
        #expect(!log.contains("\"HEAD /stac/cat/"), "quick verify sent a HEAD per original")
        let listings = log.split(separator: "\n").filter { $0.contains("list-type=2") }
        #expect(
            listings.contains { $0.contains("prefix=cat/") || $0.contains("prefix=cat%2F") },
            "no listing of cat/ in the moto log: \(listings)")
        let put = """
            import boto3, sys
            boto3.client('s3', endpoint_url=sys.argv[1]).put_object(Bucket='stac', Key='cat/coll/item-0/data.tif', Body=b'other bytes')
            """
        let replaced = try await run(python, ["-c", put, endpoint], env: env)
        try #require(replaced.status == 0, "put: \(replaced.stderr)")
        let caught = try await ws.tool(["verify", "--origin", "--quick"], env: s3)
        #expect(caught.status == 1, "\(caught.stdout)")
        #expect(
            (caught.stdout + caught.stderr).contains("coll/item-0/data.tif"), "\(caught.stdout)\(caught.stderr)")
    }
}
