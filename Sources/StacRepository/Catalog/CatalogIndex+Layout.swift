import STAC

/// Layout templates in the catalog structure (docs/format.md "Layout templates"): which
/// containers are a collection's sub-catalogs, which collection an item belongs to, and the
/// sub-catalog chains items are placed in.
extension CatalogIndex {
    /// Marks the sub-catalogs of every templated collection (``Container/layoutCollection``): a
    /// catalog at depth k ≤ the template's depth below the collection whose id is
    /// `<collection-id>-<segment 1>-…-<segment k>` of its folder names.
    /// A collection whose sub-catalogs came from its layout cache was marked then
    /// (``deferSubCatalogs(of:lazy:)``).
    mutating func markLayoutCatalogs() {
        // The collections first: marking while iterating `containers` copied the dictionary.
        let collections = containers.values.filter {
            $0.type == .collection && $0.layout != nil && lazyCollections[$0.path] == nil
        }
        for collection in collections {
            guard let text = collection.layout, let template = try? LayoutTemplate(parsing: text) else { continue }
            var queue: [(String, [String])] = collection.children.map { ($0, []) }
            while let (path, above) = queue.popLast() {
                guard let child = containers[path], child.type == .catalog, above.count < template.depth else {
                    continue
                }
                let name = String(child.directory.split(separator: "/").last ?? "")
                let segments = above + [name]
                guard parentDirectory(child.directory) == containers[child.parent ?? ""]?.directory,
                    child.path == join(child.directory, "catalog.json"),
                    child.id == LayoutTemplate.catalogID(collectionID: collection.id, segments: segments)
                else { continue }
                setLayoutCollection(collection.path, of: path)
                queue += child.children.map { ($0, segments) }
            }
        }
    }

    /// Whether the container at `path` is a sub-catalog a layout template made.
    public func isLayoutCatalog(_ path: String) -> Bool { containers[path]?.layoutCollection != nil }

    /// The collection an item placed in the container at `path` belongs to: the container itself
    /// when it is a collection, the templated collection of a sub-catalog, else nil.
    public func owningCollection(of path: String) -> Container? {
        guard let c = containers[path] else { return nil }
        if c.type == .collection { return c }
        return c.layoutCollection.flatMap { containers[$0] }
    }

    /// The collection's items, wherever its template put them: its own items, then those of its
    /// sub-catalogs, depth first in link order.
    public func layoutItems(of collectionPath: String) -> [String] {
        var out: [String] = []
        func walk(_ path: String) {
            guard let c = containers[path] else { return }
            out += c.items
            for child in c.children where containers[child]?.layoutCollection == collectionPath { walk(child) }
        }
        walk(collectionPath)
        return out
    }

    /// The collection's sub-catalogs, parents before children.
    public func layoutCatalogs(of collectionPath: String) -> [String] {
        var out: [String] = []
        func walk(_ path: String) {
            for child in containers[path]?.children ?? [] where containers[child]?.layoutCollection == collectionPath {
                out.append(child)
                walk(child)
            }
        }
        walk(collectionPath)
        return out
    }

