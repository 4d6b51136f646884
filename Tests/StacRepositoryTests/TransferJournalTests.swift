import AssetTransfer
import Foundation
import TestSupport
import Testing

@testable import StacRepository

/// The transfer journal's line format survives a kill at any byte (issue 13).
@Suite("Transfer journal", .offPool)
struct TransferJournalTests {
    let sha = String(repeating: "ab", count: 32)
    let other = String(repeating: "cd", count: 32)

    @Test("a torn last line is ignored; complete lines are read with their stamps and stat keys")
    func tornLastLine() {
        let text =
            TransferJournal.header + "\n" + "\(sha)\t12\t\"e1\"\t-\t-\thttp://h/a.tif\n"
            + "\(other)\t5\t-\t-\t1:2:5:3:4\t/data/b.tif\n" + "\(sha)\t12\t\"e2\"\t-\t-\thttp://h/c"
        let entries = TransferJournal.parse(Array(text.utf8))
        #expect(entries.count == 2)
        #expect(entries["http://h/a.tif"]?.stamp?.etag == "\"e1\"")
        #expect(entries["http://h/a.tif"]?.size == 12)
        #expect(entries["/data/b.tif"]?.statKey == "1:2:5:3:4")
        #expect(entries["/data/b.tif"]?.stamp == nil)
        #expect(entries["http://h/c"] == nil)
        // Another header (a format this version does not know) is ignored as a whole.
        #expect(TransferJournal.parse(Array("other v9\n\(sha)\t1\t-\t-\t-\tx\n".utf8)).isEmpty)
    }

    @Test("a record after a torn line starts a line of its own, and its object is kept under its SHA-256")
    func appendAfterTornLine() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache/transfers")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let torn = TransferJournal.header + "\n" + "\(sha)\t12\t\"e1\"\t-\t-\thttp://h/a.t"
        try Data(torn.utf8).write(to: cache.appendingPathComponent("journal"))
        let staged = dir.appendingPathComponent("staged")
        let bytes = Data("hello journal".utf8)
        try bytes.write(to: staged)
        let digest = try sha256OfFile(staged.path)
        let journal = TransferJournal(stateDirectory: dir)
        #expect(journal.count == 0)
        var asset = TransferredAsset(
            request: AssetRequest(name: "a", source: "http://h/new.tif"), file: staged, sha256: digest.hex,
            size: digest.size)
        asset.remoteStamp = RemoteStamp(size: digest.size, etag: "\"v1\"", lastModified: nil)
        journal.record(asset)
        await journal.drain()
        let reread = TransferJournal(stateDirectory: dir)
        #expect(reread.entry("http://h/new.tif")?.sha256 == digest.hex)
        #expect(reread.entry("http://h/new.tif")?.stamp?.etag == "\"v1\"")
        #expect(
            FileManager.default.contents(atPath: cache.appendingPathComponent("objects/\(digest.hex)").path) == bytes)
        // A commit consumes what the run used: object and line are gone.
        journal.consumeUsed()
        #expect(TransferJournal(stateDirectory: dir).entry("http://h/new.tif") == nil)
        #expect(!FileManager.default.fileExists(atPath: cache.appendingPathComponent("objects/\(digest.hex)").path))
    }
}
