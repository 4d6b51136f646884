import AssetTransfer
import Foundation
import Logging
import STAC

/// The stages of an ingest inside its transaction (docs/architecture.md, "One ingest"):
///
///     source products ─▶ placement ─▶ change detection ─▶ transfer plan ─▶ transfers
///          (Sources)     ProductPlacer  ChangeDetection     TransferPlan    AssetTransferStage
///                                                                               │
///     transaction ◀── edits ◀── container links ◀── product documents ◀────────┘
///      (commit)    IngestEdits   DocumentWriter      DocumentWriter
///
/// Each stage takes values and returns values; the stored state is read once, through one
/// ``StoredDocuments``; nothing touches the transaction until the last step applies the edits.
/// Sources (STAC documents, or a processor's output: ``ProcessorStage``) are read before the
/// transaction opens, by ``Repository/ingest(_:options:processor:events:planned:progress:)``.
struct IngestPipeline {
    let options: IngestOptions
    let engine: AssetTransferEngine
    let events: (@Sendable (TransferEvent) -> Void)?
    /// Told how many assets and bytes will be transferred, before the transfers start.
    var onPlanned: (@Sendable (_ assets: Int, _ bytes: Int64) -> Void)?
    /// SHA-256 of local originals by (inode, size, times), kept in the state directory.
    let statCache: AssetStatCache
    /// What remote originals' servers said at their last transfer (ETag, Last-Modified).
    let remoteStamps: RemoteStampCache
    /// Completed downloads kept across killed or failed ingests (shared by the batches of one ingest).
    var transferJournal: TransferJournal
    /// Remote originals whose server names another version now (one HEAD each, before placing).
    var changedRemoteOriginals: Set<String> = []
    /// Where the catalog structure may leave sub-catalogs unread (``LayoutIDCache``).
    var lazy: LazyLayouts?

    init(
        stateDirectory: URL, options: IngestOptions, engine: AssetTransferEngine,
        events: (@Sendable (TransferEvent) -> Void)?
    ) {
        self.options = options
        self.engine = engine
        self.events = events
        self.statCache = AssetStatCache(stateDirectory: stateDirectory)
        self.remoteStamps = RemoteStampCache(stateDirectory: stateDirectory)
        self.transferJournal = TransferJournal(stateDirectory: stateDirectory)
    }

    /// Asks the servers of remote originals whether their version changed (before placement).
    mutating func checkRemoteOriginals(of roots: [SourceProduct]) async {
        changedRemoteOriginals = await remoteStamps.changedOriginals(of: roots.flatMap(\.flattened), engine: engine)
    }

    /// What placement and change detection decided about a set of source products.
    struct Plan {
        var placement: Placement
        var products: [DetectedProduct]
        /// Containers whose member links must be regenerated: the layout's, the parents of
        /// every changed product and every changed container.
        var touched: Set<String>
    }

    /// Placement and change detection (stages 2 and 3) against the stored state.
    func plan(_ roots: [SourceProduct], stored: StoredDocuments) throws -> Plan {
        let index = try CatalogIndex.load(read: { try stored.bytes($0) }, lazy: lazy)
        let placement = try ProductPlacer.place(roots, options: options, index: index, stored: stored)
        let detection = ChangeDetection(
            options: options, statCache: statCache, remoteStamps: remoteStamps,
            changedRemoteOriginals: changedRemoteOriginals)
        let products = try detection.detect(placement.products, stored: stored)
        var touched = placement.touched
        for p in products where p.change != .unchanged {
            touched.insert(p.placed.parentPath)
            if p.object.type != .item { touched.insert(p.placed.path) }
        }
        return Plan(placement: placement, products: products, touched: touched)
    }

    /// The part of a plan one batch of `--batch-size` commits, placed again against the state
    /// the earlier batches committed (``ProductPlacer/adopt(_:placedIn:)``). `committed` is the
    /// index of that state: loaded once before the first batch, then each batch's
    /// `placement.index` — it is what that batch wrote, since every container it touched gets
    /// its member links from it — so a batch costs what it changes, not a reload of the catalog.
    func plan(
        batch: [DetectedProduct], placedIn whole: CatalogIndex, committed index: consuming CatalogIndex,
        stored: StoredDocuments
    ) throws -> Plan {
        var placer = ProductPlacer(options: options, index: index, stored: stored)
        let products = try placer.adopt(batch, placedIn: whole)
        return Plan(placement: placer.placement, products: products, touched: placer.touched)
    }

    /// Stages 4 and 5 and the commit stage's first half: transfers the assets of what changed,
    /// writes the documents and container links, and applies the edits to `tx`.
    func execute(_ plan: Plan, tx: Transaction) async throws -> IngestReport {
        var report = IngestReport()
        for p in plan.products {
            let record = ProductChange(id: p.object.id, kind: p.source.kindName, change: p.change)
            switch p.change {
            case .added: report.added.append(record)
            case .updated: report.updated.append(record)
            default: report.unchanged.append(record)
            }
        }
        let transferPlan = try TransferPlan.make(plan.products, options: options)
        if let onPlanned {
            let totals = transferPlan.totals
            onPlanned(totals.assets, totals.bytes)
        }
        let stage = AssetTransferStage(
            engine: engine, journal: transferJournal, statCache: statCache, remoteStamps: remoteStamps,
            onAssetError: options.onAssetError, events: events)
        let outcome = try await stage.run(transferPlan, staging: tx.stagingDirectory)
        for file in outcome.stagedFiles { tx.trackStaged(file) }
        options.logger.debug("ingest: asset stat cache: \(statCache.hits) reused, \(statCache.hashed) hashed")
        if let fatal = outcome.fatal { throw StacRepositoryError(.transfer, fatal.description, underlying: fatal) }
        report.assetsReused = outcome.reused
        report.assetFailures = outcome.failures
        var edits = plan.placement.edits
        var writer = DocumentWriter()
        try writer.writeProducts(plan.products, transferred: outcome, index: plan.placement.index, edits: &edits)
        try writer.writeContainerLinks(touched: plan.touched, index: plan.placement.index, edits: &edits)
        report.assetsCopied = writer.assetsCopied
        report.bytesCopied = writer.bytesCopied
        report.warnings = plan.placement.index.layoutWarnings(touched: plan.touched)  // layout templates
        try tx.apply(edits)
        return report
    }

    /// Saves what the ingest learnt (stat cache, remote stamps) and drops the journal entries
    /// it used: only once its transaction committed (a failed ingest leaves the repository,
    /// its state directory included, byte for byte as it was).
    func saveCaches() {
        statCache.save()
        remoteStamps.save()
        transferJournal.consumeUsed()
    }
}
