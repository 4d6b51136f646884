public import STAC

/// The structure of the stored catalog: containers (catalogs, collections) and items, by path,
/// derived from the `child` and `item` links of the stored JSON files.
///
/// Items are not parsed: an item's id is its file name without `.json` (DESIGN §3 layout).
public struct CatalogIndex: Sendable {
    /// A catalog or collection.
    public struct Container: Sendable {
        public var id: String
        public var type: STACType
        /// Repository-relative path of its JSON file.
        public var path: String
        /// The directory holding it ("" for the root).
        public var directory: String
        /// Path of the parent container's JSON (nil for the root).
        public var parent: String?
        /// Paths of child containers.
        public var children: [String]
        /// Paths of items.
        public var items: [String]
        /// A collection's layout template text (``LayoutTemplate/field``), nil when flat.
        public var layout: String? = nil
        /// For a sub-catalog of a layout: the path of the collection whose template made it.
        public var layoutCollection: String? = nil
        /// False for a sub-catalog a layout cache described and that was not read yet
        /// (``LayoutIDCache``): its `items` are unknown until ``CatalogIndex/loadItems(of:read:)``.
        public var itemsLoaded = true
    }

    /// An item.
    public struct ItemEntry: Sendable {
        public var id: String
        public var path: String
        public var parent: String
        public var directory: String { parentDirectory(path) }
    }

    public internal(set) var containers: [String: Container] = [:]
    public internal(set) var items: [String: ItemEntry] = [:]
    /// Item paths by (NFC) id, so that finding an item by id is not a walk over every item.
    var itemPathsByID: [String: [String]] = [:]
    /// The templated collections whose sub-catalogs came from their layout cache, unread.
    var lazyCollections: [String: LayoutIDCache] = [:]
    public static let rootPath = "catalog.json"

    /// Loads the index by reading `catalog.json` and following child links. With `lazy`, the
    /// sub-catalogs of a templated collection whose layout cache describes this version are
    /// taken from the cache and not read (``LayoutIDCache``).
    static func load(read: (String) throws -> [UInt8]?, lazy: LazyLayouts? = nil) throws -> CatalogIndex {
        var index = CatalogIndex()
        guard try read(CatalogIndex.rootPath) != nil else {
            throw StacRepositoryError(
                .storage, "The repository has no catalog.json; restore it with `rollback` or re-run `init`.")
        }
        var queue: [(String, String?)] = [(rootPath, nil)]
        var seen: Set<String> = []
        while let (path, parent) = queue.popLast() {
            guard seen.insert(path).inserted, let bytes = try read(path) else { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(bytes: bytes, source: path) } catch {
                throw StacRepositoryError(
                    .storage, "The stored file \(path) is not valid JSON (\(error)); restore it with `rollback`.")
            }
            let object: STACObject
            do { object = try STACObject(value, source: path) } catch {
                throw StacRepositoryError(
                    .storage, "The stored file \(path) is not a STAC object (\(error)); restore it with `rollback`.")
            }
            var container = Container(
                id: object.id, type: object.type, path: path, directory: parentDirectory(path), parent: parent,
                children: [], items: [])
            if object.type == .collection, let layout = object.json[LayoutTemplate.field]?.stringValue {
                container.layout = layout
            }
            var children: [String] = []
            for link in object.links {
                guard let target = resolveInside(link.href, from: path) else { continue }
                if link.rel == "child" {
                    container.children.append(target)
                    children.append(target)
                } else if link.rel == "item" {
                    container.items.append(target)
                    let known = index.items[target] != nil
                    index.items[target] = ItemEntry(id: itemID(fromPath: target), path: target, parent: path)
                    if !known {
                        index.itemPathsByID[ReservedNames.nfc(itemID(fromPath: target)), default: []].append(target)
                    }
                }
            }
            if let lazy, container.layout != nil, index.deferSubCatalogs(of: container, lazy: lazy) {
                for child in children { seen.insert(child) }
            } else {
                queue += children.map { ($0, path) }
            }
            index.containers[path] = container
        }
        index.markLayoutCatalogs()
        return index
    }

    /// The root catalog.
    public var root: Container? { containers[Self.rootPath] }

    /// Containers with this id.
    public func containers(withID id: String) -> [Container] {
        containers.values.filter { $0.id == id }.sorted { $0.path < $1.path }
    }

    /// Items with this id.
    public func items(withID id: String) -> [ItemEntry] {
        (itemPathsByID[ReservedNames.nfc(id)] ?? []).compactMap { items[$0] }.filter { $0.id == id }
            .sorted { $0.path < $1.path }
    }

    /// The item with `id` directly under the container at `parent`.
    public func item(id: String, under parent: String) -> ItemEntry? {
        let path = Self.itemPath(id: id, parentDirectory: parentDirectory(parent))
        return items[path]
    }

    /// The child container with `id` directly under the container at `parent`.
    public func container(id: String, under parent: String) -> Container? {
        guard let p = containers[parent] else { return nil }
        return p.children.compactMap { containers[$0] }.first { $0.id == id }
    }

