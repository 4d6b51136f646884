import Foundation
import TestSupport
import Testing

/// The layout cache (Catalog/LayoutIDCache.swift): a single-product ingest or prune of a
/// templated collection on the git backend reads only the sub-catalogs on its path. Every
/// step is run twice, on two repositories made alike: one keeps its cache, the other has it
/// removed before each command (so that it reads the whole catalog, as before the cache).
/// Their trees must stay identical, step after step, and the kept cache must say what a cache
/// written from the whole catalog says.
@Suite("Layout cache", .offPool)
struct LayoutCacheTests {
    static let layout = "${year}/${month}"

    static func item(_ id: String, datetime: String) -> String {
        """
        {"type": "Feature", "stac_version": "1.1.0", "id": "\(id)", "collection": "coll",
         "geometry": {"type": "Point", "coordinates": [1.5, 2.5]}, "bbox": [1.5, 2.5, 1.5, 2.5],
         "properties": {"datetime": "\(datetime)"}, "links": [],
         "assets": {"data": {"href": "https://example.com/\(id)/B04.tif", "type": "image/tiff", "roles": ["data"]},
                    "tilejson": {"href": "https://example.com/\(id)/tilejson.json", "type": "application/json"}}}
        """
    }

    static let collection = """
        {"type": "Collection", "stac_version": "1.1.0", "id": "coll", "description": "Dated items",
         "license": "CC-BY-4.0",
         "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [["2023-01-01T00:00:00Z", null]]}},
         "links": []}
        """

    /// What every ingest here passes: items whose assets are references, never read.
    static let common = ["--assets", "reference", "--no-checksum", "--no-with-collections"]

    /// A git repository holding collection `coll` laid out as ``layout``, and a folder for item files.
    static func templatedRepository(_ name: String) async throws -> (Workspace, URL) {
        let ws = Workspace(name)
        try await ws.initRepo(backend: "git")
        let src = ws.temp.sub("src")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        let coll = src.appendingPathComponent("collection.json")
        try Data(collection.utf8).write(to: coll)
        try await ws.ok(["ingest", coll.path, "--layout", layout])
        return (ws, src)
    }

    /// Writes item `id` with `datetime` into `src` (one file per id and month) and returns its path.
    static func itemFile(in src: URL, _ id: String, _ datetime: String) throws -> String {
        let url = src.appendingPathComponent("\(id)-\(datetime.prefix(7)).json")
        try Data(item(id, datetime: datetime).utf8).write(to: url)
        return url.path
    }

    func cacheDirectory(_ repo: URL) -> URL {
        repo.appendingPathComponent(".git/stac-repository/cache/layout-ids")
    }

