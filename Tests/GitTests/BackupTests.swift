import Foundation
import TestSupport
import Testing

@testable import Git

@Suite(.offPool) struct BackupTests {
    private func packBytes(_ repository: URL) throws -> Int {
        let pack = repository.appendingPathComponent("objects/pack")
        return try FileManager.default.contentsOfDirectory(atPath: pack.path)
            .filter { $0.hasSuffix(".pack") }
            .reduce(0) { total, name in
                let attributes = try FileManager.default.attributesOfItem(
                    atPath: pack.appendingPathComponent(name).path)
                return total + ((attributes[.size] as? NSNumber)?.intValue ?? 0)
            }
    }

    @Test func pushMirrorMakesACloneableBackupAndIsIncremental() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        var files = [String: String]()
        for index in 0..<200 {
            files["c/items/item-\(index)/item-\(index).json"] = "{\"id\":\"item-\(index)\",\"n\":\(index)}\n"
        }
        try repository.commitOnBranch(files, message: "ingest: 200 added")
        try repository.updateReference(
            "refs/stac-repository/backup/1", to: try #require(try repository.reference("refs/heads/main")),
            expected: nil, reflogMessage: "backup")

        let backup = scratch.path("backup.git")
        try repository.pushMirror(to: backup)
        let mirrored = try GitRepository.open(at: backup)
        #expect(mirrored.isBare)
        #expect(try mirrored.headBranch() == "main")
        #expect(try mirrored.references().map(\.name) == ["refs/heads/main", "refs/stac-repository/backup/1"])
        try mirrored.verifyObjects()
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: backup)
        let firstSize = try packBytes(backup)

        try await scratch.git(["clone", "-q", backup.path, scratch.path("clone").path], in: scratch.url)
        let cloned = try await scratch.git(["log", "--format=%s"], in: scratch.path("clone"))
        #expect(cloned.stdout == "ingest: 200 added\n")
        #expect(FileManager.default.fileExists(atPath: scratch.path("clone/c/items/item-7/item-7.json").path))

        // One more small commit: the second push sends only the new objects.
        let tip = try repository.commitOnBranch(
            ["c/items/item-7/item-7.json": "{\"id\":\"item-7\",\"n\":0}\n"], message: "update 7")
        try repository.pushMirror(to: backup, refs: ["refs/heads/main"])
        let secondSize = try packBytes(backup) - firstSize
        #expect(secondSize > 0)
        #expect(secondSize < firstSize / 4, "second push wrote \(secondSize) bytes after \(firstSize)")
        #expect(try GitRepository.open(at: backup).reference("refs/heads/main") == tip)
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: backup)
        try await scratch.git(["pull", "-q", "--ff-only"], in: scratch.path("clone"))
        #expect(try await scratch.git(["rev-parse", "HEAD"], in: scratch.path("clone")).stdout == tip.hex + "\n")
    }

    @Test func verifyObjectsFindsACorruptLooseObject() throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: true)
        try repository.commitOnBranch(["a.json": "{\"a\":1}\n", "b.json": "{\"b\":2}\n"], message: "one")
        // 2 blobs, their tree, the commit, and the empty tree written as the first base.
        #expect(try repository.verifyObjects() == 5)

        let blob = try repository.writeBlob(Array("{\"a\":1}\n".utf8))
        let file = url.appendingPathComponent("objects/\(blob.hex.prefix(2))/\(blob.hex.dropFirst(2))")
        // Replace it with a valid zlib stream of other content: the hash check must catch it.
        let other = scratch.path("other")
        try Data("{\"a\":2}\n".utf8).write(to: other)
        let otherID = try repository.writeBlob(contentsOf: other)
        let otherFile = url.appendingPathComponent("objects/\(otherID.hex.prefix(2))/\(otherID.hex.dropFirst(2))")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        try FileManager.default.removeItem(at: file)
        try FileManager.default.copyItem(at: otherFile, to: file)
        let fresh = try GitRepository.open(at: url)
        #expect(throws: GitError.self) { try fresh.verifyObjects() }
    }

    @Test func verifyObjectsFindsAMissingBlob() throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: true)
        try repository.commitOnBranch(["a.json": "{\"a\":1}\n"], message: "one")
        let blob = try repository.writeBlob(Array("{\"a\":1}\n".utf8))
        try FileManager.default.removeItem(
            at: url.appendingPathComponent("objects/\(blob.hex.prefix(2))/\(blob.hex.dropFirst(2))"))
        let fresh = try GitRepository.open(at: url)
        expectGitError(.notFound) { try fresh.verifyObjects() }
    }

    @Test func repackLooseObjectsPacksEverythingAndGitAgrees() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        for round in 0..<5 {
            var files = [String: String]()
            // Similar documents of a few hundred bytes: what a delta search would pair up.
            let text = String(repeating: "a similar description of a scene; ", count: 8)
            for index in 0..<20 {
                files["c/i\(index)/i\(index).json"] = "{\"round\":\(round),\"i\":\(index),\"d\":\"\(text)\"}\n"
            }
            try repository.commitOnBranch(files, message: "round \(round)")
        }
        let looseBefore = try await scratch.git(["count-objects", "-v"], in: url).stdout
        #expect(!looseBefore.contains("count: 0\n"))
        let packed = try repository.repackLooseObjects()
        #expect(packed > 100)
        let after = try await scratch.git(["count-objects", "-v"], in: url).stdout
        #expect(after.contains("count: 0\n"), "\(after)")
        #expect(after.contains("in-pack: \(packed)\n"), "\(after)")
        // No deltas (the search is skipped): `verify-pack -v` lists none with a base.
        let pack = try #require(
            try FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent(".git/objects/pack").path)
                .first { $0.hasSuffix(".idx") })
        let listing = try await scratch.git(
            ["verify-pack", "-v", url.appendingPathComponent(".git/objects/pack/" + pack).path], in: url
        ).stdout
        #expect(listing.contains("non delta: \(packed) objects"), "\(listing.suffix(300))")
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: url)
        try repository.verifyObjects()
        // The same handle still reads everything.
        let tip = try #require(try repository.reference("HEAD"))
        #expect(try repository.log(from: tip).count == 5)
        #expect(try repository.repackLooseObjects() == 0)
        // New objects after a repack are packed by the next one.
        try repository.commitOnBranch(["new.json": "{}\n"], message: "more")
        #expect(try repository.repackLooseObjects() == 3)
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: url)
    }

    @Test func anInMemoryWriterPacksWithoutDeltasAndSeesAPackAddedAfterItOpened() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        let text = String(repeating: "a similar description of a scene; ", count: 8)
        // 30 small similar items and 10 similar sub-catalogs of about 12 KiB: what a delta search pairs up.
        func files(_ round: Int) -> [String: String] {
            var out = [String: String]()
            for index in 0..<30 {
                out["c/i\(index)/i\(index).json"] = "{\"round\":\(round),\"i\":\(index),\"d\":\"\(text)\"}\n"
            }
            for day in 0..<10 {
                let links = (0..<200).map {
                    "{\"rel\":\"item\",\"href\":\"./S2_\($0 * 10 + day)/S2_\($0 * 10 + day).json\"}"
                }
                out["c/d\(day)/catalog.json"] = "{\"round\":\(round),\"links\":[\(links.joined(separator: ","))]}\n"
            }
            return out
        }
        let first = try repository.commitOnBranch(files(0), message: "round 0")
        var writer: GitRepository? = try GitRepository.openInMemoryWriter(at: url)
        let gated = PackRefreshGate.gatedBackends(of: try #require(writer))
        #expect(gated.count == 1)
        // After the writer opened, another handle packs round 0 and deletes the loose copies:
        // the writer's gated rescan of objects/pack still finds them, the parent commit first.
        #expect(try repository.repackLooseObjects() > 80)
        var round1 = files(1)
        round1["c/i0/i0.json"] = files(0)["c/i0/i0.json"]
        let tip = try #require(writer).commitFiles(round1, parent: first, message: "round 1")
        try #require(writer).writeMemoryObjects(of: tip)
        writer = nil
        // The gate went with the writer's object database.
        #expect(!gated.contains { PackRefreshGate.isGated($0) })
        try repository.updateReference("refs/heads/main", to: tip, expected: first, reflogMessage: "round 1")
        let packDirectory = url.appendingPathComponent(".git/objects/pack")
        let packs = try FileManager.default.contentsOfDirectory(atPath: packDirectory.path)
            .filter { $0.hasSuffix(".idx") }
        #expect(packs.count == 2, "\(packs)")
        // Both packs store every object whole: `verify-pack -v` prints `SHA type size
        // size-in-pack offset`, and two more fields (depth, base) for a delta.
        for pack in packs {
            let listing = try await scratch.git(
                ["verify-pack", "-v", packDirectory.appendingPathComponent(pack).path], in: url
            ).stdout
            let deltas = listing.split(separator: "\n").filter { $0.split(separator: " ").count == 7 }
            #expect(deltas.isEmpty, "\(pack): \(deltas.prefix(3))")
            #expect(listing.contains("non delta:"), "\(listing.suffix(300))")
        }
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: url)
        let shown = try await scratch.git(["show", "HEAD:c/i0/i0.json"], in: url).stdout
        #expect(shown == files(0)["c/i0/i0.json"])
        #expect(try repository.log(from: tip).count == 2)
    }
}
