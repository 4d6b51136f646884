import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The git backend never loses or silently damages what it stores (issue 8, git half):
/// JSON-named assets, a copy-on-write work tree, `status`/`restore`, a `verify` that sees the
/// work tree and repairs it, and refusals to overwrite uncommitted edits.
@Suite("Work tree and stored bytes integrity (git)", .offPool, .offPool)
struct WorkTreeIntegrityTests {
    /// Tests/Fixtures/real-world: small items in the shapes of real catalogs.
    static let fixtures = Env.packageRoot.appendingPathComponent("Tests/Fixtures/real-world")

    static var hasGitLFS: Bool {
        guard let git = which("git") else { return false }
        return (try? runBlocking(git, ["lfs", "version"]).status) == 0
    }

    /// Every asset of the fixture set (not the STAC documents), by path relative to the catalog.
    static func fixtureAssets(_ root: URL) -> [String: Data] {
        var out: [String: Data] = [:]
        for path in treeState(root).keys {
            let name = (path as NSString).lastPathComponent
            let directory = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
            if name == "catalog.json" || name == "collection.json" || name == directory + ".json" { continue }
            out[path] = FileManager.default.contents(atPath: root.appendingPathComponent(path).path)
        }
        return out
    }

    /// A workspace with the fixture set copied to `source` and ingested into a git repository.
    func ingestedFixtures(_ name: String) async throws -> (Workspace, URL, [String: Data]) {
        let ws = Workspace(name)
        let source = ws.temp.sub("source")
        try FileManager.default.copyItem(at: Self.fixtures, to: source)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        return (ws, source, Self.fixtureAssets(source))
    }

    @Test(
        "real-world shapes (JSON-named assets, spaces, unicode, #, [, *) ingest clean for git and git-lfs, and every copy has the same bytes",
        .enabled(if: hasGitLFS))
    func realWorldFixtures() async throws {
        let (ws, _, assets) = try await ingestedFixtures("realworld")
        #expect(assets.count == 15)
        #expect(
            assets.keys.contains { $0.hasSuffix("_MTL.json") } && assets.keys.contains { $0.hasSuffix("tilejson.json") }
        )

