import Foundation
import TestSupport
import Testing

@testable import Git

/// ``PackMerge``: packs rolled up by copying their entries, checked by the real git.
@Suite(.offPool) struct PackMergeTests {
    func packNames(_ repository: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: repository.appendingPathComponent(".git/objects/pack").path)
            .sorted()
    }

    func objectNames(_ scratch: Scratch, _ repository: URL) async throws -> Set<String> {
        let listing = try await scratch.git(
            ["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], in: repository
        ).stdout
        return Set(listing.split(separator: "\n").map(String.init))
    }

    /// Rounds of similar documents: what git's delta search pairs up.
    func files(_ round: Int) -> [String: String] {
        let text = String(repeating: "a similar description of a scene; ", count: 12)
        var out = [String: String]()
        for index in 0..<25 {
            out["c/i\(index)/i\(index).json"] = "{\"round\":\(round),\"i\":\(index),\"d\":\"\(text)\"}\n"
        }
        let links = (0..<150).map { "{\"rel\":\"item\",\"href\":\"./S2_\($0)/S2_\($0).json\"}" }
        out["c/catalog.json"] = "{\"round\":\(round),\"links\":[\(links.joined(separator: ","))]}\n"
        return out
    }

    @Test func packsWithDeltasAndDuplicatesBecomeOnePackGitAccepts() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        // Three packs git made with deltas (offset deltas against earlier entries), then a pack
        // of everything that duplicates all three, then a pack of loose objects without deltas.
        for round in 0..<3 {
            try repository.commitOnBranch(files(round), message: "round \(round)")
            try await scratch.git(["repack", "-d", "-q"], in: url)
        }
        try await scratch.git(["repack", "-a", "-q"], in: url)
        try repository.commitOnBranch(files(3), message: "round 3")
        #expect(try repository.repackLooseObjects() > 20)
        let before = try await objectNames(scratch, url)
        let packs = try PackMerge.mergeablePacks(in: url.appendingPathComponent(".git/objects/pack").path)
        #expect(packs.count == 5, "\(packs)")
        var deltasBefore = 0
        for pack in packs {
            let listing = try await scratch.git(
                ["verify-pack", "-v", url.appendingPathComponent(".git/objects/pack/\(pack.name).idx").path], in: url
            ).stdout
            deltasBefore += listing.split(separator: "\n").filter { $0.split(separator: " ").count == 7 }.count
        }
        #expect(deltasBefore > 10, "the fixture has no deltas")

        let report = try PackMerge.merge(
            packDirectory: url.appendingPathComponent(".git/objects/pack").path, names: packs.map(\.name))
        #expect(report.packs == 5)
        #expect(report.objects == before.count, "each object once")
        #expect(try packNames(url) == [report.name + ".idx", report.name + ".pack"])
        let listing = try await scratch.git(
            ["verify-pack", "-v", url.appendingPathComponent(".git/objects/pack/\(report.name).idx").path], in: url
        ).stdout
        let deltas = listing.split(separator: "\n").filter { $0.split(separator: " ").count == 7 }
        #expect(deltas.count >= deltasBefore / 4, "the deltas were kept, their bases re-addressed")
        try await scratch.git(["fsck", "--full", "--strict", "--no-dangling"], in: url)
        #expect(try await objectNames(scratch, url) == before)
        // git's own index of the same pack is byte for byte what the merge wrote.
        let ours = try Data(contentsOf: url.appendingPathComponent(".git/objects/pack/\(report.name).idx"))
        let copy = scratch.path("copy.pack")
        try FileManager.default.copyItem(
            at: url.appendingPathComponent(".git/objects/pack/\(report.name).pack"), to: copy)
        try await scratch.git(["index-pack", "-o", scratch.path("git.idx").path, copy.path], in: url)
        #expect(try Data(contentsOf: scratch.path("git.idx")) == ours)
        // libgit2 reads every round through the merged pack.
        let reopened = try GitRepository.open(at: url)
        var commit = try reopened.reference("refs/heads/main")
        for round in (0..<4).reversed() {
            let id = try #require(commit)
            #expect(
                try reopened.readFile("c/catalog.json", inTree: reopened.commit(id).tree)
                    == Array(files(round)["c/catalog.json"]!.utf8))
            commit = try reopened.commit(id).parents.first
        }
    }

    @Test func aDamagedPackIsRefusedAndNothingChanges() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        for round in 0..<2 {
            try repository.commitOnBranch(files(round), message: "round \(round)")
            #expect(try repository.repackLooseObjects() > 20)
        }
        let directory = url.appendingPathComponent(".git/objects/pack")
        let packs = try PackMerge.mergeablePacks(in: directory.path)
        #expect(packs.count == 2)
        // One byte inside the first pack's compressed data: its entry's CRC-32 no longer matches.
        let victim = directory.appendingPathComponent(packs[0].name + ".pack")
        chmod(victim.path, 0o644)
        var bytes = try Data(contentsOf: victim)
        bytes[bytes.count / 2] ^= 0x55
        try bytes.write(to: victim)
        let names = try packNames(url)
        let error = try #require(throws: GitError.self) {
            try PackMerge.merge(packDirectory: directory.path, names: packs.map(\.name))
        }
        #expect(error.message.contains("is damaged: the object at offset"), "\(error)")
        #expect(try packNames(url) == names, "no temporary file left, no pack removed")
        #expect(try Data(contentsOf: victim) == bytes)
    }

    @Test func theSmallestPacksAreRolledUpUntilTheRestGrowGeometrically() async throws {
        #expect(PackMerge.rollUpCount([], factor: 2) == 0)
        #expect(PackMerge.rollUpCount([10], factor: 2) == 0)
        #expect(PackMerge.rollUpCount([10, 10], factor: 2) == 2)
        #expect(PackMerge.rollUpCount([10, 100], factor: 2) == 0)
        #expect(PackMerge.rollUpCount([1, 1, 1, 1], factor: 2) == 4)
        #expect(PackMerge.rollUpCount([5, 5, 30, 100], factor: 2) == 2)
        #expect(PackMerge.rollUpCount([5, 20, 100, 120], factor: 2) == 4)

        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        let directory = url.appendingPathComponent(".git/objects/pack").path
        // One big pack, then two small ones: the two are merged, the big one is left alone.
        var big = [String: String]()
        for n in 0..<300 { big["big/\(n).json"] = "{\"n\":\(n)}\n" }
        try repository.commitOnBranch(big, message: "big")
        try repository.repackLooseObjects()
        for n in 0..<2 {
            try repository.commitOnBranch(["small/\(n).json": "{\"small\":\(n)}\n"], message: "small \(n)")
            try repository.repackLooseObjects()
        }
        // A kept pack is never merged.
        try repository.commitOnBranch(["kept.json": "{}\n"], message: "kept")
        try repository.repackLooseObjects()
        let all = try PackMerge.mergeablePacks(in: directory)
        let kept = try #require(all.min { $0.objects < $1.objects })
        #expect(all.count == 4 && kept.objects == 3, "\(all)")
        FileManager.default.createFile(atPath: directory + "/" + kept.name + ".keep", contents: Data())
        let bigName = try #require(all.max { $0.objects < $1.objects }).name
        // A temporary file of an interrupted merge is removed.
        FileManager.default.createFile(
            atPath: directory + "/" + PackMerge.temporaryPrefix + "1_2.pack", contents: Data())

        let report = try #require(try PackMerge.mergeGeometrically(packDirectory: directory))
        #expect(report.packs == 2)
        let left = try PackMerge.mergeablePacks(in: directory)
        #expect(Set(left.map(\.name)) == [bigName, report.name])
        #expect(FileManager.default.fileExists(atPath: directory + "/" + kept.name + ".pack"))
        #expect(try packNames(url).allSatisfy { !$0.hasPrefix(PackMerge.temporaryPrefix) })
        #expect(try PackMerge.mergeGeometrically(packDirectory: directory) == nil, "300 ≥ 2 × the rest")
        try await scratch.git(["fsck", "--full", "--strict", "--no-dangling"], in: url)
    }
}
