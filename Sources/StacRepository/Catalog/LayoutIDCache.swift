import Foundation
import STAC

/// What a templated collection holds below itself, kept in the state directory (never
/// committed), so that a single-product ingest or prune reads the sub-catalogs on its path and
/// not every one of them (docs/architecture.md, "Single-product commits").
///
/// One directory per collection, `cache/layout-ids/<hash of the collection's path>/`:
/// - `containers`: every container below the collection, one line `path TAB parent TAB id`, parents
///   before children, in link order;
/// - `items-00` … `items-ff`: every item below the collection (not the collection's own items,
///   which its document lists), one line `path TAB parent`, sharded by the FNV-1a hash of the
///   item's NFC id;
/// - `key`: the version the files describe (the git commit id) and the collection's path, then
///   the size in bytes of each item shard. It is removed before the other files change and
///   written last, after they are flushed: a crash leaves either a cache for the version it
///   names or none. A commit that only adds items appends their lines to the shards in place;
///   the sizes make a shard that was appended to after its key was written (a file system that
///   kept the append but not the key's removal) damaged, not trusted.
///
/// The cache describes one committed version exactly: it is used only when `key` names the
/// current one, and any other version (a rollback, a pull, a commit by an older tool) makes the
/// next command read the whole catalog and write the cache again.
struct LayoutIDCache: Sendable {
    static let shardCount = 256
    let directory: String
    let collectionPath: String
    /// The shards ``items(withID:)`` read, kept as long as this value: a batch of 10,000 items
    /// looks up 10,000 ids, and reading a shard per id made a long ingest quadratic. Files
    /// change only when a commit writes the cache, which makes a new value.
    private let memo = ShardMemo()

    init(stateDirectory: URL, collectionPath: String) {
        self.collectionPath = collectionPath
        self.directory =
            stateDirectory.path + "/cache/layout-ids/" + String(format: "%016llx", Self.fnv1a(collectionPath))
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func shard(ofID id: String) -> Int { Int(fnv1a(ReservedNames.nfc(id)) % UInt64(shardCount)) }

    private var keyFile: String { directory + "/key" }
    private var containersFile: String { directory + "/containers" }
    private func shardFile(_ n: Int) -> String { directory + "/" + String(format: "items-%02x", n) }

    /// Whether the cache describes version `key` of this collection.
    func isValid(for key: String) -> Bool {
        guard let bytes = try? FS.read(keyFile), let sizes = Self.shardSizes(keyFile: bytes, key: key, collectionPath)
        else { return false }
        memo.sizes = sizes
        return true
    }

    /// The shard sizes a key file records, when its first line names `key` and `collectionPath`.
    private static func shardSizes(keyFile bytes: [UInt8], key: String, _ collectionPath: String) -> [Int]? {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count == 3, lines[2].isEmpty, lines[0].elementsEqual((key + "\t" + collectionPath).utf8)
        else { return nil }
        let sizes = lines[1].split(separator: UInt8(ascii: " ")).compactMap { Int(String(decoding: $0, as: UTF8.self)) }
        return sizes.count == shardCount ? sizes : nil
    }

    /// The bytes of item shard `n`, checked against the size the key records.
    private func shardBytes(_ n: Int) throws -> [UInt8] {
        let bytes = try FS.read(shardFile(n)) ?? []
        guard let sizes = memo.sizes, bytes.count == sizes[n] else { throw Self.damaged(directory) }
        return bytes
    }

    /// The containers below the collection: (path, parent, id), parents first.
    func containers() throws -> [(path: String, parent: String, id: String)] {
        guard let bytes = try FS.read(containersFile) else { throw Self.damaged(directory) }
        memo.containersBytes = bytes
        var out: [(String, String, String)] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let f = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
            guard f.count == 3 else { throw Self.damaged(directory) }
            out.append(
                (
                    String(decoding: f[0], as: UTF8.self), String(decoding: f[1], as: UTF8.self),
                    String(decoding: f[2], as: UTF8.self)
                ))
        }
        memo.rows = ShardMemo.Rows(out)
        return out
    }

