import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real `stac-repository ingest` process is killed with SIGKILL at many points of a large
/// ingest; the next command must recover a repository equal to the state before or after.
@Suite("Crash safety", .offPool, .serialized)
struct CrashTests {
    struct Setup {
        let ws: Workspace
        let base: URL
        let source: URL
        let before: [String: String]
        let after: [String: String]
    }

    func prepare(_ backend: String, items: Int) async throws -> Setup {
        let ws = Workspace("crash")
        let base = ws.temp.sub("base")
        try await ws.initRepo(backend: backend, at: base)
        let first = ws.temp.sub("first")
        try makeCatalog(at: first, collection: "coll", items: 3, seed: 1)
        try await ws.ok(["ingest", first.appendingPathComponent("catalog.json").path], repo: base)
        // The big ingest updates the 3 existing items and adds many more.
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, collection: "coll", items: items, seed: 2)
        let before = treeState(base, skipGitInternals: true)
        let reference = ws.temp.sub("reference")
        try await copyTree(base, reference)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path], repo: reference)
        let after = treeState(reference, skipGitInternals: true)
        #expect(before != after)
        return Setup(ws: ws, base: base, source: source, before: before, after: after)
    }

    func copyTree(_ from: URL, _ to: URL) async throws {
        let r = try await run("/bin/cp", ["-a", from.path, to.path])
        #expect(r.status == 0, "cp: \(r.stderr)")
    }

    /// After a crash: the next command recovers, the catalog equals before or after, git is clean.
    func checkRecovered(_ s: Setup, repo: URL, backend: String, label: String) async throws {
        let verify = try await s.ws.tool(["verify"], repo: repo)
        #expect(verify.status == 0, "\(label): verify after recovery failed: \(verify.stdout)\(verify.stderr)")
        let state = treeState(repo, skipGitInternals: true)
        let which = state == s.before ? "before" : state == s.after ? "after" : "neither"
        #expect(
            which != "neither",
            "\(label): the recovered catalog equals neither the state before nor after; differing: \(Set(state.keys).symmetricDifference(s.after.keys).sorted().prefix(5))"
        )
        if backend == "git" {
            let status = try await s.ws.git(["status", "--porcelain"], in: repo)
            #expect(status.stdout.isEmpty, "\(label): git status is not clean: \(status.stdout.prefix(500))")
            let fsck = try await s.ws.git(["fsck", "--strict", "--no-dangling"], in: repo)
            #expect(fsck.status == 0, "\(label): git fsck: \(fsck.stdout)\(fsck.stderr)")
        }
        // And the ingest, run again, completes to the after state.
        try await s.ws.ok(["ingest", s.source.appendingPathComponent("catalog.json").path], repo: repo)
        #expect(
            treeState(repo, skipGitInternals: true) == s.after,
            "\(label): re-running the ingest did not reach the after state")
    }

    static let points: [(String, String)] = [
        ("file", "file-journal-written"), ("file", "file-moved:1"), ("file", "file-moved:40"),
        ("file", "file-moved:163"),
        ("file", "file-committed"),
        ("git", "git-journal-written"), ("git", "git-ref-updated"), ("git", "git-worktree-file:1"),
        ("git", "git-worktree-file:90"),
    ]

    @Test("a kill at each commit step is recovered to before or after", arguments: ["file", "git"])
    func killAtCommitSteps(backend: String) async throws {
        let s = try await prepare(backend, items: 80)
        for (b, point) in Self.points where b == backend {
            let repo = s.ws.temp.sub("crash-\(point.replacingOccurrences(of: ":", with: "-"))")
            try await copyTree(s.base, repo)
            let r = try await s.ws.tool(
                ["ingest", s.source.appendingPathComponent("catalog.json").path], repo: repo,
                env: ["STAC_REPOSITORY_CRASH_AT": point])
            #expect(
                r.status == SIGKILL,
                "\(point): the process was expected to die by SIGKILL, exit \(r.status): \(r.stderr)")
            try await checkRecovered(s, repo: repo, backend: backend, label: point)
        }
    }

    @Test("kills at random instants of a large ingest are recovered", arguments: ["file", "git"])
    func killAtRandomInstants(backend: String) async throws {
        let s = try await prepare(backend, items: 150)
        var rng = SplitMix(seed: backend == "git" ? 11 : 7)
        for round in 0..<8 {
            let repo = s.ws.temp.sub("random-\(round)")
            try await copyTree(s.base, repo)
            let process = try startInBackground(
                Env.binary,
                [
                    "ingest", "--repository", repo.path, s.source.appendingPathComponent("catalog.json").path, "-q",
                ],
                env: s.ws.env)
            await pause(microseconds: UInt32(10_000 + Int(rng.next() % 400_000)))
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)
            try await checkRecovered(s, repo: repo, backend: backend, label: "random kill \(round)")
        }
    }
}
