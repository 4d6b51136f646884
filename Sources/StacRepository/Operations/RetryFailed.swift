public import AssetTransfer
import Foundation
import STAC

extension Repository {
    /// `ingest --retry-failed`: fetches again the assets an earlier ingest kept as references
    /// because their copy failed (the failed-assets state, ``FailedAssetLog``), without the
    /// original source: each such asset's href is the absolute address of its original. Those
    /// that arrive are copied next to their product with `alternate.original` and `file:checksum`,
    /// as an ingest copies them, in one transaction; those that fail again stay references and
    /// stay in the state (the report lists them). Credentials: `--auth-host` names the hosts that
    /// get them, since the source host of the first ingest is not known here.
    ///
    /// - Returns: the report (products updated, assets copied, assets still failing).
    public func retryFailedAssets(
        options: IngestOptions, events: (@Sendable (TransferEvent) -> Void)? = nil,
        planned: (@Sendable (_ assets: Int, _ bytes: Int64) -> Void)? = nil, progress: ProgressHandler? = nil
    ) async throws -> IngestReport {
        let log = FailedAssetLog(stateDirectory: backend.stateDirectory)
        var report = IngestReport()
        guard !log.entries().isEmpty else { return report }
        let engine = AssetTransferEngine(configuration: options.transfer, logger: options.logger)
        // What was retried (product id, asset key), whatever the outcome: its log lines are replaced.
        var retried: Set<[String]> = []
        let journal = TransferJournal(stateDirectory: backend.stateDirectory)
        let stamps = RemoteStampCache(stateDirectory: backend.stateDirectory)
        let outcome = try await withTransaction(
            wait: options.wait, purpose: "ingest", force: options.force, progress: progress
        ) { tx in
            let entries = log.entries()
            let index = try CatalogIndex.load { try tx.read($0) }
            var pathsByID: [String: [String]] = [:]
            for item in index.items.values { pathsByID[item.id, default: []].append(item.path) }
            for container in index.containers.values { pathsByID[container.id, default: []].append(container.path) }
            let keysByProduct = Dictionary(grouping: entries, by: \.product).mapValues { Set($0.map(\.asset)) }
            // Every stored product with such an id whose asset is still a reference to its original.
            struct Wanted {
                var path: String
                var object: STACObject
                var key: String
                var request: AssetRequest
            }
            var wanted: [Wanted] = []
            for (id, keys) in keysByProduct.sorted(by: { $0.key < $1.key }) {
                for path in (pathsByID[id] ?? []).sorted() {
                    guard let bytes = try tx.read(path), let value = try? JSONValue.parse(bytes: bytes, source: path),
                        let object = try? STACObject(value, source: path)
                    else { continue }
                    for key in keys.sorted() {
                        guard let asset = object.asset(forKey: key), Self.isOriginalReference(asset.href) else {
                            continue
                        }
                        retried.insert([id, key])
                        let name = "asset \"\(key)\" of \(object.type.kindName) \"\(id)\""
                        var request = AssetRequest(name: name, source: asset.href)
                        request.expectedChecksum = asset["file:checksum"]?.stringValue
                        request.expectedSize = try? ChangeDetection.declaredSize(asset, name: name)
                        wanted.append(Wanted(path: path, object: object, key: key, request: request))
                    }
                }
            }
            // Entries whose asset is no longer a reference (re-ingested, pruned) are dropped too.
            for e in entries { retried.insert([e.product, e.asset]) }
            guard !wanted.isEmpty else { return nil }
            planned?(wanted.count, wanted.reduce(Int64(0)) { $0 + ($1.request.expectedSize ?? 0) })
            try FS.makeDirectories(tx.stagingDirectory.path)
            let requests = wanted.map(\.request)
            let reused = await journal.reuse(requests, staging: tx.stagingDirectory, engine: engine)
            let toFetch = requests.indices.filter { reused[$0] == nil }
            let fetched = await engine.fetch(
                toFetch.map { requests[$0] }, into: tx.stagingDirectory,
                events: { event in
                    if case .finished(let asset) = event { journal.record(asset) }
                    events?(event)
                })
            await journal.drain()
            var results: [Int: Result<TransferredAsset, TransferError>] = reused.mapValues { .success($0) }
            for (n, result) in zip(toFetch, fetched) { results[n] = result }
            report.assetsReused = reused.count
            // Apply, product by product (a product may have several retried assets).
            var objects: [String: STACObject] = [:]
            var order: [String] = []
            for (n, w) in wanted.enumerated() {
                guard let result = results[n] else { continue }
                switch result {
                case .failure(let error):
                    report.assetFailures.append(.init(product: w.object.id, asset: w.key, message: error.description))
                case .success(let t):
                    guard let staged = t.file else { continue }
                    tx.trackStaged(staged)
                    if objects[w.path] == nil {
                        objects[w.path] = w.object
                        order.append(w.path)
                    }
                    var object = objects[w.path] ?? w.object
                    let directory = parentDirectory(w.path)
                    var names = ReservedNames.namesTaken(byItem: object.id)
                    for file in try tx.list(under: directory) {
                        let below = file.dropFirst(directory.isEmpty ? 0 : directory.count + 1)
                        if let first = below.split(separator: "/").first {
                            names.insert(ReservedNames.folded(String(first)))
                        }
                    }
                    let fileName = ReservedNames.assetFileName(
                        DocumentWriter.proposedFileName(for: w.request.source), key: w.key, itemID: object.id,
                        used: &names)
                    tx.writeAsset(join(directory, fileName), stagedFile: staged, sha256: t.sha256, size: t.size)
                    guard var asset = object.asset(forKey: w.key) else { continue }
                    let checksum = Multihash.sha256(t.sha256)
                    asset.href = "./" + fileName
                    asset.json["file:checksum"] = .string(checksum)
                    asset.json["file:size"] = .number(JSONNumber(Int(t.size)))
                    var alternate = asset.json["alternate"]?.objectValue ?? JSONObject()
                    alternate["original"] = .object([
                        "href": .string(w.request.source), "file:checksum": .string(checksum),
                    ])
                    asset.json["alternate"] = .object(alternate)
                    object.setAsset(asset, forKey: w.key)
                    object.addExtension(ExtensionURL.file)
                    object.addExtension(ExtensionURL.alternate)
                    objects[w.path] = object
                    report.assetsCopied += 1
                    report.bytesCopied += t.size
                    if let stamp = t.remoteStamp { stamps.record(w.request.source, stamp: stamp, sha256: t.sha256) }
                }
            }
            for path in order {
                guard let object = objects[path] else { continue }
                tx.write(path, JSONValue.object(object.json).serialized())
                report.updated.append(ProductChange(id: object.id, kind: object.type.kindName, change: .updated))
            }
            if report.updated.isEmpty { return nil }
            let copied = plural(report.assetsCopied, "failed asset")
            return OperationRecord(
                operation: "ingest", summary: "retried \(copied), \(report.updated.count) updated",
                products: report.updated, trailers: [:])
        }
        report.version = outcome?.version
        if outcome != nil {
            stamps.save()
            journal.consumeUsed()
        }
        log.replace(retried: retried, with: report.assetFailures)
        return report
    }

    /// Whether an asset href is an absolute reference (what a failed copy leaves), not a copy
    /// next to the product.
    static func isOriginalReference(_ href: String) -> Bool {
        href.hasPrefix("/") || href.contains("://")
    }
}
