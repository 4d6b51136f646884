import Foundation
import Git
import TestSupport
import Testing

/// A small catalog repository with one Git LFS asset, committed through the API, with the work
/// tree written by hand (real asset bytes), as the core does it.
private struct CatalogFixture {
    let repository: GitRepository
    let url: URL
    let store: LFSStore
    let asset: [UInt8]
    let pointer: LFSPointer
    let pointerBlob: ObjectID
    let commit: ObjectID

    static let files: [String: String] = [
        "catalog.json": "{\"type\":\"Catalog\",\"id\":\"root\"}\n",
        "c/collection.json": "{\"type\":\"Collection\",\"id\":\"c\"}\n",
        "c/i/i.json": "{\"type\":\"Feature\",\"id\":\"i\"}\n",
    ]

    init(scratch: Scratch, assetSize: Int = 300_000) throws {
        url = scratch.path("catalog")
        repository = try GitRepository.create(at: url, bare: false)
        store = LFSStore(gitDirectory: repository.gitDirectory)
        var generator = SystemRandomNumberGenerator()
        asset = (0..<assetSize).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try writeFile(asset, to: "incoming.tif", under: scratch.url)
        pointer = try store.insert(copying: scratch.path("incoming.tif"))
        pointerBlob = try repository.writeBlob(pointer.bytes)

        var updates: [TreeUpdate] = [
            .upsert(
                path: ".gitattributes", blob: try repository.writeBlob(Array(LFSAttributes.rootFile.utf8)), mode: .blob),
            .upsert(path: "c/i/visual.tif", blob: pointerBlob, mode: .blob),
        ]
        for (path, text) in Self.files {
            updates.append(.upsert(path: path, blob: try repository.writeBlob(Array(text.utf8)), mode: .blob))
        }
        let tree = try repository.updateTree(base: nil, updates)
        commit = try repository.createCommit(
            tree: tree, parents: [], message: "ingest: 1 added\n\n+ i", author: .test(), committer: .test())
        try repository.updateReference("refs/heads/main", to: commit, expected: nil, reflogMessage: "ingest")

        // The work tree holds real bytes, the index the pointer.
        try writeFile(LFSAttributes.rootFile, to: ".gitattributes", under: url)
        for (path, text) in Self.files { try writeFile(text, to: path, under: url) }
        try writeFile(asset, to: "c/i/visual.tif", under: url)
    }

    var tree: ObjectID {
        get throws { try repository.commit(commit).tree }
    }

    /// Dates every work tree file `seconds` in the past, so git's racy-timestamp check does not apply.
    func age(by seconds: TimeInterval) throws {
        let past = Date().addingTimeInterval(-seconds)
        for path in Array(Self.files.keys) + [".gitattributes", "c/i/visual.tif"] {
            try FileManager.default.setAttributes(
                [.modificationDate: past], ofItemAtPath: url.appendingPathComponent(path).path)
        }
    }
}

