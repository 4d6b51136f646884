import AssetTransfer
import Foundation
import Logging
import STAC

/// Places source products in the catalog layout, decides added/updated/unchanged, fetches the
/// assets of what changed, and writes the new JSON into the transaction.
struct IngestPlanner {
    let tx: Transaction
    let options: IngestOptions
    let engine: AssetTransferEngine
    let events: (@Sendable (TransferEvent) -> Void)?
    /// Told how many assets and bytes will be transferred, before the transfers start (progress
    /// display); bytes from `file:size`, or the size of local files.
    var onPlanned: (@Sendable (_ assets: Int, _ bytes: Int64) -> Void)?
    var index: CatalogIndex
    var report = IngestReport()
    /// SHA-256 of local originals by (inode, size, times), kept in the state directory.
    let statCache: AssetStatCache
    /// What remote originals' servers said at their last transfer (ETag, Last-Modified).
    let remoteStamps: RemoteStampCache
    /// Remote originals (fetch URLs) whose server names another version now; set before placing.
    var changedRemoteOriginals: Set<String> = []
    /// Completed downloads kept across killed or failed ingests (shared by the batches of one ingest).
    var transferJournal: TransferJournal

    /// A product to write, at its place in the repository.
    final class Planned {
        let source: SourceProduct
        let path: String
        let parentPath: String
        let change: ProductChangeKind
        /// Asset key -> transfer request (copy or measure) for assets that need bytes.
        var requests: [(key: String, request: AssetRequest, copy: Bool)] = []
        var results: [String: Result<TransferredAsset, TransferError>] = [:]
        init(source: SourceProduct, path: String, parentPath: String, change: ProductChangeKind) {
            self.source = source
            self.path = path
            self.parentPath = parentPath
            self.change = change
        }
        var directory: String { parentDirectory(path) }
    }

    var planned: [Planned] = []
    /// Containers whose links must be regenerated.
    var touchedContainers: Set<String> = []

    init(
        tx: Transaction, options: IngestOptions, engine: AssetTransferEngine,
        events: (@Sendable (TransferEvent) -> Void)?
    ) throws {
        self.tx = tx
        self.options = options
        self.engine = engine
        self.events = events
        self.index = try CatalogIndex.load { try tx.read($0) }
        self.statCache = AssetStatCache(stateDirectory: tx.backend.stateDirectory)
        self.remoteStamps = RemoteStampCache(stateDirectory: tx.backend.stateDirectory)
        self.transferJournal = TransferJournal(stateDirectory: tx.backend.stateDirectory)
    }

    // MARK: Placement

    mutating func place(_ roots: [SourceProduct]) throws {
        var seen: [String: String] = [:]  // path -> source location
        var explicitParent: String?
        if let parentID = options.parentID {
            let matches = index.containers(withID: parentID)
            if matches.isEmpty {
                throw StacRepositoryError(
                    .notFound,
                    "--parent \"\(parentID)\" names no catalog or collection in the repository; ingest that collection first or choose an existing id."
                )
            }
            if matches.count > 1 {
                throw StacRepositoryError(
                    .conflict,
                    "--parent \"\(parentID)\" matches \(matches.count) containers (\(matches.map(\.path).joined(separator: ", "))); ids must be unique to be used as a parent."
                )
            }
            explicitParent = matches[0].path
        }
        // Containers first, so that items naming a collection ingested in the same run find it.
        let ordered = roots.filter { $0.object.type != .item } + roots.filter { $0.object.type == .item }
        for root in ordered {
            let parent: String
            if let explicitParent {
                parent = explicitParent
            } else if root.object.type == .item, let collection = root.object.collectionID {
                let matches = index.containers(withID: collection).filter { $0.type == .collection }
                guard matches.count == 1 else {
                    if matches.isEmpty {
                        throw StacRepositoryError(
                            .notFound,
                            "Item \"\(root.object.id)\" names collection \"\(collection)\", which is not in the repository; ingest the collection first or pass --parent ID."
                        )
                    }
                    throw StacRepositoryError(
                        .conflict,
                        "Item \"\(root.object.id)\" names collection \"\(collection)\", which matches \(matches.count) collections; pass --parent ID."
                    )
                }
                parent = matches[0].path
            } else {
                parent = CatalogIndex.rootPath
            }
            try place(root, under: parent, seen: &seen)
        }
        try removeEmptiedLayoutCatalogs()  // layout templates (Catalog/LayoutPlacement.swift)
    }

