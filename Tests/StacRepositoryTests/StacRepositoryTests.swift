import Foundation
import Git
import STAC
import TestSupport
import Testing

@testable import StacRepository

@Suite("Operation records", .offPool)
struct OperationRecordTests {
    @Test("a commit message round-trips through parse")
    func messageRoundTrip() throws {
        let record = OperationRecord(
            operation: "ingest", summary: "2 added, 1 updated",
            products: [
                ProductChange(id: "c1", kind: "collection", change: .added),
                ProductChange(id: "i1", kind: "item", change: .added),
                ProductChange(id: "i0", kind: "item", change: .updated),
            ], trailers: ["Stac-Repository-Processor": "geotiff 1.0.0"])
        let message = record.message
        #expect(message.hasPrefix("ingest: 2 added, 1 updated\n\n+ collection c1\n+ item i1\n~ item i0\n"))
        #expect(message.hasSuffix("Stac-Repository-Operation: ingest\nStac-Repository-Processor: geotiff 1.0.0\n"))
        let parsed = try #require(OperationRecord.parse(message: message, date: record.date))
        #expect(parsed.operation == "ingest")
        #expect(parsed.summary == "2 added, 1 updated")
        #expect(parsed.products == record.products)
        #expect(parsed.trailers == record.trailers)
    }

    @Test("a message the tool did not write is not parsed as one")
    func foreignMessage() {
        #expect(OperationRecord.parse(message: "fix: typo\n\nsome text\n", date: Date()) == nil)
    }
}

@Suite("Ingest report", .offPool)
struct IngestReportTests {
    static func items(_ range: Range<Int>, _ change: ProductChangeKind) -> [ProductChange] {
        range.map { ProductChange(id: "i\($0)", kind: "item", change: change) }
    }

    @Test("with a limit, the lists keep the first products and the rest are counted")
    func limitedLists() {
        var report = IngestReport()
        report.record(
            added: Self.items(0..<3, .added), updated: [], unchanged: Self.items(90..<99, .unchanged), limit: 4)
        report.record(added: Self.items(3..<8, .added), updated: Self.items(50..<52, .updated), unchanged: [], limit: 4)
        #expect(report.added.map(\.id) == ["i0", "i1", "i2", "i3"])
        #expect(report.unlisted == IngestReport.Unlisted(added: 4, updated: 0, unchanged: 5))
        #expect(report.updated.count == 2)
        #expect(report.unchanged.count == 4)
        #expect((report.addedCount, report.updatedCount, report.unchangedCount) == (8, 2, 9))
        #expect(report.summary == "8 added, 2 updated, 9 unchanged")
        var all = IngestReport()
        all.record(added: Self.items(0..<8, .added), updated: [], unchanged: [], limit: nil)
        #expect(all.added.count == 8 && all.unlisted.added == 0)
    }
}

@Suite("Catalog layout", .offPool)
struct LayoutTests {
    @Test(
        "relative hrefs inside the repository resolve to repository paths",
        arguments: [
            ("./coll/collection.json", "catalog.json", "coll/collection.json"),
            ("../collection.json", "coll/i/i.json", "coll/collection.json"),
            ("../../catalog.json", "coll/i/i.json", "catalog.json"),
            ("./i/i.json", "coll/collection.json", "coll/i/i.json"),
            ("i/i.json", "coll/collection.json", "coll/i/i.json"),
            ("./.hidden/../i/i.json", "coll/collection.json", "coll/i/i.json"),
            (".//i//i.json", "coll/collection.json", "coll/i/i.json"),
            ("./a/./b.json", "catalog.json", "a/b.json"),
            ("./café/é.json", "c/collection.json", "c/café/é.json"),
        ])
    func resolveInside(href: String, from: String, expected: String) {
        #expect(CatalogIndex.resolveInside(href, from: from) == expected)
    }

    @Test(
        "hrefs leaving the repository or absolute are not inside it",
        arguments: ["../x.json", "/abs/x.json", "https://h/x.json", "./a/s3://b/x.json", "./../../x.json"])
    func outside(href: String) {
        #expect(CatalogIndex.resolveInside(href, from: "catalog.json") == nil)
    }

    @Test(
        "an item's id is its file name without .json",
        arguments: [
            ("c/i/i.json", "i"), ("i.json", "i"), ("c/é/é.json", "é"), ("c/x/.json", ""),
            ("c/x/x.geojson", "x.geojson"),
        ])
    func itemID(path: String, expected: String) {
        #expect(CatalogIndex.itemID(fromPath: path) == expected)
    }