    /// Whether the containers below the collection are still those this value's containers file
    /// lists, judged from the containers among `changedPaths` (a container whose children, id or
    /// parent changed was rewritten, an added one written and a removed one deleted); false
    /// when this value has not read or written the file. `direct` is the collection's children.
    func containersUnchanged(
        direct: [String], changedPaths: some Sequence<String>, container: (String) -> CatalogIndex.Container?
    ) -> Bool {
        guard let rows = memo.rows, rows.children[collectionPath] ?? [] == direct else { return false }
        for path in changedPaths where path != collectionPath {
            if let c = container(path) {
                // A container the file does not list is new (or below a collection below this one).
                guard let row = rows.rows[path], c.type != .collection, row.parent == c.parent, row.id == c.id,
                    rows.children[path] ?? [] == c.children
                else { return false }
            } else if rows.rows[path] != nil {
                return false
            }
        }
        return true
    }

    /// Whether `path` is a container the containers file lists (see ``containersUnchanged``).
    func listsContainer(_ path: String) -> Bool { memo.rows?.rows[path] != nil }

    /// The items below the collection whose id is `id`: (path, parent).
    func items(withID id: String) throws -> [(path: String, parent: String)] {
        let key = ReservedNames.nfc(id)
        let n = Self.shard(ofID: id)
        let shard = try memo.shard(n) { try ShardMemo.Shard(bytes: shardBytes(n), directory: directory) }
        return try shard.lines(withIDHash: Self.fnv1a(key), file: shardFile(n), directory: directory).filter {
            ReservedNames.nfc(CatalogIndex.itemID(fromPath: $0.path)) == key
        }
    }

    static func damaged(_ directory: String) -> StacRepositoryError {
        try? FileManager.default.removeItem(atPath: directory)
        return StacRepositoryError(
            .storage, "The layout cache \(directory) was damaged and has been removed; run the command again.")
    }

