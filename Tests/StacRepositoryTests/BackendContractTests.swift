import Foundation
import STAC
import TestSupport
import Testing

@testable import StacRepository

/// The backend contract, in-process, on every registered backend (``BackendRegistry``): what any
/// implementation must do for ingest, prune, rollback, history, verify and recovery. The
/// end-to-end suites prove the same through the binary; these say *where* a failure is.
@Suite("Backend contract", .offPool, .offPool)
struct BackendContractTests {
    /// A temporary directory with a real-shaped source catalog: a collection with two items,
    /// assets named like real ones (`tilejson.json`, `*_MTL.json`, a GeoTIFF), a pre-1.0-style
    /// 7-digit fractional datetime, and unknown fields that must survive.
    final class Fixture {
        let directory: URL
        let source: URL
        let repositoryURL: URL

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "stac-repository-contract-\(UUID().uuidString)")
            source = directory.appendingPathComponent("source")
            repositoryURL = directory.appendingPathComponent("repo")
            try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
            try write(
                "catalog.json",
                #"{"type":"Catalog","stac_version":"1.0.0","id":"src","description":"d","links":[{"rel":"child","href":"./landsat/collection.json"}]}"#
            )
            try write(
                "landsat/collection.json",
                #"{"type":"Collection","stac_version":"1.0.0","id":"landsat","description":"d","license":"proprietary","x-unknown":{"keep":[1,2.50,"three"]},"extent":{"spatial":{"bbox":[[-180,-90,180,90]]},"temporal":{"interval":[["2020-01-01T00:00:00Z",null]]}},"links":[{"rel":"item","href":"./LC08_A/LC08_A.json"},{"rel":"item","href":"./LC08_B/LC08_B.json"}]}"#
            )
            for id in ["LC08_A", "LC08_B"] {
                try write(
                    "landsat/\(id)/\(id).json",
                    #"{"type":"Feature","stac_version":"1.0.0","id":"\#(id)","geometry":{"type":"Point","coordinates":[1,2]},"bbox":[1,2,1,2],"properties":{"datetime":"2021-06-01T10:20:30.1234567Z","eo:cloud_cover":12.5},"links":[{"rel":"collection","href":"../collection.json"}],"assets":{"B1":{"href":"./\#(id)_B1.TIF","type":"image/tiff; application=geotiff"},"mtl":{"href":"./\#(id)_MTL.json","type":"application/json"},"tilejson":{"href":"./tilejson.json","type":"application/json"}}}"#
                )
                try write("landsat/\(id)/\(id)_B1.TIF", String(repeating: "II*\u{0}\(id)-pixels;", count: 500))
                try write("landsat/\(id)/\(id)_MTL.json", #"{"LANDSAT_METADATA_FILE":{"id":"\#(id)"}}"#)
                try write("landsat/\(id)/tilejson.json", #"{"tilejson":"2.2.0","tiles":["https://t/\#(id)/{z}"]}"#)
            }
        }

        func write(_ path: String, _ text: String) throws {
            let url = source.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }

        func sourceBytes(_ path: String) throws -> [UInt8] {
            Array(try Data(contentsOf: source.appendingPathComponent(path)))
        }

        func create(_ kind: BackendKind) throws -> Repository {
            try Repository.create(
                at: repositoryURL,
                options: .init(
                    backend: kind,
                    rootCatalog: Repository.makeRootCatalog(
                        id: "contract", title: nil, description: "contract tests", license: nil)))
        }

        func ingest(_ repository: Repository) async throws -> IngestReport {
            var options = IngestOptions()
            options.workingDirectory = directory.path
            return try await repository.ingest([source.appendingPathComponent("catalog.json").path], options: options)
        }

        deinit { try? FileManager.default.removeItem(at: directory) }
    }

    /// The stored bytes of `path` at the current version, wherever the backend keeps them.
    static func storedBytes(_ repository: Repository, _ path: String, ref: String? = nil) throws -> [UInt8]? {
        let snapshot = try repository.backend.snapshot(at: ref)
        switch try snapshot.source(path) {
        case .bytes(let b)?: return b
        case .file(let url)?: return Array(try Data(contentsOf: url))
        default: return nil
        }
    }

