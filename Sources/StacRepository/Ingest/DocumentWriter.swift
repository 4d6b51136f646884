import AssetTransfer
import Foundation
import STAC

/// Stage 5 of an ingest (docs/architecture.md): the documents and asset files of the added and
/// updated products, and then the member links of every container whose members changed. Takes
/// the detected products, the transfer outcome and the catalog structure; its output is edits
/// (``IngestEdits``), which the commit stage applies to the transaction.
struct DocumentWriter {
    /// Assets copied into the repository and their bytes.
    private(set) var assetsCopied = 0
    private(set) var bytesCopied: Int64 = 0

    /// Writes every added or updated product: asset files from their staged copies (safe,
    /// unique names in the product's folder), `file:checksum`/`file:size` and
    /// `alternate.original` recorded, structural links made the repository's, other links
    /// absolute; an updated item loses the files it no longer references.
    mutating func writeProducts(
        _ products: [DetectedProduct], transferred: TransferOutcome, index: CatalogIndex, edits: inout IngestEdits
    ) throws {
        for (n, p) in products.enumerated() where p.change != .unchanged {
            var object = p.object
            let path = p.placed.path
            let directory = p.placed.directory
            let location = p.source.location
            // File names the product's folder already holds (ReservedNames owns the rule).
            var names = ReservedNames.namesTaken(byItem: object.id)
            if let container = index.containers[path] {
                for member in container.children + container.items {
                    let below = member.dropFirst(directory.isEmpty ? 0 : directory.count + 1)
                    if let first = below.split(separator: "/").first {
                        names.insert(ReservedNames.folded(String(first)))
                    }
                }
            }
            var keptFiles: Set<String> = [path]
            // Assets.
            var assets: [(key: String, asset: Asset)] = []
            var addedFileExtension = false
            var addedAlternate = false
            for (key, var asset) in object.assets {
                let href = Href.resolve(asset.href, against: location)
                // Copied (a staged file), measured only (no file), or kept as it was.
                let transferredAsset = transferred.assets[AssetTicket(product: n, key: key)]
                if let t = transferredAsset, let staged = t.file {
                    let name = ReservedNames.assetFileName(
                        Self.proposedFileName(for: href), key: key, itemID: object.id, used: &names)
                    let assetPath = join(directory, name)
                    edits.writeAsset(assetPath, stagedFile: staged, sha256: t.sha256, size: t.size)
                    keptFiles.insert(assetPath)
                    let checksum = Multihash.sha256(t.sha256)
                    asset.href = "./" + name
                    asset.json["file:checksum"] = .string(checksum)
                    asset.json["file:size"] = .number(JSONNumber(Int(t.size)))
                    addedFileExtension = true
                    assetsCopied += 1
                    bytesCopied += t.size
                    // A file a processor wrote into its scratch directory has no origin to point back to.
                    let fromScratch = p.source.scratchDirectory.map { href.hasPrefix($0 + "/") } ?? false
                    if !fromScratch {
                        var alternate = asset.json["alternate"]?.objectValue ?? JSONObject()
                        alternate["original"] = .object(["href": .string(href), "file:checksum": .string(checksum)])
                        asset.json["alternate"] = .object(alternate)
                        addedAlternate = true
                    }
                } else if let t = transferredAsset {
                    asset.href = href
                    asset.json["file:checksum"] = .string(Multihash.sha256(t.sha256))
                    asset.json["file:size"] = .number(JSONNumber(Int(t.size)))
                    addedFileExtension = true
                } else {
                    asset.href = href
                }
                assets.append((key, asset))
            }
            if !assets.isEmpty || object.json["assets"] != nil { object.assets = assets }
            if addedFileExtension { object.addExtension(ExtensionURL.file) }
            if addedAlternate { object.addExtension(ExtensionURL.alternate) }
            // Links: structural ones are the repository's; others made absolute.
            var links: [Link] = []
            var others: [Link] = []
            for var link in object.links where !structuralRels.contains(link.rel) {
                // Never store userinfo, even one the source location carries (--allow-userinfo).
                link.href = Href.withoutUserinfo(Href.resolve(link.href, against: location))
                others.append(link)
            }
            let parentPath = p.placed.parentPath
            let parent = index.containers[parentPath]
            links.append(
                Link(rel: "root", href: Href.relative(from: path, to: CatalogIndex.rootPath), type: "application/json"))
            links.append(Link(rel: "parent", href: Href.relative(from: path, to: parentPath), type: "application/json"))
            if object.type == .item {
                // Layout templates: a sub-catalog's items belong to the collection above it.
                if let parent = index.owningCollection(of: parentPath) ?? parent, parent.type == .collection {
                    object.collectionID = parent.id
                    links.append(
                        Link(
                            rel: "collection", href: Href.relative(from: path, to: parent.path),
                            type: "application/json"))
                } else {
                    object.json.removeValue(forKey: "collection")
                }
                object.links = links + others
                // An updated item loses the files it no longer references.
                if p.change == .updated {
                    for old in try edits.list(under: directory)
                    where !keptFiles.contains(old) && !Self.isInsideChildProduct(old, itemDirectory: directory) {
                        edits.delete(old)
                    }
                }
            } else {
                // Container: child/item links are regenerated by writeContainerLinks; an updated
                // container keeps its existing ones until then.
                let members = p.stored?.links.filter { $0.rel == "child" || $0.rel == "item" } ?? []
                object.links = links + members + others
            }
            edits.write(path, JSONValue.object(object.json).serialized())
        }
    }

    /// Regenerates the `child`/`item` links of every container in `touched` from the catalog
    /// structure, with a collection's layout recorded; a container whose bytes would not change
    /// is not written.
    func writeContainerLinks(touched: Set<String>, index: CatalogIndex, edits: inout IngestEdits) throws {
        for path in touched.sorted() {
            guard let container = index.containers[path], let bytes = try edits.read(path) else { continue }
            if let out = try index.documentWithMemberLinks(path, bytes: bytes, layout: .some(container.layout)) {
                edits.write(path, out)
            }
        }
    }

    private static func isInsideChildProduct(_ path: String, itemDirectory: String) -> Bool {
        // Files in sub-directories of an item directory are not the item's (never written by us).
        path.dropFirst(itemDirectory.count + 1).contains("/")
    }

    /// The file name an asset gets on its own, without other assets around (see
    /// ``ReservedNames/assetFileName(_:key:itemID:used:)``, which owns the rule).
    static func fileName(for href: String, key: String) -> String {
        var used: Set<String> = []
        return ReservedNames.assetFileName(proposedFileName(for: href), key: key, itemID: "", used: &used)
    }

    /// The last path component of an href, percent-decoded: the name an asset would like to have.
    static func proposedFileName(for href: String) -> String {
        var path = href
        if Href.scheme(of: href) != .file {
            // The path of a URL: after "scheme://host", before "?" or "#".
            if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<q]) }
            if let r = path.range(of: "://") {
                let afterScheme = path[r.upperBound...]
                path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? ""
            }
        }
        let last = path.hasSuffix("/") ? "" : String(path.split(separator: "/").last ?? "")
        return last.removingPercentEncoding ?? last
    }
}