        let status = try await ws.git(["status", "--porcelain"])
        #expect(status.status == 0 && status.stdout.isEmpty, "git status: \(status.stdout)")
        // Also after every file's stat data changed (git then re-reads them through the filters).
        for path in assets.keys {
            let url = ws.repo.appendingPathComponent(path)
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: 5)], ofItemAtPath: url.path)
        }
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)

        let verify = try await ws.ok(["verify"])
        #expect(verify.stdout.contains(", 0 problems"), "\(verify.stdout)")
        let listed = try await ws.git(["lfs", "ls-files", "--name-only"]).stdout.split(separator: "\n").map(String.init)
        #expect(Set(listed) == Set(assets.keys), "git lfs ls-files: \(listed)")
        let fsck = try await ws.git(["lfs", "fsck"])
        #expect(fsck.status == 0 && fsck.stdout.contains("OK"), "\(fsck.stdout)\(fsck.stderr)")
        let pointers = try await ws.git(["lfs", "fsck", "--pointers"])
        #expect(pointers.status == 0, "\(pointers.stdout)\(pointers.stderr)")

        // The work tree holds copies, never hard links to the stored objects.
        for path in assets.keys {
            var info = stat()
            #expect(lstat(ws.repo.appendingPathComponent(path).path, &info) == 0 && info.st_nlink == 1, "\(path)")
        }

        // export, our clone, git clone + git lfs pull: the same bytes.
        let exported = ws.temp.sub("export")
        try await ws.ok(["export", exported.path])
        let cloned = ws.temp.sub("clone")
        try await ws.ok(["clone", ws.repo.path, cloned.path])
        #expect(try await ws.git(["status", "--porcelain"], in: cloned).stdout.isEmpty)
        try await ws.ok(["verify"], repo: cloned)
        let plain = ws.temp.sub("plain")
        var env = ws.env
        env["GIT_LFS_SKIP_SMUDGE"] = "1"
        let clone = try await run(
            which("git") ?? "/usr/bin/git",
            ["clone", "-q", "-c", "lfs.url=file://\(ws.repo.path)/.git", ws.repo.path, plain.path], cwd: ws.temp.url,
            env: env)
        #expect(clone.status == 0, "git clone: \(clone.stderr)")
        let pull = try await ws.git(["-c", "lfs.url=file://\(ws.repo.path)/.git", "lfs", "pull"], in: plain)
        #expect(pull.status == 0, "git lfs pull: \(pull.stderr)")
        #expect(try await ws.git(["status", "--porcelain"], in: plain).stdout.isEmpty)
        // A backup holds the JSON-named assets' objects too: its clone has every byte.
        let backup = ws.temp.sub("backup.git")
        try await ws.ok(["backup", backup.path])
        let restored = ws.temp.sub("restored")
        try await ws.ok(["clone", backup.path, restored.path])
        try await ws.ok(["verify"], repo: restored)
        for (path, data) in assets {
            for (label, root) in [
                ("work tree", ws.repo), ("export", exported), ("clone", cloned), ("git clone", plain),
                ("backup", restored),
            ] {
                #expect(
                    FileManager.default.contents(atPath: root.appendingPathComponent(path).path) == data,
                    "\(label): \(path)")
            }
        }
        // 7-digit fractional seconds are kept as written.
        let landsat = try #require(
            assets.keys.first { $0.hasSuffix("_MTL.txt") }.map { ($0 as NSString).deletingLastPathComponent })
        let item = try String(
            contentsOf: ws.repo.appendingPathComponent("\(landsat)/\((landsat as NSString).lastPathComponent).json"),
            encoding: .utf8)
        #expect(item.contains("2023-10-05T18:31:21.6749510Z"))
    }

    @Test(
        "updating an item keeps its JSON-named assets LFS; pruning it removes its attributes file",
        .enabled(if: hasGitLFS))
    func updateAndPruneKeepAttributes() async throws {
        let (ws, source, assets) = try await ingestedFixtures("attrupdate")
        let id = "naip_ca_m_3712213_ne_10_060_20220518"
        let itemURL = source.appendingPathComponent("naip/\(id)/\(id).json")
        var item = try #require(readJSON(itemURL))
        var properties = try #require(item["properties"] as? [String: Any])
        properties["gsd"] = 0.3
        item["properties"] = properties
        try JSONSerialization.data(withJSONObject: item).write(to: itemURL)
        let update = try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(update.stdout.contains("1 updated"), "\(update.stdout)")
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        let listed = try await ws.git(["lfs", "ls-files", "--name-only"]).stdout.split(separator: "\n").map(String.init)
        #expect(Set(listed) == Set(assets.keys), "\(listed)")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))

        try await ws.ok(["prune", id])
        #expect(try await ws.git(["ls-files", "naip/\(id)"]).stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("naip/\(id)").path))
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
    }

    @Test("an asset literally named .gitattributes never overrides the attributes: stored bytes intact, status clean")
    func assetNamedGitattributes() async throws {
        let ws = Workspace("attrasset")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 1)
        let itemDir = source.appendingPathComponent("coll/item-0")
        let hostile = Data("* -filter\n*.tif -filter -diff -merge text\n".utf8)
        try hostile.write(to: itemDir.appendingPathComponent(".gitattributes"))
        try Data("{\"tiles\": []}\n".utf8).write(to: itemDir.appendingPathComponent("tilejson.json"))
        let itemURL = itemDir.appendingPathComponent("item-0.json")
        var item = try #require(readJSON(itemURL))
        var assets = try #require(item["assets"] as? [String: Any])
        assets["attributes"] = ["href": "./.gitattributes", "type": "text/plain", "roles": ["metadata"]]
        assets["tilejson"] = ["href": "./tilejson.json", "type": "application/json", "roles": ["tiles"]]
        item["assets"] = assets
        try JSONSerialization.data(withJSONObject: item).write(to: itemURL)
        let head = try await ws.git(["rev-parse", "HEAD"]).stdout
        let ingest = try await ws.tool(["ingest", source.appendingPathComponent("catalog.json").path])
        if ingest.status != 0 {
            // Refusing the name is fine too, if it is one clear sentence and nothing changed.
            #expect(ingest.stderr.hasPrefix("error: ") && ingest.stderr.contains(".gitattributes"), "\(ingest.stderr)")
            #expect(try await ws.git(["rev-parse", "HEAD"]).stdout == head)
            return
        }
        // Wherever the tool stored it, the asset's bytes are the original's, and the
        // directory's attributes are the tool's.
        let stored = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-0/item-0.json")))
        let href = try #require(
            ((stored["assets"] as? [String: Any])?["attributes"] as? [String: Any])?["href"] as? String)
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-0/\(href)").path) == hostile)
        let attributes = try String(
            contentsOf: ws.repo.appendingPathComponent("coll/item-0/.gitattributes"), encoding: .utf8)
        #expect(attributes.contains("/tilejson.json filter=lfs") && !attributes.contains("-filter"), "\(attributes)")
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        try await ws.ok(["verify"])
    }

    @Test("an in-place edit of a work-tree asset never changes history; status and verify name it, restore fixes it")
    func inPlaceEdit() async throws {
        let ws = Workspace("inplace")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 2)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let appended = "coll/item-0/data.tif"
        let overwritten = "coll/item-1/data.tif"
        let sh = which("sh") ?? "/bin/sh"
        #expect(try await run(sh, ["-c", "printf x >> '\(appended)'"], cwd: ws.repo).status == 0)
        let dd = try await run(
            sh, ["-c", "printf 'ZZZZ' | dd of='\(overwritten)' bs=1 seek=100 conv=notrunc 2>/dev/null"], cwd: ws.repo)
        #expect(dd.status == 0)

        // The committed bytes are unchanged: the LFS objects and an export of HEAD.
        for key in ["item-0/data.tif", "item-1/data.tif"] {
            let data = try #require(assets[key])
            let oid = sha256Hex(data)
            let object = ws.repo.appendingPathComponent(
                ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
            #expect(FileManager.default.contents(atPath: object.path) == data, "LFS object of \(key)")
        }
        let exported = ws.temp.sub("export")
        try await ws.ok(["export", exported.path, "--ref", "HEAD"])
        #expect(
            FileManager.default.contents(atPath: exported.appendingPathComponent(appended).path)
                == assets["item-0/data.tif"])
        #expect(
            FileManager.default.contents(atPath: exported.appendingPathComponent(overwritten).path)
                == assets["item-1/data.tif"])

        let status = try await ws.ok(["status"])
        #expect(
            status.stdout.contains("M \(appended)") && status.stdout.contains("M \(overwritten)"), "\(status.stdout)")
        #expect(status.stdout.contains("2 modified"), "\(status.stdout)")
        let json = try #require(jsonObject(try await ws.ok(["status", "--json"]).stdout) as? [String: Any])
        let changes = try #require(json["changes"] as? [[String: Any]])
        #expect(Set(changes.compactMap { $0["path"] as? String }) == [appended, overwritten])
        #expect(changes.allSatisfy { $0["kind"] as? String == "modified" })

        let verify = try await ws.tool(["verify"])
        #expect(verify.status == 1)
        #expect(
            verify.stdout.contains("FAIL \(appended)") && verify.stdout.contains("FAIL \(overwritten)"),
            "\(verify.stdout)")
        #expect(verify.stdout.contains(", 2 problems"), "\(verify.stdout)")
        #expect(verify.stderr.contains("2 problems") && verify.stderr.contains("--repair"), "\(verify.stderr)")

        let restore = try await ws.ok(["restore", appended])
        #expect(restore.stdout.contains("1 file restored"), "\(restore.stdout)")
        #expect(try await ws.ok(["status"]).stdout.contains("M \(overwritten)"))
        try await ws.ok(["restore"])
        #expect(try await ws.ok(["status"]).stdout.contains("status: clean"))
        for (key, data) in assets {
            #expect(FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/\(key)").path) == data)
        }
        let clean = try await ws.ok(["verify"])
        #expect(clean.stdout.contains(", 0 problems"))
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
    }

    @Test(
        "each kind of damage is reported by verify with exit 1, and verify --repair puts it right",
        arguments: [
            "garbage catalog.json", "deleted asset", "flipped LFS byte", "truncated item JSON", "lost LFS object",
        ])
    func damage(kind: String) async throws {
        let ws = Workspace("damage")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 2)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let data = try #require(assets["item-1/data.tif"])
        let oid = sha256Hex(data)
        let object = ws.repo.appendingPathComponent(
            ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        let named: String
        switch kind {
        case "garbage catalog.json":
            named = "catalog.json"
            try Data("not json at all".utf8).write(to: ws.repo.appendingPathComponent(named))
        case "deleted asset":
            named = "coll/item-1/data.tif"
            try FileManager.default.removeItem(at: ws.repo.appendingPathComponent(named))
        case "flipped LFS byte":
            named = "coll/item-1/data.tif"
            var bytes = data
            bytes[17] ^= 0xFF
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: object.path)
            try bytes.write(to: object)
        case "lost LFS object":
            // Both the object and the work-tree copy are gone: the original brings it back.
            named = "coll/item-1/data.tif"
            try FileManager.default.removeItem(at: object)
            try FileManager.default.removeItem(at: ws.repo.appendingPathComponent(named))
        default:
            named = "coll/item-0/item-0.json"
            let url = ws.repo.appendingPathComponent(named)
            let bytes = try Data(contentsOf: url)
            try bytes.prefix(bytes.count / 2).write(to: url)
        }
        let verify = try await ws.tool(["verify"])
        #expect(verify.status == 1, "\(kind): \(verify.stdout)")
        #expect(verify.stdout.contains("FAIL \(named)"), "\(kind): \(verify.stdout)")
        #expect(verify.stderr.hasPrefix("error: verify found"), "\(kind): \(verify.stderr)")
        if kind == "garbage catalog.json" {
            // One problem, in the singular: the work-tree file differs from the commit.
            #expect(verify.stdout.hasSuffix(", 1 problem\n"), "\(verify.stdout)")
            #expect(verify.stderr.contains("verify found 1 problem;"), "\(verify.stderr)")
        }

        let repair = try await ws.tool(["verify", "--repair"])
        #expect(repair.status == 0, "\(kind): \(repair.stdout)\(repair.stderr)")
        #expect(repair.stdout.contains("REPAIRED \(named)"), "\(kind): \(repair.stdout)")
        let after = try await ws.ok(["verify"])
        #expect(after.stdout.contains(", 0 problems"), "\(kind): \(after.stdout)")
        #expect(FileManager.default.contents(atPath: object.path) == data)
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path) == data)
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty, "\(kind)")
    }

    @Test("verify --repair says what it could not repair: an object with no good copy anywhere")
    func unrepairable() async throws {
        let ws = Workspace("unrepairable")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 1)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let oid = sha256Hex(try #require(assets["item-0/data.tif"]))
        let object = ws.repo.appendingPathComponent(
            ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        try FileManager.default.removeItem(at: object)
        try FileManager.default.removeItem(at: ws.repo.appendingPathComponent("coll/item-0/data.tif"))
        try FileManager.default.removeItem(at: source.appendingPathComponent("coll/item-0/data.tif"))
        let repair = try await ws.tool(["verify", "--repair"])
        #expect(repair.status == 1)
        #expect(repair.stdout.contains("FAIL coll/item-0/data.tif"), "\(repair.stdout)")
        #expect(repair.stderr.contains("could not repair"), "\(repair.stderr)")
    }

    @Test("ingest, prune and rollback refuse to overwrite an uncommitted hand edit; --force proceeds")
    func refusesOverUncommittedEdits() async throws {
        let ws = Workspace("refuse")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 2)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let item = ws.repo.appendingPathComponent("coll/item-0/item-0.json")
        var edited = try Data(contentsOf: item)
        edited.append(contentsOf: Array("\n".utf8))
        try edited.write(to: item)
        let head = try await ws.git(["rev-parse", "HEAD"]).stdout

        try makeCatalog(at: source, items: 2, seed: 1)  // every item changes
        let refused = try await ws.tool(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("coll/item-0/item-0.json has uncommitted changes")
                && refused.stderr.contains("stac-repository restore coll/item-0/item-0.json")
                && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1, "one sentence: \(refused.stderr)")
        #expect(try await ws.git(["rev-parse", "HEAD"]).stdout == head)
        #expect(try Data(contentsOf: item) == edited, "the hand edit is still there")

        let prune = try await ws.tool(["prune", "item-0"])
        #expect(prune.status == 1 && prune.stderr.contains("coll/item-0/item-0.json"), "\(prune.stderr)")
        let rollback = try await ws.tool(["rollback", "HEAD~1"])
        #expect(rollback.status == 1 && rollback.stderr.contains("--force"), "\(rollback.stderr)")
        #expect(try await ws.git(["rev-parse", "HEAD"]).stdout == head)

        let forced = try await ws.ok(["ingest", "--force", source.appendingPathComponent("catalog.json").path])
        #expect(forced.stdout.contains("2 updated"), "\(forced.stdout)")
        #expect(try await ws.ok(["status"]).stdout.contains("status: clean"))
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
    }

    @Test("a stale .git/index.lock left by a dead process does not fail a command after its commit")
    func staleIndexLock() async throws {
        let ws = Workspace("indexlock")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 2)
        let lock = ws.repo.appendingPathComponent(".git/index.lock")
        try Data().write(to: lock)
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSinceNow: -60)], ofItemAtPath: lock.path)
        let ingest = try await ws.tool(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lock.path))
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        try await ws.ok(["verify"])
    }

    @Test(
        "a repository written by an earlier version (JSON-named assets without attributes, hard-linked work tree) is migrated in one commit",
        .enabled(if: hasGitLFS))
    func migration() async throws {
        let (ws, _, assets) = try await ingestedFixtures("migrate")
        // Make it look like an earlier version wrote it: no per-directory attributes, the
        // format key unset, work-tree assets hard-linked to their objects.
        let attributes = try await ws.git(["ls-files", "*/.gitattributes"]).stdout.split(separator: "\n").map(
            String.init)
        #expect(attributes.count == 3, "\(attributes)")
        #expect(try await ws.git(["rm", "-q", "--cached"] + attributes).status == 0)
        for path in attributes { try FileManager.default.removeItem(at: ws.repo.appendingPathComponent(path)) }
        #expect(try await ws.git(["commit", "-q", "-m", "old format"]).status == 0)
        #expect(try await ws.git(["config", "--unset", "stac-repository.format"]).status == 0)
        for (path, data) in assets {
            let oid = sha256Hex(data)
            let object = ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)"
            let target = ws.repo.appendingPathComponent(path).path
            unlink(target)
            #expect(link(ws.repo.appendingPathComponent(object).path, target) == 0)
        }
        let before = try await ws.tool(["verify"])
        #expect(before.status == 1 && before.stdout.contains("migrate"), "\(before.stdout)")

        let repair = try await ws.ok(["verify", "--repair"])
        #expect(repair.stdout.contains(", 0 problems"), "\(repair.stdout)")
        let log = try await ws.git(["log", "--format=%s", "-n", "2"]).stdout
        #expect(log.hasPrefix("migrate: Git LFS attributes for 6 JSON-named assets"), "\(log)")
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        let listed = try await ws.git(["lfs", "ls-files", "--name-only"]).stdout.split(separator: "\n").map(String.init)
        #expect(Set(listed) == Set(assets.keys))
        for path in assets.keys {
            var info = stat()
            #expect(lstat(ws.repo.appendingPathComponent(path).path, &info) == 0 && info.st_nlink == 1, "\(path)")
        }
        // An export of the old-format commit still has the real bytes, not pointer text.
        let old = ws.temp.sub("old-export")
        try await ws.ok(["export", old.path, "--ref", "HEAD~1"])
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: old.appendingPathComponent(path).path) == data, "\(path)")
        }
        // A rollback to the old-format commit keeps the attributes (it adds the lines that
        // commit lacks): its catalog is then the current one, and nothing changes.
        let rollback = try await ws.tool(["rollback", "HEAD~1"])
        #expect(rollback.status == 1 && rollback.stderr.contains("already the current one"), "\(rollback.stderr)")
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        #expect(try await ws.git(["ls-files", "*/.gitattributes"]).stdout.split(separator: "\n").count == 3)
        // Once only: the next write command adds no second migration commit.
        try await ws.ok(["prune", "naip_ca_m_3712213_ne_10_060_20220518"])
        #expect(
            try await ws.git(["log", "--format=%s", "-n", "3"]).stdout.components(separatedBy: "migrate:").count == 2)
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        #expect(
            try await ws.git(["ls-files", "naip"]).stdout.split(separator: "\n").count == 1, "only naip/collection.json"
        )
    }

    @Test(
        "status on the file backend checks files against the checksums their items record; restore says why it cannot")
    func fileBackendStatus() async throws {
        let ws = Workspace("filestatus")
        try await ws.initRepo(backend: "file")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 2)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        #expect(try await ws.ok(["status"]).stdout.contains("status: clean"))
        try Data("x".utf8).write(to: ws.repo.appendingPathComponent("coll/item-0/data.tif"))
        try FileManager.default.removeItem(at: ws.repo.appendingPathComponent("coll/item-1/thumb.png"))
        let status = try await ws.ok(["status"])
        #expect(
            status.stdout.contains("M coll/item-0/data.tif") && status.stdout.contains("D coll/item-1/thumb.png"),
            "\(status.stdout)")
        #expect(status.stderr.contains("checksums"), "\(status.stderr)")
        let restore = try await ws.tool(["restore"])
        #expect(restore.status == 1 && restore.stderr.contains("needs the git backend"), "\(restore.stderr)")
        // verify --repair fetches both again from their originals.
        let repair = try await ws.ok(["verify", "--repair"])
        #expect(repair.stdout.contains("2 repaired") && repair.stdout.contains(", 0 problems"), "\(repair.stdout)")
        #expect(try await ws.ok(["status"]).stdout.contains("status: clean"))
    }
}