    @Test("every registered backend is detected and opened as what it created", arguments: BackendKind.allCases)
    func registry(kind: BackendKind) throws {
        let fixture = try Fixture()
        _ = try fixture.create(kind)
        let descriptor = try #require(BackendRegistry.descriptor(kind))
        #expect(descriptor.detect(fixture.repositoryURL.path))
        let others = BackendRegistry.backends.filter { $0.kind != kind }
        #expect(others.allSatisfy { !$0.detect(fixture.repositoryURL.path) })
        let opened = try Repository.open(at: fixture.repositoryURL.appendingPathComponent("sub/dir"))
        #expect(opened.backend.kind == kind)
        #expect(opened.root.standardizedFileURL.path == fixture.repositoryURL.standardizedFileURL.path)
        #expect(throws: StacRepositoryError.self) { try fixture.create(kind) }
    }

    @Test("ingest stores every document and asset byte for byte; history records it", arguments: BackendKind.allCases)
    func ingestAndRead(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        let report = try await fixture.ingest(repository)
        #expect(report.added.map(\.id).sorted() == ["LC08_A", "LC08_B", "landsat"])
        #expect(report.assetsCopied == 6)
        let index = try repository.index()
        #expect(index.items.values.map(\.id).sorted() == ["LC08_A", "LC08_B"])
        let itemPath = try #require(index.items.values.first { $0.id == "LC08_A" }?.path)
        let directory = (itemPath as NSString).deletingLastPathComponent
        for (asset, source) in [
            ("LC08_A_B1.TIF", "landsat/LC08_A/LC08_A_B1.TIF"), ("LC08_A_MTL.json", "landsat/LC08_A/LC08_A_MTL.json"),
            ("tilejson.json", "landsat/LC08_A/tilejson.json"),
        ] {
            #expect(
                try Self.storedBytes(repository, directory + "/" + asset) == fixture.sourceBytes(source), "\(asset)")
        }
        // JSON-named assets are assets, not documents: never parsed as STAC, never products.
        let snapshot = try repository.backend.snapshot(at: nil)
        if kind == .git { #expect(try snapshot.isStoredAsAsset(directory + "/tilejson.json")) }
        let item = try JSONValue.parse(bytes: #require(try snapshot.read(itemPath)), source: itemPath)
        #expect(item["properties"]?["datetime"]?.stringValue == "2021-06-01T10:20:30.1234567Z")
        #expect(item["assets"]?["B1"]?["file:checksum"]?.stringValue?.hasPrefix("1220") == true)
        let collection = try #require(index.containers.values.first { $0.id == "landsat" })
        let stored = try JSONValue.parse(bytes: #require(try snapshot.read(collection.path)), source: collection.path)
        #expect(
            stored["x-unknown"] == (try JSONValue.parse(bytes: Array(#"{"keep":[1,2.50,"three"]}"#.utf8), source: "")))
        let history = try repository.history()
        #expect(history.map(\.record.operation) == ["ingest", "init"])
        #expect(Set(history[0].record.products.map(\.id)) == ["LC08_A", "LC08_B", "landsat"])
        #expect(try repository.verify().problems.isEmpty)
    }

    @Test("re-ingesting the same catalog changes nothing and makes no version", arguments: BackendKind.allCases)
    func reingestIsANoOp(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        _ = try await fixture.ingest(repository)
        let before = try repository.history().count
        let again = try await fixture.ingest(repository)
        #expect(again.added.isEmpty && again.updated.isEmpty)
        #expect(again.unchanged.count == 3)
        #expect(again.version == nil)
        #expect(try repository.history().count == before)
    }

    @Test("prune removes a product, its folder and its assets in one version", arguments: BackendKind.allCases)
    func prune(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        _ = try await fixture.ingest(repository)
        let path = try #require(try repository.index().items.values.first { $0.id == "LC08_B" }?.path)
        let directory = (path as NSString).deletingLastPathComponent
        let result = try await repository.prune(["LC08_B"])
        #expect(result.removed.map(\.id) == ["LC08_B"])
        #expect(try repository.index().items.values.map(\.id) == ["LC08_A"])
        #expect(try repository.backend.list(under: directory).isEmpty)
        #expect(try repository.history().first?.record.operation == "prune")
        #expect(try repository.verify().problems.isEmpty)
    }

    @Test(
        "rollback restores an earlier version exactly (versioned backends) or is refused",
        arguments: BackendKind.allCases)
    func rollback(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        _ = try await fixture.ingest(repository)
        guard let versioned = repository.backend.versioning else {
            await #expect(throws: StacRepositoryError.self) { _ = try await repository.rollback(to: "HEAD~1") }
            return
        }
        let ingested = try #require(try versioned.headVersion())
        let filesBefore = try repository.backend.snapshot(at: ingested).files()
        _ = try await repository.prune(["LC08_A"])
        // diff names the products, typed by their content, never the JSON-named assets.
        let diff = try repository.diff(from: ingested, to: "HEAD")
        #expect(
            diff.map { "\($0.change) \($0.kind) \($0.id)" }.sorted() == [
                "removed item LC08_A", "updated collection landsat",
            ])
        #expect(diff.first { $0.id == "landsat" }?.changedFields.contains("links") == true)
        let result = try await repository.rollback(to: ingested)
        #expect(result.backupRef == nil)
        #expect(try repository.history().first?.record.operation == "rollback")
        let now = try repository.backend.snapshot(at: nil)
        #expect(try now.files() == filesBefore)
        for path in filesBefore {
            #expect(
                try Self.storedBytes(repository, path) == Self.storedBytes(repository, path, ref: ingested), "\(path)")
        }
        #expect(try repository.verify().problems.isEmpty)
        // Rolling back to the version that is current is refused, with nothing changed.
        let head = try versioned.headVersion()
        await #expect(throws: StacRepositoryError.self) { _ = try await repository.rollback(to: "HEAD") }
        #expect(try versioned.headVersion() == head)
    }

    @Test("verify finds stored bytes that were changed behind the repository's back", arguments: BackendKind.allCases)
    func verifyFindsDamage(kind: BackendKind) async throws {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        _ = try await fixture.ingest(repository)
        let item = try #require(try repository.index().items.values.first { $0.id == "LC08_A" }?.path)
        let asset = (item as NSString).deletingLastPathComponent + "/LC08_A_B1.TIF"
        guard case .file(let stored)? = try repository.backend.snapshot(at: nil).source(asset) else {
            Issue.record("the asset \(asset) is not stored as a file")
            return
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: stored.path)
        try Data("damaged".utf8).write(to: stored)
        let problems = try repository.verify().problems
        #expect(problems.contains { $0.path == asset }, "\(problems)")
    }

    /// The crash points one ingest passes through on `kind`, in order (names may repeat).
    static func crashPoints(_ kind: BackendKind) async throws -> [String] {
        let fixture = try Fixture()
        let repository = try fixture.create(kind)
        let seen = Recorder()
        repository.backend.crashes.hook = { seen.append($0) }
        _ = try await fixture.ingest(repository)
        return seen.names
    }

    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var _names: [String] = []
        var names: [String] { lock.withLock { _names } }
        func append(_ name: String) { lock.withLock { _names.append(name) } }
    }

    @Test(
        "a crash at any commit point of an ingest recovers to exactly before or after",
        .enabled(if: isDebugBuild, "crash points exist only in debug builds"), arguments: BackendKind.allCases)
    func crashAtEveryPoint(kind: BackendKind) async throws {
        let points = try await Self.crashPoints(kind)
        #expect(!points.isEmpty, "the \(kind) backend reports no crash points")
        var outcomes: [String: Int] = [:]
        for n in 0..<points.count {
            let fixture = try Fixture()
            let repository = try fixture.create(kind)
            let seen = Recorder()
            repository.backend.crashes.hook = { name in
                seen.append(name)
                if seen.names.count == n + 1 { throw SimulatedCrash(point: name) }
            }
            await #expect(throws: SimulatedCrash.self) { _ = try await fixture.ingest(repository) }
            // The next command, in a fresh process's view of the repository.
            let reopened = try Repository.open(at: fixture.repositoryURL)
            try reopened.withLock(wait: false, purpose: "test") {}
            let ids = try reopened.index().items.values.map(\.id).sorted()
            #expect(ids == [] || ids == ["LC08_A", "LC08_B"], "after a crash at \(points[n]) #\(n): \(ids)")
            #expect(try reopened.verify().problems.isEmpty, "after a crash at \(points[n]) #\(n)")
            let history = try reopened.history().map(\.record.operation)
            #expect(history == (ids.isEmpty ? ["init"] : ["ingest", "init"]), "after a crash at \(points[n]) #\(n)")
            outcomes[ids.isEmpty ? "before" : "after", default: 0] += 1
            // And the repository takes the same ingest again.
            let again = try await fixture.ingest(reopened)
            #expect(again.added.count + again.unchanged.count == 3)
        }
        #expect(outcomes["before", default: 0] > 0 && outcomes["after", default: 0] > 0, "\(outcomes)")
    }
}

#if DEBUG
    let isDebugBuild = true
#else
    let isDebugBuild = false
#endif