    /// Removes the cache (a collection this version cannot describe).
    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Writes the cache for version `key`: `containers` always; of the item shards, all of them
    /// (`changedIDs` nil) or those of the ids in `changedIDs`, whose lines for `changedPaths`
    /// are replaced by the items of `items` among them. A shard that loses no line gets the new
    /// lines appended in place (a commit of new items costs what it adds, not the shard).
    func write(
        key: String, containers: [(path: String, parent: String, id: String)]?,
        items: [(path: String, parent: String)], changedIDs: Set<Int>?, changedPaths: Set<String>
    ) throws {
        // What this value read is brought to the new files as they are written (a long ingest
        // carries it from commit to commit), and forgotten if the write fails.
        var written = false
        defer { if !written { memo.reset() } }
        // The sizes of the version being replaced: its shards are edited, not rewritten.
        var sizes = [Int](repeating: 0, count: Self.shardCount)
        if changedIDs != nil {
            guard let known = memo.sizes else { throw Self.damaged(directory) }
            sizes = known
        }
        // A commit of a few items changes a shard or two: each file is flushed on its own,
        // which does not wait for the rest of the file system's writes as `syncfs` does.
        let flushEach = (changedIDs?.count ?? Self.shardCount) < 8
        // Emptied, not removed, and written again in place: a new file and a removed one per
        // commit slowed a long run of one-item commits (FS.overwriteInPlace). An empty or
        // partial key describes no version.
        try FS.empty(keyFile)
        TestHooks.crashPoint("layout-cache-key-removed")
        try FS.makeDirectories(directory)
        // nil: the containers are those the file lists (containersUnchanged), left as they are.
        var text = memo.containersBytes ?? []
        if let containers {
            text = []
            text.reserveCapacity(memo.containersBytes?.count ?? 0)
            for c in containers {
                text += c.path.utf8
                text.append(UInt8(ascii: "\t"))
                text += c.parent.utf8
                text.append(UInt8(ascii: "\t"))
                text += c.id.utf8
                text.append(UInt8(ascii: "\n"))
            }
            // A commit that added no container leaves the file as this value read it.
            if changedIDs == nil || text != memo.containersBytes {
                try FS.writeAtomically(text, to: containersFile, sync: flushEach)
            }
        } else if changedIDs == nil || memo.containersBytes == nil {
            throw Self.damaged(directory)
        }
        var byShard: [Int: [(String, String)]] = [:]
        for item in items {
            byShard[Self.shard(ofID: CatalogIndex.itemID(fromPath: item.path)), default: []].append(item)
        }
        // The changed paths by shard, with the FNV-1a hashes of their ids: a line whose id hash
        // is not among them is kept without being decoded.
        var changedByShard: [Int: (paths: Set<String>, hashes: Set<UInt64>)] = [:]
        if changedIDs != nil {
            for path in changedPaths {
                let hash = Self.fnv1a(ReservedNames.nfc(CatalogIndex.itemID(fromPath: path)))
                let n = Int(hash % UInt64(Self.shardCount))
                changedByShard[n, default: ([], [])].paths.insert(path)
                changedByShard[n, default: ([], [])].hashes.insert(hash)
            }
        }
        let shards = changedIDs ?? Set(0..<Self.shardCount)
        for n in shards.sorted() {
            var added: [UInt8] = []
            for (path, parent) in byShard[n] ?? [] { added += Array("\(path)\t\(parent)\n".utf8) }
            guard changedIDs != nil else {
                memo.drop(n)
                if added.isEmpty {
                    try FS.removeFile(shardFile(n))
                } else {
                    try FS.writeAtomically(added, to: shardFile(n), sync: flushEach)
                }
                sizes[n] = added.count
                continue
            }
            let changed = changedByShard[n] ?? ([], [])
            // A shard a lookup of this value read and that holds no line with a changed id hash
            // loses nothing: the new lines are appended without reading it again.
            if let shard = memo.cachedShard(n), !changed.hashes.contains(where: shard.contains(idHash:)) {
                if !added.isEmpty {
                    try FS.write(
                        added, to: shardFile(n), flags: O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, sync: flushEach)
                    try memo.append(added, toShard: n, directory: directory)
                }
                sizes[n] += added.count
                continue
            }
            memo.drop(n)
            let old = try shardBytes(n)
            var kept: [UInt8] = []
            var dropped = false
            var start = 0
            kept.reserveCapacity(old.count)
            while start < old.count {
                guard let end = old[start...].firstIndex(of: UInt8(ascii: "\n")),
                    let tab = old[start..<end].firstIndex(of: UInt8(ascii: "\t"))
                else { throw Self.damaged(directory) }
                let path = old[start..<tab]
                if changed.hashes.contains(ShardMemo.Shard.idHash(path)),
                    changed.paths.contains(String(decoding: path, as: UTF8.self))
                {
                    dropped = true
                } else {
                    kept += old[start...end]
                }
                start = end + 1
            }
            if !dropped {
                if !added.isEmpty {
                    try FS.write(
                        added, to: shardFile(n), flags: O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, sync: flushEach)
                }
                sizes[n] = old.count + added.count
                continue
            }
            kept += added
            if kept.isEmpty {
                try FS.removeFile(shardFile(n))
            } else {
                try FS.writeAtomically(kept, to: shardFile(n), sync: flushEach)
            }
            sizes[n] = kept.count
        }
        TestHooks.crashPoint("layout-cache-shards-written")
        // Everything above is on disk before the key says it describes `key`.
        if flushEach {
            FS.syncDirectory(directory)
        } else {
            try FS.syncFileSystem(containing: directory)
        }
        let record = key + "\t" + collectionPath + "\n" + sizes.map(String.init).joined(separator: " ") + "\n"
        try FS.rewrite(Array(record.utf8), at: keyFile, sync: true)
        memo.sizes = sizes
        memo.containersBytes = text
        if let containers { memo.rows = ShardMemo.Rows(containers) }
        written = true
    }
}

