import AssetTransfer
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
    public var ok: Bool { problems.isEmpty }
}

extension Repository {
    /// Re-reads everything: every JSON parses as STAC, every structural link resolves, every
    /// local asset exists and matches its `file:size` and `file:checksum` (and, on git, its
    /// Git LFS pointer).
    public func verify(ref: String? = nil) throws -> VerifyReport {
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
                    report.problems.append(.init(path: path, message: "its \(link.rel) link \(link.href) points at nothing"))
                    continue
                }
            }
            for (key, asset) in object.assets {
                guard !asset.href.contains("://"), !asset.href.hasPrefix("/") else { continue }
                guard let target = CatalogIndex.resolveInside(asset.href, from: path), files.contains(target) else {
                    report.problems.append(.init(path: path, message: "asset \"\(key)\" (\(asset.href)) is missing"))
                    continue
                }
                report.assets += 1
                let digest: (hex: String, size: Int64)
                switch try snapshot.source(target) {
                case .file(let url)?:
                    digest = try sha256OfFile(url.path)
                    if let oid = lfsOID(snapshot, target), oid != digest.hex {
                        report.problems.append(.init(path: target, message: "the Git LFS object does not match its pointer (oid \(oid), content \(digest.hex))"))
                    }
                case .bytes(let b)?:
                    digest = (sha256OfBytes(b), Int64(b.count))
                case .missingObject(let oid, _)?:
                    report.problems.append(.init(path: target, message: "its Git LFS object \(oid) is missing from the store"))
                    continue
                case nil:
                    continue
                }
                report.bytesHashed += digest.size
                if let size = asset["file:size"]?.numberValue?.intValue, Int64(size) != digest.size {
                    report.problems.append(.init(path: target, message: "size is \(digest.size) bytes but file:size says \(size)"))
                }
                if let checksum = asset["file:checksum"]?.stringValue, checksum.hasPrefix("1220"), checksum != Multihash.sha256(digest.hex) {
                    report.problems.append(.init(path: target, message: "content hashes to 1220\(digest.hex) but file:checksum says \(checksum)"))
                }
            }
        }
        return report
    }

    private func lfsOID(_ snapshot: any CatalogSnapshot, _ path: String) -> String? {
        (snapshot as? GitSnapshot)?.lfsPointer(path)?.oid
    }
}
