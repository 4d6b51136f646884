import Foundation
import STAC

/// What `relayout` did.
public struct RelayoutReport: Sendable, Codable {
    public var collection: String
    /// The new template; nil: flat.
    public var layout: String?
    public var previousLayout: String?
    public var items = 0
    public var itemsMoved = 0
    public var catalogsCreated = 0
    public var catalogsRemoved = 0
    /// The new version (commit id or operation number); nil when nothing changed.
    public var version: String?
}

extension Repository {
    /// Gives a collection another layout template (nil: flat) in one transaction: its items move
    /// to their new folders (a git move: same Git LFS objects, new tree paths; asset hrefs are
    /// relative to the item's folder, which moves whole), sub-catalogs are created and removed
    /// and every link list is recomputed.
    ///
    /// - Throws: ``StacRepositoryError`` `.usage` for a template that does not parse (nothing
    ///   is locked or changed), `.notFound` for an unknown collection.
    public func relayout(
        _ collectionID: String, layout: String?, wait: Bool = false, force: Bool = false,
        progress: ProgressHandler? = nil
    ) async throws -> RelayoutReport {
        let template = try layout.map { try LayoutTemplate(parsing: $0) }
        var report = RelayoutReport(collection: collectionID, layout: template?.text)
        let outcome = try await withTransaction(wait: wait, purpose: "relayout", force: force, progress: progress) {
            tx in
            // Reads and tree lookups are libgit2 work: on a thread of their own.
            let planned = try await DedicatedThread.run("stac-repository relayout") {
                var report = RelayoutReport(collection: collectionID, layout: template?.text)
                let record = try self.planRelayout(collectionID, template: template, tx: tx, report: &report)
                return (record, report)
            }
            report = planned.1
            return planned.0
        }
        report.version = outcome?.version
        return report
    }

    private struct MovingItem {
        var id: String
        var oldPath: String
        var newPath: String
        var segments: [String]
        var object: STACObject
        var files: [String]
    }

