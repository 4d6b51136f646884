import Foundation
import TestSupport
import Testing

/// A static STAC API on 127.0.0.1 (docs/examples/stac-api-server.py, started per test): landing page,
/// `/collections`, `/search` paged with `next` links for GET and POST, and a pre-1.0 collection
/// without `type`.
@Suite("STAC API sources", .offPool)
struct STACAPISourceTests {
    /// The server (docs/examples/stac-api-server.py, also used by docs/tutorial.md): 12 items in
    /// collection "x" (paged by `limit`, default 5), 2 in the pre-1.0 collection "old" (no `type`),
    /// a looping endpoint and a search that answers a Catalog.
    static let serverScript = Env.packageRoot.appendingPathComponent("docs/examples/stac-api-server.py")

    func startAPI(_ ws: Workspace) async throws -> ServerProcess {
        let port = freePort()
        return try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3", arguments: [Self.serverScript.path, String(port)],
            environment: ws.env, port: port, log: ws.temp.sub("api.log"))
    }

    func ids(_ report: [String: Any], _ key: String = "added") -> [String] {
        ((report[key] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
    }

    @Test("a search is followed through its next links (GET), and --max-items stops early")
    func searchPages() async throws {
        let ws = Workspace("api-get")
        let api = try await startAPI(ws)
        defer { api.stop() }
        let base = "http://127.0.0.1:\(api.port)"
        try await ws.initRepo(backend: "git")
        let r = try await ws.ok(["ingest", "\(base)/search?collections=x&limit=5", "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        let added = ids(report)
        #expect(added.count == 13, "\(added)")
        #expect(added.contains("x") && added.contains("x-11"), "\(added)")
        #expect(FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("x/x-11/x-11.json").path))
        let log = (try? String(contentsOf: ws.temp.sub("api.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("GET /search?collections=x&limit=5&token=10"), "the third page was not asked")

        let ws2 = Workspace("api-max")
        try await ws2.initRepo(backend: "file")
        let limited = try await ws2.ok([
            "ingest", "\(base)/search?collections=x&limit=5", "--max-items", "7", "--json",
        ])
        let limitedReport = try #require(jsonObject(limited.stdout) as? [String: Any])
        #expect(ids(limitedReport).count == 8, "\(ids(limitedReport))")
    }

    @Test("--search-body POSTs the search, and POST next links with merge are followed")
    func searchPost() async throws {
        let ws = Workspace("api-post")
        let api = try await startAPI(ws)
        defer { api.stop() }
        try await ws.initRepo(backend: "git")
        let body = ws.temp.sub("body.json")
        try Data(#"{"collections": ["x"], "limit": 4}"#.utf8).write(to: body)
        let r = try await ws.ok([
            "ingest", "http://127.0.0.1:\(api.port)/search", "--search-body", body.path, "--json",
        ])
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        #expect(ids(report).count == 13, "\(ids(report))")
        let log = (try? String(contentsOf: ws.temp.sub("api.log"), encoding: .utf8)) ?? ""
        #expect(log.components(separatedBy: "\"POST /search ").count - 1 == 3, "\(log)")
    }

    @Test("a landing page is walked through its collections; a pre-1.0 collection without type gets a warning")
    func landingPage() async throws {
        let ws = Workspace("api-landing")
        let api = try await startAPI(ws)
        defer { api.stop() }
        try await ws.initRepo(backend: "git")
        let r = try await ws.ok(["ingest", "http://127.0.0.1:\(api.port)/"])
        #expect(r.stdout.contains("16 added"), "\(r.stdout)")
        let warnings = r.stderr.split(separator: "\n").filter { $0.contains("had no \"type\"") }
        #expect(warnings.count == 1, "\(r.stderr)")
        #expect(warnings.first?.contains("1 object") == true, "\(r.stderr)")
        let old = try #require(readJSON(ws.repo.appendingPathComponent("old/collection.json")))
        #expect(old["type"] as? String == "Collection")
        #expect(old["stac_version"] as? String == "0.9.0")
        try await ws.ok(["verify"])
    }

    @Test("items on stdin (NDJSON or an ItemCollection) bring their collections")
    func stdinWithCollections() async throws {
        let ws = Workspace("api-stdin")
        let api = try await startAPI(ws)
        defer { api.stop() }
        let base = "http://127.0.0.1:\(api.port)"
        func item(_ i: Int) -> String {
            #"{"type": "Feature", "stac_version": "1.0.0", "id": "x-\#(i)", "collection": "x", "geometry": null, "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [{"rel": "collection", "href": "\#(base)/collections/x"}], "assets": {}}"#
        }
        try await ws.initRepo(backend: "git")
        let ndjson = Data((0..<3).map(item).joined(separator: "\n").utf8)
        let r = try await ws.ok(["ingest", "-", "--json"], stdin: ndjson)
        let report = try #require(jsonObject(r.stdout) as? [String: Any])
        #expect(ids(report) == ["x", "x-0", "x-1", "x-2"], "\(ids(report))")

        let ws2 = Workspace("api-stdin-fc")
        try await ws2.initRepo(backend: "file")
        let fc = Data(#"{"type": "FeatureCollection", "features": [\#(item(5)), \#(item(6))]}"#.utf8)
        let r2 = try await ws2.ok(["ingest", "-", "--json"], stdin: fc)
        let report2 = try #require(jsonObject(r2.stdout) as? [String: Any])
        #expect(ids(report2) == ["x", "x-5", "x-6"], "\(ids(report2))")

        // --no-with-collections: the collection must already be there.
        let ws3 = Workspace("api-stdin-no")
        try await ws3.initRepo(backend: "file")
        let r3 = try await ws3.tool(["ingest", "-", "--no-with-collections"], stdin: fc)
        #expect(r3.status == 1 && r3.stderr.contains("collection \"x\""), "\(r3.stderr)")
    }

    @Test("a next link that loops and a search page that is no ItemCollection are clear errors")
    func brokenAPIs() async throws {
        let ws = Workspace("api-broken")
        let api = try await startAPI(ws)
        defer { api.stop() }
        try await ws.initRepo(backend: "git")
        let before = treeState(ws.repo)
        let loop = try await ws.tool(["ingest", "http://127.0.0.1:\(api.port)/loop/search"])
        #expect(loop.status == 1 && loop.stderr.contains("loops"), "\(loop.stderr)")
        let catalog = try await ws.tool(["ingest", "http://127.0.0.1:\(api.port)/catalog/search"])
        #expect(catalog.status == 1 && catalog.stderr.contains("not an ItemCollection"), "\(catalog.stderr)")
        #expect(treeState(ws.repo) == before)
    }
}