    private mutating func place(_ product: SourceProduct, under parentPath: String, seen: inout [String: String]) throws
    {
        let object = product.object
        try validateID(object, location: product.location)
        let parentPath = try layoutParent(for: product, under: parentPath)  // layout templates
        guard let parent = index.containers[parentPath] else {
            throw StacRepositoryError(
                .internal, "The parent container \(parentPath) vanished during the ingest; run the command again.")
        }
        let path: String
        if object.type == .item {
            path = CatalogIndex.itemPath(id: object.id, parentDirectory: parent.directory)
        } else {
            path = CatalogIndex.containerPath(id: object.id, type: object.type, parentDirectory: parent.directory)
        }
        if let previous = seen[path] {
            throw StacRepositoryError(
                .conflict,
                "Two products with id \"\(object.id)\" are in this ingest under the same parent (\(shortName(previous)) and \(shortName(product.location))); give them distinct ids or ingest them separately."
            )
        }
        seen[path] = product.location
        // A product of another kind already at this place?
        let existingItem = index.items[path]
        let existingContainer = index.containers[path]
        if object.type != .item, existingContainer == nil,
            let clash = index.container(id: object.id, under: parentPath), clash.type != object.type
        {
            throw StacRepositoryError(
                .conflict,
                "\(object.type.displayName) \"\(object.id)\" would replace the \(clash.type.displayName.lowercased()) with the same id at \(clash.path); prune it first or rename the new one."
            )
        }
        let change: ProductChangeKind
        if existingItem == nil && existingContainer == nil {
            // The product's folder must not be another product's file (a collection asset named like the id).
            let folderIsAFile = ((try? tx.read(parentDirectory(path))) ?? nil) != nil
            if try folderIsAFile || tx.exists(path)
                || tx.exists(
                    parentDirectory(path) + "/" + (object.type == .item ? "collection.json" : object.id + ".json"))
            {
                throw StacRepositoryError(
                    .conflict,
                    "\(object.type.displayName) \"\(object.id)\" would be written to \(path), where the repository already holds another product; rename it or prune the other one first."
                )
            }
            change = .added
        } else {
            change = try isUnchanged(product, storedPath: path) ? .unchanged : .updated
        }
        let entry = Planned(source: product, path: path, parentPath: parentPath, change: change)
        planned.append(entry)
        let record = ProductChange(id: object.id, kind: product.kindName, change: change)
        switch change {
        case .added: report.added.append(record)
        case .updated: report.updated.append(record)
        default: report.unchanged.append(record)
        }
        if object.type == .item {
            if change == .added { index.insert(CatalogIndex.ItemEntry(id: object.id, path: path, parent: parentPath)) }
        } else if existingContainer == nil {
            index.insert(
                CatalogIndex.Container(
                    id: object.id, type: object.type, path: path, directory: parentDirectory(path), parent: parentPath,
                    children: [], items: []))
        }
        if object.type != .item { try adoptLayout(ofContainer: product, at: path, isNew: existingContainer == nil) }
        if change != .unchanged {
            touchedContainers.insert(parentPath)
            if object.type != .item { touchedContainers.insert(path) }
        }
        for child in product.children {
            try place(child, under: path, seen: &seen)
        }
    }

    private func validateID(_ object: STACObject, location: String) throws {
        do {
            try Identifier.validate(object.id, kind: object.type, source: shortName(location))
        } catch {
            throw StacRepositoryError(.invalidInput, "\(error)")
        }
    }

    func shortName(_ location: String) -> String {
        let cwd = options.workingDirectory
        if location.hasPrefix(cwd + "/") { return String(location.dropFirst(cwd.count + 1)) }
        return location
    }

    // MARK: Change detection

