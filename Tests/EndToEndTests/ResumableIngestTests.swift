import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Resumable ingests (issue 13): completed downloads survive a kill -9 (the transfer journal),
/// `--batch-size` commits as it goes, and `--retry-failed` fetches the assets kept as references.
/// Real servers on 127.0.0.1; nothing here is timed.
@Suite("Resumable ingest", .offPool)
struct ResumableIngestTests {
    /// A threading http.server that waits `delay` seconds before answering each asset GET (HEADs
    /// and JSON are answered at once) and logs every request line to stderr.
    static let slowServer = """
        import functools, http.server, sys, time
        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                if self.path.endswith((".tif", ".png")):
                    time.sleep(float(sys.argv[3]))
                super().do_GET()
        http.server.ThreadingHTTPServer.daemon_threads = True
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", int(sys.argv[1])), functools.partial(Handler, directory=sys.argv[2]))
        server.serve_forever()
        """

    func startServer(serving dir: URL, delay: Double, in ws: Workspace) async throws -> ServerProcess {
        let script = ws.temp.sub("slow_server.py")
        try Data(Self.slowServer.utf8).write(to: script)
        let port = freePort()
        return try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: [script.path, String(port), dir.path, String(delay)],
            environment: ws.env, port: port, log: ws.temp.sub("http.log"))
    }

    /// Asset GETs the server answered so far (each `"GET /coll/item-N/x "` request line).
    func assetGets(_ ws: Workspace) -> Int {
        let text = (try? String(contentsOf: ws.temp.sub("http.log"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter {
            $0.contains("\"GET /coll/item-") && ($0.contains(".tif ") || $0.contains(".png "))
        }.count
    }

    /// Lines of the transfer journal (git backend: .git/stac-repository/cache/transfers/journal).
    func journalLines(_ ws: Workspace) -> Int {
        let path = ws.repo.appendingPathComponent(".git/stac-repository/cache/transfers/journal").path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return max(0, text.split(separator: "\n").count - 1)
    }

    /// Waits until the server's log stops growing: requests a killed client left in flight are
    /// answered (and logged) late, and must not be counted for the next run.
    func settledAssetGets(_ ws: Workspace) async -> Int {
        var last = assetGets(ws)
        while true {
            await pause(microseconds: 400_000)
            let now = assetGets(ws)
            if now == last { return now }
            last = now
        }
    }

    func item(_ ws: Workspace, _ n: Int) -> [String: Any]? {
        readJSON(ws.repo.appendingPathComponent("coll/item-\(n)/item-\(n).json"))
    }

    @Test("kill -9 halfway through 200 slow downloads: the re-run downloads only the rest and says reused N")
    func killedIngestResumes() async throws {
        let ws = Workspace("resume")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 100, assetBytes: 4096)
        let server = try await startServer(serving: site, delay: 0.05, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"

        let process = try startInBackground(
            Env.binary,
            ["ingest", "--repository", ws.repo.path, url, "--jobs", "4", "-q"],
            env: ws.env)
        // Wait (without a clock in any assertion) until about half the downloads are journaled.
        while journalLines(ws) < 100 && process.isRunning { await pause(microseconds: 20_000) }
        kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
        #expect(process.wasSignaled, "the ingest finished before it was killed")
        let journaled = journalLines(ws)
        #expect(journaled >= 100 && journaled < 200, "\(journaled) downloads journaled at the kill")
        // Nothing was committed: only the init commit.
        #expect(item(ws, 0) == nil)

        let before = await settledAssetGets(ws)
        let r = try await ws.ok(["ingest", url, "--jobs", "4", "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        let reused = try #require(report["assetsReused"] as? Int)
        #expect(reused >= journaled - 1 && reused <= journaled, "reused \(reused) of \(journaled) journaled")
        #expect(report["assetsCopied"] as? Int == 200)
        #expect(assetGets(ws) - before == 200 - reused, "the re-run downloaded what it had already")

        // Every asset is the source's bytes, and the catalog verifies.
        for n in [0, 37, 99] {
            for name in ["data.tif", "thumb.png"] {
                let stored = FileManager.default.contents(
                    atPath: ws.repo.appendingPathComponent("coll/item-\(n)/\(name)").path)
                #expect(stored == assets["item-\(n)/\(name)"], "item-\(n)/\(name)")
            }
        }
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        // The journal's downloads were consumed by the commit.
        #expect(journalLines(ws) == 0)
    }

    @Test(
        "kill -9 halfway through a processor ingest of 40 slow GeoTIFFs in an http listing: the re-run downloads only the rest"
    )
    func killedRemoteProductIngestResumes() async throws {
        let ws = Workspace("resume-products")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        let folder = site.appendingPathComponent("products")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sample = try Data(
            contentsOf: Env.packageRoot.appendingPathComponent("docs/sample-products/P-001.tif"))
        var products: [String: Data] = [:]
        for n in 0..<40 {
            // Distinct bytes per product: a trailer after the TIFF's last structure.
            let name = String(format: "p-%03d", n)
            let bytes = sample + Data("trailer \(n)".utf8)
            try bytes.write(to: folder.appendingPathComponent("\(name).tif"))
            products[name] = bytes
        }
        // The process kills itself once the 20th download is journaled (a debug-build crash
        // point): a kill from outside, once the test saw 20 lines, came too late on a loaded
        // machine (two CI runs journaled all 40 first, even at 0.25 s per product).
        let server = try await startServer(serving: site, delay: 0.05, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/products/"
        let args = ["--processor", "geotiff", url, "--option", "datetime=2024-05-01T00:00:00Z", "--jobs", "2"]
        func productGets() -> Int {
            let text = (try? String(contentsOf: ws.temp.sub("http.log"), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter { $0.contains("\"GET /products/p-") && $0.contains(".tif ") }
                .count
        }
        func settledProductGets() async -> Int {
            var last = productGets()
            while true {
                await pause(microseconds: 400_000)
                let now = productGets()
                if now == last { return now }
                last = now
            }
        }

        let killed = try await ws.tool(
            ["ingest"] + args + ["-q"], env: ["STAC_REPOSITORY_CRASH_AT": "transfer-journaled:20"])
        #expect(killed.status == SIGKILL, "exit \(killed.status): \(killed.stderr)")
        let journaled = journalLines(ws)
        #expect(journaled >= 20 && journaled < 40, "\(journaled) downloads journaled at the kill")
        #expect(readJSON(ws.repo.appendingPathComponent("p-000/p-000.json")) == nil, "something was committed")

        let before = await settledProductGets()
        let r = try await ws.ok(["ingest"] + args + ["--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        #expect((report["added"] as? [Any])?.count == 40, "\(r.stdout)")
        let fetched = productGets() - before
        // A torn last journal line (the kill came while appending) is one more download.
        #expect(
            fetched >= 40 - journaled && fetched <= 40 - journaled + 1,
            "the re-run downloaded \(fetched) products; \(journaled) of 40 were journaled")
        for name in ["p-000", "p-017", "p-039"] {
            let item = try #require(readJSON(ws.repo.appendingPathComponent("\(name)/\(name).json")))
            let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
            let bytes = try #require(products[name])
            #expect(data["file:checksum"] as? String == "1220" + sha256Hex(bytes), "\(name)")
            let original = (data["alternate"] as? [String: Any])?["original"] as? [String: Any]
            #expect(original?["href"] as? String == "\(url)\(name).tif", "\(name)")
        }
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        // The commit consumed the journaled downloads: their bytes are in the store.
        #expect(journalLines(ws) == 0)
        #expect(
            ((try? FileManager.default.contentsOfDirectory(
                atPath: ws.repo.appendingPathComponent(".git/stac-repository/cache/transfers/objects").path)) ?? [])
                .isEmpty)
    }

    @Test("the human summary says reused N, and a changed source is downloaded again, not reused")
    func reusedSummaryAndChangedSource() async throws {
        let ws = Workspace("resume-summary")
        try await ws.initRepo(backend: "file")
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 4)
        let server = try await startServer(serving: site, delay: 0, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"
        // The process kills itself after the 5th journaled download (a debug-build crash point).
        let killed = try await ws.tool(
            ["ingest", url, "--jobs", "1"], env: ["STAC_REPOSITORY_CRASH_AT": "transfer-journaled:5"])
        #expect(killed.status == SIGKILL, "exit \(killed.status): \(killed.stderr)")
        // One journaled original changes on the server (new bytes, newer Last-Modified).
        let journal = try String(
            contentsOf: ws.repo.appendingPathComponent(".stac-repository/cache/transfers/journal"), encoding: .utf8)
        let first = try #require(journal.split(separator: "\n").dropFirst().first)
        let source = String(try #require(first.split(separator: "\t").last))
        let relative = String(source.dropFirst("http://127.0.0.1:\(server.port)/".count))
        let file = site.appendingPathComponent(relative)
        let changed = Data(repeating: 7, count: 300)
        try changed.write(to: file)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: file.path)

        let before = await settledAssetGets(ws)
        let r = try await ws.ok(["ingest", url])
        #expect(r.stdout.contains("reused 4 downloads of an interrupted ingest"), "\(r.stdout)")
        #expect(assetGets(ws) - before == 8 - 4)
        let stored = FileManager.default.contents(atPath: ws.repo.appendingPathComponent(relative).path)
        #expect(stored == changed, "a changed source was reused from the journal")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
    }

    @Test("--batch-size 50: a kill after two batches keeps them committed and consistent; the re-run completes")
    func batchSize() async throws {
        let ws = Workspace("batches")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 120)
        let catalog = site.appendingPathComponent("catalog.json").path
        // 121 products (the collection, 120 items; the source catalog's children go under the
        // repository's root): batches of 50, 50 and 21; killed after the 2nd.
        let killed = try await ws.tool(
            ["ingest", catalog, "--batch-size", "50"], env: ["STAC_REPOSITORY_CRASH_AT": "ingest-batch-committed:2"])
        #expect(killed.status == SIGKILL, "exit \(killed.status): \(killed.stderr)")
        let history = try await ws.ok(["history"])
        #expect(history.stdout.contains("50 added, 0 updated (batch 1 of 3)"), "\(history.stdout)")
        #expect(history.stdout.contains("50 added, 0 updated (batch 2 of 3)"), "\(history.stdout)")
        #expect(!history.stdout.contains("batch 3 of 3"), "\(history.stdout)")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        let listed = try await ws.ok(["list", "--type", "item"])
        #expect(listed.stdout.split(separator: "\n").filter { $0.contains("item-") }.count == 99, "\(listed.stdout)")
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)

        let rerun = try await ws.ok(["ingest", catalog, "--batch-size", "50", "--json"])
        let report = try #require(jsonObject(rerun.stdout) as? [String: Any])
        #expect((report["added"] as? [Any])?.count == 21, "\(report)")
        #expect((report["unchanged"] as? [Any])?.count == 100, "\(report)")
        let after = try await ws.ok(["history"])
        #expect(after.stdout.contains("21 added, 0 updated"), "\(after.stdout)")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        let collection = try #require(readJSON(ws.repo.appendingPathComponent("coll/collection.json")))
        let items = ((collection["links"] as? [[String: Any]]) ?? []).filter { $0["rel"] as? String == "item" }
        #expect(items.count == 120)
    }

    @Test(
        "--batch-size killed from outside while a batch downloads: committed batches stay, verify is clean, the re-run completes"
    )
    func batchSizeExternalKill() async throws {
        let ws = Workspace("batches-kill")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 100)
        let server = try await startServer(serving: site, delay: 0.02, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"
        let process = try startInBackground(
            Env.binary,
            ["ingest", "--repository", ws.repo.path, url, "--batch-size", "20", "--jobs", "4", "-q"],
            env: ws.env)
        // Kill once two batches are committed (init + 2 commits), while the third downloads.
        func commits() async throws -> Int {
            Int(
                try await ws.git(["rev-list", "--count", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            )
                ?? 0
        }
        while try await commits() < 3 && process.isRunning { await pause(microseconds: 20_000) }
        kill(process.processIdentifier, SIGKILL)
        await waitForExit(process)
        #expect(process.wasSignaled, "the ingest finished before it was killed")
        let committed = try await commits() - 1
        #expect(committed >= 2 && committed < 6, "\(committed) batches committed")
        let history = try await ws.ok(["history"])
        #expect(
            history.stdout.contains("(batch 1 of 6)") && history.stdout.contains("(batch 2 of 6)"), "\(history.stdout)")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))

        let rerun = try #require(
            jsonObject(try await ws.ok(["ingest", url, "--batch-size", "20", "--jobs", "4", "--json"]).stdout)
                as? [String: Any])
        let added = (rerun["added"] as? [Any])?.count ?? 0
        #expect(added == 101 - 20 * committed, "\(rerun)")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        let collection = try #require(readJSON(ws.repo.appendingPathComponent("coll/collection.json")))
        #expect(
            ((collection["links"] as? [[String: Any]]) ?? []).filter { $0["rel"] as? String == "item" }.count == 100)
    }

    @Test("partial failure: exit 2 listing every failed asset; --retry-failed completes once the server heals")
    func retryFailed() async throws {
        let ws = Workspace("retry")
        try await ws.initRepo(backend: "git")
        let site = ws.temp.sub("site")
        let assets = try makeCatalog(at: site, items: 6)
        let broken = [1, 3, 4]
        let hidden = ws.temp.sub("hidden")
        try FileManager.default.createDirectory(at: hidden, withIntermediateDirectories: true)
        for n in broken {
            try FileManager.default.moveItem(
                at: site.appendingPathComponent("coll/item-\(n)/data.tif"),
                to: hidden.appendingPathComponent("data-\(n).tif"))
        }
        let server = try await startServer(serving: site, delay: 0, in: ws)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/coll/collection.json"
        let partial = try await ws.tool(["ingest", url, "--on-asset-error", "reference", "--retries", "0"])
        #expect(partial.status == 2, "\(partial.stderr)")
        for n in broken {
            #expect(partial.stderr.contains("item-\(n)/data.tif"), "\(partial.stderr)")
        }
        let verify = try await ws.tool(["verify"])
        #expect(
            verify.stdout.contains("--retry-failed") || verify.stderr.contains("--retry-failed"), "\(verify.stdout)")

        // Still broken: a retry exits 2 again and changes nothing.
        let still = try await ws.tool(["ingest", "--retry-failed", "--retries", "0"])
        #expect(still.status == 2, "\(still.stdout)\(still.stderr)")
        #expect(
            item(ws, 1).flatMap { ($0["assets"] as? [String: Any])?["data"] as? [String: Any] }?["href"]
                as? String == "http://127.0.0.1:\(server.port)/coll/item-1/data.tif")

        // The server heals.
        for n in broken {
            try FileManager.default.moveItem(
                at: hidden.appendingPathComponent("data-\(n).tif"),
                to: site.appendingPathComponent("coll/item-\(n)/data.tif"))
        }
        let healed = try await ws.ok(["ingest", "--retry-failed", "--json"])
        let report = try #require(jsonObject(healed.stdout) as? [String: Any])
        #expect(report["assetsCopied"] as? Int == 3, "\(report)")
        #expect((report["assetFailures"] as? [Any])?.isEmpty == true, "\(report)")
        let updated = ((report["updated"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
        #expect(updated == broken.map { "item-\($0)" })
        for n in broken {
            let data = try #require(item(ws, n).flatMap { ($0["assets"] as? [String: Any])?["data"] as? [String: Any] })
            #expect(data["href"] as? String == "./data.tif")
            #expect(data["file:checksum"] as? String == "1220" + sha256Hex(assets["item-\(n)/data.tif"]!))
            let original = (data["alternate"] as? [String: Any])?["original"] as? [String: Any]
            #expect(original?["href"] as? String == "http://127.0.0.1:\(server.port)/coll/item-\(n)/data.tif")
            #expect(
                FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-\(n)/data.tif").path)
                    == assets["item-\(n)/data.tif"])
        }
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        let nothing = try await ws.ok(["ingest", "--retry-failed"])
        #expect(nothing.stdout.contains("no failed assets to retry"), "\(nothing.stdout)")
        // A re-ingest of the source finds everything unchanged now.
        let again = try #require(jsonObject(try await ws.ok(["ingest", url, "--json"]).stdout) as? [String: Any])
        #expect(
            (again["added"] as? [Any])?.isEmpty == true && (again["updated"] as? [Any])?.isEmpty == true, "\(again)")
    }

    @Test("--retry-failed with a SOURCE, or --batch-size 0, is a usage error")
    func usageErrors() async throws {
        let ws = Workspace("retry-usage")
        try await ws.initRepo(backend: "file")
        let both = try await ws.tool(["ingest", "--retry-failed", "somewhere/catalog.json"])
        #expect(both.status == 64, "\(both.stderr)")
        let zero = try await ws.tool(["ingest", "--batch-size", "0", "x.json"])
        #expect(zero.status == 64, "\(zero.stderr)")
    }
}
