import AssetTransfer
import Foundation
import STAC

/// A placed product with what this ingest does to it.
struct DetectedProduct {
    let placed: PlacedProduct
    let change: ProductChangeKind
    /// The stored document of an updated container (its member links are kept); nil for items
    /// and new products.
    let stored: STACObject?

    var source: SourceProduct { placed.source }
    var object: STACObject { placed.source.object }
}

/// Stage 3 of an ingest (docs/architecture.md, docs/format.md "Re-ingest"): added, updated or
/// unchanged. A product is unchanged only when its JSON is the stored one (less what the
/// repository itself rewrites), its assets would be stored the same way with this ingest's
/// options, and their bytes are those stored. Each stored document is read once, through
/// ``StoredDocuments``.
struct ChangeDetection {
    let options: IngestOptions
    /// SHA-256 of local originals by (inode, size, times).
    let statCache: AssetStatCache
    /// What remote originals' servers said at their last transfer.
    let remoteStamps: RemoteStampCache
    /// Remote originals (fetch URLs) whose server names another version now.
    let changedRemoteOriginals: Set<String>

    /// The change of every placed product, in placement order.
    func detect(_ placed: [PlacedProduct], stored: StoredDocuments) throws -> [DetectedProduct] {
        try placed.map { p in
            guard p.existed else { return DetectedProduct(placed: p, change: .added, stored: nil) }
            let isItem = p.object.type == .item
            let storedObject = try stored.object(p.path, keep: !isItem)
            let change: ProductChangeKind =
                storedObject.map { isUnchanged(p.source, stored: $0, storedPath: p.path) } == true
                ? .unchanged : .updated
            return DetectedProduct(placed: p, change: change, stored: isItem ? nil : storedObject)
        }
    }

    /// Same `version` → unchanged; different → updated; no version: compare the JSON without
    /// what the repository itself rewrites (structural links, asset hrefs, checksums it added),
    /// then the assets' bytes. Either way the asset options must give the stored form.
    func isUnchanged(_ product: SourceProduct, stored storedObject: STACObject, storedPath: String) -> Bool {
        let newVersion = Self.version(of: product.object)
        let oldVersion = Self.version(of: storedObject)
        if let newVersion {
            return newVersion == oldVersion
                && assetOptionsUnchanged(product, stored: storedObject, storedPath: storedPath)
        }
        let a = Self.normalized(product.object, location: product.location, stored: false)
        let b = Self.normalized(storedObject, location: nil, stored: true)
        guard a == b else { return false }
        return assetOptionsUnchanged(product, stored: storedObject, storedPath: storedPath)
            && assetBytesUnchanged(product, stored: storedObject)
    }

    static func version(of object: STACObject) -> String? {
        if object.type == .item { return object.json["properties"]?["version"]?.stringValue }
        return object.json["version"]?.stringValue
    }

    static func normalized(_ object: STACObject, location: String?, stored: Bool) -> JSONValue {
        var o = object.json
        o.removeValue(forKey: "collection")
        o.removeValue(forKey: LayoutTemplate.field)  // the repository's record of the layout
        if var links = o["links"]?.arrayValue {
            links = links.compactMap { link in
                guard var l = link.objectValue, let rel = l["rel"]?.stringValue, !structuralRels.contains(rel) else {
                    return nil
                }
                if let location, let href = l["href"]?.stringValue {
                    l["href"] = .string(Href.withoutUserinfo(Href.resolve(href, against: location)))
                }
                return .object(l)
            }
            o["links"] = .array(links)
        }
        if var ext = o["stac_extensions"]?.arrayValue {
            ext.removeAll { $0.stringValue == ExtensionURL.file || $0.stringValue == ExtensionURL.alternate }
            // The repository may have created the array: an empty one equals none.
            if ext.isEmpty { o.removeValue(forKey: "stac_extensions") } else { o["stac_extensions"] = .array(ext) }
        }
        if let assets = o["assets"]?.objectValue {
            var out = JSONObject()
            for (key, value) in assets {
                guard var a = value.objectValue else { out[key] = value; continue }
                if stored, let original = a["alternate"]?["original"]?["href"]?.stringValue {
                    a["href"] = .string(original)
                } else if let location, let href = a["href"]?.stringValue {
                    a["href"] = .string(Href.resolve(href, against: location))
                }
                a.removeValue(forKey: "file:checksum")
                a.removeValue(forKey: "file:size")
                if var alt = a["alternate"]?.objectValue {
                    alt.removeValue(forKey: "original")
                    if alt.isEmpty { a.removeValue(forKey: "alternate") } else { a["alternate"] = .object(alt) }
                }
                out[key] = .object(a)
            }
            o["assets"] = .object(out)
        }
        return .object(o)
    }