    /// Same `version` → unchanged; different → updated; no version: compare the JSON without
    /// what the repository itself rewrites (structural links, asset hrefs, checksums it added),
    /// then the assets' bytes. Either way the asset options must give the stored form.
    private func isUnchanged(_ product: SourceProduct, storedPath: String) throws -> Bool {
        guard let bytes = try tx.read(storedPath), let stored = try? JSONValue.parse(bytes: bytes, source: storedPath),
            let storedObject = try? STACObject(stored, source: storedPath)
        else { return false }
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

    // MARK: Assets

    /// One asset of one planned product that needs bytes: what a transfer result is keyed by.
    struct AssetTicket: Hashable {
        /// The index of the product in ``planned``.
        var product: Int
        var key: String
    }

    mutating func transferAssets() async throws {
        var copies: [(ticket: AssetTicket, request: AssetRequest)] = []
        var measures: [(ticket: AssetTicket, request: AssetRequest)] = []
        var stamps: [String: (stamp: AssetStatCache.Stamp, time: Int64)] = [:]
        for (n, p) in planned.enumerated() where p.change != .unchanged {
            for (key, asset) in p.source.object.assets {
                let href = Href.resolve(asset.href, against: p.source.location)
                let name = "asset \"\(key)\" of \(p.source.object.type.kindName) \"\(p.source.object.id)\""
                var request = AssetRequest(name: name, source: p.source.fetchSources[key] ?? href)
                request.expectedChecksum = asset["file:checksum"]?.stringValue
                request.expectedSize = try Self.declaredSize(asset, name: name)
                if case .file = Href.scheme(of: href), let stamp = AssetStatCache.Stamp(path: href) {
                    stamps[href] = (stamp, AssetStatCache.now())
                }
                let selected =
                    (options.assetKeys?.contains(key) ?? true)
                    && (options.assetRoles.map { !$0.isDisjoint(with: asset.roles) } ?? true)
                let copy = options.assetMode == .copy && selected
                if !copy && !options.checksums { continue }
                p.requests.append((key, request, copy))
                let ticket = AssetTicket(product: n, key: key)
                if copy { copies.append((ticket, request)) } else { measures.append((ticket, request)) }
            }
        }
        try FS.makeDirectories(tx.stagingDirectory.path)
        if let onPlanned {
            let bytes = (copies + measures).reduce(Int64(0)) { sum, entry in
                if let size = entry.request.expectedSize { return sum + size }
                // A local path (Href.resolve makes relative hrefs absolute): stat it.
                return sum + (entry.request.source.hasPrefix("/") ? FS.fileSize(entry.request.source) ?? 0 : 0)
            }
            onPlanned(copies.count + measures.count, bytes)
        }
        // The engine answers each list in its own order; the results are keyed by ticket here,
        // once, and looked up by ticket from then on.
        // Downloads an interrupted ingest completed are reused (TransferJournal); each new one is
        // journaled as it completes, so that a kill keeps it.
        let journal = transferJournal
        let reused = await journal.reuse(copies.map(\.request), staging: tx.stagingDirectory, engine: engine)
        for asset in reused.values.sorted(by: { $0.request.name < $1.request.name }) {
            events?(.started(asset.request, expectedBytes: asset.size))
            events?(.finished(asset))
        }
        report.assetsReused += reused.count
        let toFetch = copies.indices.filter { reused[$0] == nil }
        let forward = events
        let fetched = await engine.fetch(
            toFetch.map { copies[$0].request }, into: tx.stagingDirectory,
            events: { event in
                if case .finished(let asset) = event { journal.record(asset) }
                forward?(event)
            })
        await journal.drain()
        var copied = copies.indices.map { n -> Result<TransferredAsset, TransferError> in
            reused[n].map { .success($0) }
                ?? .failure(TransferError(kind: .cancelled, message: "The transfer was cancelled.", source: ""))
        }
        for (n, result) in zip(toFetch, fetched) { copied[n] = result }
        let measured = await engine.measure(measures.map(\.request), events: events)
        guard fetched.count == toFetch.count, measured.count == measures.count else {
            throw StacRepositoryError(
                .internal,
                "The transfer engine answered \(fetched.count + measured.count) of \(toFetch.count + measures.count) requests; run the ingest again."
            )
        }
        var results: [AssetTicket: Result<TransferredAsset, TransferError>] = [:]
        for (entry, result) in Array(zip(copies, copied)) + Array(zip(measures, measured)) {
            results[entry.ticket] = result
            guard case .success(let asset) = result else { continue }
            if let file = asset.file { tx.trackStaged(file) }
            if let s = stamps[asset.request.source] {
                statCache.record(asset.request.source, stamp: s.stamp, sha256: asset.sha256, hashTime: s.time)
            }
            if let stamp = asset.remoteStamp {
                remoteStamps.record(asset.request.source, stamp: stamp, sha256: asset.sha256)
            }
        }
        for (ticket, result) in results { planned[ticket.product].results[ticket.key] = result }
        options.logger.debug("ingest: asset stat cache: \(statCache.hits) reused, \(statCache.hashed) hashed")
        // The caches are saved by the caller once the ingest succeeded (a failed ingest leaves
        // the repository, its state directory included, byte for byte as it was).
        // Fail the whole ingest on the first failure unless the user accepts references.
        for p in planned {
            for r in p.requests {
                guard case .failure(let error) = p.results[r.key] else { continue }
                if options.onAssetError == .reference && r.copy {
                    report.assetFailures.append(
                        .init(product: p.source.object.id, asset: r.key, message: error.description))
                    p.results[r.key] = nil
                } else {
                    throw StacRepositoryError(.transfer, error.description, underlying: error)
                }
            }
        }
    }

    // MARK: Writing

    mutating func writeProducts() throws {
        for p in planned where p.change != .unchanged {
            var object = p.source.object
            // File names the product's folder already holds (ReservedNames owns the rule).
            var names = ReservedNames.namesTaken(byItem: object.id)
            if let container = index.containers[p.path] {
                for member in container.children + container.items {
                    let below = member.dropFirst(p.directory.isEmpty ? 0 : p.directory.count + 1)
                    if let first = below.split(separator: "/").first {
                        names.insert(ReservedNames.folded(String(first)))
                    }
                }
            }
            var keptFiles: Set<String> = [p.path]
            // Assets.
            var assets: [(key: String, asset: Asset)] = []
            var addedFileExtension = false
            var addedAlternate = false
            for (key, var asset) in object.assets {
                let href = Href.resolve(asset.href, against: p.source.location)
                // Copied (a staged file), measured only (no file), or kept as it was.
                let transferred: TransferredAsset? = if case .success(let t)? = p.results[key] { t } else { nil }
                if let t = transferred, let staged = t.file {
                    let name = ReservedNames.assetFileName(
                        Self.proposedFileName(for: href), key: key, itemID: object.id, used: &names)
                    let path = join(p.directory, name)
                    tx.writeAsset(path, stagedFile: staged, sha256: t.sha256, size: t.size)
                    keptFiles.insert(path)
                    let checksum = Multihash.sha256(t.sha256)
                    asset.href = "./" + name
                    asset.json["file:checksum"] = .string(checksum)
                    asset.json["file:size"] = .number(JSONNumber(Int(t.size)))
                    addedFileExtension = true
                    // A file a processor wrote into its scratch directory has no origin to point back to.
                    let fromScratch = p.source.scratchDirectory.map { href.hasPrefix($0 + "/") } ?? false
                    if !fromScratch {
                        var alternate = asset.json["alternate"]?.objectValue ?? JSONObject()
                        alternate["original"] = .object(["href": .string(href), "file:checksum": .string(checksum)])
                        asset.json["alternate"] = .object(alternate)
                        addedAlternate = true
                    }
                } else if let t = transferred {
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
                link.href = Href.withoutUserinfo(Href.resolve(link.href, against: p.source.location))
                others.append(link)
            }
            let parent = index.containers[p.parentPath]
            links.append(
                Link(
                    rel: "root", href: Href.relative(from: p.path, to: CatalogIndex.rootPath), type: "application/json")
            )
            links.append(
                Link(rel: "parent", href: Href.relative(from: p.path, to: p.parentPath), type: "application/json"))
            if object.type == .item {
                // Layout templates: a sub-catalog's items belong to the collection above it.
                if let parent = index.owningCollection(of: p.parentPath) ?? parent, parent.type == .collection {
                    object.collectionID = parent.id
                    links.append(
                        Link(
                            rel: "collection", href: Href.relative(from: p.path, to: parent.path),
                            type: "application/json"))
                } else {
                    object.json.removeValue(forKey: "collection")
                }
                object.links = links + others
                // An updated item loses the files it no longer references.
                if p.change == .updated {
                    for old in try tx.list(under: p.directory)
                    where !keptFiles.contains(old) && !isInsideChildProduct(old, itemDirectory: p.directory) {
                        tx.delete(old)
                    }
                }
                tx.write(p.path, JSONValue.object(object.json).serialized())
            } else {
                // Container: child/item links are regenerated in writeContainers.
                object.links = links + others
                if p.change == .updated, let bytes = try tx.read(p.path),
                    let stored = try? STACObject(JSONValue.parse(bytes: bytes), source: p.path)
                {
                    // Keep the existing child/item links of an updated container.
                    object.links = links + stored.links.filter { $0.rel == "child" || $0.rel == "item" } + others
                }
                tx.write(p.path, JSONValue.object(object.json).serialized())
            }
            for r in p.results.values {
                if case .success(let t) = r, t.file != nil { report.assetsCopied += 1; report.bytesCopied += t.size }
            }
        }
        try writeContainers()
    }

    private func isInsideChildProduct(_ path: String, itemDirectory: String) -> Bool {
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

    /// Regenerates `child`/`item` links of every container whose members changed.
    private mutating func writeContainers() throws {
        for path in touchedContainers.sorted() {
            guard let container = index.containers[path], let bytes = try tx.read(path) else { continue }
            // The member links the index holds, with the collection's layout recorded (layout templates).
            if let out = try index.documentWithMemberLinks(path, bytes: bytes, layout: .some(container.layout)) {
                tx.write(path, out)
            }
        }
    }
}
