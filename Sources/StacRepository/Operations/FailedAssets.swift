import Foundation

/// Assets an ingest kept as references because they could not be fetched
/// (`--on-asset-error reference`), so that `verify` can name them until a later ingest copies them.
///
/// Kept in the state directory (`failed-assets`, never committed; one line per asset:
/// `product TAB asset TAB message`). An ingest that adds or updates a product replaces that
/// product's lines with its new failures, if any; losing the file only loses the reminder, the
/// catalog itself is complete either way (the asset is an absolute href to its original).
struct FailedAssetLog {
    static let header = "stac-repository failed-assets v1"

    struct Entry: Equatable, Sendable {
        var product: String
        var asset: String
        var message: String
    }

    let file: String

    init(stateDirectory: URL) {
        file = stateDirectory.appendingPathComponent("failed-assets").path
    }

    /// The recorded failures, in product order.
    func entries() -> [Entry] {
        guard let bytes = (try? FS.read(file)) ?? nil else { return [] }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == Substring(Self.header) else { return [] }
        return lines.dropFirst().compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            return f.count == 3 ? Entry(product: f[0], asset: f[1], message: f[2]) : nil
        }
    }

    /// Replaces the lines of the products this ingest wrote with its failures.
    func update(with report: IngestReport) {
        let written = Set((report.added + report.updated).map(\.id))
        guard !written.isEmpty || !report.assetFailures.isEmpty else { return }
        var kept = entries().filter { !written.contains($0.product) }
        let clean = { (s: String) in
            s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        kept += report.assetFailures.map {
            Entry(product: clean($0.product), asset: clean($0.asset), message: clean($0.message))
        }
        if kept.isEmpty {
            try? FileManager.default.removeItem(atPath: file)
            return
        }
        let text =
            ([Self.header] + kept.map { "\($0.product)\t\($0.asset)\t\($0.message)" }).joined(separator: "\n") + "\n"
        try? FS.makeDirectories((file as NSString).deletingLastPathComponent)
        try? FS.writeAtomically(Array(text.utf8), to: file)
    }
}

extension FailedAssetLog {
    /// `ingest --retry-failed`: replaces the lines of the (product, asset) pairs it retried with
    /// the failures of the retry.
    func replace(retried: Set<[String]>, with failures: [IngestReport.AssetFailure]) {
        let clean = { (s: String) in
            s.replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "\n", with: " ")
        }
        var kept = entries().filter { !retried.contains([$0.product, $0.asset]) }
        kept += failures.map { Entry(product: clean($0.product), asset: clean($0.asset), message: clean($0.message)) }
        write(kept)
    }

    func write(_ kept: [Entry]) {
        if kept.isEmpty {
            try? FileManager.default.removeItem(atPath: file)
            return
        }
        let text =
            ([Self.header] + kept.map { "\($0.product)\t\($0.asset)\t\($0.message)" }).joined(separator: "\n") + "\n"
        try? FS.makeDirectories((file as NSString).deletingLastPathComponent)
        try? FS.writeAtomically(Array(text.utf8), to: file)
    }
}

extension Repository {
    /// Products whose assets are references because their copy failed (see ``FailedAssetLog``).
    func failedAssetReferences() -> [VerifyProblem] {
        FailedAssetLog(stateDirectory: backend.stateDirectory).entries().map {
            var reason = withoutAssetErrorHint($0.message)
            if reason.hasSuffix(".") { reason.removeLast() }
            return VerifyProblem(
                path: $0.product,
                message:
                    "asset \"\($0.asset)\" is kept as a reference because its copy failed (\(reason)); ingest the product again or run `ingest --retry-failed` to retry it"
            )
        }
    }
}