    @Test("paths follow DESIGN §3")
    func paths() {
        #expect(CatalogIndex.itemPath(id: "a", parentDirectory: "c") == "c/a/a.json")
        #expect(CatalogIndex.itemPath(id: "a", parentDirectory: "") == "a/a.json")
        #expect(CatalogIndex.containerPath(id: "c", type: .collection, parentDirectory: "") == "c/collection.json")
        #expect(CatalogIndex.containerPath(id: "s", type: .catalog, parentDirectory: "c") == "c/s/catalog.json")
    }

    @Test(
        "asset file names come from the href and are made safe",
        arguments: [
            ("https://h/a/b/visual.tif?x=1", "visual", "visual.tif"),
            ("/data/x%20y.tif", "d", "x y.tif"),
            ("https://h/", "thumb", "thumb"),
            ("s3://b/k/.hidden", "k", "_hidden"),
            ("https://h/.gitattributes", "attrs", "_gitattributes"),
            ("https://h/.GIT", "g", "_GIT"),
            ("https://h/catalog.json", "c", "_catalog.json"),
            ("https://h/..", "up", "up"),
        ])
    func fileNames(href: String, key: String, expected: String) {
        #expect(DocumentWriter.fileName(for: href, key: key) == expected)
    }
}

@Suite("File backend", .offPool)
struct FileBackendTests {
    func makeBackend() throws -> (FileBackend, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return (try FileBackend.create(at: dir), dir)
    }

    @Test("a commit writes, replaces and deletes files and logs the operation")
    func commitAndLog() throws {
        let (backend, dir) = try makeBackend()
        defer { try? FileManager.default.removeItem(at: dir) }
        try backend.commit(
            ["a/x.json": .write(Array("1".utf8)), "b.json": .write(Array("2".utf8))],
            record: OperationRecord(operation: "ingest", summary: "one", products: []))
        try backend.commit(
            ["a/x.json": .delete, "b.json": .write(Array("3".utf8))],
            record: OperationRecord(operation: "prune", summary: "two", products: []))
        #expect(try backend.read("a/x.json") == nil)
        #expect(
            !FileManager.default.fileExists(atPath: dir.appendingPathComponent("a").path),
            "emptied directories are removed")
        #expect(try backend.read("b.json") == Array("3".utf8))
        #expect(try backend.history(limit: nil).map(\.record.operation) == ["prune", "ingest"])
        #expect(try backend.history(limit: 1).count == 1)
    }

    @Test("recover rolls back a journal that was not marked committed")
    func rollbackUncommitted() throws {
        let (backend, dir) = try makeBackend()
        defer { try? FileManager.default.removeItem(at: dir) }
        try backend.commit(
            ["keep.json": .write(Array("old".utf8))],
            record: OperationRecord(operation: "ingest", summary: "", products: []))
        // Simulate a crash after the new file was moved in but before the commit mark:
        // the journal says prepared, the old file is in backup, the new one in place.
        let state = dir.appendingPathComponent(".stac-repository").path
        try FileManager.default.createDirectory(atPath: state + "/tx/backup", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: state + "/tx/files", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: dir.path + "/keep.json", toPath: state + "/tx/backup/0")
        try Data("new".utf8).write(to: dir.appendingPathComponent("keep.json"))
        let journal = """
            {"state":"prepared","sequence":2,"entries":[{"path":"keep.json","staged":"0"}],
             "record":{"operation":"ingest","summary":"","products":[],"trailers":{},"date":"2024-01-01T00:00:00Z"}}
            """
        try Data(journal.utf8).write(to: URL(fileURLWithPath: state + "/journal.json"))
        try backend.recover()
        #expect(try backend.read("keep.json") == Array("old".utf8))
        #expect(!FileManager.default.fileExists(atPath: state + "/journal.json"))
        #expect(try backend.history(limit: nil).count == 1)
    }
}

@Suite("Error sentences", .offPool)
struct ErrorSentenceTests {
    @Test("a libgit2 error that reaches the user is one sentence with a fix, not raw libgit2 text")
    func gitErrors() throws {
        let locked = GitError(
            code: .locked, function: "git_reference_create",
            message: "failed to lock file '/r/.git/refs/heads/main.lock' for writing")
        let sentence = try #require(StacRepositoryError.sentence(for: locked))
        #expect(sentence.message.hasPrefix("git could not update a branch or reference (failed to lock file"))
        #expect(sentence.message.contains("remove the named .lock file") && sentence.message.hasSuffix("."))
        #expect(!sentence.message.contains("git_reference_create failed"))
        let generic = try #require(
            StacRepositoryError.sentence(for: GitError(code: .generic, function: "git_odb_write", message: "")))
        #expect(generic.message.contains("free space") && generic.message.contains("verify"))
        let lfs = try #require(StacRepositoryError.sentence(for: LFSError(code: .io(28), message: "No space left.")))
        #expect(lfs.message.hasPrefix("The Git LFS store failed: No space left; check"))
        struct Other: Error {}
        #expect(StacRepositoryError.sentence(for: Other()) == nil)
    }
}
