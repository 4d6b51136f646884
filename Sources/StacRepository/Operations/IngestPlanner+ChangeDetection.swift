import AssetTransfer
import Foundation
import STAC

/// Change detection beyond the JSON (docs/format.md, "Re-ingest"): a product is unchanged only
/// when its assets would be stored the same way with this ingest's options and their bytes are
/// those stored.
extension IngestPlanner {
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
    func wantsCopy(key: String, asset: Asset) -> Bool {
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