/// The item shards of one ``LayoutIDCache`` value that were read: of each shard, its lines'
/// starts sorted by the FNV-1a hash of their item's NFC id, so that a lookup is a binary search
/// and a read of its own lines from the file. The lines themselves are not kept: a long ingest
/// reads every shard, and their bytes were 75 of the 90 bytes an item cost (heaptrack at
/// 1,000,000 items: 90 MB).
final class ShardMemo: @unchecked Sendable {
    struct Shard {
        /// The lines' id hashes and starts, in hash order (two arrays: 12 bytes a line).
        let hashes: [UInt64]
        let starts: [UInt32]
        /// The shard file's size these keys describe.
        let size: Int

        init(bytes: [UInt8], directory: String) throws {
            let keys = try Self.keys(of: bytes, from: 0, directory: directory)
            hashes = keys.map(\.hash)
            starts = keys.map(\.start)
            size = bytes.count
        }

        /// `base` with `added` (whole lines, appended to its file) appended.
        init(_ base: Shard, appending added: [UInt8], directory: String) throws {
            let new = try Self.keys(of: added, from: 0, directory: directory)
            var hashes: [UInt64] = []
            var starts: [UInt32] = []
            hashes.reserveCapacity(base.hashes.count + new.count)
            starts.reserveCapacity(base.hashes.count + new.count)
            // A merge of two sorted runs; the new lines start where the base ends.
            var i = 0
            var j = 0
            while i < base.hashes.count || j < new.count {
                if j == new.count || (i < base.hashes.count && base.hashes[i] <= new[j].hash) {
                    hashes.append(base.hashes[i])
                    starts.append(base.starts[i])
                    i += 1
                } else {
                    hashes.append(new[j].hash)
                    starts.append(UInt32(base.size) + new[j].start)
                    j += 1
                }
            }
            guard base.size + added.count < Int(UInt32.max) else { throw LayoutIDCache.damaged(directory) }
            self.hashes = hashes
            self.starts = starts
            size = base.size + added.count
        }

        /// The (hash, start) of the lines of `bytes` from `start` on, sorted by hash.
        private static func keys(
            of bytes: [UInt8], from start: Int, directory: String
        ) throws -> [(hash: UInt64, start: UInt32)] {
            guard bytes.count < Int(UInt32.max) else { throw LayoutIDCache.damaged(directory) }
            var keys: [(hash: UInt64, start: UInt32)] = []
            var start = start
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                guard let tab = bytes[start..<end].firstIndex(of: UInt8(ascii: "\t")) else {
                    throw LayoutIDCache.damaged(directory)
                }
                keys.append((Self.idHash(bytes[start..<tab]), UInt32(start)))
                start = end + 1
            }
            return keys.sorted { $0.hash < $1.hash }
        }