@Suite(.offPool) struct WorkTreeTests {
    @Test func resetIndexLeavesGitStatusCleanWithLFSFiles() async throws {
        let scratch = try Scratch()
        let fixture = try CatalogFixture(scratch: scratch)
        try fixture.repository.resetIndex(toTree: fixture.tree, refreshingStatFor: nil)

        let status = try await scratch.git(["status", "--porcelain", "--untracked-files=all"], in: fixture.url)
        #expect(status.stdout == "")
        let lsFiles = try await scratch.git(["lfs", "ls-files", "--long"], in: fixture.url)
        #expect(lsFiles.stdout == "\(fixture.pointer.oid) * c/i/visual.tif\n")
        // The pointer blob is what git-lfs itself makes of the work tree file.
        let stored = try await scratch.git(["cat-file", "-p", fixture.pointerBlob.hex], in: fixture.url)
        let made = try await scratch.git(["lfs", "pointer", "--file=c/i/visual.tif"], in: fixture.url)
        #expect(stored.stdout == made.stdout)
        #expect(stored.stdout == fixture.pointer.text)
        let lfsFsck = try await scratch.git(["lfs", "fsck"], in: fixture.url)
        #expect(lfsFsck.stdout.contains("Git LFS fsck OK"))
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: fixture.url)
        let log = try await scratch.git(["log", "--format=%B"], in: fixture.url)
        #expect(log.stdout == "ingest: 1 added\n\n+ i\n\n")
        // The index holds exactly the tree.
        let index = try await scratch.git(["write-tree"], in: fixture.url)
        #expect(index.stdout == (try fixture.tree).hex + "\n")
    }

    @Test func statDataAloneMakesStatusCleanWithoutTheLFSFilter() async throws {
        let scratch = try Scratch()
        let fixture = try CatalogFixture(scratch: scratch)
        try fixture.age(by: 30)

        // Negative control: without stat data git must re-hash, and without the LFS filter the
        // real bytes differ from the pointer.
        try fixture.repository.resetIndex(toTree: fixture.tree, refreshingStatFor: [])
        let dirty = try await scratch.git(["status", "--porcelain"], in: fixture.url, lfsFilter: false)
        #expect(dirty.stdout == " M c/i/visual.tif\n")

        try fixture.repository.resetIndex(toTree: fixture.tree, refreshingStatFor: nil)
        // diff-files trusts the index's stat data without refreshing it.
        let diffFiles = try await scratch.git(["diff-files", "--name-only"], in: fixture.url, lfsFilter: false)
        #expect(diffFiles.stdout == "")
        let clean = try await scratch.git(["status", "--porcelain"], in: fixture.url, lfsFilter: false)
        #expect(clean.stdout == "")

        // A real change is still seen.
        try writeFile(Array(fixture.asset.prefix(1000)), to: "c/i/visual.tif", under: fixture.url)
        let changed = try await scratch.git(["status", "--porcelain"], in: fixture.url, lfsFilter: false)
        #expect(changed.stdout == " M c/i/visual.tif\n")
    }

    @Test func refreshingSomePathsKeepsTheOtherEntriesStatData() async throws {
        let scratch = try Scratch()
        let fixture = try CatalogFixture(scratch: scratch)
        try fixture.age(by: 30)
        try fixture.repository.resetIndex(toTree: fixture.tree, refreshingStatFor: nil)

        // A second commit touches only c/j; the core rewrites only those files.
        let second = try fixture.repository.commitOnBranch(["c/j/j.json": "{\"id\":\"j\"}\n"], message: "ingest j")
        try writeFile("{\"id\":\"j\"}\n", to: "c/j/j.json", under: fixture.url)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-20)],
            ofItemAtPath: fixture.url.appendingPathComponent("c/j/j.json").path)
        try fixture.repository.resetIndex(
            toTree: try fixture.repository.commit(second).tree, refreshingStatFor: ["c/j"])

        let diffFiles = try await scratch.git(["diff-files", "--name-only"], in: fixture.url, lfsFilter: false)
        #expect(diffFiles.stdout == "")
        let status = try await scratch.git(["status", "--porcelain"], in: fixture.url, lfsFilter: false)
        #expect(status.stdout == "")
    }

    /// `git ls-files -s` (mode, blob, stage, path of every entry) and `git write-tree`.
    private func indexListing(_ scratch: Scratch, _ url: URL) async throws -> String {
        let files = try await scratch.git(["ls-files", "-s"], in: url, lfsFilter: false)
        let tree = try await scratch.git(["write-tree"], in: url, lfsFilter: false)
        return files.stdout + tree.stdout
    }

    @Test func incrementalResetGivesTheSameIndexAsAFullOneAndFallsBackWhenGitChangedItsEntries() async throws {
        let scratch = try Scratch()
        let fixture = try CatalogFixture(scratch: scratch)
        let repository = fixture.repository
        try fixture.age(by: 30)
        // No record of the index yet: a full reset.
        #expect(try repository.resetIndex(toTree: fixture.tree, refreshingStatFor: nil, incremental: true) == false)

        // Added, modified and deleted files, and a file that becomes a directory, in two commits.
        let second = try repository.commitOnBranch(
            ["c/j/j.json": "{\"id\":\"j\"}\n", "c/collection.json": "{\"type\":\"Collection\",\"id\":\"c2\"}\n"],
            removing: ["c/i/i.json"], message: "second")
        try writeFile("{\"id\":\"j\"}\n", to: "c/j/j.json", under: fixture.url)
        try writeFile("{\"type\":\"Collection\",\"id\":\"c2\"}\n", to: "c/collection.json", under: fixture.url)
        try FileManager.default.removeItem(at: fixture.url.appendingPathComponent("c/i/i.json"))
        let secondTree = try repository.commit(second).tree
        #expect(try repository.resetIndex(toTree: secondTree, refreshingStatFor: ["c/j/j.json"], incremental: true))
        let incremental = try await indexListing(scratch, fixture.url)
        #expect(incremental.hasSuffix(secondTree.hex + "\n"))
        #expect(try await scratch.git(["status", "--porcelain"], in: fixture.url).stdout == "")

        let third = try repository.commitOnBranch(
            ["c/j/j.json/inner.json": "{}\n"], removing: ["c/j/j.json"], message: "file becomes a directory")
        try FileManager.default.removeItem(at: fixture.url.appendingPathComponent("c/j/j.json"))
        try writeFile("{}\n", to: "c/j/j.json/inner.json", under: fixture.url)
        let thirdTree = try repository.commit(third).tree
        #expect(try repository.resetIndex(toTree: thirdTree, refreshingStatFor: [], incremental: true))
        let incrementalThird = try await indexListing(scratch, fixture.url)
        try repository.resetIndex(toTree: thirdTree, refreshingStatFor: nil)
        #expect(try await indexListing(scratch, fixture.url) == incrementalThird)
        #expect(incrementalThird.hasSuffix(thirdTree.hex + "\n"))

        // `git status` above refreshed the index, which keeps it valid; stock git staging a file
        // changes its entries: the next reset is a full one, which
        // makes the index the tree again.
        try writeFile("staged\n", to: "staged.txt", under: fixture.url)
        try await scratch.git(["add", "staged.txt"], in: fixture.url, lfsFilter: false)
        #expect(try repository.resetIndex(toTree: thirdTree, refreshingStatFor: [], incremental: true) == false)
        let listing = try await indexListing(scratch, fixture.url)
        #expect(!listing.contains("staged.txt"))
        #expect(listing.hasSuffix(thirdTree.hex + "\n"))
    }

    @Test func resetIndexRespectsGitsIndexLock() throws {
        let scratch = try Scratch()
        let fixture = try CatalogFixture(scratch: scratch, assetSize: 10)
        let lock = fixture.repository.gitDirectory.appendingPathComponent("index.lock")
        _ = FileManager.default.createFile(atPath: lock.path, contents: nil)
        expectGitError(.locked) { try fixture.repository.resetIndex(toTree: try fixture.tree, refreshingStatFor: nil) }
        #expect(FileManager.default.fileExists(atPath: lock.path))
        try FileManager.default.removeItem(at: lock)
        try fixture.repository.resetIndex(toTree: fixture.tree, refreshingStatFor: nil)
        #expect(!FileManager.default.fileExists(atPath: lock.path))
    }

    @Test func checkoutTreeExportsWhatGitArchiveExports() async throws {
        let scratch = try Scratch()
        let fixture = try CatalogFixture(scratch: scratch, assetSize: 1000)
        let export = scratch.path("export")
        try fixture.repository.checkoutTree(fixture.commit, to: export)
        let archive = scratch.path("archive")
        try FileManager.default.createDirectory(at: archive, withIntermediateDirectories: true)
        try await scratch.git(
            ["archive", "-o", scratch.path("a.tar").path, fixture.commit.hex], in: fixture.url, lfsFilter: false)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xf", scratch.path("a.tar").path, "-C", archive.path]
        try tar.run()
        await waitForExit(tar)
        let diff = Process()
        diff.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        diff.arguments = ["-r", export.path, archive.path]
        try diff.run()
        await waitForExit(diff)
        #expect(diff.terminationStatus == 0)
        // LFS files come out as pointers.
        #expect(try Data(contentsOf: export.appendingPathComponent("c/i/visual.tif")) == Data(fixture.pointer.bytes))
        // The work tree's index is untouched.
        #expect(
            !FileManager.default.fileExists(
                atPath: fixture.repository.gitDirectory.appendingPathComponent("index").path))

        let partial = scratch.path("partial")
        try fixture.repository.checkoutTree(fixture.commit, to: partial, paths: ["c/i"])
        let written = try FileManager.default.subpathsOfDirectory(atPath: partial.path).sorted()
        #expect(written == ["c", "c/i", "c/i/i.json", "c/i/visual.tif"])
    }
}

