import Foundation
import TestSupport
import Testing

@testable import Git

/// A large index is written split (`.git/sharedindex.<sha1>` plus a small `.git/index` with a
/// `link` extension), read and rewritten here as bytes since libgit2 cannot read one: these
/// tests hold it to what stock git reads, through our writes and git's own.
@Suite(.offPool) struct SplitIndexTests {
    /// `git ls-files -s` and `git write-tree` (which trusts the cache tree's valid nodes).
    private func listing(_ scratch: Scratch, _ url: URL) async throws -> String {
        let files = try await scratch.git(["ls-files", "-s"], in: url, lfsFilter: false)
        let tree = try await scratch.git(["write-tree"], in: url, lfsFilter: false)
        return files.stdout + tree.stdout
    }

    /// The entries of `tree` as `git ls-files -s` lists them.
    private func expected(_ scratch: Scratch, _ url: URL, _ tree: ObjectID) async throws -> String {
        let listing = try await scratch.git(["ls-tree", "-r", tree.hex], in: url, lfsFilter: false).stdout
        return listing.split(separator: "\n").map { line -> String in
            let parts = line.split(separator: "\t", maxSplits: 1)
            let fields = parts[0].split(separator: " ")
            return "\(fields[0]) \(fields[2]) 0\t\(parts[1])\n"
        }.joined() + tree.hex + "\n"
    }

