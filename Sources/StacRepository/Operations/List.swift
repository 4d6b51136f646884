import Foundation
public import STAC

/// One product of ``Repository/list(under:type:ref:)``.
public struct ProductListing: Sendable, Codable, Equatable {
    /// The product's id.
    public var id: String
    /// "item", "collection" or "catalog".
    public var type: String
    /// The id of the catalog or collection holding it (nil for the root catalog).
    public var parent: String?
    /// Its JSON file, repository-relative.
    public var path: String
    /// How many assets it declares.
    public var assets: Int
    /// Its `version` field, if any.
    public var version: String?
    /// Its `properties.datetime` (items), if any.
    public var datetime: String?
}

extension Repository {
    /// The products the repository holds at `ref` (nil: the current version), in path order:
    /// everything, or only what lies under the product `parent` (an id, or `PARENT-ID/ID`),
    /// optionally of one type.
    ///
    /// Reads the catalog structure and each listed product's JSON, never an asset's bytes.
    /// - Throws: ``StacRepositoryError`` for an unknown `parent` or `ref`.
    public func list(under parent: String? = nil, type: STACType? = nil, ref: String? = nil) throws
        -> [ProductListing]
    {
        if ref == nil { try recoverIfIdle() }
        let snapshot = try backend.snapshot(at: ref)
        let index = try snapshot.index()
        // Tree order: each container, then its items, then its sub-containers.
        func ordered(_ container: String) -> [String] {
            guard let c = index.containers[container] else { return [] }
            return [container] + c.items.sorted() + c.children.sorted().flatMap { ordered($0) }
        }
        var paths: [String]
        if let parent {
            let product = try resolveProduct(parent, in: index, allowRoot: true)
            guard product.kind != .item else {
                throw StacRepositoryError(
                    .invalidInput,
                    "\"\(parent)\" is an item, which holds no products; give a catalog or collection id (see `stac-repository list`)."
                )
            }
            paths = Array(ordered(product.path).dropFirst())
        } else {
            paths = ordered(CatalogIndex.rootPath)
        }
        var out: [ProductListing] = []
        for path in paths {
            let kind: STACType
            let parentPath: String?
            let id: String
            if let c = index.containers[path] {
                kind = c.type
                parentPath = c.parent
                id = c.id
            } else if let i = index.items[path] {
                kind = .item
                parentPath = i.parent
                id = i.id
            } else {
                continue
            }
            if let type, kind != type { continue }
            var entry = ProductListing(
                id: id, type: kind.kindName, parent: parentPath.flatMap { index.containers[$0]?.id }, path: path,
                assets: 0)
            if let bytes = try snapshot.read(path), let object = try? JSONValue.parse(bytes: bytes).objectValue {
                entry.assets = object["assets"]?.objectValue?.count ?? 0
                entry.version = object["version"]?.stringValue
                entry.datetime = object["properties"]?["datetime"]?.stringValue
            }
            out.append(entry)
        }
        return out
    }

    /// The stored JSON of one product at `ref` (nil: the current version), byte for byte.
    /// - Throws: ``StacRepositoryError`` `.notFound` for an unknown id, `.conflict` for an id
    ///   used more than once (name it as `PARENT-ID/ID`).
    public func show(_ id: String, ref: String? = nil) throws -> [UInt8] {
        if ref == nil { try recoverIfIdle() }
        let snapshot = try backend.snapshot(at: ref)
        let product = try resolveProduct(id, in: snapshot.index(), allowRoot: true)
        guard let bytes = try snapshot.read(product.path) else {
            throw StacRepositoryError(
                .storage, "The stored file \(product.path) is missing; restore it with `rollback` or from a backup.")
        }
        return bytes
    }
}
