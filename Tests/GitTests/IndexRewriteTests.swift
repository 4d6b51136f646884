import Foundation
import Git
import TestSupport
import Testing

/// The incremental index update writes `.git/index` as bytes (`IndexFile`): these tests hold it
/// to what libgit2's full rebuild and stock git say of the same tree.
@Suite(.offPool) struct IndexRewriteTests {
    /// `git ls-files -s` (mode, blob, stage, path of every entry) and `git write-tree`, which
    /// trusts the cache-tree extension for every subtree it marks valid.
    private func listing(_ scratch: Scratch, _ url: URL) async throws -> String {
        let files = try await scratch.git(["ls-files", "-s"], in: url, lfsFilter: false)
        let tree = try await scratch.git(["write-tree"], in: url, lfsFilter: false)
        return files.stdout + tree.stdout
    }

    /// The signatures and sizes of the index file's extensions.
    private func extensions(_ url: URL) throws -> [(String, Int)] {
        let bytes = [UInt8](try Data(contentsOf: url.appendingPathComponent(".git/index")))
        func u32(_ o: Int) -> Int {
            Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }
        let version = u32(4)
        var offset = 12
        for _ in 0..<u32(8) {
            let flags = Int(bytes[offset + 60]) << 8 | Int(bytes[offset + 61])
            let start = offset + 62 + (flags & 0x4000 != 0 && version >= 3 ? 2 : 0)
            var length = flags & 0xFFF
            if length == 0xFFF {
                length = 0xFFF
                while bytes[start + length] != 0 { length += 1 }
            }
            offset += (start - offset + length + 8) & ~7
        }
        var out: [(String, Int)] = []
        while offset < bytes.count - 20 {
            out.append((String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self), u32(offset + 4)))
            offset += 8 + u32(offset + 4)
        }
        return out
    }

    @Test func manyCommitsGiveTheIndexAFullResetGivesAndGitAcceptsIt() async throws {
        let scratch = try Scratch()
        let url = scratch.path("repo")
        let repository = try GitRepository.create(at: url, bare: false)
        // Names that sort differently in trees and in the index ('-' < '.' < '/' < '0'), with
        // non-ASCII bytes and a long path.
        let long = (0..<12).map { "component-\($0)-" + String(repeating: "x", count: 20) }.joined(separator: "/")
        var present: [String: String] = [
            "a-b": "1\n", "a.b": "2\n", "a/b": "3\n", "a0": "4\n", "café/é.json": "5\n", long + "/item.json": "6\n",
        ]
        #expect(
            try repository.commitMirroringAndResetIndex(url, present).incremental == false,
            "no record yet: a full reset")
        var generator = SplitMix(seed: 11)
        let names = [
            "a-b", "a.b", "a/b", "a/b.c", "a/b/c", "a0", "b", "café/é.json", "z/y/x.json", long + "/item.json",
        ]
        for round in 0..<30 {
            let (files, removing) = randomEdits(
                of: names, present: &present, round: round, maxChanges: 3, using: &generator)
            let (tree, incremental) = try repository.commitMirroringAndResetIndex(url, files, removing: removing)
            #expect(incremental, "round \(round): the index was rebuilt")
            let ours = try await listing(scratch, url)
            #expect(ours.hasSuffix(tree.hex + "\n"), "round \(round)")
            #expect(try await scratch.git(["status", "--porcelain"], in: url, lfsFilter: false).stdout == "")
            try await scratch.git(["fsck", "--no-dangling"], in: url, lfsFilter: false)
            // The same tree through libgit2's full rebuild lists the same entries.
            if round % 10 == 9 {
                try repository.resetIndex(toTree: tree, refreshingStatFor: nil)
                #expect(try await listing(scratch, url) == ours, "round \(round)")
            }
        }
    }

    @Test func aCacheTreeWrittenByGitIsInvalidatedAlongTheChangedPathsOnly() async throws {
        let scratch = try Scratch()
        let url = scratch.path("repo")
        let repository = try GitRepository.create(at: url, bare: false)
        var files: [String: String] = ["catalog.json": "{}\n"]
        for year in 2020...2022 {
            for day in 1...3 { files["c/\(year)/0\(day)/i\(year)\(day)/i.json"] = "\(year) \(day)\n" }
        }
        let first = try repository.commitMirroringAndResetIndex(url, files)
        // Stock git reads the tree into the index: every cache-tree node valid, new stat data.
        try await scratch.git(["read-tree", first.tree.hex], in: url, lfsFilter: false)
        try await scratch.git(["update-index", "--refresh"], in: url, lfsFilter: false)
        let treeBefore = try #require(try extensions(url).first { $0.0 == "TREE" })
        #expect(treeBefore.1 > 200)

        let second = try repository.commitMirroringAndResetIndex(
            url, ["c/2021/02/new/new.json": "new\n", "c/2020/01/i20201/i.json": "changed\n"],
            removing: ["c/2022/03/i20223/i.json"])
        #expect(second.incremental, "git's own refresh keeps the entries; only the stat data changed")
        let treeAfter = try #require(try extensions(url).first { $0.0 == "TREE" })
        // Invalidated nodes lose their 20-byte id; the others (c/2020/02, ...) are kept.
        #expect(treeAfter.1 < treeBefore.1 && treeAfter.1 > treeBefore.1 / 2)
        // `git write-tree` uses every node still marked valid: a node left valid under a
        // changed path would give another tree.
        #expect(try await listing(scratch, url).hasSuffix(second.tree.hex + "\n"))
        #expect(try await scratch.git(["status", "--porcelain"], in: url, lfsFilter: false).stdout == "")
        try await scratch.git(["fsck", "--no-dangling"], in: url, lfsFilter: false)
    }

    @Test func extensionsItCannotKeepAreDroppedAndVersion4IsRebuilt() async throws {
        let scratch = try Scratch()
        let url = scratch.path("repo")
        let repository = try GitRepository.create(at: url, bare: false)
        let first = try repository.commitMirroringAndResetIndex(url, ["a/x.json": "x\n", "b/y.json": "y\n"])
        try repository.resetIndex(toTree: first.tree, refreshingStatFor: nil)

        // The untracked cache (an optional extension tied to directory stat data) is dropped.
        try await scratch.git(["update-index", "--untracked-cache"], in: url, lfsFilter: false)
        _ = try await scratch.git(["status", "--porcelain"], in: url, lfsFilter: false)
        #expect(try extensions(url).contains { $0.0 == "UNTR" })
        let second = try repository.commitMirroringAndResetIndex(url, ["a/z.json": "z\n"])
        #expect(second.incremental)
        #expect(try !extensions(url).contains { $0.0 == "UNTR" })
        #expect(try await listing(scratch, url).hasSuffix(second.tree.hex + "\n"))
        try await scratch.git(["fsck", "--no-dangling"], in: url, lfsFilter: false)

        // Version 4 (prefix-compressed paths) is not read as bytes: libgit2 rebuilds the index.
        try await scratch.git(["update-index", "--index-version", "4"], in: url, lfsFilter: false)
        let third = try repository.commitMirroringAndResetIndex(url, ["b/w.json": "w\n"])
        #expect(!third.incremental)
        #expect(try await listing(scratch, url).hasSuffix(third.tree.hex + "\n"))
        #expect(try await scratch.git(["status", "--porcelain"], in: url, lfsFilter: false).stdout == "")

        // A record whose trailer and fingerprint no longer match (git added an entry) rebuilds.
        let fourth = try repository.commitMirroringAndResetIndex(url, ["b/v.json": "v\n"])
        #expect(fourth.incremental)
        try writeFile("staged\n", to: "staged.txt", under: url)
        try await scratch.git(["add", "staged.txt"], in: url, lfsFilter: false)
        let fifth = try repository.commitMirroringAndResetIndex(url, ["b/u.json": "u\n"])
        #expect(!fifth.incremental)
        #expect(try await !listing(scratch, url).contains("staged.txt"))
    }
}
