import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `backup` writes every object before any ref, and `clone` checks what it restored.
@Suite("Backup integrity", .offPool, .serialized)
struct BackupIntegrityTests {
    @Test("a backup killed at random instants is restored completely or refused, and the next backup completes it")
    func killedBackups() async throws {
        let ws = Workspace("backup-integrity")
        try await ws.initRepo(backend: "git")
        let first = ws.temp.sub("first")
        try makeCatalog(at: first, items: 5, seed: 1, assetBytes: 512)
        try await ws.ok(["ingest", first.appendingPathComponent("catalog.json").path, "-q"])
        let oldHead = try await ws.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 100, seed: 2, assetBytes: 512)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path, "-q"])
        let newHead = try await ws.git(["rev-parse", "HEAD"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let timing = ws.temp.sub("timing")
        let started = Date()
        try await ws.ok(["backup", timing.path])
        let duration = Date().timeIntervalSince(started)
        let expectedObjects = lfsObjects(timing)
        #expect(expectedObjects.count == 210)
        let old = ws.temp.sub("old-backup")
        try await ws.ok(["backup", old.path, "--ref", oldHead])

        var rng = SplitMix(seed: 17)
        var outcomes: [String: Int] = [:]
        for round in 0..<20 {
            // Even rounds: a new backup; odd rounds: an update of a backup of the older commit.
            let dest = ws.temp.sub("backup-\(round)")
            if round % 2 == 1 { _ = try await run("/bin/cp", ["-a", old.path, dest.path]) }
            let process = try startInBackground(
                Env.binary,
                ["backup", "--repository", ws.repo.path, dest.path, "-q"],
                env: ws.env)
            await pause(microseconds: UInt32(Double(rng.next() % 1000) / 1000 * duration * 1.1 * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)

            let clone = ws.temp.sub("clone-\(round)")
            let restored = try await ws.tool(["clone", dest.path, clone.path])
            if restored.status == 0 {
                let head = try await ws.git(["rev-parse", "HEAD"], in: clone).stdout.trimmingCharacters(
                    in: .whitespaces)
                let at = head.hasPrefix(newHead) ? "new" : head.hasPrefix(oldHead) ? "old" : "other"
                outcomes["restored-\(at)", default: 0] += 1
                #expect(at != "other", "round \(round): the clone is at an unknown commit \(head)")
                let verify = try await ws.tool(["verify"], repo: clone)
                #expect(verify.status == 0, "round \(round): a restored clone must verify: \(verify.stdout)")
            } else {
                outcomes["refused", default: 0] += 1
                #expect(restored.status == 1, "round \(round): exit \(restored.status)")
                #expect(restored.stderr.hasPrefix("error: "), "round \(round): \(restored.stderr)")
                #expect(
                    !FileManager.default.fileExists(atPath: clone.path + "/.git"), "round \(round): partial clone left")
            }
            // The next backup completes it: at the tip with every Git LFS object (a full clone and
            // verify every fifth round, to keep the test's time down).
            try await ws.ok(["backup", dest.path, "-q"])
            let branch = try await ws.git(["--git-dir", dest.path, "rev-parse", "refs/heads/main"], in: ws.temp.url)
                .stdout
            #expect(branch.hasPrefix(newHead), "round \(round): the completed backup is not at the tip")
            #expect(lfsObjects(dest) == expectedObjects, "round \(round): the completed backup lacks objects")
            let complete = ws.temp.sub("complete-\(round)")
            if round % 5 == 4 {
                try await ws.ok(["clone", dest.path, complete.path])
                try await ws.ok(["verify"], repo: complete)
            }
            for dir in [dest, clone, complete] { try? FileManager.default.removeItem(at: dir) }
        }
        #expect(outcomes.values.reduce(0, +) == 20, "\(outcomes)")
        print("killed backups: \(outcomes); a full backup takes \(duration) s")
    }

    /// The names (oids) of the Git LFS objects of a backup.
    func lfsObjects(_ backup: URL) -> Set<String> {
        let objects = backup.appendingPathComponent("lfs/objects").path
        let all = FileManager.default.enumerator(atPath: objects)?.allObjects as? [String] ?? []
        return Set(all.filter { $0.split(separator: "/").count == 3 }.map { ($0 as NSString).lastPathComponent })
    }

    @Test("clone refuses a backup whose Git LFS objects are missing and leaves nothing behind")
    func cloneChecksLFSObjects() async throws {
        let ws = Workspace("backup-missing")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 3)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path, "-q"])
        let backup = ws.temp.sub("backup")
        try await ws.ok(["backup", backup.path])
        let objects = backup.appendingPathComponent("lfs/objects")
        let enumerator = FileManager.default.enumerator(atPath: objects.path)
        let victim = try #require((enumerator?.allObjects as? [String])?.first { $0.split(separator: "/").count == 3 })
        try FileManager.default.removeItem(at: objects.appendingPathComponent(victim))
        let clone = ws.temp.sub("clone")
        let r = try await ws.tool(["clone", backup.path, clone.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("lacks 1 Git LFS object"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: clone.path))
        // The next backup puts the object back.
        try await ws.ok(["backup", backup.path])
        try await ws.ok(["clone", backup.path, clone.path])
    }

    @Test("backup takes the writer lock: it fails at once while another command holds it")
    func backupTakesTheLock() async throws {
        let ws = Workspace("backup-lock")
        try await ws.initRepo(backend: "git")
        let lockPath = ws.repo.appendingPathComponent(".git/stac-repository/lock").path
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [lockPath, "sleep", "3"]
        try holder.run()
        // Not waited for: Foundation reaps the killed holder.
        defer { kill(holder.processIdentifier, SIGTERM) }
        await pause(microseconds: 300_000)
        let r = try await ws.tool(["backup", ws.temp.sub("b").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("locked"), "\(r.stderr)")
    }
}
