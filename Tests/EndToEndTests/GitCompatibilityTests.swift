import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The git backend, checked with the real `git` and `git lfs`.
@Suite("Git backend with real git and git-lfs", .offPool)
struct GitCompatibilityTests {
    /// A git repository with two ingests and a prune.
    func populated() async throws -> (Workspace, URL, [String: Data]) {
        let ws = Workspace("gitcompat")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 4)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        return (ws, source, assets)
    }

    func checkGitIsHappy(_ ws: Workspace, assetCount: Int, _ label: String) async throws {
        let fsck = try await ws.git(["fsck", "--strict"])
        #expect(fsck.status == 0, "\(label): git fsck: \(fsck.stderr)")
        let status = try await ws.git(["status", "--porcelain"])
        #expect(status.status == 0 && status.stdout.isEmpty, "\(label): git status: \(status.stdout)")
        let lfsFiles = try await ws.git(["lfs", "ls-files", "--name-only"])
        let listed = lfsFiles.stdout.split(separator: "\n")
        #expect(listed.count == assetCount, "\(label): git lfs ls-files: \(lfsFiles.stdout)")
        let lfsFsck = try await ws.git(["lfs", "fsck"])
        #expect(
            lfsFsck.status == 0 && lfsFsck.stdout.contains("OK"),
            "\(label): git lfs fsck: \(lfsFsck.stdout)\(lfsFsck.stderr)")
    }

    @Test(
        "with a split index (core.splitIndex, as from 100,000 files) every command keeps what stock git reads: ingest, prune, an in-place edit seen by status and undone by restore, rollback, verify"
    )
    func splitIndex() async throws {
        let ws = Workspace("gitsplit")
        try await ws.initRepo(backend: "git")
        #expect(try await ws.git(["config", "core.splitIndex", "true"]).status == 0)
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 4)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let git = ws.repo.appendingPathComponent(".git")
        func shared() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: git.path).filter { $0.hasPrefix("sharedindex.") }
        }
        #expect(try !shared().isEmpty, "the index is split")
        try await checkGitIsHappy(ws, assetCount: 8, "split, after ingest")

        try await ws.ok(["prune", "item-2"])
        try await checkGitIsHappy(ws, assetCount: 6, "split, after prune")
        #expect(try await ws.git(["ls-files", "coll/item-2"]).stdout.isEmpty)

        let edited = "coll/item-1/data.tif"
        try Data("edited".utf8).write(to: ws.repo.appendingPathComponent(edited))
        let status = try await ws.ok(["status"])
        #expect(status.stdout.contains("M \(edited)"), "\(status.stdout)")
        let refused = try await ws.tool(["prune", "item-1"])
        #expect(refused.status == 1 && refused.stderr.contains("--force"), "\(refused.stderr)")
        try await ws.ok(["restore", edited])
        #expect(try await ws.ok(["status"]).stdout.contains("status: clean"))

        try await ws.ok(["rollback", "HEAD~1"])
        try await checkGitIsHappy(ws, assetCount: 8, "split, after rollback")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-2/data.tif").path)
                == assets["item-2/data.tif"])
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        let index = try #require(FileManager.default.contents(atPath: git.appendingPathComponent("index").path))
        #expect(index.range(of: Data("link".utf8)) != nil, "still split after every command")
    }

    @Test("ingest, prune and rollback leave a repository that git and git-lfs find clean")
    func gitToolsAgree() async throws {
        let (ws, source, assets) = try await populated()
        try await checkGitIsHappy(ws, assetCount: 8, "after ingest")
        // The pointer blob is what `git lfs pointer` makes for the same file.
        let pointer = try await ws.git(["cat-file", "-p", "HEAD:coll/item-0/data.tif"])
        let expected = try await ws.git([
            "lfs", "pointer", "--file", source.appendingPathComponent("coll/item-0/data.tif").path,
        ])
        #expect(pointer.stdout == expected.stdout, "pointer: \(pointer.stdout) vs \(expected.stdout)")
        #expect(pointer.stdout.contains("oid sha256:" + sha256Hex(assets["item-0/data.tif"]!)))
        // Commit messages: summary, product list, trailers.
        let log = try await ws.git(["log", "--format=%B%x00"])
        #expect(log.stdout.contains("ingest: 5 added, 0 updated"))
        #expect(log.stdout.contains("+ item item-3"))
        #expect(log.stdout.contains("Stac-Repository-Operation: ingest"))

        try await ws.ok(["prune", "item-2"])
        try await checkGitIsHappy(ws, assetCount: 6, "after prune")
        let rollback = try await ws.ok(["rollback", "HEAD~1"])
        #expect(rollback.stdout.contains("rollback"))
        try await checkGitIsHappy(ws, assetCount: 8, "after rollback")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-2/data.tif").path)
                == assets["item-2/data.tif"])
        let count = try await ws.git(["rev-list", "--count", "HEAD"])
        #expect(
            count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "4",
            "history is kept: init, ingest, prune, rollback")
    }

    @Test("loose objects are packed once there are more than gc.auto, and git still agrees")
    func autoPack() async throws {
        let ws = Workspace("gc")
        try await ws.initRepo(backend: "git")
        try await ws.ok(["config", "set", "gc.auto", "5"])
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 3)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let counts = try await ws.git(["count-objects", "-v"]).stdout
        #expect(counts.contains("count: 0\n"), "\(counts)")
        #expect(!counts.contains("packs: 0\n"), "\(counts)")
        try await ws.ok(["prune", "item-0"])
        try await checkGitIsHappy(ws, assetCount: 4, "after auto-pack")
        try await ws.ok(["verify"])
    }

    @Test("packs are rolled up as commits add them, so their number stays logarithmic, and git still agrees")
    func packsRolledUp() async throws {
        let ws = Workspace("gc-packs")
        try await ws.initRepo(backend: "git")
        // Every commit's loose objects are packed: a pack per commit without the roll-up.
        try await ws.ok(["config", "set", "gc.auto", "2"])
        var packCounts: [Int] = []
        for round in 0..<8 {
            let source = ws.temp.sub("source-\(round)")
            try makeCatalog(at: source, items: 2, seed: round)
            try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
            let packs = try FileManager.default.contentsOfDirectory(
                atPath: ws.repo.appendingPathComponent(".git/objects/pack").path
            ).filter { $0.hasSuffix(".pack") }
            packCounts.append(packs.count)
        }
        // Eight similar commits: each new pack merges with the ones no more than twice its size.
        // Without the roll-up they would be 1, 2, …, 8.
        #expect(packCounts.allSatisfy { $0 <= 3 }, "\(packCounts)")
        #expect(packCounts.dropFirst(2).contains(1), "\(packCounts)")
        try await checkGitIsHappy(ws, assetCount: 4, "after the roll-ups")
        let versions = try await ws.git(["rev-list", "HEAD"]).stdout.split(separator: "\n")
        #expect(versions.count == 9)
        for version in versions {
            try await ws.git(["ls-tree", "-r", String(version)])
        }
        try await ws.ok(["verify"])
        try await ws.ok(["history"])
    }

    @Test("rollback --hard moves the branch and keeps the old tip under refs/stac-repository/backup")
    func hardRollback() async throws {
        let (ws, _, _) = try await populated()
        let tip = try await ws.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try await ws.git(["rev-parse", "HEAD~1"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try await ws.ok(["rollback", String(first.prefix(8)), "--hard"])
        #expect(
            try await ws.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == first)
        let refs = try await ws.git([
            "for-each-ref", "--format=%(objectname) %(refname)", "refs/stac-repository/backup/",
        ])
        #expect(refs.stdout.contains(tip), "\(refs.stdout)")
        #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll").path))
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        let bad = try await ws.tool(["rollback", "no-such-ref"])
        #expect(bad.status == 1 && bad.stderr.contains("no-such-ref"))
    }

    @Test("history, diff and export --ref see every version")
    func historyDiffExport() async throws {
        let (ws, source, assets) = try await populated()
        // Update one item's metadata and one asset's bytes.
        let itemURL = source.appendingPathComponent("coll/item-1/item-1.json")
        let text = try String(contentsOf: itemURL, encoding: .utf8).replacingOccurrences(
            of: "\"custom:seed\": 0", with: "\"custom:seed\": 9")
        try text.write(to: itemURL, atomically: true, encoding: .utf8)
        let newBytes = Data(repeating: 7, count: 3000)
        try newBytes.write(to: source.appendingPathComponent("coll/item-1/data.tif"))
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])

        let history = try #require(
            jsonObject(try await ws.ok(["history", "--json", "--product", "item-1"]).stdout) as? [[String: Any]])
        #expect(history.count == 2)
        #expect(
            (try #require(
                jsonObject(try await ws.ok(["history", "--json", "--limit", "1"]).stdout) as? [[String: Any]]))
                .count == 1)

        let diff = try #require(
            jsonObject(try await ws.ok(["diff", "HEAD~1", "HEAD", "--json"]).stdout) as? [[String: Any]])
        let changed = try #require(diff.first { $0["id"] as? String == "item-1" })
        #expect(changed["change"] as? String == "updated")
        #expect((changed["changedFields"] as? [String] ?? []).contains("properties.custom:seed"))
        let assetChanges = changed["changedAssets"] as? [[String: Any]] ?? []
        #expect(
            assetChanges.contains {
                $0["key"] as? String == "data" && $0["new"] as? String == "1220" + sha256Hex(newBytes)
            })
        #expect(diff.count == 1, "only item-1 changed: \(diff)")

        let old = ws.temp.sub("old")
        try await ws.ok(["export", old.path, "--ref", "HEAD~1"])
        #expect(
            FileManager.default.contents(atPath: old.appendingPathComponent("coll/item-1/data.tif").path)
                == assets["item-1/data.tif"])
        let none = ws.temp.sub("none")
        try await ws.ok(["export", none.path, "--assets", "none"])
        #expect(!FileManager.default.fileExists(atPath: none.appendingPathComponent("coll/item-1/data.tif").path))
        #expect(FileManager.default.fileExists(atPath: none.appendingPathComponent("coll/item-1/item-1.json").path))

        // --assets link, then a forced copy export over it: the stored objects must not be
        // written through the hard links.
        let linked = ws.temp.sub("linked")
        try await ws.ok(["export", linked.path, "--assets", "link"])
        #expect(
            FileManager.default.contents(atPath: linked.appendingPathComponent("coll/item-2/data.tif").path)
                == assets["item-2/data.tif"])
        try await ws.ok(["export", linked.path, "--force"])
        try await ws.ok(["export", linked.path, "--force", "--ref", "HEAD~1"])
        try await ws.ok(["verify"])
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path)
                == newBytes)
        #expect(try await ws.git(["lfs", "fsck"]).status == 0)
    }

    @Test("backup writes a verified bare repository that clone and git clone + git lfs pull restore")
    func backupAndRestore() async throws {
        let (ws, source, assets) = try await populated()
        let backup = ws.temp.sub("backup.git")
        let first = try await ws.ok(["backup", backup.path, "--json"])
        let firstReport = try #require(jsonObject(first.stdout) as? [String: Any])
        #expect(firstReport["lfsObjectsCopied"] as? Int == 8)
        // Incremental: one more item, then only its objects are copied.
        try makeCatalog(at: source, items: 5)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let second = try #require(
            jsonObject(try await ws.ok(["backup", backup.path, "--json"]).stdout) as? [String: Any])
        #expect(second["incremental"] as? Bool == true)
        #expect(second["lfsObjectsCopied"] as? Int == 2)
        #expect(second["lfsObjectsPresent"] as? Int == 8)
        let fsck = try await ws.git(["fsck", "--strict"], in: backup)
        #expect(fsck.status == 0, "\(fsck.stderr)")

        // Our clone.
        let restored = ws.temp.sub("restored")
        try await ws.ok(["clone", backup.path, restored.path])
        #expect(
            FileManager.default.contents(atPath: restored.appendingPathComponent("coll/item-3/data.tif").path)
                == assets["item-3/data.tif"])
        try await ws.ok(["verify"], repo: restored)
        #expect(try await ws.git(["status", "--porcelain"], in: restored).stdout.isEmpty)

        // Plain git clone + git lfs pull.
        let plain = ws.temp.sub("plain")
        var env = ws.env
        env["GIT_LFS_SKIP_SMUDGE"] = "1"
        let clone = try await run(which("git")!, ["clone", "-q", backup.path, plain.path], cwd: ws.temp.url, env: env)
        #expect(clone.status == 0, "git clone: \(clone.stderr)")
        let pull = try await ws.git(["lfs", "pull"], in: plain)
        #expect(pull.status == 0, "git lfs pull: \(pull.stderr)")
        for (path, data) in assets {
            #expect(
                FileManager.default.contents(atPath: plain.appendingPathComponent("coll/\(path)").path) == data,
                "\(path)")
        }
    }

    @Test("two writers at once: without --wait one fails clearly, with --wait no update is lost")
    func concurrentWriters() async throws {
        let ws = Workspace("concurrent")
        try await ws.initRepo(backend: "git")
        var sources: [URL] = []
        for n in 0..<4 {
            let s = ws.temp.sub("s\(n)")
            try makeCatalog(at: s, collection: "c\(n)", items: 30, seed: n)
            sources.append(s)
        }
        func start(_ source: URL, wait: Bool) throws -> (Process, Pipe) {
            let p = Process()
            p.executableURL = Env.binary
            p.arguments =
                ["ingest", "--repository", ws.repo.path, source.appendingPathComponent("catalog.json").path]
                + (wait ? ["--wait"] : [])
            p.environment = ws.env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return (p, err)
        }
        // With --wait: all four succeed and all four collections are there.
        let procs = try sources.map { try start($0, wait: true) }
        for (p, _) in procs { await waitForExit(p) }
        #expect(procs.allSatisfy { $0.0.terminationStatus == 0 })
        for n in 0..<4 {
            #expect(
                FileManager.default.fileExists(
                    atPath: ws.repo.appendingPathComponent("c\(n)/item-29/item-29.json").path))
        }
        #expect(
            try await ws.git(["rev-list", "--count", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                == "5")
        // Without --wait while another writer holds the lock: a clear failure, nothing changed.
        let lockPath = ws.repo.appendingPathComponent(".git/stac-repository/lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0)
        #expect(flock(fd, LOCK_EX) == 0)
        let before = try await ws.git(["rev-parse", "HEAD"]).stdout
        let blocked = try await ws.tool(["prune", "item-3"])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("locked") && blocked.stderr.contains("--wait"), "\(blocked.stderr)")
        #expect(try await ws.git(["rev-parse", "HEAD"]).stdout == before)
        // With --wait it proceeds once the lock is released.
        let (waiting, _) = try start(sources[0], wait: true)
        await pause(microseconds: 300_000)
        #expect(waiting.isRunning, "a --wait writer waits for the lock")
        flock(fd, LOCK_UN)
        close(fd)
        await waitForExit(waiting)
        #expect(waiting.terminationStatus == 0)
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
    }
}