    private func planRelayout(
        _ collectionID: String, template: LayoutTemplate?, tx: Transaction, report: inout RelayoutReport
    ) throws -> OperationRecord? {
        var index = try CatalogIndex.load { try tx.read($0) }
        let matches = index.containers(withID: collectionID).filter { $0.type == .collection }
        if matches.isEmpty {
            throw StacRepositoryError(
                .notFound,
                "No collection \"\(collectionID)\" is in the repository; `stac-repository list` shows the ids it holds."
            )
        }
        if matches.count > 1 {
            throw StacRepositoryError(
                .conflict,
                "The id \"\(collectionID)\" names \(matches.count) collections (\(matches.map(\.path).joined(separator: ", "))); give each collection a distinct id."
            )
        }
        let collectionPath = matches[0].path
        let collectionDirectory = matches[0].directory
        report.previousLayout = matches[0].layout
        if matches[0].layout == template?.text { return nil }
        let oldCatalogs = index.layoutCatalogs(of: collectionPath)
        // 1. Read every item and decide its new place (pure: no writes yet).
        var moving: [MovingItem] = []
        for path in index.layoutItems(of: collectionPath) {
            guard let bytes = try tx.read(path) else { continue }
            let object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
            let id = CatalogIndex.itemID(fromPath: path)
            let segments = template?.segments(forItem: object.json, id: id) ?? []
            let leafDirectory = segments.reduce(collectionDirectory) { join($0, $1) }
            let newPath = CatalogIndex.itemPath(id: id, parentDirectory: leafDirectory)
            let files = newPath == path ? [] : try tx.list(under: parentDirectory(path))
            moving.append(
                MovingItem(id: id, oldPath: path, newPath: newPath, segments: segments, object: object, files: files))
        }
        report.items = moving.count
        // 2. Remove the old places: moved items' files and every old sub-catalog document.
        let snapshot = try tx.backend.snapshot(at: nil)
        let versioned = tx.backend.versioning != nil
        var sources: [String: (digest: (sha256: String, size: Int64)?, file: String)] = [:]
        for item in moving where item.newPath != item.oldPath {
            for file in item.files where file != item.oldPath {
                let digest = versioned ? try snapshot.storedDigest(file) : nil
                sources[file] = (digest, tx.backend.assetFile(file).path)
            }
        }
        for item in moving where item.newPath != item.oldPath {
            for file in item.files { tx.delete(file) }
        }
        for path in oldCatalogs { tx.delete(path) }
        index.removeItems(moving.map(\.oldPath))
        for path in oldCatalogs.reversed() { index.removeContainer(path) }
        index.setLayout(template?.text, of: collectionPath)
        // 3. The new places, in the order the collection listed its items.
        var touched: Set<String> = [collectionPath]
        try FS.makeDirectories(tx.stagingDirectory.path)
        for item in moving {
            var editing = tx
            let leaf = try index.ensureLayoutChain(
                collection: collectionPath, segments: item.segments, edits: &editing, touched: &touched)
            index.insert(CatalogIndex.ItemEntry(id: item.id, path: item.newPath, parent: leaf))
            touched.insert(leaf)
            guard item.newPath != item.oldPath else { continue }
            report.itemsMoved += 1
            var object = item.object
            object.links = object.links.map { link in
                var link = link
                switch link.rel {
                case "root": link.href = Href.relative(from: item.newPath, to: CatalogIndex.rootPath)
                case "parent": link.href = Href.relative(from: item.newPath, to: leaf)
                case "collection": link.href = Href.relative(from: item.newPath, to: collectionPath)
                default: break
                }
                return link
            }
            tx.write(item.newPath, JSONValue.object(object.json).serialized())
            let oldDirectory = parentDirectory(item.oldPath)
            let newDirectory = parentDirectory(item.newPath)
            for file in item.files where file != item.oldPath {
                let target = join(newDirectory, String(file.dropFirst(oldDirectory.count + 1)))
                guard let source = sources[file] else { continue }
                if let digest = source.digest {
                    // git: the same Git LFS object under a new tree path.
                    tx.restoreStoredAsset(target, sha256: digest.sha256, size: digest.size)
                } else if versioned, let bytes = try snapshot.read(file) {
                    tx.write(target, bytes)
                } else {
                    // file backend: a hard link of the stored file, renamed into place by the commit.
                    let staged = tx.stagingDirectory.appendingPathComponent("relayout-" + UUID().uuidString)
                    try FS.copyFile(source.file, staged.path, link: true)
                    let hash = try sha256OfFile(staged.path)
                    tx.writeAsset(target, stagedFile: staged, sha256: hash.hex, size: hash.size)
                }
            }
        }
        // 4. Link lists: the collection (its template recorded) and every sub-catalog.
        let newCatalogs = index.layoutCatalogs(of: collectionPath)
        for path in [collectionPath] + newCatalogs where touched.contains(path) || path == collectionPath {
            guard let bytes = try tx.read(path) else { continue }
            let layout: String?? = path == collectionPath ? .some(template?.text) : nil
            if let out = try index.documentWithMemberLinks(path, bytes: bytes, layout: layout) { tx.write(path, out) }
        }
        let oldSet = Set(oldCatalogs)
        let newSet = Set(newCatalogs)
        report.catalogsCreated = newSet.subtracting(oldSet).count
        report.catalogsRemoved = oldSet.subtracting(newSet).count
        let products =
            [ProductChange(id: collectionID, kind: "collection", change: .updated)]
            + moving.filter { $0.newPath != $0.oldPath }.map {
                ProductChange(id: $0.id, kind: "item", change: .updated)
            }
        return OperationRecord(
            operation: "relayout",
            summary:
                "\(collectionID) to \(template.map { "\"\($0.text)\"" } ?? "flat") (\(plural(report.itemsMoved, "item")) moved)",
            products: products)
    }
}
