public import AssetTransfer
import Foundation
public import Logging
import STAC

/// How asset bytes are handled by an ingest.
public enum AssetMode: String, Sendable, CaseIterable {
    /// Fetch, hash and keep a copy in the repository.
    case copy
    /// Keep no bytes: the href becomes absolute; size and checksum are still recorded.
    case reference
}

/// What happens when an asset cannot be fetched.
public enum AssetErrorPolicy: String, Sendable, CaseIterable {
    /// The whole ingest fails and nothing changes.
    case fail
    /// The asset is kept as a remote reference and the failure is reported.
    case reference
}

/// Options of ``Repository/ingest(_:options:processor:events:)``.
public struct IngestOptions: Sendable {
    /// Put every ingested root product under the catalog or collection with this id.
    public var parentID: String?
    public var assetMode: AssetMode = .copy
    /// Record `file:checksum`/`file:size` of referenced assets by reading their bytes once.
    public var checksums = true
    public var onAssetError: AssetErrorPolicy = .fail
    /// Only assets with one of these roles are copied (nil: all).
    public var assetRoles: Set<String>?
    /// Only assets with one of these keys are copied (nil: all).
    public var assetKeys: Set<String>?
    public var transfer = TransferConfiguration()
    /// Folders any source document may reference besides its own source root (`--allow-path`).
    public var allowedPaths: [String] = []
    /// Layout template for the collections the ingest creates or touches (`--layout`;
    /// Catalog/LayoutTemplate.swift); nil keeps each collection's own.
    public var layout: String?
    /// Wait for the writer lock instead of failing at once.
    public var wait = false
    /// Overwrite uncommitted work-tree changes to the paths the ingest writes (git backend).
    public var force = false
    /// Options handed to the processor.
    public var processorOptions: [String: String] = [:]
    /// STAC API searches, bucket prefixes and directory listings (Sources/SourceOptions.swift).
    public var sources = SourceOptions()
    /// Commit every this many changed products, each batch one transaction (`--batch-size`);
    /// nil: the whole ingest is one transaction.
    public var batchSize: Int?
    /// The directory relative source paths are resolved against.
    public var workingDirectory = FileManager.default.currentDirectoryPath
    public var logger = Logger(label: "stac-repository")

    public init() {}
}

/// What an ingest did.
public struct IngestReport: Sendable, Codable {
    public var added: [ProductChange] = []
    public var updated: [ProductChange] = []
    public var unchanged: [ProductChange] = []
    /// Assets copied into the repository.
    public var assetsCopied = 0
    /// Bytes of copied assets.
    public var bytesCopied: Int64 = 0
    /// Copied assets whose bytes an interrupted or failed earlier ingest had already downloaded
    /// (checked against their source and re-hashed; ``TransferJournal``), so not fetched again.
    public var assetsReused = 0
    /// Assets kept as references because they could not be fetched (`--on-asset-error reference`).
    public var assetFailures: [AssetFailure] = []
    /// The new version (commit id or operation number), nil when nothing changed.
    public var version: String?
    /// Things the user should know that did not stop the ingest (one line each).
    public var warnings: [String] = []

    public struct AssetFailure: Sendable, Codable {
        public var product: String
        public var asset: String
        public var message: String
    }

    /// "2 added, 1 updated, 3 unchanged".
    public var summary: String {
        var parts = ["\(added.count) added", "\(updated.count) updated", "\(unchanged.count) unchanged"]
        if !assetFailures.isEmpty { parts.append(plural(assetFailures.count, "asset") + " kept as references") }
        return parts.joined(separator: ", ")
    }
}

/// Extension schema URLs the tool adds.
enum ExtensionURL {
    static let file = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
    static let alternate = "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"
    static let processing = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
}

/// Link relations the repository owns and rewrites.
let structuralRels: Set<String> = ["self", "root", "parent", "child", "item", "collection"]