    /// The sub-catalog an item with these segments goes in, creating the missing sub-catalogs
    /// (their documents written into `edits`, their parents added to `touched` so that their
    /// `child` links are regenerated).
    mutating func ensureLayoutChain(
        collection collectionPath: String, segments: [String], edits tx: inout some CatalogEditing,
        touched: inout Set<String>,
        collectionDocument: () -> STACObject? = { nil }
    ) throws -> String {
        guard let collection = containers[collectionPath] else { return collectionPath }
        var parent = collectionPath
        var collectionObject: STACObject?
        for (n, segment) in segments.enumerated() {
            let above = Array(segments.prefix(n + 1))
            let id = LayoutTemplate.catalogID(collectionID: collection.id, segments: above)
            let directory = join(parentDirectory(parent), segment)
            let path = join(directory, "catalog.json")
            if containers[path]?.itemsLoaded == false { try loadItems(of: path, read: { try tx.read($0) }) }
            if let existing = containers[path] {
                guard existing.layoutCollection == collectionPath, existing.id == id else {
                    throw StacRepositoryError(
                        .conflict,
                        "The layout of collection \"\(collection.id)\" needs the sub-catalog \(path), where the repository holds \(existing.type.displayName.lowercased()) \"\(existing.id)\"; choose another template or prune that product."
                    )
                }
                parent = path
                continue
            }
            let clash =
                containers[join(directory, "collection.json")] != nil
                || items[join(directory, segment + ".json")] != nil
            if try clash || tx.read(directory) != nil {
                throw StacRepositoryError(
                    .conflict,
                    "The layout of collection \"\(collection.id)\" needs the folder \(directory), which another product or an asset of the collection uses; choose another template or prune that product."
                )
            }
            if collectionObject == nil {
                // A collection ingested in this run is not written yet: the caller knows its source.
                collectionObject =
                    try tx.read(collectionPath).flatMap { try? STACObject(JSONValue.parse(bytes: $0)) }
                    ?? collectionDocument()
            }
            guard
                let document = LayoutTemplate.catalogDocument(
                    id: id, collection: collectionObject, collectionID: collection.id, segments: above, path: path,
                    parent: parent)
            else {
                throw StacRepositoryError(
                    .internal, "The sub-catalog \(path) could not be made; run the command again.")
            }
            tx.write(path, JSONValue.object(document.json).serialized())
            insert(
                Container(
                    id: id, type: .catalog, path: path, directory: directory, parent: parent, children: [], items: [],
                    layout: nil, layoutCollection: collectionPath))
            touched.insert(parent)
            touched.insert(path)
            parent = path
        }
        return parent
    }

    /// Removes the sub-catalogs that no longer hold anything, from `path` up; returns the
    /// deepest container left whose member links must be rewritten (nil when none was removed).
    mutating func removeEmptyLayoutCatalogs(from path: String, edits tx: inout some CatalogEditing) throws -> String? {
        var current = path
        var removedAny = false
        while let c = containers[current], c.itemsLoaded, c.layoutCollection != nil, c.items.isEmpty,
            c.children.isEmpty, let parent = c.parent
        {
            try tx.deleteTree(c.directory)
            removeContainer(current)
            removedAny = true
            current = parent
        }
        return removedAny ? current : nil
    }

    /// The document at `path` with its `child`/`item` links made equal to the index: links to
    /// members that are gone are dropped, the others kept in place, missing ones appended
    /// (children, then items). Nil when nothing changes.
    func documentWithMemberLinks(_ path: String, bytes: [UInt8], layout: String??) throws -> [UInt8]? {
        guard let container = containers[path] else { return nil }
        try container.requireItemsLoaded()
        var object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
        let wanted = Set(container.children + container.items)
        var present: Set<String> = []
        var links: [Link] = []
        for link in object.links {
            if link.rel == "child" || link.rel == "item" {
                guard let target = CatalogIndex.resolveInside(link.href, from: path), wanted.contains(target),
                    present.insert(target).inserted
                else { continue }
            }
            links.append(link)
        }
        for child in container.children where !present.contains(child) {
            links.append(Link(rel: "child", href: Href.relative(from: path, to: child), type: "application/json"))
        }
        for item in container.items where !present.contains(item) {
            links.append(Link(rel: "item", href: Href.relative(from: path, to: item), type: "application/geo+json"))
        }
        object.links = links
        if let layout { LayoutTemplate.stamp(&object, layout: layout) }
        let out = JSONValue.object(object.json).serialized()
        return out == bytes ? nil : out
    }
}

extension LayoutTemplate {
    /// Records a collection's template in its document (removes it for a flat collection).
    static func stamp(_ object: inout STACObject, layout: String?) {
        guard object.type == .collection else { return }
        object.json[field] = layout.map { .string($0) }
    }
}
