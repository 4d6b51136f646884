import AssetTransfer
import Foundation
import STAC
import TestSupport
import Testing

@testable import StacRepository

/// The stages of an ingest (Sources/StacRepository/Ingest/IngestPipeline.swift), each on its own,
/// in-process, on every registered backend: placement, change detection, the transfer plan, the
/// transfers keyed by ticket, the edits, and the rule that a stored document is read once.
@Suite("Ingest pipeline stages", .offPool)
struct IngestPipelineTests {
    typealias Fixture = BackendContractTests.Fixture

    /// Counts the backend reads of each path behind a ``StoredDocuments``.
    final class ReadCounter: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [String: Int] = [:]
        func count(_ path: String) {
            lock.lock()
            counts[path, default: 0] += 1
            lock.unlock()
        }
        var all: [String: Int] {
            lock.lock()
            defer { lock.unlock() }
            return counts
        }
    }

    static func stored(_ repository: Repository, counter: ReadCounter? = nil) -> StoredDocuments {
        let backend = repository.backend
        return StoredDocuments(
            read: { path in
                counter?.count(path)
                return try backend.read(path)
            }, list: { try backend.list(under: $0) },
            exists: { try backend.exists($0) })
    }

    static func pipeline(_ repository: Repository, options: IngestOptions) -> IngestPipeline {
        IngestPipeline(
            stateDirectory: repository.backend.stateDirectory, options: options,
            engine: AssetTransferEngine(configuration: options.transfer, logger: options.logger), events: nil)
    }

    static func roots(_ fixture: Fixture, options: IngestOptions) async throws -> [SourceProduct] {
        let loader = SourceLoader(
            engine: AssetTransferEngine(configuration: options.transfer, logger: options.logger),
            workingDirectory: fixture.directory.path)
        return try await loader.load(fixture.source.appendingPathComponent("catalog.json").path)
    }

    static func options(_ fixture: Fixture) -> IngestOptions {
        var options = IngestOptions()
        options.workingDirectory = fixture.directory.path
        return options
    }

    @Test(
        "a re-ingest reads each stored document from the backend once, through every stage",
        arguments: BackendKind.allCases)
    func storedDocumentsAreReadOnce(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        _ = try await fixture.ingest(repository)
        // Change one item so that every stage runs: detection, transfer, documents, container links.
        let itemPath = "landsat/LC08_A/LC08_A.json"
        let text = String(decoding: try fixture.sourceBytes(itemPath), as: UTF8.self)
        try fixture.write(
            itemPath, text.replacingOccurrences(of: #""eo:cloud_cover":12.5"#, with: #""eo:cloud_cover":99"#))
        let options = Self.options(fixture)
        let counter = ReadCounter()
        let stored = Self.stored(repository, counter: counter)
        let pipeline = Self.pipeline(repository, options: options)
        let plan = try pipeline.plan(try await Self.roots(fixture, options: options), stored: stored)
        #expect(
            plan.products.map { "\($0.object.id) \($0.change)" }.sorted() == [
                "LC08_A updated", "LC08_B unchanged", "landsat unchanged",
            ])
        let index = try repository.index()
        let storedItem = try #require(index.items.values.first { $0.id == "LC08_A" }?.path)
        let before = try repository.backend.read(storedItem)
        let tx = Transaction(backend: repository.backend)
        defer { tx.discardStaged() }
        let report = try await pipeline.execute(plan, tx: tx)
        #expect(report.updated.map(\.id) == ["LC08_A"])
        let reads = counter.all
        #expect(reads.values.allSatisfy { $0 == 1 }, "read more than once: \(reads.filter { $0.value > 1 })")
        // The documents the stages needed were read: the index's containers and both items.
        for path in Array(index.containers.keys) + Array(index.items.keys) {
            #expect(reads[path] == 1, "\(path)")
        }
        // The transaction holds the edits; the backend is untouched until the commit.
        #expect(try tx.read(storedItem) != before)
        #expect(try repository.backend.read(storedItem) == before)
    }

    @Test(
        "placement decides places and writes nothing; a template's sub-catalogs are edits",
        arguments: BackendKind.allCases)
    func placementIsAValue(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        var options = Self.options(fixture)
        options.layout = "${year}"
        let stored = Self.stored(repository)
        let index = try CatalogIndex.load { try stored.bytes($0) }
        let placement = try ProductPlacer.place(
            try await Self.roots(fixture, options: options), options: options, index: index, stored: stored)
        // The source's root catalog is the repository's root: its children are placed below it.
        #expect(
            placement.products.map(\.path) == [
                "landsat/collection.json", "landsat/2021/LC08_A/LC08_A.json", "landsat/2021/LC08_B/LC08_B.json",
            ])
        #expect(placement.products.allSatisfy { !$0.existed })
        #expect(placement.index.containers["landsat/2021/catalog.json"]?.layoutCollection == "landsat/collection.json")
        // The one sub-catalog is an edit, read through the edits, and absent from the backend.
        #expect(try placement.edits.read("landsat/2021/catalog.json") != nil)
        #expect(try repository.backend.read("landsat/2021/catalog.json") == nil)
        #expect(placement.touched.contains("landsat/collection.json"))
        // Duplicate ids under one parent are refused at placement, naming both sources.
        let twice = try await Self.roots(fixture, options: options) + Self.roots(fixture, options: options)
        #expect(throws: StacRepositoryError.self) {
            _ = try ProductPlacer.place(twice, options: options, index: index, stored: stored)
        }
    }

    @Test("the transfer plan follows the asset options; results are keyed by ticket", arguments: BackendKind.allCases)
    func transferPlanAndOutcome(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        var options = Self.options(fixture)
        let pipeline = Self.pipeline(repository, options: options)
        let roots = try await Self.roots(fixture, options: options)
        let plan = try pipeline.plan(roots, stored: Self.stored(repository))
        let all = try TransferPlan.make(plan.products, options: options)
        #expect(all.copies.count == 6 && all.measures.isEmpty)
        options.assetKeys = ["B1"]
        let some = try TransferPlan.make(plan.products, options: options)
        #expect(some.copies.map(\.ticket.key).sorted() == ["B1", "B1"])
        #expect(some.measures.count == 4)
        options.assetKeys = nil
        options.assetMode = .reference
        options.checksums = false
        #expect(try TransferPlan.make(plan.products, options: options).entries.isEmpty)

        // One original missing: with --on-asset-error reference it is a failure of that asset
        // only, and every other result sits under its own ticket.
        try FileManager.default.removeItem(at: fixture.source.appendingPathComponent("landsat/LC08_B/tilejson.json"))
        let stage = AssetTransferStage(
            engine: AssetTransferEngine(), journal: pipeline.transferJournal, statCache: pipeline.statCache,
            remoteStamps: pipeline.remoteStamps, onAssetError: .reference, events: nil)
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        let outcome = try await stage.run(all, staging: staging)
        #expect(outcome.fatal == nil)
        #expect(outcome.failures.map { "\($0.product) \($0.asset)" } == ["LC08_B tilejson"])
        #expect(outcome.assets.count == 5)
        for entry in all.entries where outcome.assets[entry.ticket] != nil {
            let asset = try #require(outcome.assets[entry.ticket])
            #expect(asset.request.name == entry.request.name)
            let source = entry.request.source
            #expect(asset.sha256 == (try FileDigest.sha256(ofFileAt: source)), "\(entry.ticket)")
        }
        let failing = AssetTransferStage(
            engine: AssetTransferEngine(), journal: pipeline.transferJournal, statCache: pipeline.statCache,
            remoteStamps: pipeline.remoteStamps, onAssetError: .fail, events: nil)
        #expect(try await failing.run(all, staging: staging).fatal != nil)
    }

    @Test("edits read through in order: a deleted folder hides stored files, a later write shows again")
    func editsReadThrough() throws {
        let files: [String: [UInt8]] = ["a/x.json": [1], "a/b/y.json": [2], "c.json": [3]]
        let stored = StoredDocuments(
            read: { files[$0] }, list: { dir in files.keys.filter { $0.hasPrefix(dir + "/") }.sorted() },
            exists: { files[$0] != nil })
        var edits = IngestEdits(stored: stored)
        try edits.deleteTree("a")
        #expect(try edits.read("a/x.json") == nil)
        #expect(try edits.list(under: "a").isEmpty)
        #expect(try edits.read("c.json") == [3])
        edits.write("a/x.json", [9])
        #expect(try edits.read("a/x.json") == [9])
        #expect(try edits.list(under: "a") == ["a/x.json"])
        edits.delete("c.json")
        #expect(try !edits.exists("c.json"))
        #expect(try edits.read("c.json") == nil)
        #expect(stored.backendReads == 1)  // c.json, once; deleted paths are not read
    }
}