extension Repository {
    /// Ingests STAC sources (or, with a processor, products it turns into STAC) in one transaction.
    ///
    /// - Throws: ``StacRepositoryError`` for anything the user can fix; the repository is then unchanged.
    public func ingest(
        _ sources: [String], options: IngestOptions, processor: (any Processor)? = nil,
        events: (@Sendable (TransferEvent) -> Void)? = nil,
        planned: (@Sendable (_ assets: Int, _ bytes: Int64) -> Void)? = nil, progress: ProgressHandler? = nil
    ) async throws -> IngestReport {
        // Credentials go to the hosts of the sources given and to --auth-host hosts (CredentialScope).
        var transfer = options.transfer
        for source in sources where processor == nil { transfer.allowCredentials(forSource: source) }
        let engine = AssetTransferEngine(configuration: transfer, logger: options.logger)
        var loader = SourceLoader(engine: engine, workingDirectory: options.workingDirectory)
        loader.confinement = try SourceConfinement(
            allowedPaths: options.allowedPaths, allowUserinfo: transfer.allowUserinfo,
            workingDirectory: options.workingDirectory)
        loader.progress = progress
        loader.options = options.sources
        var report = IngestReport()
        // Read STAC sources before taking the lock: nothing here touches the repository.
        var roots: [SourceProduct] = []
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stac-repository-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        if let processor {
            let context = ProcessingContext(
                workDirectory: scratch, logger: options.logger, options: options.processorOptions)
            try FS.makeDirectories(scratch.path)
            // Remote products (s3 prefixes, http listings) are streamed to scratch first (Sources/RemoteProducts.swift).
            let remoteSources = sources.filter(RemoteProducts.isRemote)
            if !remoteSources.isEmpty {
                let remote = try await remoteProcessorProducts(
                    remoteSources, processor: processor, context: context, options: options, engine: engine,
                    loader: loader, scratch: scratch)
                roots += remote.roots
                report.unchanged += remote.unchanged
            }
            let stage = ProcessorStage(processor: processor, context: context)
            let pending = try await stage.discover(sources.filter { !RemoteProducts.isRemote($0) })
            // Skip products whose stored version is the same without processing them.
            let index = try self.index()
            for p in pending {
                if storedVersion(id: p.id, index: index, parentID: options.parentID) == p.version {
                    report.unchanged.append(ProductChange(id: p.id, kind: "item", change: .unchanged))
                    continue
                }
                let dir = scratch.appendingPathComponent("product-\(roots.count)")
                try FS.makeDirectories(dir.path)
                let resolved = try await stage.process(p, into: dir).path
                let produced: [SourceProduct]
                // A processor's items may reference its output folder and the folder of the product.
                let productPath = Href.resolve(p.product, against: options.workingDirectory + "/.")
                let productRoot = FS.isDirectory(productPath) ? productPath : SourceConfinement.parentOf(productPath)
                let sourceRoots = sources.map { source -> String in
                    let path = Href.resolve(source, against: options.workingDirectory + "/.")
                    return FS.isDirectory(path) ? path : SourceConfinement.parentOf(path)
                }
                let allowed = ([dir.path, productRoot] + sourceRoots).map(SourceConfinement.realPath)
                do {
                    produced = try await loader.loadFile(
                        resolved, displayName: "the output of processor \"\(processor.name)\" for \(p.product)",
                        roots: allowed)
                } catch let error as StacRepositoryError {
                    throw StacRepositoryError(
                        .processor,
                        "Processor \"\(processor.name)\" wrote invalid STAC for \(p.product): \(error.message)")
                }
                for item in produced {
                    item.processorVersion = p.version
                    Self.stampProcessed(item, processor: processor, version: p.version)
                    for product in item.flattened { product.scratchDirectory = allowed[0] }
                }
                roots.append(contentsOf: produced)
            }
        } else {
            for source in sources { roots.append(contentsOf: try await loader.load(source)) }
        }

        report.warnings = loader.notes.warnings
        if let batchSize = options.batchSize {
            var batched = try await ingestInBatches(
                roots, batchSize: batchSize, options: options, processor: processor, engine: engine, events: events,
                planned: planned, progress: progress)
            batched.unchanged = report.unchanged + batched.unchanged
            batched.warnings = report.warnings
            return batched
        }
        var saveCaches: (() -> Void)?
        let outcome = try await withTransaction(
            wait: options.wait, purpose: "ingest", force: options.force, progress: progress
        ) { tx in
            var t0 = Date()
            func lap(_ phase: String) {
                options.logger.debug("ingest: \(phase) took \(String(format: "%.3f", Date().timeIntervalSince(t0))) s")
                t0 = Date()
            }
            var planner = try IngestPlanner(tx: tx, options: options, engine: engine, events: events)
            planner.onPlanned = planned
            saveCaches = {
                [statCache = planner.statCache, remoteStamps = planner.remoteStamps, journal = planner.transferJournal]
                in
                statCache.save()
                remoteStamps.save()
                journal.consumeUsed()
            }
            planner.changedRemoteOriginals = await planner.remoteStamps.changedOriginals(
                of: roots.flatMap(\.flattened), engine: engine)
            lap("remote originals")
            try planner.place(roots)
            lap("place")
            try await planner.transferAssets()
            lap("transfer")
            try planner.writeProducts()
            lap("write")
            report.warnings += planner.layoutWarnings()  // layout templates
            report.added += planner.report.added
            report.updated += planner.report.updated
            report.unchanged += planner.report.unchanged
            report.assetsCopied = planner.report.assetsCopied
            report.bytesCopied = planner.report.bytesCopied
            report.assetsReused = planner.report.assetsReused
            report.assetFailures = planner.report.assetFailures
            if report.added.isEmpty && report.updated.isEmpty { return nil }
            var trailers: [String: String] = [:]
            if let processor { trailers["Stac-Repository-Processor"] = "\(processor.name) \(processor.version)" }
            return OperationRecord(
                operation: "ingest", summary: "\(report.added.count) added, \(report.updated.count) updated",
                products: report.added + report.updated, trailers: trailers)
        }
        saveCaches?()
        FailedAssetLog(stateDirectory: backend.stateDirectory).update(with: report)
        report.version = outcome?.version
        return report
    }

    /// The stored `properties.version` of the item with this id (under `parentID`), if exactly one
    /// such item is stored: what decides whether a processor product is unchanged.
    func storedVersion(id: String, index: CatalogIndex, parentID: String?) -> String? {
        var candidates = index.items(withID: id)
        if let parentID {
            candidates = candidates.filter {
                // Layout templates: an item's collection may be above its sub-catalog.
                index.containers[$0.parent]?.id == parentID || index.owningCollection(of: $0.parent)?.id == parentID
            }
        }
        guard candidates.count == 1, let bytes = try? backend.read(candidates[0].path),
            let value = try? JSONValue.parse(bytes: bytes)
        else { return nil }
        return value["properties"]?["version"]?.stringValue
    }

    /// `properties.version` and `processing:software` of an item a processor made (local or remote product).
    static func stampProcessed(_ product: SourceProduct, processor: any Processor, version: String) {
        guard product.object.type == .item else { return }
        var props = product.object.json["properties"]?.objectValue ?? JSONObject()
        if props["version"] == nil { props["version"] = .string(version) }
        var software = props["processing:software"]?.objectValue ?? JSONObject()
        software[processor.name] = .string(processor.version)
        props["processing:software"] = .object(software)
        product.object.json["properties"] = .object(props)
        product.object.addExtension(ExtensionURL.processing)
    }
}
