import Foundation
import TestSupport
import Testing

/// Layout templates (docs/format.md "Layout templates"): items of a templated collection live in
/// sub-catalogs, `relayout` migrates a collection in one commit, every command reads the nested
/// layout, on both backends.
@Suite("Layout templates", .offPool)
struct LayoutTests {
    static let backends = ["file", "git"]
    static let monthly = "${year}/${month}"

    /// The datetime of each item of the fixture, with the sub-catalog folder it belongs in
    /// under `${year}/${month}` (UTC).
    static let dates: [(datetime: String?, start: String?, folder: String)] = [
        ("2023-11-05T10:00:00Z", nil, "2023/11"),
        ("2024-01-15T10:00:00Z", nil, "2024/01"),
        ("2024-01-20T10:00:00Z", nil, "2024/01"),
        ("2024-02-29T23:30:00.250Z", nil, "2024/02"),
        (nil, "2024-02-10T00:00:00Z", "2024/02"),  // datetime null: start_datetime
        ("2023-11-30T10:00:00Z", nil, "2023/11"),
    ]

    /// A source catalog: collection `coll` with one item per entry of ``dates``; `item-1` also has
    /// a JSON-named asset (a Git LFS object with its own .gitattributes line), `item-5` has no
    /// `grid:code`.
    func makeSource(_ ws: Workspace) throws -> URL {
        let dir = ws.temp.sub("source")
        let fm = FileManager.default
        var links: [String] = []
        for (i, date) in Self.dates.enumerated() {
            let id = "item-\(i)"
            let itemDir = dir.appendingPathComponent("coll/\(id)")
            try fm.createDirectory(at: itemDir, withIntermediateDirectories: true)
            try Data("data of \(id)\n".utf8).write(to: itemDir.appendingPathComponent("data.tif"))
            var assets = #""data": {"href": "./data.tif", "type": "image/tiff", "roles": ["data"]}"#
            if i == 1 {
                try Data("{\"tiles\": 1}\n".utf8).write(to: itemDir.appendingPathComponent("tileinfo.json"))
                assets += #", "info": {"href": "./tileinfo.json", "type": "application/json", "roles": ["metadata"]}"#
            }
            let datetime = date.datetime.map { "\"\($0)\"" } ?? "null"
            let start = date.start.map { ", \"start_datetime\": \"\($0)\", \"end_datetime\": \"\($0)\"" } ?? ""
            let grid = i == 5 ? "" : ", \"grid:code\": \"T\(i % 2)\""
            let item = """
                {"type": "Feature", "stac_version": "1.1.0", "id": "\(id)", "collection": "coll",
                 "geometry": {"type": "Point", "coordinates": [\(i).5, 1.25]}, "bbox": [\(i).5, 1.25, \(i).5, 1.25],
                 "properties": {"datetime": \(datetime)\(start)\(grid)},
                 "links": [{"rel": "license", "href": "https://example.com/license.html"}],
                 "assets": {\(assets)}}
                """
            try Data(item.utf8).write(to: itemDir.appendingPathComponent("\(id).json"))
            links.append("{\"rel\": \"item\", \"href\": \"./\(id)/\(id).json\"}")
        }
        let coll = """
            {"type": "Collection", "stac_version": "1.1.0", "id": "coll", "description": "Dated items",
             "license": "CC-BY-4.0",
             "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [["2023-01-01T00:00:00Z", null]]}},
             "links": [\(links.joined(separator: ", "))]}
            """
        try Data(coll.utf8).write(to: dir.appendingPathComponent("coll/collection.json"))
        let cat = """
            {"type": "Catalog", "stac_version": "1.1.0", "id": "source", "description": "Source",
             "links": [{"rel": "child", "href": "./coll/collection.json"}]}
            """
        try Data(cat.utf8).write(to: dir.appendingPathComponent("catalog.json"))
        return dir.appendingPathComponent("catalog.json")
    }