    /// Every cache file of the repository as a set of lines (the order of a shard's lines is
    /// not part of what it says), by file name.
    func cacheContents(_ repo: URL) throws -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        let root = cacheDirectory(repo)
        for collection in try FileManager.default.contentsOfDirectory(atPath: root.path) {
            let dir = root.appendingPathComponent(collection)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                out[collection + "/" + name] = Set(text.split(separator: "\n").map(String.init))
            }
        }
        return out
    }

    func head(_ ws: Workspace, _ repo: URL) async throws -> String {
        try await ws.git(["rev-parse", "HEAD"], in: repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("single-product ingests, moves and prunes through the cache leave the tree a whole read leaves")
    func sameAsWholeRead() async throws {
        let ws = Workspace("layout-cache")
        let cached = ws.temp.sub("cached")
        let whole = ws.temp.sub("whole")
        let src = ws.temp.sub("src")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        func file(_ name: String, _ text: String) throws -> String {
            let url = src.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let coll = try file("collection.json", Self.collection)
        // 40 items over 2023 and 2024, in one NDJSON stream.
        var lines: [String] = []
        for i in 0..<40 {
            let month = String(format: "%02d", i % 12 + 1)
            lines.append(
                Self.item("S2_\(i)", datetime: "\(2023 + i % 2)-\(month)-1\(i % 10)T10:00:00.1234567Z")
                    .replacingOccurrences(of: "\n", with: ""))
        }
        let common = Self.common
        for repo in [cached, whole] {
            try await ws.initRepo(backend: "git", at: repo)
            try await ws.ok(["ingest", coll, "--layout", Self.layout], repo: repo)
            try await ws.ok(
                ["ingest", "-"] + common, repo: repo, stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        // Each step: arguments, and whether the item files it needs exist first.
        let steps: [(String, [String])] = [
            (
                "a new item in an existing month",
                ["ingest", try file("a.json", Self.item("S2_100", datetime: "2024-03-05T00:00:00Z"))]
            ),
            (
                "a new item in a new month of a new year",
                ["ingest", try file("b.json", Self.item("S2_101", datetime: "2025-07-04T12:00:00Z"))]
            ),
            (
                "an item moved by a new datetime",
                ["ingest", try file("c.json", Self.item("S2_3", datetime: "2025-07-09T00:00:00Z"))]
            ),
            (
                "an unchanged item",
                ["ingest", try file("c2.json", Self.item("S2_3", datetime: "2025-07-09T00:00:00Z"))]
            ),
            (
                "an updated item in place",
                [
                    "ingest",
                    try file(
                        "d.json",
                        Self.item("S2_4", datetime: "2023-05-14T10:00:00.1234567Z").replacingOccurrences(
                            of: "1.5, 2.5]}", with: "1.75, 2.5]}")),
                ]
            ),
            ("a prune", ["prune", "S2_10"]),
            ("the prune of a month's last items", ["prune", "S2_101", "S2_3"]),
            ("a prune by PARENT/ID", ["prune", "coll/S2_11"]),
            ("a batch of single-item commits", ["ingest", "-", "--batch-size", "1"]),
            ("the prune of a sub-catalog", ["prune", "coll-2023-02"]),
        ]
        let batch = Data(
            [
                Self.item("S2_200", datetime: "2023-02-01T00:00:00Z"),
                Self.item("S2_201", datetime: "2026-01-01T00:00:00Z"),
                Self.item("S2_6", datetime: "2026-01-02T00:00:00Z"),
            ]
            .map { $0.replacingOccurrences(of: "\n", with: "") }.joined(separator: "\n").appending("\n").utf8)
        // The first command after the bulk ingest writes the cache whole (the bulk ingest did).
        #expect(FileManager.default.fileExists(atPath: cacheDirectory(cached).path))
        for (name, args) in steps {
            try? FileManager.default.removeItem(at: cacheDirectory(whole))
            let stdin = args.contains("-") ? batch : nil
            let extra = args.first == "ingest" ? common : []
            let a = try await ws.tool(args + extra, repo: cached, stdin: stdin)
            let b = try await ws.tool(args + extra, repo: whole, stdin: stdin)
            #expect(a.status == 0 && b.status == 0, "\(name): \(a.stderr) | \(b.stderr)")
            // The same report, but for the commit ids.
            let report = { (r: RunResult) in r.stdout.replacing(/\[[0-9a-f]{12}\]/, with: "[commit]") }
            #expect(report(a) == report(b), "\(name): \(a.stdout) | \(b.stdout)")
            let treeA = try await ws.git(["ls-tree", "-r", "HEAD"], in: cached).stdout
            let treeB = try await ws.git(["ls-tree", "-r", "HEAD"], in: whole).stdout
            #expect(treeA == treeB, "\(name): the trees differ")
            // The kept cache describes the new version, and says what one written whole says.
            let key = try await head(ws, cached)
            let keys = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory(cached).path).map {
                try String(contentsOf: cacheDirectory(cached).appendingPathComponent("\($0)/key"), encoding: .utf8)
            }
            // The first line names the version; the second the size of each of the 256 shards.
            let firstLines = keys.map { String($0.split(separator: "\n")[0]) }
            #expect(firstLines == [key + "\tcoll/collection.json"], "\(name): \(keys)")
            #expect(keys.map { $0.split(separator: "\n").last?.split(separator: " ").count } == [256], "\(name)")
            // A command that committed nothing wrote no cache in `whole`.
            guard FileManager.default.fileExists(atPath: cacheDirectory(whole).path) else {
                #expect(a.stdout.contains("0 added, 0 updated"), "\(name) committed: \(a.stdout)")
                continue
            }
            var expected = try cacheContents(whole)
            var actual = try cacheContents(cached)
            for k in expected.keys where k.hasSuffix("/key") { expected[k] = nil }
            for k in actual.keys where k.hasSuffix("/key") { actual[k] = nil }
            #expect(actual == expected, "\(name): the kept cache differs from one written whole")
        }
        let verify = try await ws.tool(["verify"], repo: cached)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        let status = try await ws.git(["status", "--porcelain"], in: cached)
        #expect(status.stdout.isEmpty, "\(status.stdout)")
    }

    @Test(
        "a cache for another version, or a damaged one, is not used: the catalog is read whole and the cache rewritten")
    func staleOrDamaged() async throws {
        let (ws, src) = try await Self.templatedRepository("layout-cache-stale")
        func ingest(_ id: String, _ datetime: String) async throws -> RunResult {
            try await ws.ok(["ingest", try Self.itemFile(in: src, id, datetime)] + Self.common)
        }
        try await ingest("S2_1", "2024-01-01T00:00:00Z")
        try await ingest("S2_2", "2024-02-01T00:00:00Z")
        // A rollback makes a version the cache does not describe: S2_2 is gone again.
        try await ws.ok(["rollback", "HEAD~1"])
        let moved = try await ingest("S2_1", "2024-02-03T00:00:00Z")
        #expect(moved.stdout.contains("0 added, 1 updated"), "\(moved.stdout)")
        let tree = try await ws.git(["ls-tree", "-r", "--name-only", "HEAD"]).stdout
        #expect(tree.contains("coll/2024/02/S2_1/S2_1.json"))
        #expect(!tree.contains("coll/2024/01/"), "the emptied month is removed: \(tree)")
        #expect(!tree.contains("S2_2"))
        // A damaged containers file with the right key: read whole, not trusted.
        let dir = try #require(
            try FileManager.default.contentsOfDirectory(
                at: ws.repo.appendingPathComponent(".git/stac-repository/cache/layout-ids"),
                includingPropertiesForKeys: nil
            ).first)
        try Data("garbage\n".utf8).write(to: dir.appendingPathComponent("containers"))
        let again = try await ingest("S2_1", "2024-03-03T00:00:00Z")
        #expect(again.stdout.contains("0 added, 1 updated"), "\(again.stdout)")
        let after = try await ws.git(["ls-tree", "-r", "--name-only", "HEAD"]).stdout
        #expect(after.contains("coll/2024/03/S2_1/S2_1.json") && !after.contains("coll/2024/02/"), "\(after)")
        // Damaged item shards with the right key: one sentence, exit 1, nothing committed, the
        // cache removed; the same command then succeeds. First garbage, then a well-formed line
        // appended after the key was written (what a file system that kept an in-place append
        // but not the key's removal leaves): the sizes the key records tell both apart.
        let file = try Self.itemFile(in: src, "S2_1", "2024-04-04T00:00:00Z")
        let damages: [(String, (URL) throws -> Void)] = [
            ("garbage", { try Data("garbage\n".utf8).write(to: $0) }),
            (
                "an appended line",
                { url in
                    let handle = try FileHandle(forWritingTo: url)
                    try handle.seekToEnd()
                    try handle.write(contentsOf: Data("coll/2024/05/S2_9/S2_9.json\tcoll/2024/05/catalog.json\n".utf8))
                    try handle.close()
                }
            ),
        ]
        for (round, (name, damage)) in damages.enumerated() {
            let before = try await ws.git(["rev-parse", "HEAD"]).stdout
            // Every shard an ingest of S2_1 may read.
            let shards = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("items-") }
            #expect(!shards.isEmpty, "\(name)")
            for shard in shards { try damage(dir.appendingPathComponent(shard)) }
            let refused = try await ws.tool(["ingest", file] + Self.common)
            #expect(refused.status == 1, "\(name): \(refused.stdout)\(refused.stderr)")
            #expect(
                refused.stderr.contains("layout cache") && refused.stderr.contains("run the command again"),
                "\(name): \(refused.stderr)")
            #expect(try await ws.git(["rev-parse", "HEAD"]).stdout == before, "\(name)")
            #expect(!FileManager.default.fileExists(atPath: dir.path), "\(name)")
            // The next command reads the catalog whole and writes the cache again.
            _ = try await ws.ok(
                ["ingest", try Self.itemFile(in: src, "S2_7", "2024-0\(round + 6)-02T00:00:00Z")] + Self.common
            )
        }
        let retried = try await ws.ok(["ingest", file] + Self.common)
        #expect(retried.stdout.contains("0 added, 1 updated"), "\(retried.stdout)")
        let containers = try String(contentsOf: dir.appendingPathComponent("containers"), encoding: .utf8)
        #expect(containers.contains("coll/2024/04/catalog.json\tcoll/2024/catalog.json\tcoll-2024-04"), "\(containers)")
        let verify = try await ws.tool(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    @Test(
        "a kill while the cache is brought to a new commit leaves no cache that lies: the next ingest moves the item",
        arguments: ["committed-before-layout-cache", "layout-cache-key-removed", "layout-cache-shards-written"])
    func killedWhileSaving(point: String) async throws {
        let (ws, src) = try await Self.templatedRepository("layout-cache-kill")
        let common = Self.common
        func file(_ id: String, _ datetime: String) throws -> String { try Self.itemFile(in: src, id, datetime) }
        try await ws.ok(["ingest", try file("S2_1", "2024-01-01T00:00:00Z")] + common)
        // Killed after its commit, while the cache is written: S2_2 is committed.
        let killed = try await ws.tool(
            ["ingest", try file("S2_2", "2024-02-01T00:00:00Z")] + common,
            env: ["STAC_REPOSITORY_CRASH_AT": point])
        #expect(killed.status != 0, "the crash point \(point) was not reached: \(killed.stdout)")
        // S2_2 moves to March: its February copy must be found and removed.
        let moved = try await ws.ok(["ingest", try file("S2_2", "2024-03-01T00:00:00Z")] + common)
        #expect(moved.stdout.contains("0 added, 1 updated"), "\(moved.stdout)")
        let tree = try await ws.git(["ls-tree", "-r", "--name-only", "HEAD"]).stdout
        #expect(tree.contains("coll/2024/03/S2_2/S2_2.json"), "\(tree)")
        #expect(!tree.contains("coll/2024/02/"), "\(tree)")
        #expect(tree.contains("coll/2024/01/S2_1/S2_1.json"), "\(tree)")
        let verify = try await ws.tool(["verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }
}