        /// FNV-1a of the NFC id of the item whose path is `path` (file name without `.json`).
        static func idHash(_ path: ArraySlice<UInt8>) -> UInt64 {
            let slash = path.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? path.startIndex
            var name = path[slash...]
            if name.count >= 5, name.suffix(5).elementsEqual(".json".utf8) { name = name.dropLast(5) }
            guard name.allSatisfy({ $0 < 0x80 }) else {
                return LayoutIDCache.fnv1a(ReservedNames.nfc(String(decoding: name, as: UTF8.self)))
            }
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in name {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            return hash
        }

        /// Whether a line's id has this hash.
        func contains(idHash hash: UInt64) -> Bool {
            let low = firstKey(atLeast: hash)
            return low < hashes.count && hashes[low] == hash
        }

        private func firstKey(atLeast hash: UInt64) -> Int {
            var low = 0
            var high = hashes.count
            while low < high {
                let mid = (low + high) / 2
                if hashes[mid] < hash { low = mid + 1 } else { high = mid }
            }
            return low
        }

        /// The lines whose id has this hash, read from `file` (the shard these keys describe):
        /// (path, parent). A line that is not where the keys say, or not of that hash, makes
        /// the cache damaged.
        func lines(withIDHash hash: UInt64, file: String, directory: String) throws -> [(path: String, parent: String)]
        {
            var low = firstKey(atLeast: hash)
            guard low < hashes.count, hashes[low] == hash else { return [] }
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw LayoutIDCache.damaged(directory) }
            defer { close(fd) }
            var status = stat()
            guard fstat(fd, &status) == 0, Int(status.st_size) == size else { throw LayoutIDCache.damaged(directory) }
            var out: [(String, String)] = []
            while low < hashes.count, hashes[low] == hash {
                let line = try Self.line(fd: fd, at: Int(starts[low]), size: size, directory: directory)
                let f = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
                guard f.count == 2, Self.idHash(f[0]) == hash else { throw LayoutIDCache.damaged(directory) }
                out.append((String(decoding: f[0], as: UTF8.self), String(decoding: f[1], as: UTF8.self)))
                low += 1
            }
            return out
        }

        /// The line of the file `fd` (of `size` bytes) that starts at `start`, without its newline.
        private static func line(fd: Int32, at start: Int, size: Int, directory: String) throws -> [UInt8] {
            var line: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 512)
            var at = start
            while at < size {
                let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(at)) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                if let newline = chunk[0..<n].firstIndex(of: UInt8(ascii: "\n")) {
                    return line + chunk[0..<newline]
                }
                line += chunk[0..<n]
                at += n
                // No path and parent make a line this long: the file is not a shard.
                guard line.count < 1 << 16 else { break }
            }
            throw LayoutIDCache.damaged(directory)
        }
    }

    private var shards: [Int: Shard] = [:]
    private var knownSizes: [Int]?
    private var knownContainers: [UInt8]?
    private var knownRows: Rows?

    /// The containers file's rows by path, and each container's children in file order.
    struct Rows {
        var rows: [String: (parent: String, id: String)] = [:]
        var children: [String: [String]] = [:]

        init(_ list: [(path: String, parent: String, id: String)]) {
            rows.reserveCapacity(list.count)
            for row in list {
                rows[row.path] = (row.parent, row.id)
                children[row.parent, default: []].append(row.path)
            }
        }
    }

    /// The rows of the `containers` file this value read or wrote.
    var rows: Rows? {
        get { lock.withLock { knownRows } }
        set { lock.withLock { knownRows = newValue } }
    }
    private let lock = NSLock()

    /// The `containers` file as ``LayoutIDCache/containers()`` read it.
    var containersBytes: [UInt8]? {
        get { lock.withLock { knownContainers } }
        set { lock.withLock { knownContainers = newValue } }
    }

    /// Shard `n` if a lookup read it.
    func cachedShard(_ n: Int) -> Shard? { lock.withLock { shards[n] } }

    /// Shard `n` as read, with `lines` appended (what a write appended to its file).
    func append(_ lines: [UInt8], toShard n: Int, directory: String) throws {
        guard let shard = cachedShard(n) else { return }
        let grown = try Shard(shard, appending: lines, directory: directory)
        lock.withLock { shards[n] = grown }
    }

    /// Forgets shard `n` (its file is rewritten).
    func drop(_ n: Int) { _ = lock.withLock { shards.removeValue(forKey: n) } }

    /// Forgets what was read (the files were written).
    func reset() {
        lock.withLock {
            shards = [:]
            knownSizes = nil
            knownContainers = nil
            knownRows = nil
        }
    }

    /// The shard sizes of the key this value was validated against (``LayoutIDCache/isValid(for:)``).
    var sizes: [Int]? {
        get { lock.withLock { knownSizes } }
        set { lock.withLock { knownSizes = newValue } }
    }

    func shard(_ n: Int, read: () throws -> Shard) throws -> Shard {
        if let known = lock.withLock({ shards[n] }) { return known }
        let shard = try read()
        lock.withLock { shards[n] = shard }
        return shard
    }
}

