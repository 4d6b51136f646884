import AssetTransfer
import Foundation
import Logging
import STAC

extension Repository {
    /// `ingest --batch-size N`: the products that changed are committed N at a time, each batch
    /// one transaction (one commit / operation), under one writer lock. Everything is placed
    /// first, so an id clash or a missing collection fails before the first commit; products are
    /// batched in placement order, so a container is in the first batch that needs it, and each
    /// commit is a consistent catalog (its containers link only what is committed). A kill
    /// between batches keeps the batches committed; the re-run finds them unchanged.
    ///
    /// With `more` (newline-delimited items streamed from standard input), "everything" is one
    /// chunk: each chunk is placed against what the earlier ones committed and then committed
    /// in batches, so memory holds one chunk, and a failure in a later chunk keeps the earlier
    /// chunks' commits (each a consistent version; the re-run finds them unchanged).
    func ingestInBatches(
        _ roots: [SourceProduct], more: (@Sendable () async throws -> [SourceProduct]?)? = nil, batchSize: Int,
        options: IngestOptions, processor: (any Processor)?, engine: AssetTransferEngine,
        events: (@Sendable (TransferEvent) -> Void)?, planned: (@Sendable (_ assets: Int, _ bytes: Int64) -> Void)?,
        progress: ProgressHandler?
    ) async throws -> IngestReport {
        try await withLock(wait: options.wait, purpose: "ingest") {
            var report = IngestReport()
            var pipeline = IngestPipeline(
                stateDirectory: backend.stateDirectory, options: options, engine: engine, events: events)
            pipeline.onPlanned = planned
            pipeline.lazy = lazyLayouts()
            var trailers: [String: String] = [:]
            if let processor { trailers["Stac-Repository-Processor"] = "\(processor.name) \(processor.version)" }
            let size = max(1, batchSize)
            // The index of the committed state, carried from batch to batch (plan(batch:…)).
            var committed: CatalogIndex?
            var chunk: [SourceProduct]? = roots
            var chunkNumber = 0
            // Many commits in a row: `.git/index` is brought up to date now and then, not after
            // every commit (GitBackend.beginCommitRun), and always before this returns or throws.
            let backend = backend
            do {
                while let roots = chunk {
                    chunkNumber += 1
                    // The version the layout caches describe moves with every commit.
                    pipeline.lazy = lazyLayouts()
                    await pipeline.checkRemoteOriginals(of: roots)
                    let whole = try pipeline.plan(roots, stored: StoredDocuments(Transaction(backend: backend)))
                    report.record(
                        added: [], updated: [],
                        unchanged: whole.products.filter { $0.change == .unchanged }.map {
                            ProductChange(id: $0.object.id, kind: $0.source.kindName, change: .unchanged)
                        }, limit: options.listedProducts)
                    let changed = whole.products.filter { $0.change != .unchanged }
                    let count = (changed.count + size - 1) / size
                    var index = try committed ?? CatalogIndex.load(read: { try backend.read($0) }, lazy: pipeline.lazy)
                    committed = nil
                    if count > 1 || more != nil { backend.beginCommitRun() }
                    for k in 0..<count {
                        let batch = Array(changed[(k * size)..<min((k + 1) * size, changed.count)])
                        let tx = Transaction(backend: backend)
                        defer { tx.discardStaged() }
                        var plan = try pipeline.plan(
                            batch: batch, placedIn: whole.placement.index, committed: consume index,
                            stored: StoredDocuments(tx))
                        let part = try await pipeline.execute(plan, tx: tx)
                        report.record(
                            added: part.added, updated: part.updated, unchanged: [], limit: options.listedProducts)
                        report.assetsCopied += part.assetsCopied
                        report.bytesCopied += part.bytesCopied
                        report.assetsReused += part.assetsReused
                        report.assetFailures += part.assetFailures
                        let summary =
                            "\(part.added.count) added, \(part.updated.count) updated"
                            + (count > 1 && more == nil ? " (batch \(k + 1) of \(count))" : "")
                        let record = OperationRecord(
                            operation: "ingest", summary: summary, products: part.added + part.updated,
                            trailers: trailers)
                        // One owner of the batch's index, so that unloading it below copies nothing.
                        index = plan.placement.index
                        plan.placement.index = CatalogIndex()
                        var key: String?
                        if !tx.changes.isEmpty {
                            (report.version, key) = try await commitBatch(
                                tx, record: record, index: index, force: options.force, progress: progress)
                        }
                        pipeline.saveCaches()
                        FailedAssetLog(stateDirectory: backend.stateDirectory).update(with: part)
                        options.logger.debug(
                            "ingest: chunk \(chunkNumber), batch \(k + 1) of \(count) committed (\(batch.count) products)"
                        )
                        // What this batch read goes back to layout-cache stubs: memory holds one batch.
                        if let key {
                            try index.unloadLayoutCatalogs(
                                committedAs: key, stateDirectory: backend.stateDirectory, read: { try backend.read($0) }
                            )
                        }
                        FreedMemory.release()
                        TestHooks.crashPoint("ingest-batch-committed")
                    }
                    committed = consume index
                    if more != nil {
                        // Before waiting for more input, the index shows what is committed.
                        try await DedicatedThread.run("stac-repository index") { try backend.catchUpCommitRun() }
                    }
                    chunk = try await more?()
                }
            } catch {
                // What was committed stays committed; the index shows it (or the next writer
                // brings it up to date: GitBackend.recover).
                try? await DedicatedThread.run("stac-repository index") { try backend.endCommitRun() }
                throw error
            }
            try await DedicatedThread.run("stac-repository index") { try backend.endCommitRun() }
            report.warnings = []
            return report
        }
    }

    /// Commits one batch on a thread of its own and brings the layout caches to the new version
    /// (from `index`, what the batch left); returns the version and the layout caches' key.
    private func commitBatch(
        _ tx: Transaction, record: OperationRecord, index: CatalogIndex, force: Bool, progress: ProgressHandler?
    ) async throws -> (String?, String?) {
        let changes = tx.changes
        let afterCommit = saveLayoutCachesHook(index)
        let done = try await DedicatedThread.run("stac-repository commit") {
            try self.refuseLocalChanges(to: changes.keys, force: force, command: "ingest")
            let before = self.backend.layoutCacheKey()
            let version = try self.backend.commit(changes, record: record, progress: progress)
            afterCommit(changes, before)
            return (version, self.backend.layoutCacheKey())
        }
        tx.committed = true
        return done
    }
}
