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
    /// With `--batch-size`: list at most this many products of each change (added, updated,
    /// unchanged) in the report and count the rest (``IngestReport/unlisted``), so that a
    /// streamed ingest of millions of items does not hold a list of them all; nil lists every one.
    public var listedProducts: Int?
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
    /// Products changed but not listed above (``IngestOptions/listedProducts``).
    public var unlisted = Unlisted()
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

    public struct Unlisted: Sendable, Codable, Equatable {
        public var added = 0
        public var updated = 0
        public var unchanged = 0
    }

    /// How many products were added, listed or not.
    public var addedCount: Int { added.count + unlisted.added }
    public var updatedCount: Int { updated.count + unlisted.updated }
    public var unchangedCount: Int { unchanged.count + unlisted.unchanged }

    /// Adds `part`'s products to the lists, keeping at most `limit` in each (nil: every one).
    mutating func record(added more: [ProductChange], updated: [ProductChange], unchanged: [ProductChange], limit: Int?)
    {
        func append(_ new: [ProductChange], to list: inout [ProductChange], unlisted: inout Int) {
            let room = limit.map { max(0, $0 - list.count) } ?? new.count
            list += new.prefix(room)
            unlisted += max(0, new.count - room)
        }
        append(more, to: &added, unlisted: &self.unlisted.added)
        append(updated, to: &self.updated, unlisted: &self.unlisted.updated)
        append(unchanged, to: &self.unchanged, unlisted: &self.unlisted.unchanged)
    }

    /// "2 added, 1 updated, 3 unchanged".
    public var summary: String {
        var parts = ["\(addedCount) added", "\(updatedCount) updated", "\(unchangedCount) unchanged"]
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
    /// The fewest lines of standard input `ingest - --batch-size N` reads at a time (a chunk is
    /// placed, then committed N products at a time; one chunk of documents is held in memory).
    static let standardInputChunkLines = 1000

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
        // Stage 1, sources → documents, before taking the lock: nothing here touches the repository.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stac-repository-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let roots: [SourceProduct]
        var more: (@Sendable () async throws -> [SourceProduct]?)?
        if let processor {
            let processed = try await processedDocuments(
                sources, processor: processor, options: options, engine: engine, loader: loader, scratch: scratch)
            roots = processed.roots
            report.unchanged = processed.unchanged
            // Remote products downloaded by an interrupted run and taken from the journal.
            report.assetsReused = processed.reused
        } else if let batchSize = options.batchSize, sources == ["-"] {
            // Newline-delimited items are read and committed a chunk at a time (streaming).
            switch try await loader.standardInputInChunks(lines: max(batchSize, Self.standardInputChunkLines)) {
            case .whole(let products): roots = products
            case .stream(let first, let next):
                roots = first
                more = next
            }
        } else {
            var loaded: [SourceProduct] = []
            for source in sources { loaded.append(contentsOf: try await loader.load(source)) }
            roots = loaded
        }
        report.warnings = loader.notes.warnings
        if let batchSize = options.batchSize {
            var batched = try await ingestInBatches(
                roots, more: more, batchSize: batchSize, options: options, processor: processor, engine: engine,
                events: events, planned: planned, progress: progress)
            batched.unchanged = report.unchanged + batched.unchanged
            batched.unlisted.unchanged += report.unlisted.unchanged
            batched.warnings = loader.notes.warnings
            batched.assetsReused += report.assetsReused
            return batched
        }
        // Stages 2–5 and the commit, in one transaction (IngestPipeline).
        var pipeline = IngestPipeline(
            stateDirectory: backend.stateDirectory, options: options, engine: engine, events: events)
        pipeline.onPlanned = planned
        pipeline.lazy = lazyLayouts()
        let outcome = try await withTransaction(
            wait: options.wait, purpose: "ingest", force: options.force, progress: progress
        ) { [pipeline] tx in
            var pipeline = pipeline
            var t0 = Date()
            func lap(_ phase: String) {
                options.logger.debug("ingest: \(phase) took \(String(format: "%.3f", Date().timeIntervalSince(t0))) s")
                t0 = Date()
            }
            await pipeline.checkRemoteOriginals(of: roots)
            lap("remote originals")
            let plan = try pipeline.plan(roots, stored: StoredDocuments(tx))
            tx.afterCommit = saveLayoutCachesHook(plan.placement.index)
            lap("place")
            let part = try await pipeline.execute(plan, tx: tx)
            lap("transfer and write")
            report.warnings += part.warnings
            report.added += part.added
            report.updated += part.updated
            report.unchanged += part.unchanged
            report.assetsCopied = part.assetsCopied
            report.bytesCopied = part.bytesCopied
            report.assetsReused += part.assetsReused
            report.assetFailures = part.assetFailures
            if report.added.isEmpty && report.updated.isEmpty { return nil }
            var trailers: [String: String] = [:]
            if let processor { trailers["Stac-Repository-Processor"] = "\(processor.name) \(processor.version)" }
            return OperationRecord(
                operation: "ingest", summary: "\(report.added.count) added, \(report.updated.count) updated",
                products: report.added + report.updated, trailers: trailers)
        }
        pipeline.saveCaches()
        FailedAssetLog(stateDirectory: backend.stateDirectory).update(with: report)
        report.version = outcome?.version
        return report
    }
}