    /// Whether this ingest's asset options (copy or reference, `--asset-keys`, `--asset-roles`,
    /// `--no-checksum`) give every asset the form it has in `stored`. An asset kept as a
    /// reference after a failed copy (`--on-asset-error reference`) differs from a copy, so the
    /// next copy ingest retries it.
    func assetOptionsUnchanged(_ product: SourceProduct, stored: STACObject, storedPath: String) -> Bool {
        for (key, asset) in product.object.assets {
            guard let storedAsset = stored.asset(forKey: key) else { return false }
            let copy = wantsCopy(key: key, asset: asset)
            let storedIsCopy = CatalogIndex.resolveInside(storedAsset.href, from: storedPath) != nil
            if copy != storedIsCopy { return false }
            if !copy {
                let expectsChecksum = options.checksums || asset["file:checksum"] != nil
                if expectsChecksum != (storedAsset["file:checksum"] != nil) { return false }
            }
        }
        return true
    }

    /// Whether the ingest options copy this asset into the repository.
    func wantsCopy(key: String, asset: Asset) -> Bool { Self.wantsCopy(key: key, asset: asset, options: options) }

    /// Whether `options` copy this asset into the repository.
    static func wantsCopy(key: String, asset: Asset, options: IngestOptions) -> Bool {
        let selected =
            (options.assetKeys?.contains(key) ?? true)
            && (options.assetRoles.map { !$0.isDisjoint(with: asset.roles) } ?? true)
        return options.assetMode == .copy && selected
    }

    /// Whether every asset's bytes are still the stored ones: a changed declared `file:checksum`
    /// or `file:size` is a change; a local original is compared by SHA-256 through the stat
    /// cache (read again only when its size, times or inode changed); a remote original by its
    /// server's ETag / Last-Modified / size (``RemoteStampCache``).
    func assetBytesUnchanged(_ product: SourceProduct, stored: STACObject) -> Bool {
        for (key, asset) in product.object.assets {
            guard let storedAsset = stored.asset(forKey: key) else { return false }
            let storedDigest = storedAsset["file:checksum"]?.stringValue.flatMap(Multihash.parse)
            let storedSize = storedAsset["file:size"]?.numberValue.flatMap { Int64($0.literal) }
            if let declared = asset["file:checksum"]?.stringValue {
                let parsed = Multihash.parse(declared)
                if let parsed, let storedDigest, parsed.algorithm == storedDigest.algorithm,
                    parsed.digestHex != storedDigest.digestHex
                {
                    return false
                }
            }
            if let declared = asset["file:size"]?.numberValue.flatMap({ Int64($0.literal) }), let storedSize,
                declared != storedSize
            {
                return false
            }
            let href = Href.resolve(asset.href, against: product.location)
            // A remote original is compared by what its server says of its version (one HEAD,
            // RemoteStampCache): changed, gone, or recorded for other bytes than those stored.
            guard case .file = Href.scheme(of: href) else {
                let source = product.fetchSources[key] ?? href
                if changedRemoteOriginals.contains(source) { return false }
                if let recorded = remoteStamps.entry(source), let storedDigest, storedDigest.algorithm == .sha2_256,
                    recorded.sha256 != storedDigest.digestHex
                {
                    return false
                }
                continue
            }
            guard let storedDigest, storedDigest.algorithm == .sha2_256 else {
                // Nothing recorded to compare bytes with (`--no-checksum`): the size still tells.
                if let storedSize, let size = FS.fileSize(href), size != storedSize { return false }
                continue
            }
            // A missing original is a change: the transfer then says what is wrong.
            guard let now = statCache.digest(of: href) else { return false }
            if now.sha256 != storedDigest.digestHex || (storedSize.map { $0 != now.size } ?? false) { return false }
        }
        return true
    }

    /// The declared `file:size` of an asset as a byte count.
    /// - Throws: ``StacRepositoryError`` `.invalidInput` when it is not a whole number from 0 to
    ///   2^63 − 1 (for example an oversized literal such as 12345678901234567890123).
    static func declaredSize(_ asset: Asset, name: String) throws -> Int64? {
        guard let value = asset["file:size"] else { return nil }
        if let number = value.numberValue {
            if let size = Int64(number.literal), size >= 0 { return size }
            if let d = Double(number.literal), d >= 0, d == d.rounded(), d < 9.2e18 { return Int64(d) }
        }
        let text: String =
            switch value {
            case .number(let n): n.literal
            case .string(let s): "\"\(s)\""
            default: "\(value)"
            }
        throw StacRepositoryError(
            .invalidInput,
            "The \(name) declares \"file:size\": \(text), which is not a byte count (a whole number from 0 to 9223372036854775807); correct or remove it and ingest again."
        )
    }
}
