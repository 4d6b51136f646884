import Foundation
import STAC

extension Repository {
    /// Finds the product a user names: an id, or `PARENT/ID` when an id is used more than once.
    func resolveProduct(_ spec: String, in index: CatalogIndex, allowRoot: Bool = false)
        throws -> (path: String, id: String, kind: STACType)
    {
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var matches: [(String, String, STACType)] = []
        let id = parts.last ?? spec
        let parentID: String? = parts.count == 2 ? parts[0] : nil
        if parts.count > 2 || id.isEmpty {
            throw StacRepositoryError(
                .usage,
                "\"\(spec)\" is not a product id; give an id, or PARENT-ID/ID to pick one of several products with the same id."
            )
        }
        for c in index.containers(withID: id) where c.path != CatalogIndex.rootPath {
            if let parentID, c.parent.flatMap({ index.containers[$0]?.id }) != parentID { continue }
            matches.append((c.path, c.id, c.type))
        }
        for i in index.items(withID: id) {
            if let parentID, index.containers[i.parent]?.id != parentID,
                index.owningCollection(of: i.parent)?.id != parentID
            {
                continue
            }
            matches.append((i.path, i.id, .item))
        }
        if let root = index.root, allowRoot, root.id == id, parentID == nil {
            matches.append((root.path, root.id, root.type))
        }
        if matches.isEmpty {
            if index.root?.id == id {
                throw StacRepositoryError(
                    .invalidInput,
                    "\"\(id)\" is the root catalog, which cannot be pruned; prune its collections or items instead.")
            }
            throw StacRepositoryError(
                .notFound,
                "No product with id \"\(spec)\" is in the repository; `stac-repository list` shows the ids it holds."
            )
        }
        if matches.count > 1 {
            let where_ = matches.map { "\($0.0)" }.joined(separator: ", ")
            throw StacRepositoryError(
                .conflict,
                "The id \"\(id)\" names \(matches.count) products (\(where_)); use PARENT-ID/\(id) to pick one.")
        }
        return matches[0]
    }

    /// Removes products (items, or collections/catalogs with everything under them) and their links.
    /// - Throws: ``StacRepositoryError`` `.notFound` for an unknown id; nothing is then removed.
    @discardableResult
    public func prune(_ ids: [String], wait: Bool = false, force: Bool = false) async throws -> (
        removed: [ProductChange], version: String?
    ) {
        var removed: [ProductChange] = []
        let outcome = try await withTransaction(wait: wait, purpose: "prune", force: force) { tx in
            var index = try CatalogIndex.load(read: { try tx.read($0) }, lazy: lazyLayouts())
            var parents: Set<String> = []
            for spec in ids {
                let id = String(spec.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
                try index.loadItems(withID: id, read: { try tx.read($0) })
                let product = try resolveProduct(spec, in: index)
                if product.kind != .item { try index.loadSubtree(product.path, read: { try tx.read($0) }) }
                let directory = parentDirectory(product.path)
                try tx.deleteTree(directory)
                removed.append(ProductChange(id: product.id, kind: product.kind.kindName, change: .removed))
                if product.kind == .item {
                    let parent = index.items[product.path]?.parent
                    index.removeItem(product.path)
                    if let parent { parents.insert(parent) }
                } else {
                    let parent = index.containers[product.path]?.parent
                    for itemPath in index.itemPaths(under: product.path) {
                        removed.append(
                            ProductChange(id: CatalogIndex.itemID(fromPath: itemPath), kind: "item", change: .removed))
                    }
                    index.removeContainer(product.path)
                    if let parent { parents.insert(parent) }
                }
            }
            // A templated collection's sub-catalogs go with their last item (docs/format.md).
            var editing = tx
            for parent in parents.sorted() {
                if let survivor = try index.removeEmptyLayoutCatalogs(from: parent, edits: &editing) {
                    parents.insert(survivor)
                }
            }
            for parent in parents.sorted() where index.containers[parent] != nil {
                try rewriteMemberLinks(parent, index: index, tx: tx)
            }
            tx.afterCommit = saveLayoutCachesHook(index)
            return OperationRecord(operation: "prune", summary: "\(removed.count) removed", products: removed)
        }
        return (removed, outcome?.version)
    }

    /// Drops `child`/`item` links of a container that point at products no longer in `index`.
    func rewriteMemberLinks(_ path: String, index: CatalogIndex, tx: Transaction) throws {
        guard let container = index.containers[path], let bytes = try tx.read(path) else { return }
        try container.requireItemsLoaded()
        var object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
        let wanted = Set(container.children + container.items)
        object.removeLinks { link in
            guard link.rel == "child" || link.rel == "item" else { return false }
            guard let target = CatalogIndex.resolveInside(link.href, from: path) else { return false }
            return !wanted.contains(target)
        }
        let out = JSONValue.object(object.json).serialized()
        if out != bytes { tx.write(path, out) }
    }
}