/// Where ``CatalogIndex/load(read:lazy:)`` may leave a templated collection's sub-catalogs
/// unread: the state directory and the version being read.
struct LazyLayouts: Sendable {
    let stateDirectory: URL
    let key: String
}

extension CatalogIndex.Container {
    /// Refuses to rewrite the member links of a container whose items were not read: they would
    /// all be dropped.
    func requireItemsLoaded() throws {
        guard itemsLoaded else {
            throw StacRepositoryError(
                .internal, "The sub-catalog \(path) was about to be rewritten unread; run the command again.")
        }
    }
}

extension CatalogIndex {
    /// Whether some containers were left unread (their `items` are not known yet).
    var hasDeferredContainers: Bool { !lazyCollections.isEmpty }

    /// Inserts the sub-catalogs of the templated collection `collection` from its cache, unread
    /// (their items are read by ``loadItems(of:read:)``), and marks those its template made as
    /// ``markLayoutCatalogs()`` would (which then skips the collection); false when the cache is
    /// not for `key` or does not match the collection's own child links. One pass over the cache's
    /// rows, parents first: at a million items it is most of what a single-product command reads.
    mutating func deferSubCatalogs(of collection: Container, lazy: LazyLayouts) -> Bool {
        let cache = LayoutIDCache(stateDirectory: lazy.stateDirectory, collectionPath: collection.path)
        guard cache.isValid(for: lazy.key), let rows = try? cache.containers() else { return false }
        let depth = collection.layout.flatMap { try? LayoutTemplate(parsing: $0) }?.depth ?? 0
        var stubs = [String: Container](minimumCapacity: rows.count)
        // The depth below the collection of the stubs its template made.
        var layoutDepth = [String: Int](minimumCapacity: rows.count)
        var direct: Set<String> = []
        for row in rows {
            let isDirect = row.parent == collection.path
            guard isDirect || stubs[row.parent] != nil, stubs[row.path] == nil, containers[row.path] == nil else {
                return false
            }
            let directory = parentDirectory(row.path)
            var stub = Container(
                id: row.id, type: .catalog, path: row.path, directory: directory, parent: row.parent,
                children: [], items: [], itemsLoaded: false)
            // markLayoutCatalogs' rule: below the collection or a sub-catalog it made, within the
            // template's depth, in a folder of its parent's folder, named catalog.json, with the
            // id `<parent's id>-<folder name>`.
            let above = isDirect ? 0 : layoutDepth[row.parent]
            if let above, above < depth {
                let parent = isDirect ? collection : stubs[row.parent]
                let name =
                    directory.utf8.lastIndex(of: UInt8(ascii: "/")).map {
                        String(directory[directory.index(after: $0)...])
                    } ?? directory
                if parentDirectory(directory) == parent?.directory, row.path == join(directory, "catalog.json"),
                    row.id == (parent?.id ?? "") + "-" + name
                {
                    stub.layoutCollection = collection.path
                    layoutDepth[row.path] = above + 1
                }
            }
            stubs[row.path] = stub
            stubs[row.parent]?.children.append(row.path)
            if isDirect { direct.insert(row.path) }
        }
        guard direct == Set(collection.children) else { return false }
        containers.reserveCapacity(containers.count + stubs.count)
        containers.merge(stubs) { old, _ in old }
        lazyCollections[collection.path] = cache
        return true
    }

