import STAC

/// Where ingest places items of a templated collection (docs/format.md "Layout templates").
/// Called from ``ProductPlacer`` at the points marked "layout templates".
extension ProductPlacer {
    /// The container an item goes in: for an item of a templated collection the sub-catalog its
    /// template values name (created when missing), else `parentPath` itself. An item stored
    /// elsewhere in the same collection (its datetime or property changed) is moved: its old
    /// folder is deleted and the new place recorded, so the item counts as updated.
    mutating func layoutParent(for product: SourceProduct, under parentPath: String) throws -> String {
        let object = product.object
        guard object.type == .item, let collection = index.containers[parentPath], collection.type == .collection
        else { return parentPath }
        try adoptRequestedLayout(at: parentPath)
        guard let text = index.containers[parentPath]?.layout, let template = try? LayoutTemplate(parsing: text) else {
            return parentPath
        }
        let segments = template.segments(forItem: object.json, id: object.id)
        // A collection ingested in this run is written later: its sub-catalogs take its stac_version from the source.
        let leaf = try index.ensureLayoutChain(
            collection: parentPath, segments: segments, edits: &edits, touched: &touched,
            collectionDocument: { [products] in products.last { $0.path == parentPath }?.source.object })
        let newPath = CatalogIndex.itemPath(id: object.id, parentDirectory: parentDirectory(leaf))
        let stored = edits.stored
        try index.loadItems(withID: object.id, read: { try stored.bytes($0) })
        for old in index.items(withID: object.id)
        where old.path != newPath && index.owningCollection(of: old.parent)?.path == parentPath {
            if products.contains(where: { $0.path == old.path }) {
                throw StacRepositoryError(
                    .conflict,
                    "Two products with id \"\(object.id)\" are in this ingest for collection \"\(collection.id)\" (\(shortName(product.location)) and another); give them distinct ids or ingest them separately."
                )
            }
            try edits.deleteTree(old.directory)
            index.removeItem(old.path)
            touched.insert(old.parent)
            index.insert(CatalogIndex.ItemEntry(id: object.id, path: newPath, parent: leaf))
        }
        return leaf
    }

    /// Records `--layout` on a collection the ingest creates or touches. A collection that
    /// already holds items in another layout is refused (`relayout` migrates it).
    mutating func adoptRequestedLayout(at path: String) throws {
        guard let requested = options.layout, let collection = index.containers[path],
            collection.type == .collection, collection.layout != requested
        else { return }
        let template = try LayoutTemplate(parsing: requested)
        let documents = edits.stored
        try index.loadSubtree(path, read: { try documents.bytes($0) })
        let stored = index.layoutItems(of: path).count
        if stored > 0 {
            throw StacRepositoryError(
                .conflict,
                "Collection \"\(collection.id)\" holds \(plural(stored, "item")) laid out \(collection.layout.map { "as \"\($0)\"" } ?? "flat"); --layout applies to new or empty collections: run `stac-repository relayout \(collection.id) --layout '\(template.text)'` first."
            )
        }
        index.setLayout(template.text, of: path)
        touched.insert(path)
    }

    /// For a collection placed by this ingest: `--layout`, or for a new collection the template its
    /// source document records (an exported repository keeps its layout when ingested again).
    mutating func adoptLayout(ofContainer product: SourceProduct, at path: String, isNew: Bool) throws {
        guard product.object.type == .collection else { return }
        if options.layout != nil {
            try adoptRequestedLayout(at: path)
        } else if isNew, let text = product.object.json[LayoutTemplate.field]?.stringValue,
            let template = try? LayoutTemplate(parsing: text)
        {
            index.setLayout(template.text, of: path)
            touched.insert(path)
        }
    }

    /// Drops the sub-catalogs moved items left empty (their parents' links are regenerated).
    mutating func removeEmptiedLayoutCatalogs() throws {
        for path in touched.sorted() where index.isLayoutCatalog(path) {
            if let survivor = try index.removeEmptyLayoutCatalogs(from: path, edits: &edits) {
                touched.insert(survivor)
            }
        }
    }
}

extension CatalogIndex {
    /// One warning per collection this ingest touched that holds more than
    /// ``LayoutTemplate/flatThreshold`` items in its own folder.
    func layoutWarnings(touched: Set<String>) -> [String] {
        touched.sorted().compactMap { path in
            guard let c = containers[path], c.type == .collection, c.layout == nil,
                c.items.count > LayoutTemplate.flatThreshold
            else { return nil }
            return
                "collection \"\(c.id)\" holds \(c.items.count) items in one folder (more than \(LayoutTemplate.flatThreshold)); give it a layout with `stac-repository relayout \(c.id) --layout '${id:hash:2}'`."
        }
    }
}