    mutating func insert(_ container: Container) {
        containers[container.path] = container
        if let parent = container.parent, !(containers[parent]?.children.contains(container.path) ?? true) {
            containers[parent]?.children.append(container.path)
        }
    }

    mutating func insert(_ item: ItemEntry) {
        // An item known to `items` is in its parent's list and one that is not is absent from
        // it (load, insert and remove keep both together), so a new item is appended without
        // the linear search that made a 100,000-item ingest quadratic.
        let isNew = items.updateValue(item, forKey: item.path) == nil
        if isNew { itemPathsByID[ReservedNames.nfc(item.id), default: []].append(item.path) }
        if isNew || !(containers[item.parent]?.items.contains(item.path) ?? true) {
            containers[item.parent]?.items.append(item.path)
        }
    }

    mutating func removeItem(_ path: String) {
        guard let item = items.removeValue(forKey: path) else { return }
        forgetID(of: item)
        containers[item.parent]?.items.removeAll { $0 == path }
    }

    /// Removes many items at once: each parent's list is filtered once, not once per item.
    mutating func removeItems(_ paths: [String]) {
        var byParent: [String: Set<String>] = [:]
        for path in paths {
            guard let item = items.removeValue(forKey: path) else { continue }
            forgetID(of: item)
            byParent[item.parent, default: []].insert(path)
        }
        for (parent, gone) in byParent { containers[parent]?.items.removeAll { gone.contains($0) } }
    }

    mutating func removeContainer(_ path: String) {
        guard let c = containers[path] else { return }
        for child in c.children { removeContainer(child) }
        for item in c.items { if let entry = items.removeValue(forKey: item) { forgetID(of: entry) } }
        containers.removeValue(forKey: path)
        if let parent = c.parent { containers[parent]?.children.removeAll { $0 == path } }
    }

    mutating func forgetID(of item: ItemEntry) {
        let key = ReservedNames.nfc(item.id)
        itemPathsByID[key]?.removeAll { $0 == item.path }
        if itemPathsByID[key]?.isEmpty == true { itemPathsByID.removeValue(forKey: key) }
    }

    /// Sets a collection's layout template (nil: flat).
    mutating func setLayout(_ layout: String?, of path: String) {
        containers[path]?.layout = layout
    }

    /// Marks a sub-catalog as made by the template of the collection at `collection`.
    mutating func setLayoutCollection(_ collection: String?, of path: String) {
        containers[path]?.layoutCollection = collection
    }

    /// All item paths under a container, recursively.
    public func itemPaths(under path: String) -> [String] {
        guard let c = containers[path] else { return [] }
        return c.items + c.children.flatMap { itemPaths(under: $0) }
    }

    // MARK: Layout (DESIGN §3)

    /// Ids are NFC-normalised before they become paths (``ReservedNames``): one product, one file.
    static func itemPath(id: String, parentDirectory dir: String) -> String {
        let id = ReservedNames.nfc(id)
        return join(join(dir, id), id + ".json")
    }

    static func containerPath(id: String, type: STACType, parentDirectory dir: String) -> String {
        join(join(dir, ReservedNames.nfc(id)), type == .collection ? "collection.json" : "catalog.json")
    }

    static func itemID(fromPath path: String) -> String {
        let utf8 = path.utf8
        let start = utf8.lastIndex(of: UInt8(ascii: "/")).map { utf8.index(after: $0) } ?? utf8.startIndex
        let name = Substring(path[start...])
        return name.hasSuffix(".json") ? String(name.dropLast(5)) : String(name)
    }

    /// Resolves a relative href found in the file at `from` to a repository-relative path;
    /// nil if it is absolute or leaves the repository.
    static func resolveInside(_ href: String, from: String) -> String? {
        // One pass over the bytes (substring searches cost more than the rest of loading a
        // catalog): "://" or a leading "/" is outside; the layout's own links ("./id/id.json",
        // no "/." and no "//" after the first two bytes) need no dot segments resolved.
        var simple = href.utf8.starts(with: "./".utf8)
        var previous: UInt8 = 0
        var beforePrevious: UInt8 = 0
        for (offset, byte) in href.utf8.enumerated() {
            if offset == 0, byte == UInt8(ascii: "/") { return nil }
            if byte == UInt8(ascii: "/"), previous == UInt8(ascii: "/") {
                if beforePrevious == UInt8(ascii: ":") { return nil }
                simple = false
            }
            if byte == UInt8(ascii: "."), previous == UInt8(ascii: "/"), offset > 1 { simple = false }
            beforePrevious = previous
            previous = byte
        }
        if simple {
            return join(parentDirectory(from), String(Substring(href.utf8.dropFirst(2))))
        }
        var parts = parentDirectory(from).split(separator: "/").map(String.init)
        for comp in href.split(separator: "/") {
            if comp == "." || comp.isEmpty { continue }
            if comp == ".." {
                if parts.isEmpty { return nil }
                parts.removeLast()
            } else {
                parts.append(String(comp))
            }
        }
        return parts.joined(separator: "/")
    }
}

func parentDirectory(_ path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
    return String(Substring(path.utf8[..<slash]))
}

func join(_ dir: String, _ name: String) -> String {
    dir.isEmpty ? name : dir + "/" + name
}
