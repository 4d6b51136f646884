import Foundation
import TestSupport
import Testing

/// The durability rule of docs/format.md, proven by counting the flush system calls a real
/// `stac-repository ingest` makes (strace): batched per transaction, not per item.
@Suite("Durability", .offPool, .enabled(if: which("strace") != nil, "strace is not installed"))
struct DurabilityTests {
    /// The flush calls of one `stac-repository ARGS` run, by name (fsync, fdatasync, syncfs, …).
    static func flushCalls(_ ws: Workspace, _ args: [String]) async throws -> [String: Int] {
        let report = ws.temp.sub("strace.txt")
        let traced = [
            "-f", "-qq", "-o", report.path, "-e", "trace=fsync,fdatasync,syncfs,sync,sync_file_range,msync",
            Env.binary.path,
        ]
        let r = try await run(
            which("strace") ?? "/usr/bin/strace", traced + args + ["--repository", ws.repo.path], cwd: ws.temp.url,
            env: ws.env)
        #expect(r.status == 0, "stac-repository \(args.joined(separator: " ")) under strace: \(r.stderr)")
        var counts: [String: Int] = [:]
        let text = try String(contentsOf: report, encoding: .utf8)
        for line in text.split(separator: "\n") {
            // "PID  syncfs(3) = 0": the pid (padded), then the call; signals ("--- SIGCONT …")
            // and exits ("+++ exited …") are not calls.
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0].allSatisfy(\.isNumber), let paren = words[1].firstIndex(of: "(") else {
                continue
            }
            counts[String(words[1][..<paren]), default: 0] += 1
        }
        return counts
    }

    @Test("a file-backend ingest flushes a constant number of times, whatever the number of items")
    func fileBackendBatchesItsFlushes() async throws {
        var perSize: [Int: [String: Int]] = [:]
        for items in [5, 60] {
            let ws = Workspace("durability-\(items)")
            try await ws.initRepo(backend: "file")
            let source = ws.temp.sub("source")
            _ = try makeCatalog(at: source, items: items, assetBytes: 4096)
            perSize[items] = try await Self.flushCalls(
                ws, ["ingest", source.appendingPathComponent("catalog.json").path])
            // Exit 0 means committed: the stored catalog holds every item.
            let list = try await ws.ok(["list", "--type", "item"])
            #expect(list.stdout.split(separator: "\n").count == items)
        }
        let small = perSize[5] ?? [:]
        let large = perSize[60] ?? [:]
        // Two syncfs per transaction: the staged files before the journal, the renames before
        // "committed".
        #expect(small["syncfs"] == 2 && large["syncfs"] == 2, "\(perSize)")
        // The journal (twice) and the log: the same few fsyncs at 5 and at 60 items (3 per item
        // before the rule, i.e. > 180 here).
        let smallTotal = small.values.reduce(0, +)
        let largeTotal = large.values.reduce(0, +)
        #expect(largeTotal == smallTotal, "\(perSize)")
        #expect(largeTotal <= 12, "\(perSize)")
    }

    @Test(
        "a git-backend ingest flushes objects before the journal and the ref before it returns, a constant number of times"
    )
    func gitBackendBatchesItsFlushes() async throws {
        var perSize: [Int: [String: Int]] = [:]
        for items in [5, 60] {
            let ws = Workspace("durability-git-\(items)")
            try await ws.initRepo(backend: "git")
            let source = ws.temp.sub("source")
            _ = try makeCatalog(at: source, items: items, assetBytes: 4096)
            perSize[items] = try await Self.flushCalls(
                ws, ["ingest", source.appendingPathComponent("catalog.json").path])
            let list = try await ws.ok(["list", "--type", "item"])
            #expect(list.stdout.split(separator: "\n").count == items)
        }
        let small = perSize[5] ?? [:]
        let large = perSize[60] ?? [:]
        // One syncfs for the objects (git and Git LFS) before the journal names the commit, one
        // for the moved ref before the command reports success.
        #expect(small["syncfs"] == 2 && large["syncfs"] == 2, "\(perSize)")
        // The journal and its directory: the same few fsyncs at 5 and at 60 items.
        #expect(small.values.reduce(0, +) == large.values.reduce(0, +), "\(perSize)")
        #expect(large.values.reduce(0, +) <= 8, "\(perSize)")
    }

    @Test(
        "a one-item ingest into a templated collection flushes its layout-cache files one by one, not the file system a third time"
    )
    func oneItemIntoATemplateFlushesItsCacheFilesOnly() async throws {
        let (ws, src) = try await LayoutCacheTests.templatedRepository("durability-layout")
        var batch: [String] = []
        for n in 0..<40 {
            batch.append(
                try LayoutCacheTests.itemFile(in: src, "S2_\(n)", "2024-0\(n % 9 + 1)-0\(n % 7 + 1)T10:00:00Z"))
        }
        try await ws.ok(["ingest"] + batch + LayoutCacheTests.common)
        let cache = ws.repo.appendingPathComponent(".git/stac-repository/cache/layout-ids")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: cache.path)).isEmpty)
        let one = try LayoutCacheTests.itemFile(in: src, "S2_one", "2024-03-05T10:00:00Z")
        let calls = try await Self.flushCalls(ws, ["ingest", one] + LayoutCacheTests.common)
        // The objects and the ref, as any commit; the cache's shard, its folder and its key are
        // flushed with fsync: a syncfs would wait for every other writer of the file system.
        #expect(calls["syncfs"] == 2, "\(calls)")
        #expect((calls["fsync"] ?? 0) >= 3 && (calls["fsync"] ?? 0) <= 10, "\(calls)")
        let list = try await ws.ok(["list", "--type", "item"])
        #expect(list.stdout.split(separator: "\n").count == 41)
        // The next command trusts the cache the one-item commit wrote.
        try await ws.ok(["prune", "S2_one"] + ["--quiet"])
        #expect(try await ws.ok(["list", "--type", "item"]).stdout.split(separator: "\n").count == 40)
    }
}