/// `GitRepository.scanIndexFile` reads the few entries a commit checks straight from
/// `.git/index`: it must agree with libgit2 on every entry of indexes git itself wrote.
@Suite(.offPool) struct IndexScanTests {
    @Test(
        "the index scan agrees with libgit2 on versions 2 and 3, long paths and extended flags; version 4 is left to libgit2"
    )
    func agreesWithLibGit2() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        _ = try GitRepository.create(at: url, bare: false)
        var paths: [String] = []
        for i in 0..<300 {
            let path = "c/\(i % 7)/item-\(i)/item-\(i).json"
            try writeFile(Array("{\"id\": \(i)}\n".utf8), to: path, under: url)
            paths.append(path)
        }
        try await scratch.git(["add", "-A"], in: url)
        // A path longer than the 12-bit length field (4095) and one with non-ASCII bytes: index
        // entries only (no such file can exist here).
        let blob = try await scratch.git(["hash-object", "-w", "c/0/item-0/item-0.json"], in: url).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let long =
            (0..<30).map { "segment-\($0)-" + String(repeating: "x", count: 140) }.joined(separator: "/") + "/a.json"
        let accented = "c/caf\u{00E9}/d\u{00E9}j\u{00E0}.json"
        for p in [long, accented] {
            try await scratch.git(["update-index", "--add", "--cacheinfo", "100644,\(blob),\(p)"], in: url)
        }
        // Paths not in the index sort first, between entries and last: the scan merges the
        // sorted paths with the sorted entries and must step over each.
        let missing = ["a/first.json", "c/3/item-10/item-10.jsonx", "c/3/item-100", "not/in/the/index.json"]
        paths += [long, accented] + missing
        let index = url.appendingPathComponent(".git/index").path
        let repository = try GitRepository.open(at: url)
        func expectAgreement(_ label: String) throws {
            let libgit2 = try repository.indexStats().entries
            let scanned = try #require(GitRepository.scanIndexFile(index, for: paths), "\(label): not scanned")
            #expect(scanned.count == paths.count - missing.count, "\(label)")
            for p in paths where !missing.contains(p) {
                #expect(scanned[p] != nil && scanned[p] == libgit2[p], "\(label): \(p.prefix(60))")
            }
            for p in missing { #expect(scanned[p] == nil, "\(label): \(p)") }
        }
        try await scratch.git(["update-index", "--index-version", "2"], in: url)
        try expectAgreement("version 2")
        // `add -N` sets the intent-to-add extended flag: version 3 entries of 64 fixed bytes.
        try writeFile(Array("new\n".utf8), to: "intent.json", under: url)
        try await scratch.git(["add", "-N", "intent.json"], in: url)
        try await scratch.git(["update-index", "--index-version", "3"], in: url)
        let header = try #require(FileManager.default.contents(atPath: index))
        #expect(Array(header.prefix(8)) == [0x44, 0x49, 0x52, 0x43, 0, 0, 0, 3], "the index is in version 3")
        paths.append("intent.json")
        try expectAgreement("version 3")
        try await scratch.git(["update-index", "--index-version", "4"], in: url)
        #expect(GitRepository.scanIndexFile(index, for: paths) == nil, "version 4 is prefix-compressed")
    }
}
