import Foundation
import STAC

/// A source product at its place in the repository.
struct PlacedProduct {
    let source: SourceProduct
    /// Repository-relative path of its JSON document.
    let path: String
    /// Path of the container it is linked from (a layout sub-catalog for an item of a templated
    /// collection).
    let parentPath: String
    /// Whether the catalog already held a product at `path` (or the item was moved there from
    /// another place of its collection's layout): it is then updated or unchanged, never added.
    let existed: Bool

    var directory: String { parentDirectory(path) }
    var object: STACObject { source.object }
}

/// What placement decided: every product's place, the catalog structure with them in it, the
/// containers whose member links change because of the layout, and the layout's own edits
/// (sub-catalogs created, folders of moved items and emptied sub-catalogs deleted).
struct Placement {
    var products: [PlacedProduct]
    var index: CatalogIndex
    var touched: Set<String>
    var edits: IngestEdits
}

/// Stage 2 of an ingest (docs/architecture.md): where each source product goes. Containers are
/// placed before items, so an item naming a collection ingested in the same run finds it; an
/// item goes under `--parent`, else its `collection`, else the root; a templated collection's
/// items go in the sub-catalogs their template values name. Reads the catalog structure and
/// the stored state, writes nothing but its ``Placement``.
struct ProductPlacer {
    let options: IngestOptions
    var index: CatalogIndex
    var edits: IngestEdits
    var touched: Set<String> = []
    var products: [PlacedProduct] = []
    /// Path -> source location of every product placed, to name both of a clash.
    private var seen: [String: String] = [:]

    init(options: IngestOptions, index: CatalogIndex, stored: StoredDocuments) {
        self.options = options
        self.index = index
        self.edits = IngestEdits(stored: stored)
    }

    var placement: Placement { Placement(products: products, index: index, touched: touched, edits: edits) }

    /// Places `roots` and everything below them.
    static func place(
        _ roots: [SourceProduct], options: IngestOptions, index: CatalogIndex, stored: StoredDocuments
    ) throws -> Placement {
        var placer = ProductPlacer(options: options, index: index, stored: stored)
        try placer.place(roots)
        return placer.placement
    }

    mutating func place(_ roots: [SourceProduct]) throws {
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
            try place(root, under: parent)
        }
        try removeEmptiedLayoutCatalogs()  // layout templates (LayoutPlacement.swift)
    }

    private mutating func place(_ product: SourceProduct, under parentPath: String) throws {
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
        if index.containers[path]?.itemsLoaded == false {
            let stored = edits.stored
            try index.loadChain(to: path, read: { try stored.bytes($0) })
        }
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
        let existed = existingItem != nil || existingContainer != nil
        if !existed {
            // The product's folder must not be another product's file (a collection asset named like the id).
            let folderIsAFile = try edits.read(parentDirectory(path)) != nil
            if try folderIsAFile || edits.exists(path)
                || edits.exists(
                    parentDirectory(path) + "/" + (object.type == .item ? "collection.json" : object.id + ".json"))
            {
                throw StacRepositoryError(
                    .conflict,
                    "\(object.type.displayName) \"\(object.id)\" would be written to \(path), where the repository already holds another product; rename it or prune the other one first."
                )
            }
        }
        products.append(PlacedProduct(source: product, path: path, parentPath: parentPath, existed: existed))
        if object.type == .item {
            if !existed { index.insert(CatalogIndex.ItemEntry(id: object.id, path: path, parent: parentPath)) }
        } else if existingContainer == nil {
            index.insert(
                CatalogIndex.Container(
                    id: object.id, type: object.type, path: path, directory: parentDirectory(path), parent: parentPath,
                    children: [], items: []))
        }
        if object.type != .item { try adoptLayout(ofContainer: product, at: path, isNew: existingContainer == nil) }
        for child in product.children {
            try place(child, under: path)
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

    // MARK: Batches

    /// Takes over products a placement of the whole ingest already placed and found changed, for
    /// one batch of `ingest --batch-size`: the catalog structure of this batch's transaction
    /// learns them in the order they were placed (a container before its members), so that the
    /// containers this batch touches link exactly the members committed so far and this batch's.
    ///
    /// Layout templates: `placed` is the whole ingest's structure. An item of a templated
    /// collection is placed again here, so that this batch creates the sub-catalogs it needs (and
    /// moves an item whose template values changed); a collection new in this batch takes its
    /// layout the way the whole placement gave it. Returns the batch's products at their places.
    mutating func adopt(_ batch: [DetectedProduct], placedIn placed: CatalogIndex) throws -> [DetectedProduct] {
        var out: [DetectedProduct] = []
        for e in batch where e.change != .unchanged {
            let object = e.placed.object
            var parentPath = e.placed.parentPath
            var path = e.placed.path
            if object.type == .item, placed.isLayoutCatalog(parentPath),
                let collection = placed.owningCollection(of: parentPath)
            {
                parentPath = try layoutParent(for: e.placed.source, under: collection.path)
                path = CatalogIndex.itemPath(id: object.id, parentDirectory: parentDirectory(parentPath))
            }
            let moved = PlacedProduct(
                source: e.placed.source, path: path, parentPath: parentPath, existed: e.placed.existed)
            products.append(moved)
            // The stored container of an updated product, as this batch's transaction sees it.
            let stored = object.type == .item ? nil : try edits.stored.object(path)
            out.append(DetectedProduct(placed: moved, change: e.change, stored: stored))
            if object.type == .item {
                if index.items[path] == nil {
                    index.insert(CatalogIndex.ItemEntry(id: object.id, path: path, parent: parentPath))
                }
            } else {
                if index.containers[path] == nil {
                    index.insert(
                        CatalogIndex.Container(
                            id: object.id, type: object.type, path: path, directory: parentDirectory(path),
                            parent: parentPath, children: [], items: []))
                }
                if let layout = placed.containers[path]?.layout, index.containers[path]?.layout != layout {
                    index.setLayout(layout, of: path)
                }
            }
            touched.insert(parentPath)
            if object.type != .item { touched.insert(path) }
        }
        try removeEmptiedLayoutCatalogs()
        return out
    }
}
