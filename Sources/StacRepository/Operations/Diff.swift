import Foundation
import STAC

/// What changed for one product between two versions.
public struct ProductDiff: Sendable, Codable {
    public var id: String
    public var kind: String
    public var path: String
    public var change: ProductChangeKind
    /// Every field whose value differs (updated products), as a dotted path down to the value
    /// that changed: `properties.custom:note`, `assets.data.alternate.original.href`; an array
    /// that differs is named as a whole (`bbox`), and so are the links (`links`).
    public var changedFields: [String] = []
    /// Assets whose `file:checksum` (or href) differs: key -> (old, new).
    public var changedAssets: [AssetChange] = []

    public struct AssetChange: Sendable, Codable {
        public var key: String
        public var old: String?
        public var new: String?
    }
}

extension Repository {
    /// Products added, updated and removed between two versions, in STAC terms.
    ///
    /// On a versioned backend this costs O(changed paths): the backend names the paths that
    /// differ (git: a tree diff, which skips identical subtrees) and only those documents are read.
    public func diff(from a: String, to b: String) throws -> [ProductDiff] {
        try recoverIfIdle()
        let old = try backend.snapshot(at: a)
        let new = try backend.snapshot(at: b)
        if let versioned = backend.versioning {
            return try changedProducts(
                versioned.changedPaths(from: versioned.resolveVersion(a), to: versioned.resolveVersion(b)), old, new)
        }
        let oldIndex = try old.index()
        let newIndex = try new.index()
        func products(_ index: CatalogIndex) -> [String: (String, String)] {
            var out: [String: (String, String)] = [:]
            for (path, c) in index.containers { out[path] = (c.id, c.type.kindName) }
            for (path, i) in index.items { out[path] = (i.id, "item") }
            return out
        }
        let before = products(oldIndex)
        let after = products(newIndex)
        var result: [ProductDiff] = []
        for path in Set(before.keys).union(after.keys).sorted() {
            switch (before[path], after[path]) {
            case (nil, let n?):
                result.append(ProductDiff(id: n.0, kind: n.1, path: path, change: .added))
            case (let o?, nil):
                result.append(ProductDiff(id: o.0, kind: o.1, path: path, change: .removed))
            case (let o?, _?):
                let ob = try old.read(path) ?? []
                let nb = try new.read(path) ?? []
                if ob == nb { continue }
                var d = ProductDiff(id: o.0, kind: o.1, path: path, change: .updated)
                if let ov = try? JSONValue.parse(bytes: ob).objectValue,
                    let nv = try? JSONValue.parse(bytes: nb).objectValue
                {
                    d.changedFields = Self.changedFields(ov, nv)
                    d.changedAssets = Self.changedAssets(ov, nv)
                }
                result.append(d)
            default:
                continue
            }
        }
        return result
    }

    /// The products among `paths`: STAC documents (not JSON-named assets), typed and named by
    /// their own content.
    private func changedProducts(
        _ paths: [VersionedPathChange], _ old: any CatalogSnapshot, _ new: any CatalogSnapshot
    ) throws -> [ProductDiff] {
        func product(_ bytes: [UInt8]?, _ path: String) -> (id: String, kind: String, json: JSONObject)? {
            guard let bytes, let value = try? JSONValue.parse(bytes: bytes, source: path),
                let object = try? STACObject(value, source: path), let json = value.objectValue
            else { return nil }
            return (object.id, object.type.kindName, json)
        }
        var result: [ProductDiff] = []
        for change in paths.sorted(by: { $0.path < $1.path }) where change.path.hasSuffix(".json") {
            let path = change.path
            if try old.isStoredAsAsset(path) || new.isStoredAsAsset(path) { continue }
            let before = change.kind == .added ? nil : product(try old.read(path), path)
            let after = change.kind == .deleted ? nil : product(try new.read(path), path)
            switch (before, after) {
            case (nil, let n?):
                result.append(ProductDiff(id: n.id, kind: n.kind, path: path, change: .added))
            case (let o?, nil):
                result.append(ProductDiff(id: o.id, kind: o.kind, path: path, change: .removed))
            case (let o?, let n?):
                var d = ProductDiff(id: o.id, kind: o.kind, path: path, change: .updated)
                d.changedFields = Self.changedFields(o.json, n.json)
                d.changedAssets = Self.changedAssets(o.json, n.json)
                result.append(d)
            default:
                continue
            }
        }
        return result
    }

    static func changedFields(_ a: JSONObject, _ b: JSONObject) -> [String] {
        var out: [String] = []
        func walk(_ x: JSONObject, _ y: JSONObject, prefix: String) {
            for key in Set(x.keys).union(y.keys).sorted() where x[key] != y[key] {
                let path = prefix + key
                if path != "links", let ox = x[key]?.objectValue, let oy = y[key]?.objectValue {
                    walk(ox, oy, prefix: path + ".")
                } else {
                    out.append(path)
                }
            }
        }
        walk(a, b, prefix: "")
        return out
    }

    static func changedAssets(_ a: JSONObject, _ b: JSONObject) -> [ProductDiff.AssetChange] {
        let aa = a["assets"]?.objectValue ?? JSONObject()
        let bb = b["assets"]?.objectValue ?? JSONObject()
        var out: [ProductDiff.AssetChange] = []
        for key in Set(aa.keys).union(bb.keys).sorted() {
            let x = aa[key].map { $0["file:checksum"]?.stringValue ?? $0["href"]?.stringValue ?? "" }
            let y = bb[key].map { $0["file:checksum"]?.stringValue ?? $0["href"]?.stringValue ?? "" }
            if x != y { out.append(.init(key: key, old: x, new: y)) }
        }
        return out
    }

    /// The operations, newest first, optionally only those touching `product`.
    public func history(limit: Int? = nil, product: String? = nil) throws -> [HistoryEntry] {
        try recoverIfIdle()
        guard let product else { return try backend.history(limit: limit) }
        var out = try backend.history(limit: nil).filter { $0.record.products.contains { $0.id == product } }
        if let limit { out = Array(out.prefix(limit)) }
        return out
    }
}