    private func sharedIndexes(_ url: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent(".git").path)
            .filter { $0.hasPrefix("sharedindex.") }.sorted()
    }

    /// Git reads the pair after every write, the status is clean and `git fsck` (which checks
    /// both files' trailers) passes.
    private func expectGitReads(
        _ scratch: Scratch, _ url: URL, _ tree: ObjectID, _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(
            try await listing(scratch, url) == expected(scratch, url, tree), "\(label)", sourceLocation: sourceLocation)
        #expect(
            try await scratch.git(["status", "--porcelain"], in: url, lfsFilter: false).stdout == "", "\(label)",
            sourceLocation: sourceLocation)
        try await scratch.git(["fsck", "--no-dangling"], in: url, lfsFilter: false)
    }

    /// An empty repository whose index is always split (`core.splitIndex=true`).
    private func splitRepository() throws -> (Scratch, URL, GitRepository) {
        let scratch = try Scratch()
        let url = scratch.path("repo")
        let repository = try GitRepository.create(at: url, bare: false)
        try repository.setConfig("core.splitIndex", "true")
        return (scratch, url, repository)
    }

    @Test func ewahBitmapsRoundTrip() {
        var generator = SplitMix(seed: 5)
        let cases: [[Int]] =
            [[], [0], [63], [64], [0, 1, 2, 63, 64, 65, 127, 128, 4095, 1_000_000]]
            + (0..<40).map { _ in
                let count = Int.random(in: 1...400, using: &generator)
                let bound = Int.random(in: count...(count * 300), using: &generator)
                return Array(Set((0..<count).map { _ in Int.random(in: 0..<bound, using: &generator) })).sorted()
            }
        for positions in cases {
            let bytes = IndexFile.EWAH.encode(positions)
            let decoded = bytes.withUnsafeBytes {
                IndexFile.EWAH.decode($0, at: 0, end: bytes.count, bound: 1_000_001)
            }
            #expect(decoded?.positions == positions)
            #expect(decoded?.end == bytes.count)
        }
        // A bit at or past the bound (the shared index's entry count) is refused.
        let bytes = IndexFile.EWAH.encode([10])
        #expect(bytes.withUnsafeBytes { IndexFile.EWAH.decode($0, at: 0, end: bytes.count, bound: 10) } == nil)
    }

    @Test func manyCommitsOnASplitIndexAreWhatGitReads() async throws {
        let (scratch, url, repository) = try splitRepository()
        var present: [String: String] = [:]
        for i in 0..<200 { present["c/\(i % 9)/item-\(i)/item-\(i).json"] = "\(i)\n" }
        present["café/é.json"] = "accent\n"
        present["a-b"] = "1\n"
        present["a.b"] = "2\n"
        var last = try repository.commitMirroringAndResetIndex(url, present)
        #expect(!last.incremental, "no record yet: a full reset")
        #expect(IndexFile.isSplit(url.appendingPathComponent(".git/index").path))
        #expect(try sharedIndexes(url).count == 1)
        try await expectGitReads(scratch, url, last.tree, "first")

        var generator = SplitMix(seed: 3)
        let names = present.keys.sorted() + ["a/b", "a0", "new/x.json", "c/3/item-3/extra.tif"]
        for round in 0..<24 {
            let (files, removing) = randomEdits(
                of: names, present: &present, round: round, maxChanges: 4, using: &generator)
            last = try repository.commitMirroringAndResetIndex(url, files, removing: removing)
            #expect(last.incremental, "round \(round): the index was rebuilt")
            #expect(IndexFile.isSplit(url.appendingPathComponent(".git/index").path), "round \(round)")
            try await expectGitReads(scratch, url, last.tree, "round \(round)")
            if round % 6 == 5 {
                // Git writes the pair itself (new stat data: replaced entries, perhaps a new
                // shared index); the next incremental write starts from git's form.
                let touched = url.appendingPathComponent("c/1/item-1/item-1.json")
                if FileManager.default.fileExists(atPath: touched.path) {
                    try FileManager.default.setAttributes(
                        [.modificationDate: Date().addingTimeInterval(-100)], ofItemAtPath: touched.path)
                }
                try await scratch.git(["update-index", "--refresh"], in: url, lfsFilter: false)
                try await expectGitReads(scratch, url, last.tree, "round \(round), git's write")
            }
        }
        // Our stat data agrees with git's view of every entry: the full read and the lookups.
        let all = try repository.indexStats().entries
        #expect(all.count == present.count)
        let some = Array(present.keys.sorted().prefix(20)) + ["not/there.json"]
        let looked = try repository.indexStats(only: some).entries
        for path in some { #expect(looked[path] == all[path], "\(path)") }
        let blobs = try await scratch.git(["-c", "core.quotePath=false", "ls-files", "-s"], in: url, lfsFilter: false)
            .stdout
        for line in blobs.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            let blob = String(parts[0].split(separator: " ")[1])
            #expect(all[String(parts[1])]?.blob.hex == blob, "\(parts[1])")
        }
    }

    @Test func gitsReplacedEntriesAreReadAndRewritten() async throws {
        let (scratch, url, repository) = try splitRepository()
        var files: [String: String] = [:]
        for i in 0..<50 { files["d/\(i)/i.json"] = "\(i)\n" }
        let first = try repository.commitMirroringAndResetIndex(url, files)
        // Every file looks changed to git (older mtime): it refreshes each shared entry, which
        // it writes as a replacement in the split file.
        let past = Date().addingTimeInterval(-200)
        for path in files.keys {
            try FileManager.default.setAttributes(
                [.modificationDate: past], ofItemAtPath: url.appendingPathComponent(path).path)
        }
        try await scratch.git(
            ["-c", "splitIndex.maxPercentChange=100", "update-index", "--refresh"], in: url, lfsFilter: false)
        let index = url.appendingPathComponent(".git/index").path
        let replaced = try #require(FileManager.default.contents(atPath: index)).withUnsafeBytes { raw -> Int? in
            IndexFile.SplitIndex(raw, gitDirectory: url.appendingPathComponent(".git").path)?.replaced.count
        }
        #expect(replaced == 50, "git wrote its refresh as replaced entries")
        try await expectGitReads(scratch, url, first.tree, "git's refresh")
        let stats = try repository.indexStats().entries
        var info = stat()
        #expect(lstat(url.appendingPathComponent("d/7/i.json").path, &info) == 0)
        #expect(stats["d/7/i.json"]?.matches(info) == true, "the replacement's stat data is read")

        let second = try repository.commitMirroringAndResetIndex(
            url, ["d/7/i.json": "seven\n", "d/70/i.json": "new\n"], removing: ["d/8/i.json"])
        #expect(second.incremental, "git changed stat data only: the entries are still the recorded ones")
        let after = try #require(FileManager.default.contents(atPath: index)).withUnsafeBytes { raw -> Int? in
            IndexFile.SplitIndex(raw, gitDirectory: url.appendingPathComponent(".git").path)?.replaced.count
        }
        #expect(after == 0, "our write turns replacements into deleted and added entries")
        try await expectGitReads(scratch, url, second.tree, "after our write")
        #expect(
            try repository.indexStats().entries["d/9/i.json"]?.matches(
                {
                    var i = stat(); lstat(url.appendingPathComponent("d/9/i.json").path, &i); return i
                }()) == true)
    }

    @Test func aGrownSplitFileGetsANewSharedIndexAndOldOnesGo() async throws {
        let (scratch, url, repository) = try splitRepository()
        let index = url.appendingPathComponent(".git/index").path
        func linked() -> String? { IndexFile.linkedShared(ofFile: index).map(IndexFile.sharedIndexName) }
        var files: [String: String] = [:]
        for i in 0..<2_600 { files["c/\(i % 50)/\(i).json"] = "\(i)\n" }
        _ = try repository.commitMirroringAndResetIndex(url, files)
        let initial = try #require(linked())
        #expect(try sharedIndexes(url) == [initial])
        // 1,000 changed files: kept in the split file (below the 2,000-entry limit), their
        // shared entries marked deleted. (Measured before git's own writes: `git status` may
        // write a new shared index by its own rule, `splitIndex.maxPercentChange`.)
        var changed: [String: String] = [:]
        for i in 0..<1_000 { changed["c/\(i % 50)/\(i).json"] = "changed \(i)\n" }
        let second = try repository.commitMirroringAndResetIndex(url, changed)
        #expect(second.incremental)
        #expect(linked() == initial)
        let small = try #require(FileManager.default.contents(atPath: index)).count
        #expect(small > 1_000 * 60)
        try await expectGitReads(scratch, url, second.tree, "1,000 apart")
        // 1,100 more: 2,100 in the split file, so the entries go to a new shared index and the
        // split file is empty again; the shared index it replaced is kept (a reader may be
        // about to open it), older ones go.
        for i in 1_000..<2_100 { changed["c/\(i % 50)/\(i).json"] = "changed \(i)\n" }
        let before = try #require(linked())
        let third = try repository.commitMirroringAndResetIndex(url, changed)
        #expect(third.incremental)
        let now = try #require(linked())
        #expect(now != before)
        let header = try #require(FileManager.default.contents(atPath: index))
        #expect(
            Array(header[8..<12]) == [0, 0, 0, 0], "the split file holds no entries (it held 1,000 in \(small) bytes)")
        #expect(try sharedIndexes(url).count <= 2 && sharedIndexes(url).contains(now))
        try await expectGitReads(scratch, url, third.tree, "re-split")
        for i in 0..<2_100 { changed["c/\(i % 50)/\(i).json"] = "again \(i)\n" }
        let fourth = try repository.commitMirroringAndResetIndex(url, changed)
        #expect(fourth.incremental)
        let later = try sharedIndexes(url)
        let current = try #require(linked())
        #expect(later.count <= 2 && later.contains(current) && !later.contains(initial))
        try await expectGitReads(scratch, url, fourth.tree, "second re-split")
    }

    @Test func aMissingSharedIndexIsRebuiltAndSplitIndexFalseIsHonoured() async throws {
        let (scratch, url, repository) = try splitRepository()
        var files: [String: String] = [:]
        for i in 0..<30 { files["d/\(i).json"] = "\(i)\n" }
        _ = try repository.commitMirroringAndResetIndex(url, files)
        for name in try sharedIndexes(url) {
            try FileManager.default.removeItem(at: url.appendingPathComponent(".git/" + name))
        }
        // Reading it fails with a sentence that names the file and the fix.
        do {
            _ = try repository.indexStats()
            Issue.record("a split index without its shared index was read")
        } catch let error as GitError {
            #expect(error.message.contains("split index") && error.message.contains("git reset"))
        }
        // The next write rebuilds it from the tree (stat data lost, so git compares by content).
        let second = try repository.commitMirroringAndResetIndex(url, ["d/new.json": "new\n"])
        #expect(!second.incremental)
        try await expectGitReads(scratch, url, second.tree, "rebuilt")

        try repository.setConfig("core.splitIndex", "false")
        let third = try repository.commitMirroringAndResetIndex(url, ["d/other.json": "other\n"])
        #expect(!third.incremental, "a split index is not kept against core.splitIndex=false")
        #expect(!IndexFile.isSplit(url.appendingPathComponent(".git/index").path))
        try await expectGitReads(scratch, url, third.tree, "one file")
        #expect(try repository.commitMirroringAndResetIndex(url, ["d/more.json": "more\n"]).incremental)
    }
}
