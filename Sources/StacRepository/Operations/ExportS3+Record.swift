import Foundation
import STAC

/// Where an `export s3://…` put one asset.
public struct S3ExportedAsset: Sendable, Codable, Hashable {
    /// The asset's repository-relative path.
    public var path: String
    /// Its new location: `s3://bucket/prefix/path`, or the `--href-base` URL.
    public var href: String
    /// The SHA-256 (hex) of the bytes there.
    public var sha256: String
}

extension Repository {
    /// Records the new home of exported assets: a new commit (through the repository's normal
    /// transaction) in which each asset whose bytes went to the bucket gains
    /// `alternate.<name>` with the new href and its `file:checksum`.
    ///
    /// Only assets of the current version whose `file:checksum` is the exported SHA-256 (or that
    /// declare none) are recorded, so an export of an older `--ref` never labels newer bytes.
    ///
    /// - Returns: how many assets were recorded and the new version id (nil when every entry
    ///   was already there: nothing is committed).
    /// - Throws: ``StacRepositoryError`` `.locked` when another writer holds the lock.
    public func recordExport(
        _ assets: [S3ExportedAsset], name: String, destination: String, wait: Bool = false
    ) async throws -> (recorded: Int, version: String?) {
        let byPath = Dictionary(assets.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var recorded = 0
        let outcome = try await withTransaction(wait: wait, purpose: "export") { tx in
            let index = try CatalogIndex.load { try tx.read($0) }
            var products: [ProductChange] = []
            for path in Set(index.containers.keys).union(index.items.keys).sorted() {
                guard let bytes = try tx.read(path) else { continue }
                var object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
                var changed = 0
                object.assets = object.assets.map { entry in
                    var asset = entry.asset
                    guard let target = CatalogIndex.resolveInside(asset.href, from: path),
                        let exported = byPath[target]
                    else { return entry }
                    let checksum = "1220" + exported.sha256
                    if let declared = asset["file:checksum"]?.stringValue, declared != checksum { return entry }
                    var alternate = asset["alternate"]?.objectValue ?? JSONObject()
                    let location: JSONObject = ["href": .string(exported.href), "file:checksum": .string(checksum)]
                    if alternate[name]?.objectValue == location { return entry }
                    alternate[name] = .object(location)
                    asset["alternate"] = .object(alternate)
                    changed += 1
                    return (entry.key, asset)
                }
                guard changed > 0 else { continue }
                object.addExtension(ExtensionURL.alternate)
                tx.write(path, object.serialized())
                recorded += changed
                products.append(ProductChange(id: object.id, kind: object.type.kindName, change: .updated))
            }
            guard !products.isEmpty else { return nil }
            return OperationRecord(
                operation: "export",
                summary: "\(plural(recorded, "asset")) recorded at \(destination) as alternate.\(name)",
                products: products, trailers: ["Stac-Repository-Destination": destination])
        }
        return (recorded, outcome?.version)
    }
}
