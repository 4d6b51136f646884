public import AssetTransfer
import Foundation
import STAC

/// One problem `verify` found.
public struct VerifyProblem: Sendable, Codable {
    public var path: String
    public var message: String
}

/// What `verify` checked.
public struct VerifyReport: Sendable, Codable {
    public var jsonFiles = 0
    public var assets = 0
    public var bytesHashed: Int64 = 0
    public var problems: [VerifyProblem] = []
    /// Originals checked with `--origin`.
    public var originsChecked = 0
    /// How many of the problems are originals that changed or vanished (the stored copies are fine).
    public var originProblems = 0
    public var ok: Bool { problems.isEmpty }
}

extension Repository {
    /// Re-reads everything: every JSON parses as STAC, every structural link resolves, every
    /// local asset exists and matches its `file:size` and `file:checksum` (and, on git, its
    /// Git LFS pointer).
    public func verify(ref: String? = nil) throws -> VerifyReport {
        try verifyStored(ref: ref).report
    }

    /// ``verify(ref:)``, and with `origin` also re-reads every `alternate.original` href (local,
    /// http(s), s3) and checks that it still has the recorded checksum: the source may have
    /// been deleted or changed since the ingest.
    public func verify(ref: String? = nil, origin: Bool, transfer: TransferConfiguration = .init()) async throws
        -> VerifyReport
    {
        var (report, originals) = try verifyStored(ref: ref)
        guard origin, !originals.isEmpty else { return report }
        let engine = AssetTransferEngine(configuration: transfer)
        let requests = originals.map { AssetRequest(name: "the original of \($0.path)", source: $0.href) }
        let results = await engine.measure(requests)
        for (original, result) in zip(originals, results) {
            report.originsChecked += 1
            switch result {
            case .success(let t):
                if Multihash.sha256(t.sha256) != original.checksum {
                    report.originProblems += 1
                    report.problems.append(
                        .init(
                            path: original.path,
                            message:
                                "its original \(original.href) has changed (now 1220\(t.sha256), recorded \(original.checksum))"
                        ))
                }
            case .failure(let error):
                report.originProblems += 1
                report.problems.append(
                    .init(
                        path: original.path,
                        message: "its original cannot be read any more: \(withoutAssetErrorHint(error.message))"))
            }
        }
        return report
    }

    private func verifyStored(ref: String?) throws -> (
        report: VerifyReport, originals: [(path: String, href: String, checksum: String)]
    ) {
        var originals: [(path: String, href: String, checksum: String)] = []
        try recoverIfIdle()
        let snapshot = try backend.snapshot(at: ref)
        var report = VerifyReport()
        let files = Set(try snapshot.files())
        for path in files.sorted() where path.hasSuffix(".json") {
            report.jsonFiles += 1
            guard let bytes = try snapshot.read(path) else { continue }
            let object: STACObject
            do {
                object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
            } catch {
                report.problems.append(.init(path: path, message: "\(error)"))
                continue
            }
            for link in object.links where ["child", "item", "parent", "root", "collection"].contains(link.rel) {
                guard !link.href.contains("://"), !link.href.hasPrefix("/") else { continue }
                guard let target = CatalogIndex.resolveInside(link.href, from: path), files.contains(target) else {
                    report.problems.append(
                        .init(path: path, message: "its \(link.rel) link \(link.href) points at nothing"))
                    continue
                }
            }
            for (key, asset) in object.assets {
                guard !asset.href.contains("://"), !asset.href.hasPrefix("/") else { continue }
                guard let target = CatalogIndex.resolveInside(asset.href, from: path), files.contains(target) else {
                    report.problems.append(.init(path: path, message: "asset \"\(key)\" (\(asset.href)) is missing"))
                    continue
                }
                if let original = asset["alternate"]?["original"], let href = original["href"]?.stringValue,
                    let checksum = original["file:checksum"]?.stringValue, checksum.hasPrefix("1220")
                {
                    originals.append((target, href, checksum))
                }
                report.assets += 1
                let digest: (hex: String, size: Int64)
                switch try snapshot.source(target) {
                case .file(let url)?:
                    digest = try sha256OfFile(url.path)
                    if let oid = lfsOID(snapshot, target), oid != digest.hex {
                        report.problems.append(
                            .init(
                                path: target,
                                message:
                                    "the Git LFS object does not match its pointer (oid \(oid), content \(digest.hex))")
                        )
                    }
                case .bytes(let b)?:
                    digest = (sha256OfBytes(b), Int64(b.count))
                case .missingObject(let oid, _)?:
                    report.problems.append(
                        .init(path: target, message: "its Git LFS object \(oid) is missing from the store"))
                    continue
                case nil:
                    continue
                }
                report.bytesHashed += digest.size
                if let size = asset["file:size"]?.numberValue?.intValue, Int64(size) != digest.size {
                    report.problems.append(
                        .init(path: target, message: "size is \(digest.size) bytes but file:size says \(size)"))
                }
                if let checksum = asset["file:checksum"]?.stringValue, checksum.hasPrefix("1220"),
                    checksum != Multihash.sha256(digest.hex)
                {
                    report.problems.append(
                        .init(
                            path: target,
                            message: "content hashes to 1220\(digest.hex) but file:checksum says \(checksum)"))
                }
            }
        }
        return (report, originals)
    }

    private func lfsOID(_ snapshot: any CatalogSnapshot, _ path: String) -> String? {
        (snapshot as? GitSnapshot)?.lfsPointer(path)?.oid
    }
}
