import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// File-backend readers see one version while a writer commits, and never hold up a writer.
@Suite("Reader snapshots", .offPool, .serialized)
struct ReaderSnapshotTests {
    @Test("40 exports while a writer commits in a loop each equal one committed state")
    func exportsDuringCommits() async throws {
        let ws = Workspace("readers")
        try await ws.initRepo(backend: "file")
        // Two sources whose items differ everywhere: each commit rewrites every item and asset.
        let a = ws.temp.sub("a")
        let b = ws.temp.sub("b")
        try makeCatalog(at: a, items: 20, seed: 1, assetBytes: 1024)
        try makeCatalog(at: b, items: 20, seed: 2, assetBytes: 1024)
        try await ws.ok(["ingest", a.appendingPathComponent("catalog.json").path, "-q"])
        let stateA = ws.temp.sub("state-a")
        try await ws.ok(["export", stateA.path])
        try await ws.ok(["ingest", b.appendingPathComponent("catalog.json").path, "-q"])
        let stateB = ws.temp.sub("state-b")
        try await ws.ok(["export", stateB.path])
        let states = [treeState(stateA), treeState(stateB)]
        #expect(states[0] != states[1])

        final class WriterLog: @unchecked Sendable {
            let lock = NSLock()
            var failures: [String] = []
            var commits = 0
            var stop = false
        }
        let log = WriterLog()
        let writerDone = DispatchSemaphore(value: 0)
        let sources = [a, b]
        let env = ws.env
        let repo = ws.repo
        Thread.detachNewThread {
            var n = 0
            while true {
                log.lock.lock()
                let stop = log.stop
                log.lock.unlock()
                if stop { break }
                let source = sources[n % 2].appendingPathComponent("catalog.json").path
                let r = try? runBlocking(
                    Env.binary.path, ["ingest", "--repository", repo.path, source, "-q"], env: env)
                log.lock.lock()
                if let r, r.status == 0 { log.commits += 1 } else { log.failures.append(r?.stderr ?? "did not run") }
                log.lock.unlock()
                n += 1
            }
            writerDone.signal()
        }
        var seen = [0, 0]
        for round in 0..<40 {
            let out = ws.temp.sub("export-\(round)")
            let r = try await ws.tool(["export", out.path])
            #expect(r.status == 0, "export \(round) failed: \(r.stderr)")
            let state = treeState(out)
            if let which = states.firstIndex(of: state) {
                seen[which] += 1
            } else {
                Issue.record("export \(round) equals neither committed state (\(state.count) files)")
            }
            try? FileManager.default.removeItem(at: out)
        }
        log.lock.withLock { log.stop = true }
        await waitFor(writerDone)
        #expect(log.failures.isEmpty, "writers failed: \(log.failures.prefix(3))")
        #expect(log.commits >= 2, "the writer committed only \(log.commits) times")
        #expect(seen[0] + seen[1] == 40, "\(seen)")
        print("reader snapshots: \(log.commits) commits during 40 exports; states seen \(seen)")
    }

    @Test("a reader sees the state before an interrupted commit without taking the lock")
    func readsThroughAnInterruptedCommit() async throws {
        let ws = Workspace("readers-crash")
        try await ws.initRepo(backend: "file")
        let a = ws.temp.sub("a")
        let b = ws.temp.sub("b")
        try makeCatalog(at: a, items: 20, seed: 1)
        try makeCatalog(at: b, items: 20, seed: 2)
        try await ws.ok(["ingest", a.appendingPathComponent("catalog.json").path, "-q"])
        let before = ws.temp.sub("before")
        try await ws.ok(["export", before.path])
        let crashed = try await ws.tool(
            ["ingest", b.appendingPathComponent("catalog.json").path],
            env: ["STAC_REPOSITORY_CRASH_AT": "file-moved:30"])
        #expect(crashed.status == SIGKILL)
        #expect(
            FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent(".stac-repository/journal.json").path)
        )
        let journal = ws.repo.appendingPathComponent(".stac-repository/journal.json").path
        #expect(FileManager.default.fileExists(atPath: journal))
        // While another process holds the lock the reader cannot finish the commit: it reads the
        // version before it through the journal, and leaves the journal to the next writer.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [ws.repo.appendingPathComponent(".stac-repository/lock").path, "sleep", "30"]
        try holder.run()
        await pause(microseconds: 300_000)
        let out = ws.temp.sub("during")
        try await ws.ok(["export", out.path])
        kill(holder.processIdentifier, SIGTERM)
        await waitForExit(holder)
        #expect(treeState(out) == treeState(before))
        #expect(FileManager.default.fileExists(atPath: journal))
        // With the lock free, the next reader finishes the dead writer's commit (rolls it back).
        let after = ws.temp.sub("after")
        try await ws.ok(["export", after.path])
        #expect(treeState(after) == treeState(before))
        #expect(!FileManager.default.fileExists(atPath: journal))
    }

    @Test("a writer without --wait waits for a reader's short recovery instead of failing")
    func writerWaitsForRecovery() async throws {
        let ws = Workspace("readers-recovery")
        try await ws.initRepo(backend: "file")
        let lockPath = ws.repo.appendingPathComponent(".stac-repository/lock")
        // A reader's recovery holds the lock (simulated for 1 s with the same holder text).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = [
            "-c",
            "exec 9>'\(lockPath.path)'; flock 9; printf 'pid 1: recovery of an interrupted commit by a reader' >&9; sleep 1",
        ]
        try holder.run()
        await pause(microseconds: 300_000)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 1)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        await waitForExit(holder)
    }
}
