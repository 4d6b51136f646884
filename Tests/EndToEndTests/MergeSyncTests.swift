import Foundation
import TestSupport
import Testing

/// `pull` when both sides committed (the product-level merge), its conflicts and their
/// resolution, and `sync` with concurrent writers, against bare repositories over `file://`
/// (and giftless for the Git LFS objects), checked with stock git.
@Suite("Remotes: product-level merge and sync", .offPool)
struct MergeSyncTests {
    static let haveGiftless = giftlessFlask != nil && which("git-lfs") != nil

    @Test(
        "diverged clones changing different products: one merge commit with both parents, JSON as a fresh ingest makes it",
        .enabled(if: haveGiftless, "needs giftless (scripts/setup.sh --test-tools) and git-lfs"))
    func mergeOfDifferentProducts() async throws {
        let ws = Workspace("merge-diff")
        let server = try #require(try await startGiftless(in: ws.temp))
        defer { server.stop() }
        let lfsURL = "http://127.0.0.1:\(server.port)/stac/merge.git/info/lfs"
        let bare = try await makeBare(ws)
        try await ws.initRepo(backend: "git")
        let base = try writeItems(ws.temp.sub("base"), ids: ["b0", "b1"], seed: 1)
        try await ws.ok(["ingest", base])
        try await ws.ok([
            "remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path, "--lfs-url", lfsURL,
        ])
        try await ws.ok(["push"])
        let b = ws.temp.sub("b")
        try await ws.ok(["clone", "file://" + bare.path, b.path, "--lfs-url", lfsURL])

        // A adds two items to coll and pushes; B adds two others and a new collection.
        let xs = try writeItems(ws.temp.sub("xs"), ids: ["x0", "x1"], seed: 2)
        try await ws.ok(["ingest", xs])
        try await ws.ok(["push"])
        let aTip = try await rev(ws, "main")
        let ys = try writeItems(ws.temp.sub("ys"), ids: ["y0", "y1"], seed: 3)
        let zs = try writeItems(ws.temp.sub("zs"), collection: "other", ids: ["z0"], seed: 4)
        try await ws.ok(["ingest", ys], repo: b)
        try await ws.ok(["ingest", zs], repo: b)
        let bTip = try await rev(ws, "main", in: b)

        // An uncommitted edit of a file the merge rewrites (the collection's links): refused,
        // nothing changes.
        let collectionFile = b.appendingPathComponent("coll/collection.json")
        let original = try Data(contentsOf: collectionFile)
        try Data("{}".utf8).write(to: collectionFile)
        let blocked = try await ws.tool(["pull"], repo: b)
        #expect(blocked.status == 1 && blocked.stderr.contains("coll/collection.json"), "\(blocked.stderr)")
        #expect(try await rev(ws, "main", in: b) == bTip)
        try original.write(to: collectionFile)

        let pulled = try await ws.ok(["pull", "--json"], repo: b)
        let report = jsonObject(pulled.stdout) as? [String: Any] ?? [:]
        #expect(report["outcome"] as? String == "merge", "\(pulled.stdout)")
        let merged = (report["productsMerged"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(merged.sorted() == ["x0", "x1"], "\(pulled.stdout)")
        #expect(report["lfsObjectsDownloaded"] as? Int == 2, "x0's and x1's assets came from giftless")
        // One commit, both parents, this repository's first.
        let parents = try await ws.git(["log", "-1", "--format=%P", "main"], in: b).stdout
        #expect(parents.trimmingCharacters(in: .whitespacesAndNewlines) == "\(bTip) \(aTip)")
        let subject = try await ws.git(["log", "-1", "--format=%s", "main"], in: b).stdout
        #expect(subject == "merge: 2 products from origin/main\n")
        try await ws.ok(["verify"], repo: b)
        #expect(try await ws.git(["status", "--porcelain"], in: b).stdout.isEmpty)
        let fsck = try await ws.git(["fsck", "--strict"], in: b)
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
        let graph = try await ws.git(["log", "--graph", "--oneline", "main"], in: b)
        #expect(graph.status == 0 && graph.stdout.contains("|\\"), "\(graph.stdout)")
        let history = try await ws.ok(["history"], repo: b)
        #expect(history.stdout.contains("merge"), "\(history.stdout)")

        // The catalog is what ingesting the same products in the same order into a fresh
        // repository gives, byte for byte: container links recomputed, not text-merged.
        let fresh = ws.temp.sub("fresh")
        try await ws.initRepo(backend: "git", at: fresh)
        for source in [base, ys, zs, xs] { try await ws.ok(["ingest", source], repo: fresh) }
        let mergedState = treeState(b, skipGitInternals: true)
        #expect(!mergedState.isEmpty)
        #expect(mergedState == treeState(fresh, skipGitInternals: true))

        // B pushes the merge (a fast-forward now); A fast-forwards to it.
        try await ws.ok(["push"], repo: b)
        let aPull = try await ws.ok(["pull"])
        #expect(aPull.stdout.contains("fast-forward"), "\(aPull.stdout)")
        #expect(treeState(ws.repo, skipGitInternals: true) == mergedState)
        try await ws.ok(["verify"])
    }

    @Test("the same item changed differently on two clones: pull names it and changes nothing; --theirs and --ours")
    func conflictingItem() async throws {
        let ws = Workspace("merge-conflict")
        let bare = try await makeBare(ws)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", try writeItems(ws.temp.sub("base"), ids: ["b0", "b1", "b2"], seed: 1)])
        try await ws.ok(["remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path])
        try await ws.ok(["push"])
        let b = ws.temp.sub("b")
        try await ws.ok(["clone", "file://" + bare.path, b.path])

        // Both update b0 to different content; B also adds an item A does not touch.
        try await ws.ok(["ingest", try writeItems(ws.temp.sub("a-b0"), ids: ["b0"], seed: 10)])
        try await ws.ok(["push"])
        let aTip = try await rev(ws, "main")
        try await ws.ok(["ingest", try writeItems(ws.temp.sub("b-b0"), ids: ["b0", "n0"], seed: 20)], repo: b)
        let bTip = try await rev(ws, "main", in: b)

        // Fetched first, so that the failed pull has nothing left to fetch: the repository,
        // .git included, must then be byte-identical.
        try await ws.ok(["fetch"], repo: b)
        let before = treeState(b)
        let refused = try await ws.tool(["pull"], repo: b)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("error: ") && refused.stderr.split(separator: "\n").count == 1)
        for phrase in ["item \"b0\"", String(aTip.prefix(7)), String(bTip.prefix(7)), "--theirs", "--ours"] {
            #expect(refused.stderr.contains(phrase), "\(phrase): \(refused.stderr)")
        }
        #expect(!refused.stderr.contains("n0"), "only the conflicting product is named")
        #expect(treeState(b) == before, "nothing changed, .git included")

        // --theirs: b0 is A's, n0 stays; both parents.
        let theirs = try await ws.ok(["pull", "--theirs"], repo: b)
        #expect(theirs.stdout.contains("merge of 1 product"), "\(theirs.stdout)")
        #expect(
            FileManager.default.contents(atPath: b.appendingPathComponent("coll/b0/b0.json").path)
                == FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/b0/b0.json").path))
        #expect(FileManager.default.fileExists(atPath: b.appendingPathComponent("coll/n0/n0.json").path))
        #expect(try await ws.git(["log", "-1", "--format=%P", "main"], in: b).stdout == "\(bTip) \(aTip)\n")
        try await ws.ok(["verify"], repo: b)
        try await ws.ok(["push"], repo: b)
        try await ws.ok(["pull"])
        let collection = readJSON(ws.repo.appendingPathComponent("coll/collection.json"))
        let items = (collection?["links"] as? [[String: Any]] ?? []).filter { $0["rel"] as? String == "item" }
        #expect(
            items.compactMap { $0["href"] as? String } == [
                "./b0/b0.json", "./b1/b1.json", "./b2/b2.json", "./n0/n0.json",
            ])

        // --ours: both change b1 differently; B keeps its version, and A gets it by pulling.
        try await ws.ok(["ingest", try writeItems(ws.temp.sub("a-b1"), ids: ["b1"], seed: 30)])
        try await ws.ok(["push"])
        try await ws.ok(["ingest", try writeItems(ws.temp.sub("b-b1"), ids: ["b1"], seed: 40)], repo: b)
        let bVersion = FileManager.default.contents(atPath: b.appendingPathComponent("coll/b1/b1.json").path)
        let conflicted = try await ws.tool(["pull"], repo: b)
        #expect(conflicted.status == 1 && conflicted.stderr.contains("item \"b1\""), "\(conflicted.stderr)")
        // sync stops at the same conflict, with the same sentence, and pushes nothing.
        let remoteBefore = try await ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout
        let synced = try await ws.tool(["sync"], repo: b)
        #expect(synced.status == 1 && synced.stderr.contains("item \"b1\"") && synced.stderr.contains("--theirs"))
        #expect(
            try await ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout == remoteBefore)
        let ours = try await ws.ok(["pull", "--ours", "--json"], repo: b)
        #expect((jsonObject(ours.stdout) as? [String: Any])?["outcome"] as? String == "merge", "\(ours.stdout)")
        #expect(FileManager.default.contents(atPath: b.appendingPathComponent("coll/b1/b1.json").path) == bVersion)
        try await ws.ok(["push"], repo: b)
        try await ws.ok(["pull"])
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/b1/b1.json").path) == bVersion)
        try await ws.ok(["verify"])
        let both = try await ws.tool(["pull", "--ours", "--theirs"], repo: b)
        #expect(both.status == 64, "\(both.stderr)")
    }

    @Test("4 clones ingest 25 items each and sync at the same time, 3 rounds: all 300 items, no commit lost")
    func concurrentSync() async throws {
        let ws = Workspace("merge-sync")
        let bare = try await makeBare(ws)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", try writeItems(ws.temp.sub("base"), ids: ["base"], seed: 1)])
        try await ws.ok(["remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path])
        let first = try await ws.ok(["sync", "--json"])
        #expect((jsonObject(first.stdout) as? [String: Any])?["attempts"] as? Int == 1, "\(first.stdout)")
        let clones = (0..<4).map { ws.temp.sub("clone-\($0)") }
        for clone in clones { try await ws.ok(["clone", "file://" + bare.path, clone.path]) }
        var tips: [String] = []
        var retried = 0
        for round in 0..<3 {
            for (k, clone) in clones.enumerated() {
                let ids = (0..<25).map { "c\(k)-r\(round)-i\($0)" }
                try await ws.ok(
                    ["ingest", try writeItems(ws.temp.sub("src-\(round)-\(k)"), ids: ids, seed: round * 10 + k)],
                    repo: clone)
                tips.append(try await rev(ws, "main", in: clone))
            }
            let (env, cwd) = (ws.env, ws.temp.url)
            let results = try await withThrowingTaskGroup(of: RunResult.self) { group in
                for clone in clones {
                    group.addTask {
                        try await run(
                            Env.binary.path, ["sync", "--repository", clone.path, "--json"], cwd: cwd, env: env)
                    }
                }
                var out: [RunResult] = []
                for try await r in group { out.append(r) }
                return out
            }
            for r in results {
                #expect(r.status == 0, "sync failed: \(r.stderr)")
                let attempts = (jsonObject(r.stdout) as? [String: Any])?["attempts"] as? Int ?? 0
                if attempts > 1 { retried += 1 }
            }
        }
        print("concurrent sync: \(retried) of 12 syncs needed more than one attempt")
        // Every ingest commit of every clone is in the remote's history.
        for tip in tips {
            let contained = try await ws.git(
                ["--git-dir", bare.path, "merge-base", "--is-ancestor", tip, "main"], in: ws.temp.url)
            #expect(contained.status == 0, "commit \(tip) was lost")
        }
        let subjects = try await ws.git(["--git-dir", bare.path, "log", "--format=%s", "main"], in: ws.temp.url)
        #expect(subjects.stdout.split(separator: "\n").filter { $0.hasPrefix("ingest: 25 added") }.count == 12)
        let fresh = ws.temp.sub("fresh")
        try await ws.ok(["clone", "file://" + bare.path, fresh.path])
        try await ws.ok(["verify"], repo: fresh)
        let listed = try await ws.ok(["list", "--json"], repo: fresh)
        let ids = Set(((jsonObject(listed.stdout) as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
        for k in 0..<4 {
            for round in 0..<3 {
                for i in 0..<25 { #expect(ids.contains("c\(k)-r\(round)-i\(i)"), "c\(k)-r\(round)-i\(i)") }
            }
        }
        let collection = readJSON(fresh.appendingPathComponent("coll/collection.json"))
        let itemLinks = (collection?["links"] as? [[String: Any]] ?? []).filter { $0["rel"] as? String == "item" }
        #expect(itemLinks.count == 301)
        let fsck = try await ws.git(["--git-dir", bare.path, "fsck"], in: ws.temp.url)
        #expect(fsck.status == 0, "\(fsck.stderr)")
    }

    // MARK: Helpers

    private func makeBare(_ ws: Workspace) async throws -> URL {
        let bare = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)
        return bare
    }

    private func rev(_ ws: Workspace, _ name: String, in dir: URL? = nil) async throws -> String {
        try await ws.git(["rev-parse", name], in: dir ?? ws.repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A source catalog with one collection holding items with these ids, each with one asset
    /// whose bytes (and a property) depend on `seed`; returns the path of its catalog.json.
    func writeItems(_ dir: URL, collection: String = "coll", ids: [String], seed: Int) throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent(collection), withIntermediateDirectories: true)
        var links: [String] = []
        for (n, id) in ids.enumerated() {
            let itemDir = dir.appendingPathComponent("\(collection)/\(id)")
            try fm.createDirectory(at: itemDir, withIntermediateDirectories: true)
            var gen = SplitMix(seed: UInt64(seed * 1000 + n + 1))
            try Data((0..<1500).map { _ in UInt8(truncatingIfNeeded: gen.next()) })
                .write(to: itemDir.appendingPathComponent("data.tif"))
            let item = """
                {"type": "Feature", "stac_version": "1.1.0", "id": "\(id)", "collection": "\(collection)",
                 "geometry": {"type": "Point", "coordinates": [\(n % 90).5, 2.5]}, "bbox": [\(n % 90).5, 2.5, \(n % 90).5, 2.5],
                 "properties": {"datetime": "2024-01-01T00:00:00Z", "custom:seed": \(seed)},
                 "links": [{"rel": "collection", "href": "../collection.json", "type": "application/json"}],
                 "assets": {"data": {"href": "./data.tif", "type": "image/tiff; application=geotiff", "roles": ["data"]}}}
                """
            try Data(item.utf8).write(to: itemDir.appendingPathComponent("\(id).json"))
            links.append("{\"rel\": \"item\", \"href\": \"./\(id)/\(id).json\", \"type\": \"application/geo+json\"}")
        }
        let coll = """
            {"type": "Collection", "stac_version": "1.1.0", "id": "\(collection)", "description": "Merge test collection",
             "license": "CC-BY-4.0",
             "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", null]]}},
             "links": [\(links.joined(separator: ", "))]}
            """
        try Data(coll.utf8).write(to: dir.appendingPathComponent("\(collection)/collection.json"))
        let cat = """
            {"type": "Catalog", "stac_version": "1.1.0", "id": "source", "description": "Source",
             "links": [{"rel": "child", "href": "./\(collection)/collection.json", "type": "application/json"}]}
            """
        try Data(cat.utf8).write(to: dir.appendingPathComponent("catalog.json"))
        return dir.appendingPathComponent("catalog.json").path
    }
}