    func exists(_ ws: Workspace, _ path: String) -> Bool {
        FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent(path).path)
    }

    func links(_ url: URL, _ rel: String) -> [String] {
        ((readJSON(url)?["links"] as? [[String: Any]]) ?? []).filter { $0["rel"] as? String == rel }
            .compactMap { $0["href"] as? String }
    }

    func expectClean(_ ws: Workspace, backend: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let verify = try await ws.tool(["verify"])
        #expect(verify.status == 0, "verify: \(verify.stdout)\(verify.stderr)", sourceLocation: sourceLocation)
        if backend == "git" {
            let status = try await ws.git(["status", "--porcelain"])
            #expect(status.stdout.isEmpty, "git status: \(status.stdout)", sourceLocation: sourceLocation)
        }
    }

    func commitCount(_ ws: Workspace) async throws -> Int {
        Int(try await ws.git(["rev-list", "--count", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            ?? -1
    }

    /// pystac walks the export: every item found once, its parent the sub-catalog its datetime
    /// names, its collection `coll`. Prints "<item> <parent-id>" lines.
    func pystacWalk(_ ws: Workspace, _ export: URL) async throws -> RunResult {
        let script = """
            import sys, pystac
            cat = pystac.Catalog.from_file(sys.argv[1] + '/catalog.json')
            seen = []
            for root, children, items in cat.walk():
                for i in items:
                    assert i.get_parent().id == root.id
                    assert i.collection_id == 'coll', i.collection_id
                    assert i.get_collection().id == 'coll'
                    for a in i.assets.values():
                        import os
                        assert os.path.exists(a.get_absolute_href()), a.get_absolute_href()
                    seen.append(i.id)
                    print(i.id, root.id)
            assert len(seen) == len(set(seen)), seen
            """
        return try await run(which("python3") ?? "/usr/bin/python3", ["-c", script, export.path], env: ws.env)
    }

    @Test(
        "ingest --layout nests items in dated sub-catalogs that pystac walks; list, show, diff, verify work",
        arguments: backends)
    func templatedIngest(backend: String) async throws {
        let ws = Workspace("layout-ingest")
        try await ws.initRepo(backend: backend)
        let source = try makeSource(ws)
        let r = try await ws.ok(["ingest", source.path, "--layout", Self.monthly])
        #expect(r.stdout.contains("7 added"), "\(r.stdout)")
        for (i, date) in Self.dates.enumerated() {
            #expect(exists(ws, "coll/\(date.folder)/item-\(i)/item-\(i).json"), "item-\(i) in \(date.folder)")
            #expect(exists(ws, "coll/\(date.folder)/item-\(i)/data.tif"))
        }
        #expect(!exists(ws, "coll/item-0"))
        let collection = try #require(readJSON(ws.repo.appendingPathComponent("coll/collection.json")))
        #expect(collection["stac_repository:layout"] as? String == Self.monthly)
        #expect(links(ws.repo.appendingPathComponent("coll/collection.json"), "item").isEmpty)
        #expect(
            Set(links(ws.repo.appendingPathComponent("coll/collection.json"), "child"))
                == ["./2023/catalog.json", "./2024/catalog.json"])
        let month = try #require(readJSON(ws.repo.appendingPathComponent("coll/2024/01/catalog.json")))
        #expect(month["id"] as? String == "coll-2024-01")
        #expect(month["type"] as? String == "Catalog")
        #expect(links(ws.repo.appendingPathComponent("coll/2024/01/catalog.json"), "parent") == ["../catalog.json"])
        #expect(links(ws.repo.appendingPathComponent("coll/2024/01/catalog.json"), "root") == ["../../../catalog.json"])
        let item = ws.repo.appendingPathComponent("coll/2024/01/item-1/item-1.json")
        #expect(links(item, "parent") == ["../catalog.json"])
        #expect(links(item, "collection") == ["../../../collection.json"])
        #expect(readJSON(item)?["collection"] as? String == "coll")
        try await expectClean(ws, backend: backend)

        let list = try await ws.ok(["list", "--json"])
        for i in 0..<6 { #expect(list.stdout.contains("\"item-\(i)\""), "\(list.stdout)") }
        let show = try await ws.ok(["show", "coll/item-3"])
        #expect(show.stdout.contains("item-3"), "\(show.stdout)")
        if backend == "git" {
            let diff = try await ws.ok(["diff", "HEAD~1", "HEAD"])
            #expect(diff.stdout.contains("item-4"), "\(diff.stdout)")
        }
        // A second, unchanged ingest changes nothing (the recorded layout is not a change).
        let again = try await ws.ok(["ingest", source.path])
        #expect(again.stdout.contains("0 added, 0 updated"), "\(again.stdout)")

        let export = ws.temp.sub("export")
        try await ws.ok(["export", export.path])
        #expect(FileManager.default.fileExists(atPath: export.appendingPathComponent("coll/2024/02/catalog.json").path))
        let walk = try await pystacWalk(ws, export)
        #expect(walk.status == 0, "pystac: \(walk.stderr)")
        let lines = Set(walk.stdout.split(separator: "\n").map(String.init))
        var expected: Set<String> = []
        for (i, date) in Self.dates.enumerated() {
            expected.insert("item-\(i) coll-" + date.folder.replacingOccurrences(of: "/", with: "-"))
        }
        #expect(lines == expected, "\(walk.stdout)")
    }

    @Test(
        "a templated ingest in batches (--batch-size) gives each batch its sub-catalogs and the export an ingest in one commit gives",
        arguments: backends)
    func batchedTemplatedIngest(backend: String) async throws {
        let whole = Workspace("layout-whole")
        try await whole.initRepo(backend: backend)
        let source = try makeSource(whole)
        try await whole.ok(["ingest", source.path, "--layout", Self.monthly])
        let exportA = whole.temp.sub("export")
        try await whole.ok(["export", exportA.path])

        let ws = Workspace("layout-batches")
        try await ws.initRepo(backend: backend)
        try await ws.ok(["ingest", source.path, "--layout", Self.monthly, "--batch-size", "2"])
        let history = try await ws.ok(["history"])
        #expect(history.stdout.contains("(batch 4 of 4)"), "\(history.stdout)")
        try await expectClean(ws, backend: backend)
        let exportB = ws.temp.sub("export")
        try await ws.ok(["export", exportB.path])
        #expect(
            treeState(exportA) == treeState(exportB), "batched and one-commit templated ingests export the same tree")

        // One commit per item: each batch plans against the index the previous batch left
        // (not a reload), and the result is still the same catalog.
        let single = Workspace("layout-batches-1")
        try await single.initRepo(backend: backend)
        try await single.ok(["ingest", source.path, "--layout", Self.monthly, "--batch-size", "1"])
        let singleHistory = try await single.ok(["history"])
        #expect(singleHistory.stdout.contains("(batch 7 of 7)"), "\(singleHistory.stdout)")
        try await expectClean(single, backend: backend)
        let exportC = single.temp.sub("export")
        try await single.ok(["export", exportC.path])
        #expect(treeState(exportA) == treeState(exportC), "one commit per item exports another tree")
    }

    @Test(
        "relayout of a flat collection is one commit and gives the export a templated ingest gives; rollback restores flat",
        arguments: backends)
    func relayoutMatchesTemplatedIngest(backend: String) async throws {
        // One source for both (the stored alternate.original hrefs name it).
        let templated = Workspace("layout-templated")
        try await templated.initRepo(backend: backend)
        let source = try makeSource(templated)
        try await templated.ok(["ingest", source.path, "--layout", Self.monthly])
        let exportA = templated.temp.sub("export")
        try await templated.ok(["export", exportA.path])

        let ws = Workspace("layout-relayout")
        try await ws.initRepo(backend: backend)
        try await ws.ok(["ingest", source.path])
        #expect(exists(ws, "coll/item-1/tileinfo.json"))
        let flat = treeState(ws.repo, skipGitInternals: true)
        let before = backend == "git" ? try await commitCount(ws) : 0
        let r = try await ws.ok(["relayout", "coll", "--layout", Self.monthly, "--json"])
        let report = try #require(jsonObject(r.stdout) as? [String: Any], "\(r.stdout)")
        #expect(report["itemsMoved"] as? Int == 6, "\(r.stdout)")
        #expect(report["catalogsCreated"] as? Int == 5, "\(r.stdout)")
        #expect(report["layout"] as? String == Self.monthly)
        #expect(exists(ws, "coll/2024/01/item-1/tileinfo.json"))
        #expect(!exists(ws, "coll/item-1"))
        try await expectClean(ws, backend: backend)
        if backend == "git" {
            #expect(try await commitCount(ws) == before + 1, "relayout is one commit")
            let lfs = try await ws.git(["lfs", "ls-files", "-n"])
            #expect(lfs.stdout.contains("coll/2024/01/item-1/tileinfo.json"), "\(lfs.stdout)")
            let fsck = try await ws.git(["lfs", "fsck"])
            #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
            let history = try await ws.ok(["history"])
            #expect(history.stdout.contains("relayout"), "\(history.stdout)")
        }
        let exportB = ws.temp.sub("export")
        try await ws.ok(["export", exportB.path])
        #expect(treeState(exportA) == treeState(exportB), "templated ingest and relayout-of-flat export the same tree")
        let walk = try await pystacWalk(ws, exportB)
        #expect(walk.status == 0, "pystac: \(walk.stderr)")
        #expect(walk.stdout.split(separator: "\n").count == 6, "\(walk.stdout)")

        // The same template again changes nothing.
        let same = try await ws.ok(["relayout", "coll", "--layout", Self.monthly])
        #expect(same.stdout.contains("nothing changed"), "\(same.stdout)")
        if backend == "git" {
            #expect(try await commitCount(ws) == before + 1)
            try await ws.ok(["rollback", "HEAD~1"])
            #expect(treeState(ws.repo, skipGitInternals: true) == flat, "rollback restores the flat layout")
            try await expectClean(ws, backend: backend)
        } else {
            // Back to flat: the same files, byte for byte, but the collection lists its items in
            // sub-catalog order now (2023/11 first).
            try await ws.ok(["relayout", "coll", "--layout", "flat"])
            let catalogFiles = { (state: [String: String]) in
                state.filter { !$0.key.hasPrefix(".stac-repository") && $0.key != "coll/collection.json" }
            }
            #expect(
                catalogFiles(treeState(ws.repo, skipGitInternals: true)) == catalogFiles(flat),
                "relayout to flat restores the flat layout")
            #expect(links(ws.repo.appendingPathComponent("coll/collection.json"), "item").count == 6)
            #expect(readJSON(ws.repo.appendingPathComponent("coll/collection.json"))?["stac_repository:layout"] == nil)
            try await expectClean(ws, backend: backend)
        }
    }

    @Test(
        "a re-ingested item whose datetime changed moves; prune removes emptied sub-catalogs; a missing property is _unknown",
        arguments: backends)
    func movesAndPrune(backend: String) async throws {
        let ws = Workspace("layout-move")
        try await ws.initRepo(backend: backend)
        let source = try makeSource(ws)
        try await ws.ok(["ingest", source.path, "--layout", Self.monthly])
        let itemFile = source.deletingLastPathComponent().appendingPathComponent("coll/item-0/item-0.json")
        let text = try String(contentsOf: itemFile, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "2023-11-05T10:00:00Z", with: "2022-06-01T00:00:00Z").utf8).write(
            to: itemFile)
        let r = try await ws.ok(["ingest", source.path])
        #expect(r.stdout.contains("0 added, 1 updated"), "\(r.stdout)")
        #expect(exists(ws, "coll/2022/06/item-0/item-0.json"))
        #expect(exists(ws, "coll/2022/06/item-0/data.tif"))
        #expect(!exists(ws, "coll/2023/11/item-0"))
        #expect(exists(ws, "coll/2023/11/item-5/item-5.json"))
        try await expectClean(ws, backend: backend)

        try await ws.ok(["prune", "item-5"])
        #expect(!exists(ws, "coll/2023"), "the emptied 2023/11 and 2023 sub-catalogs are removed")
        #expect(
            Set(links(ws.repo.appendingPathComponent("coll/collection.json"), "child"))
                == ["./2024/catalog.json", "./2022/catalog.json"])
        try await expectClean(ws, backend: backend)

        try await ws.ok(["relayout", "coll", "--layout", "${properties.grid:code}"])
        #expect(exists(ws, "coll/T0/item-0/item-0.json"))
        #expect(exists(ws, "coll/T1/item-1/tileinfo.json"))
        #expect(!exists(ws, "coll/2024"))
        try await ws.ok(["ingest", source.path])  // item-5 again: it has no grid:code
        #expect(exists(ws, "coll/_unknown/item-5/item-5.json"))
        #expect(
            readJSON(ws.repo.appendingPathComponent("coll/_unknown/catalog.json"))?["id"] as? String == "coll-_unknown")
        try await expectClean(ws, backend: backend)
    }

    @Test(
        "bad templates exit 64 naming the bad part; unknown collections and a populated flat collection are refused; nothing changes"
    )
    func refusals() async throws {
        let ws = Workspace("layout-refuse")
        try await ws.initRepo(backend: "git")
        let source = try makeSource(ws)
        try await ws.ok(["ingest", source.path])
        let state = treeState(ws.repo)
        let commits = try await commitCount(ws)

        let badIngest = try await ws.tool(["ingest", source.path, "--layout", "${yaer}/${month}"])
        #expect(badIngest.status == 64, "\(badIngest.stderr)")
        #expect(badIngest.stderr.contains("\"${yaer}\""), "\(badIngest.stderr)")
        let badRelayout = try await ws.tool(["relayout", "coll", "--layout", "${year}//${month}"])
        #expect(badRelayout.status == 64, "\(badRelayout.stderr)")
        #expect(badRelayout.stderr.contains("empty segment"), "\(badRelayout.stderr)")
        let unknown = try await ws.tool(["relayout", "nosuch", "--layout", Self.monthly])
        #expect(unknown.status == 1, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("No collection \"nosuch\""), "\(unknown.stderr)")
        let populated = try await ws.tool(["ingest", source.path, "--layout", Self.monthly])
        #expect(populated.status == 1, "\(populated.stderr)")
        #expect(populated.stderr.contains("stac-repository relayout coll --layout"), "\(populated.stderr)")
        let config = try await ws.tool(["config", "set", "layout.coll", Self.monthly])
        #expect(config.status == 64, "\(config.stderr)")
        #expect(config.stderr.contains("relayout"), "\(config.stderr)")
        for r in [badIngest, badRelayout, unknown, populated] {
            #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one sentence: \(r.stderr)")
        }
        #expect(treeState(ws.repo) == state, "the repository is unchanged")
        #expect(try await commitCount(ws) == commits)
    }

    @Test(
        "a templated export passes the STAC schema validator",
        .enabled(if: Env.sharedTools != nil, "../shared/tools/validate_stac.py is absent (a user's clone)"))
    func templatedExportValidates() async throws {
        let validator = try #require(Env.sharedTools)
        let ws = Workspace("layout-schema")
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", try makeSource(ws).path, "--layout", "${year}/${id:hash:2}"])
        let export = ws.temp.sub("export")
        try await ws.ok(["export", export.path])
        let r = try await run(
            which("python3") ?? "/usr/bin/python3", [validator.path, export.path, "--recursive"], env: ws.env)
        #expect(r.status == 0, "validate_stac.py: \(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains(" 0 failed"), "\(r.stdout)")
    }

    /// 5,001 items through one NDJSON ingest: about 30 s on the loaded 2-core machine, so opt-in.
    @Test(
        "a flat collection past 5,000 items gets a warning naming relayout, which then spreads it over ${id:hash:2}",
        .enabled(
            if: ProcessInfo.processInfo.environment["STAC_REPOSITORY_LARGE_TESTS"] == "1",
            "set STAC_REPOSITORY_LARGE_TESTS=1 to run it (5,001 items)"))
    func flatThreshold() async throws {
        let ws = Workspace("layout-threshold")
        try await ws.initRepo(backend: "git")
        let collection = ws.temp.sub("big.json")
        try Data(
            """
            {"type": "Collection", "stac_version": "1.1.0", "id": "big", "description": "d", "license": "CC-BY-4.0",
             "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[null, null]]}}, "links": []}
            """.utf8
        ).write(to: collection)
        try await ws.ok(["ingest", collection.path])
        var lines = ""
        for i in 0...5_000 {
            lines += """
                {"type": "Feature", "stac_version": "1.1.0", "id": "i\(i)", "collection": "big", "geometry": null, \
                "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [], "assets": {}}

                """
        }
        let r = try await ws.ok(["ingest", "-"], stdin: Data(lines.utf8))
        #expect(
            r.stderr.contains("collection \"big\" holds 5001 items in one folder")
                && r.stderr.contains("stac-repository relayout big --layout '${id:hash:2}'"), "\(r.stderr)")
        try await ws.ok(["relayout", "big", "--layout", "${id:hash:2}"])
        let folders = try FileManager.default.contentsOfDirectory(atPath: ws.repo.appendingPathComponent("big").path)
        #expect(folders.count == 257, "256 sub-catalogs and collection.json")
        try await expectClean(ws, backend: "git")
    }
}
