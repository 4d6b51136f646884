import Foundation
import TestSupport
import Testing

/// The basic workflow, end to end through the built binary, on both backends.
@Suite("Workflow", .offPool, .offPool)
struct WorkflowTests {
    static let backends = ["file", "git"]

    @Test("init, ingest, history, export, verify and prune work on each backend", arguments: backends)
    func fullWorkflow(backend: String) async throws {
        let ws = Workspace("workflow")
        try await ws.initRepo(backend: backend)
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3)

        let ingest = try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(ingest.stdout.contains("4 added, 0 updated, 0 unchanged"), "\(ingest.stdout)")
        #expect(ingest.stdout.contains("+ collection coll"))
        #expect(ingest.stdout.contains("+ item item-2"))

        // The layout of DESIGN §3, assets copied next to their item, with checksums and provenance.
        let itemURL = ws.repo.appendingPathComponent("coll/item-1/item-1.json")
        let item = try #require(readJSON(itemURL))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["href"] as? String == "./data.tif")
        let expected = "1220" + sha256Hex(assets["item-1/data.tif"]!)
        #expect(data["file:checksum"] as? String == expected)
        #expect(data["file:size"] as? Int == 2048)
        let original = try #require((data["alternate"] as? [String: Any])?["original"] as? [String: Any])
        #expect(original["href"] as? String == source.appendingPathComponent("coll/item-1/data.tif").path)
        #expect(original["file:checksum"] as? String == expected)
        let extensions = item["stac_extensions"] as? [String] ?? []
        #expect(extensions.contains("https://stac-extensions.github.io/file/v2.1.0/schema.json"))
        #expect(extensions.contains("https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"))
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path)
                == assets["item-1/data.tif"])
        // Unknown fields survive with their literal number text.
        let text = try String(contentsOf: itemURL, encoding: .utf8)
        #expect(text.contains("\"custom:ratio\": 1.50"))
        // Links are relative and structural.
        let links = item["links"] as? [[String: Any]] ?? []
        #expect(links.contains { $0["rel"] as? String == "root" && $0["href"] as? String == "../../catalog.json" })
        #expect(
            links.contains { $0["rel"] as? String == "collection" && $0["href"] as? String == "../collection.json" })
        #expect(
            links.contains {
                $0["rel"] as? String == "license" && $0["href"] as? String == "https://example.com/license.html"
            })
        #expect(!links.contains { $0["rel"] as? String == "self" })
        let root = try #require(readJSON(ws.repo.appendingPathComponent("catalog.json")))
        #expect(
            (root["links"] as? [[String: Any]] ?? []).contains {
                $0["rel"] as? String == "child" && $0["href"] as? String == "./coll/collection.json"
            })

        // Re-ingesting the same source changes nothing.
        let again = try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(again.stdout.contains("0 added, 0 updated, 4 unchanged"), "\(again.stdout)")

        // A changed item is an update.
        let srcItem = source.appendingPathComponent("coll/item-0/item-0.json")
        var itemText = try String(contentsOf: srcItem, encoding: .utf8)
        itemText = itemText.replacingOccurrences(of: "\"custom:seed\": 0", with: "\"custom:seed\": 7")
        try itemText.write(to: srcItem, atomically: true, encoding: .utf8)
        let update = try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(update.stdout.contains("0 added, 1 updated, 3 unchanged"), "\(update.stdout)")
        #expect(update.stdout.contains("~ item item-0"))

        // History lists the operations, newest first.
        let history = try await ws.ok(["history", "--json"])
        let entries = try #require(jsonObject(history.stdout) as? [[String: Any]])
        #expect(entries.map { $0["operation"] as? String } == ["ingest", "ingest", "init"])

        // Export writes a self-contained catalog; verify is clean.
        let out = ws.temp.sub("export")
        try await ws.ok(["export", out.path])
        #expect(
            FileManager.default.contents(atPath: out.appendingPathComponent("coll/item-2/data.tif").path)
                == assets["item-2/data.tif"])
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".stac-repository").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".git").path))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".gitattributes").path))
        let refused = try await ws.tool(["export", out.path])
        #expect(refused.status == 1 && refused.stderr.contains("--force"))
        try await ws.ok(["export", out.path, "--force"])
        try await ws.ok(["verify"])

        // Prune removes the item, its files and its link.
        let prune = try await ws.ok(["prune", "item-1"])
        #expect(prune.stdout.contains("- item item-1"))
        #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/item-1").path))
        let coll = try #require(readJSON(ws.repo.appendingPathComponent("coll/collection.json")))
        let hrefs = (coll["links"] as? [[String: Any]] ?? []).compactMap { $0["href"] as? String }
        #expect(!hrefs.contains("./item-1/item-1.json"))
        #expect(hrefs.contains("./item-0/item-0.json"))
        try await ws.ok(["verify"])

        // Pruning a collection takes everything under it.
        try await ws.ok(["prune", "coll"])
        #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll").path))
        let rootAfter = try #require(readJSON(ws.repo.appendingPathComponent("catalog.json")))
        #expect(!(rootAfter["links"] as? [[String: Any]] ?? []).contains { $0["rel"] as? String == "child" })
    }

    @Test("pystac reads the exported sample catalog", arguments: backends)
    func sampleCatalogExportValidates(backend: String) async throws {
        let ws = Workspace("sample")
        try await ws.initRepo(backend: backend)
        let sample = Env.packageRoot.appendingPathComponent("docs/sample-catalog/catalog.json")
        try #require(
            FileManager.default.fileExists(atPath: sample.path), "the sample catalog is shipped in docs/sample-catalog")
        try await ws.ok(["ingest", sample.path])
        let out = ws.temp.sub("export")
        try await ws.ok(["export", out.path])
        let script = """
            import sys, pystac
            cat = pystac.Catalog.from_file(sys.argv[1] + '/catalog.json')
            items = list(cat.get_items(recursive=True))
            for i in items:
                for a in i.assets.values():
                    assert a.extra_fields.get('file:checksum', '').startswith('1220'), a.href
            print(len(items))
            """
        let r = try await run(which("python3") ?? "/usr/bin/python3", ["-c", script, out.path], env: ws.env)
        #expect(r.status == 0, "pystac could not read the export: \(r.stderr)")
        #expect(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 3, "\(r.stdout)")
    }

    @Test(
        "the exported sample catalog passes the STAC schema validator",
        .enabled(if: Env.sharedTools != nil, "../shared/tools/validate_stac.py is absent (a user's clone)"),
        arguments: backends)
    func sampleCatalogExportPassesSchemas(backend: String) async throws {
        let validator = try #require(Env.sharedTools)
        let ws = Workspace("sample-schema")
        try await ws.initRepo(backend: backend)
        try await ws.ok(["ingest", Env.packageRoot.appendingPathComponent("docs/sample-catalog/catalog.json").path])
        let out = ws.temp.sub("export")
        try await ws.ok(["export", out.path])
        let r = try await run(
            which("python3") ?? "/usr/bin/python3", [validator.path, out.path, "--recursive"], env: ws.env)
        #expect(r.status == 0, "validate_stac.py: \(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains(" 0 failed"), "\(r.stdout)")
    }

    @Test("ingest reads ItemCollections and NDJSON from stdin", arguments: backends)
    func ingestFromStdin(backend: String) async throws {
        let ws = Workspace("stdin")
        try await ws.initRepo(backend: backend)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 2)
        // The collection first, then its items as NDJSON with absolute asset hrefs.
        try await ws.ok(["ingest", source.appendingPathComponent("coll/collection.json").path, "--assets", "reference"])
        var lines: [String] = []
        for i in 0..<2 {
            let url = source.appendingPathComponent("coll/item-\(i)/item-\(i).json")
            var obj = try #require(readJSON(url))
            var assets = obj["assets"] as? [String: [String: Any]] ?? [:]
            for (k, var a) in assets {
                a["href"] =
                    url.deletingLastPathComponent().appendingPathComponent(
                        (a["href"] as! String).replacingOccurrences(of: "./", with: "")
                    ).path
                assets[k] = a
            }
            obj["assets"] = assets
            obj["id"] = "stdin-\(i)"
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self))
        }
        let r = try await ws.ok(["ingest", "-"], stdin: Data(lines.joined(separator: "\n").utf8))
        #expect(r.stdout.contains("2 added"), "\(r.stdout)")
        #expect(
            FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/stdin-1/stdin-1.json").path))
        #expect(FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/stdin-1/data.tif").path))
    }

    @Test("--parent places items under an existing collection", arguments: backends)
    func parentOption(backend: String) async throws {
        let ws = Workspace("parent")
        try await ws.initRepo(backend: backend)
        let a = ws.temp.sub("a")
        try makeCatalog(at: a, collection: "alpha", items: 1)
        try await ws.ok(["ingest", a.appendingPathComponent("catalog.json").path])
        let b = ws.temp.sub("b")
        try makeCatalog(at: b, collection: "beta", items: 1)
        try await ws.ok(["ingest", b.appendingPathComponent("beta/item-0/item-0.json").path, "--parent", "alpha"])
        let item = try #require(readJSON(ws.repo.appendingPathComponent("alpha/item-0/item-0.json")))
        #expect(item["collection"] as? String == "alpha")
    }

    @Test("small commands answer: version, show-backends, config")
    func smallCommands() async throws {
        let ws = Workspace("small")
        #expect(try await ws.ok(["version"]).stdout.hasPrefix("stac-repository "))
        let backends = try await ws.ok(["show-backends"]).stdout
        #expect(backends.contains("git") && backends.contains("file"))
        for backend in ["file", "git"] {
            let repo = ws.temp.sub("repo-\(backend)")
            try await ws.ok(["init", "--backend", backend], repo: repo)
            try await ws.ok(["config", "set", "processors.demo.path", "/usr/bin/true"], repo: repo)
            #expect(try await ws.ok(["config", "get", "processors.demo.path"], repo: repo).stdout == "/usr/bin/true\n")
            let missing = try await ws.tool(["config", "get", "nothing.here"], repo: repo)
            #expect(missing.status == 1 && missing.stderr.contains("config set"))
        }
    }

    @Test("history-only commands say clearly that they need the git backend")
    func fileBackendRefusesHistoryCommands() async throws {
        let ws = Workspace("nogit")
        try await ws.initRepo(backend: "file")
        for args in [
            ["rollback", "HEAD~1"], ["diff", "HEAD~1", "HEAD"], ["backup", ws.temp.sub("b").path],
            ["export", ws.temp.sub("x").path, "--ref", "HEAD"],
        ] {
            let r = try await ws.tool(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.stderr.contains("git backend"), "\(args): \(r.stderr)")
        }
    }
}
