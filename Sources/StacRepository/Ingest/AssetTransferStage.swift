import AssetTransfer
import Foundation
import STAC

/// One asset of one product that needs bytes: what a transfer result is keyed by.
struct AssetTicket: Hashable {
    /// The index of the product in the ingest's list of detected products.
    var product: Int
    var key: String
}

/// Stage 4a of an ingest (docs/architecture.md): which assets of the added and updated products
/// need bytes, and how. A copy is fetched, hashed and staged; with `--assets reference` (or an
/// asset `--asset-keys`/`--asset-roles` leave out) the bytes are only measured, unless
/// `--no-checksum`. A pure function of the products and the options (local originals are
/// stat'ed for the stat cache).
struct TransferPlan {
    struct Entry {
        let ticket: AssetTicket
        /// The id of the product the asset belongs to.
        let productID: String
        let request: AssetRequest
        /// Fetched into the repository (else measured only).
        let copy: Bool
    }

    /// In product order, then asset order: the order failures are reported in.
    var entries: [Entry] = []
    /// Stat data of local originals when planned, recorded with their hash once transferred.
    var stamps: [String: (stamp: AssetStatCache.Stamp, time: Int64)] = [:]

    var copies: [Entry] { entries.filter(\.copy) }
    var measures: [Entry] { entries.filter { !$0.copy } }

    static func make(_ products: [DetectedProduct], options: IngestOptions) throws -> TransferPlan {
        var plan = TransferPlan()
        for (n, p) in products.enumerated() where p.change != .unchanged {
            for (key, asset) in p.object.assets {
                let href = Href.resolve(asset.href, against: p.source.location)
                let name = "asset \"\(key)\" of \(p.object.type.kindName) \"\(p.object.id)\""
                var request = AssetRequest(name: name, source: p.source.fetchSources[key] ?? href)
                request.expectedChecksum = asset["file:checksum"]?.stringValue
                request.expectedSize = try ChangeDetection.declaredSize(asset, name: name)
                if case .file = Href.scheme(of: href), let stamp = AssetStatCache.Stamp(path: href) {
                    plan.stamps[href] = (stamp, AssetStatCache.now())
                }
                let copy = ChangeDetection.wantsCopy(key: key, asset: asset, options: options)
                if !copy && !options.checksums { continue }
                plan.entries.append(
                    Entry(
                        ticket: AssetTicket(product: n, key: key), productID: p.object.id, request: request, copy: copy)
                )
            }
        }
        return plan
    }

    /// How many assets and bytes will be transferred (for the progress display): bytes from
    /// `file:size`, or the size of local files.
    var totals: (assets: Int, bytes: Int64) {
        let bytes = entries.reduce(Int64(0)) { sum, entry in
            if let size = entry.request.expectedSize { return sum + size }
            // A local path (Href.resolve makes relative hrefs absolute): stat it.
            return sum + (entry.request.source.hasPrefix("/") ? FS.fileSize(entry.request.source) ?? 0 : 0)
        }
        return (entries.count, bytes)
    }
}

/// What the transfers of one plan gave: results keyed by ticket (never paired by order).
struct TransferOutcome {
    var assets: [AssetTicket: TransferredAsset] = [:]
    /// Copies kept as references because they failed (`--on-asset-error reference`).
    var failures: [IngestReport.AssetFailure] = []
    /// Copies an interrupted earlier ingest had downloaded (``TransferJournal``).
    var reused = 0
    /// Staged files of successful copies (removed if the transaction does not commit).
    var stagedFiles: [URL] = []
    /// The first failure the ingest cannot accept, in plan order; the ingest fails with it.
    var fatal: TransferError?
}

/// Stage 4b of an ingest: runs a ``TransferPlan`` through the engine. Downloads an interrupted
/// ingest completed are reused from the transfer journal; each new one is journaled as it
/// completes, so that a kill keeps it. The stat cache and the remote stamps learn what was
/// hashed (they are saved by the caller once the ingest committed).
struct AssetTransferStage {
    let engine: AssetTransferEngine
    let journal: TransferJournal
    let statCache: AssetStatCache
    let remoteStamps: RemoteStampCache
    let onAssetError: AssetErrorPolicy
    let events: (@Sendable (TransferEvent) -> Void)?

    func run(_ plan: TransferPlan, staging: URL) async throws -> TransferOutcome {
        var outcome = TransferOutcome()
        let copies = plan.copies
        let measures = plan.measures
        try FS.makeDirectories(staging.path)
        let reused = await journal.reuse(copies.map(\.request), staging: staging, engine: engine)
        for asset in reused.values.sorted(by: { $0.request.name < $1.request.name }) {
            events?(.started(asset.request, expectedBytes: asset.size))
            events?(.finished(asset))
        }
        outcome.reused = reused.count
        let toFetch = copies.indices.filter { reused[$0] == nil }
        let forward = events
        let journal = journal
        let fetched = await engine.fetch(
            toFetch.map { copies[$0].request }, into: staging,
            events: { event in
                if case .finished(let asset) = event { journal.record(asset) }
                forward?(event)
            })
        await journal.drain()
        let measured = await engine.measure(measures.map(\.request), events: events)
        guard fetched.count == toFetch.count, measured.count == measures.count else {
            throw StacRepositoryError(
                .internal,
                "The transfer engine answered \(fetched.count + measured.count) of \(toFetch.count + measures.count) requests; run the ingest again."
            )
        }
        var results: [AssetTicket: Result<TransferredAsset, TransferError>] = [:]
        for (n, asset) in reused { results[copies[n].ticket] = .success(asset) }
        for (n, result) in zip(toFetch, fetched) { results[copies[n].ticket] = result }
        for (entry, result) in zip(measures, measured) { results[entry.ticket] = result }
        for entry in plan.entries {
            switch results[entry.ticket] {
            case .success(let asset)?:
                outcome.assets[entry.ticket] = asset
                if let file = asset.file { outcome.stagedFiles.append(file) }
                if let s = plan.stamps[asset.request.source] {
                    statCache.record(asset.request.source, stamp: s.stamp, sha256: asset.sha256, hashTime: s.time)
                }
                if let stamp = asset.remoteStamp {
                    remoteStamps.record(asset.request.source, stamp: stamp, sha256: asset.sha256)
                }
            case .failure(let error)?:
                // The whole ingest fails on the first failure unless the user accepts references.
                if onAssetError == .reference && entry.copy {
                    outcome.failures.append(
                        .init(product: entry.productID, asset: entry.ticket.key, message: error.description))
                } else if outcome.fatal == nil {
                    outcome.fatal = error
                }
            case nil:
                if outcome.fatal == nil {
                    outcome.fatal = TransferError(kind: .cancelled, message: "The transfer was cancelled.", source: "")
                }
            }
        }
        return outcome
    }
}