    /// Reads the items of a container left unread.
    mutating func loadItems(of path: String, read: (String) throws -> [UInt8]?) throws {
        guard var container = containers[path], !container.itemsLoaded else { return }
        guard let bytes = try read(path) else {
            throw StacRepositoryError(
                .storage, "The stored file \(path) is missing; restore it with `rollback`.")
        }
        let object: STACObject
        do { object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path) } catch {
            throw StacRepositoryError(
                .storage, "The stored file \(path) is not a STAC object (\(error)); restore it with `rollback`.")
        }
        var children: [String] = []
        for link in object.links {
            guard let target = Self.resolveInside(link.href, from: path) else { continue }
            if link.rel == "child" {
                children.append(target)
            } else if link.rel == "item" {
                container.items.append(target)
                if items.updateValue(
                    ItemEntry(id: Self.itemID(fromPath: target), path: target, parent: path), forKey: target) == nil
                {
                    itemPathsByID[ReservedNames.nfc(Self.itemID(fromPath: target)), default: []].append(target)
                }
            }
        }
        if Set(children) != Set(container.children) || object.id != container.id {
            for cache in lazyCollections.values { cache.remove() }
            throw StacRepositoryError(
                .storage,
                "The layout cache disagrees with the stored file \(path) and has been removed; run the command again.")
        }
        container.itemsLoaded = true
        containers[path] = container
    }

    /// Reads the containers holding the items with `id` that the layout caches know of, so that
    /// ``items(withID:)`` is complete.
    mutating func loadItems(withID id: String, read: (String) throws -> [UInt8]?) throws {
        for cache in lazyCollections.values {
            for entry in try cache.items(withID: id) {
                try loadChain(to: entry.parent, read: read)
            }
        }
    }

    /// Reads a container left unread and every unread one above it.
    mutating func loadChain(to path: String, read: (String) throws -> [UInt8]?) throws {
        var chain: [String] = []
        var current: String? = path
        while let p = current, let c = containers[p] {
            if !c.itemsLoaded { chain.append(p) }
            current = c.parent
        }
        for p in chain.reversed() { try loadItems(of: p, read: read) }
    }

    /// Reads every container left unread below `path` (a whole collection to prune or relayout).
    mutating func loadSubtree(_ path: String, read: (String) throws -> [UInt8]?) throws {
        try loadChain(to: path, read: read)
        var queue = [path]
        while let p = queue.popLast() {
            try loadItems(of: p, read: read)
            queue += containers[p]?.children ?? []
        }
    }

    /// After a commit of version `key` whose layout caches were brought to it from this index
    /// (``saveLayoutCaches(stateDirectory:key:previousKey:changedPaths:)``): the sub-catalogs of
    /// every templated collection whose cache names `key` go back to unread stubs, so that an
    /// index carried from batch to batch of a long ingest holds what the next batch reads, not
    /// every sub-catalog an earlier batch touched. A collection whose cache could not be written
    /// is read whole instead (its stubs could no longer be completed through the cache).
    mutating func unloadLayoutCatalogs(
        committedAs key: String, stateDirectory: URL, read: (String) throws -> [UInt8]?
    ) throws {
        // The collections first: mutating `containers` while iterating it copied the whole
        // dictionary on every commit of a long ingest. A collection with a collection below it
        // has no valid cache (saveLayoutCaches removed it), so it is read whole below.
        let collections = containers.values.filter { $0.type == .collection && $0.layout != nil }.map(\.path)
        var valid: Set<String> = []
        for path in collections {
            // The value this commit wrote through keeps the shards it read, brought up to date.
            let fresh = LayoutIDCache(stateDirectory: stateDirectory, collectionPath: path)
            let cache = lazyCollections[path].flatMap { $0.directory == fresh.directory ? $0 : nil } ?? fresh
            guard cache.isValid(for: key) else {
                if lazyCollections.removeValue(forKey: path) != nil { try loadSubtree(path, read: read) }
                continue
            }
            lazyCollections[path] = cache
            valid.insert(path)
        }
        guard !valid.isEmpty else { return }
        // The sub-catalogs that hold items, in one pass over the containers: a walk of each
        // collection's tree cost a one-item commit at 1,000,000 items a hash lookup for each of
        // its 1,900 sub-catalogs (4 % of its time).
        var holding: [String] = []
        for (path, c) in containers where c.itemsLoaded && c.type != .collection && !c.items.isEmpty {
            holding.append(path)
        }
        for path in holding {
            guard let owner = owningCollectionPath(of: path), valid.contains(owner), var c = containers[path] else {
                continue
            }
            for item in c.items {
                if let entry = items.removeValue(forKey: item) { forgetID(of: entry) }
            }
            c.items = []
            c.itemsLoaded = false
            containers[path] = c
        }
    }

    /// The path of the nearest collection above the container at `path`.
    private func owningCollectionPath(of path: String) -> String? {
        var current = containers[path]?.parent
        while let p = current, let c = containers[p] {
            if c.type == .collection { return p }
            current = c.parent
        }
        return nil
    }

    /// After a commit of version `key` on top of `previousKey` that changed `changedPaths`: the
    /// layout caches of every templated collection this index holds, brought to that version. A
    /// cache that described `previousKey` has only the shards of the changed items rewritten;
    /// any other is written whole (this index then holds every item: it read the catalog
    /// whole). A collection with a collection below it gets no cache.
    func saveLayoutCaches(
        stateDirectory: URL, key: String, previousKey: String?, changedPaths: some Collection<String>
    ) throws {
        let changed = Set(changedPaths)
        for collection in containers.values where collection.type == .collection && collection.layout != nil {
            // The value the lookups of this command used, with the shards they read.
            let fresh = LayoutIDCache(stateDirectory: stateDirectory, collectionPath: collection.path)
            let cache = lazyCollections[collection.path].flatMap { $0.directory == fresh.directory ? $0 : nil } ?? fresh
            let prefix = collection.directory.isEmpty ? "" : collection.directory + "/"
            let incremental = previousKey.map { cache.isValid(for: $0) } ?? false
            // The changed item paths, for a cache that described `previousKey` (the sub-catalogs
            // on their way are not items: reading the shard of the id "catalog" cost every
            // one-item commit a shard scan); `isBelow` tells the containers below the collection.
            func writeChanges(
                containers rows: [(path: String, parent: String, id: String)]?, isBelow: (String) -> Bool
            ) throws {
                let touched = changed.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") && containers[$0] == nil }
                let shards = Set(touched.map { LayoutIDCache.shard(ofID: Self.itemID(fromPath: $0)) })
                let now = touched.compactMap { p in items[p].flatMap { isBelow($0.parent) ? (p, $0.parent) : nil } }
                try cache.write(key: key, containers: rows, items: now, changedIDs: shards, changedPaths: touched)
            }
            // A commit that added, removed or relinked no sub-catalog (one that adds items to
            // existing ones) leaves the containers file as it is, without a walk of every
            // sub-catalog (9 % of a one-item commit at 1,000,000 items).
            if incremental,
                cache.containersUnchanged(
                    direct: collection.children, changedPaths: changed.lazy.filter { $0.hasPrefix(prefix) },
                    container: { containers[$0] })
            {
                try writeChanges(containers: nil, isBelow: cache.listsContainer)
                continue
            }
            var below: [(path: String, parent: String, id: String)] = []
            var queue = Array(collection.children.reversed())
            var nested = false
            while let p = queue.popLast(), !nested {
                guard let c = containers[p], let parent = c.parent else { continue }
                if c.type == .collection { nested = true }
                below.append((p, parent, c.id))
                queue += c.children.reversed()
            }
            if nested {
                cache.remove()
                continue
            }
            if incremental {
                let belowSet = Set(below.map(\.path))
                try writeChanges(containers: below, isBelow: belowSet.contains)
            } else {
                guard lazyCollections[collection.path] == nil else {
                    cache.remove()
                    continue
                }
                var all: [(path: String, parent: String)] = []
                for row in below { for item in containers[row.path]?.items ?? [] { all.append((item, row.path)) } }
                try cache.write(key: key, containers: below, items: all, changedIDs: nil, changedPaths: [])
            }
        }
    }
}
