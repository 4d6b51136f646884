public import Foundation
public import STAC

/// A stac-repository: a STAC catalog kept by a storage backend, changed only through transactions.
///
/// Open one with ``open(at:)`` or create one with ``create(at:options:)``. Writers take an
/// exclusive lock; readers do not need it.
public final class Repository {
    /// The backend that stores the catalog.
    public let backend: any StorageBackend
    /// Told (once) when a writer with `wait` finds the lock taken and starts waiting; the CLI
    /// prints it, so that `--wait` never waits silently.
    public var lockWaitNotice: (@Sendable (String) -> Void)?
    /// The catalog root directory.
    public var root: URL { backend.root }

    init(backend: any StorageBackend) {
        self.backend = backend
    }

    /// What `init` needs.
    public struct CreateOptions: Sendable {
        public var backend: BackendKind = .git
        public var branch: String = "main"
        /// The root catalog to start from; its links are rewritten to the repository layout.
        public var rootCatalog: JSONValue
        /// Allow a repository inside another repository's directory (refused by default).
        public var nested = false
        public init(backend: BackendKind = .git, branch: String = "main", rootCatalog: JSONValue, nested: Bool = false)
        {
            self.backend = backend
            self.branch = branch
            self.rootCatalog = rootCatalog
            self.nested = nested
        }
    }

    /// A default root catalog object.
    public static func makeRootCatalog(id: String, title: String?, description: String, license: String?) -> JSONValue {
        var o = JSONObject()
        o["type"] = "Catalog"
        o["stac_version"] = "1.1.0"
        o["id"] = .string(id)
        if let title { o["title"] = .string(title) }
        o["description"] = .string(description)
        if let license { o["license"] = .string(license) }
        o["links"] = .array([])
        return .object(o)
    }

    /// Creates a new repository at `url` (an empty or absent directory, or a plain git repository,
    /// which is adopted: its history and files are kept and the catalog is committed on its branch).
    /// - Throws: ``StacRepositoryError`` when the directory already holds a repository or a
    ///   catalog, or lies inside another repository (unless `options.nested`).
    public static func create(at url: URL, options: CreateOptions) throws -> Repository {
        let path = url.standardizedFileURL.path
        guard let descriptor = BackendRegistry.descriptor(options.backend) else {
            throw StacRepositoryError(
                .usage,
                "There is no backend \(options.backend); choose one of \(BackendKind.allCases.map(\.rawValue).joined(separator: ", ")) (`stac-repository show-backends`)."
            )
        }
        if BackendRegistry.detect(path) != nil {
            throw StacRepositoryError(
                .alreadyExists,
                "\(path) already holds a repository; use it as it is (pass `--repository \(path)` to the other commands), or choose another directory."
            )
        }
        if let refusal = descriptor.refuseCreate(path) { throw refusal }
        if !options.nested, path != "/",
            let outer = try? Repository.open(at: URL(fileURLWithPath: (path as NSString).deletingLastPathComponent))
        {
            throw StacRepositoryError(
                .alreadyExists,
                "\(path) is inside the repository \(outer.root.path); ingest into that one, or pass --nested to create a repository inside it."
            )
        }
        if FS.exists(path + "/catalog.json") {
            throw StacRepositoryError(
                .alreadyExists,
                "\(path) already holds a catalog.json; to keep that catalog, init elsewhere and ingest it, or empty the directory."
            )
        }
        var root = try STACObject(options.rootCatalog, source: "the root catalog")
        guard root.type == .catalog else {
            throw StacRepositoryError(
                .invalidInput,
                "The root catalog must have \"type\": \"Catalog\", not \"\(root.type.rawValue)\"; pass a catalog file.")
        }
        // The repository owns the structural links; other links are kept.
        root.removeLinks { ["self", "root", "parent", "child", "item"].contains($0.rel) }
        var links = root.links
        links.insert(Link(rel: "root", href: "./catalog.json", type: "application/json", title: root.title), at: 0)
        root.links = links
        try FS.makeDirectories(path)
        let (backend, initialFiles) = try descriptor.create(URL(fileURLWithPath: path), options)
        let repository = Repository(backend: backend)
        try repository.withLock(wait: false, purpose: "init") {
            var changes = initialFiles
            changes["catalog.json"] = .write(JSONValue.object(root.json).serialized())
            try backend.commit(
                changes,
                record: OperationRecord(
                    operation: "init", summary: "catalog \"\(root.id)\"",
                    products: [
                        ProductChange(id: root.id, kind: "catalog", change: .added)
                    ]))
        }
        return repository
    }

    /// Opens the repository at `url` (or the nearest enclosing one).
    /// - Throws: ``StacRepositoryError`` `.notFound` when there is none.
    public static func open(at url: URL) throws -> Repository {
        var dir = url.standardizedFileURL.path
        while true {
            if let descriptor = BackendRegistry.detect(dir) {
                return Repository(backend: try descriptor.open(URL(fileURLWithPath: dir)))
            }
            if dir == "/" || dir.isEmpty { break }
            dir = (dir as NSString).deletingLastPathComponent
        }
        throw StacRepositoryError(
            .notFound,
            "\(url.path) is not inside a stac-repository repository; run `stac-repository init` there, or pass --repository PATH."
        )
    }

    // MARK: Locking and transactions

    /// Runs `body` holding the writer lock, after recovering any interrupted commit.
    public func withLock<T>(wait: Bool, purpose: String, _ body: () throws -> T) throws -> T {
        let lock = try backend.acquireLock(wait: wait, purpose: purpose, onWait: lockWaitNotice)
        defer { withExtendedLifetime(lock) {} }
        try backend.recover()
        try backend.prepareForWriting()
        return try body()
    }

    /// Async variant of ``withLock(wait:purpose:_:)``.
    public func withLock<T>(wait: Bool, purpose: String, _ body: () async throws -> T) async throws -> T {
        let notice = lockWaitNotice
        let backend = backend
        // A waiting lock blocks its thread: never one of the cooperative pool's.
        let lock: AnyObject =
            wait
            ? try await DedicatedThread.run("stac-repository lock") {
                try backend.acquireLock(wait: true, purpose: purpose, onWait: notice)
            } : try backend.acquireLock(wait: false, purpose: purpose, onWait: nil)
        defer { withExtendedLifetime(lock) {} }
        try backend.recover()
        try backend.prepareForWriting()
        return try await body()
    }

    /// Finishes a commit interrupted by a writer that died, when there is one; used by read-only
    /// commands. Without a journal (the normal case) it does nothing and touches no lock. With
    /// one, it takes the lock only if it is free (never waiting), and a writer that meets this
    /// short recovery waits for it instead of failing (``FileLock``). Whatever happens here,
    /// readers read through ``StorageBackend/readConsistently(at:_:)``, which never sees a
    /// half-made commit.
    /// - Throws: when the recovery itself fails, so that a damaged state is never read silently.
    public func recoverIfIdle() throws {
        if let lock = try backend.lockForRecoveryIfIdle() {
            defer { withExtendedLifetime(lock) {} }
            try backend.recover()
        }
    }

    /// Runs `body` in a transaction: changes are collected in `tx` and committed atomically when
    /// `body` returns a record; nothing is visible if it throws (staged files are removed).
    /// Without `force`, uncommitted work-tree changes to the paths it touches make it throw.
    ///
    /// - Returns: the record and the new version id, or nil when there was nothing to commit.
    @discardableResult
    public func withTransaction(
        wait: Bool, purpose: String, force: Bool = false, progress: ProgressHandler? = nil,
        _ body: (Transaction) async throws -> OperationRecord?
    ) async throws -> (record: OperationRecord, version: String?)? {
        try await withLock(wait: wait, purpose: purpose) {
            let tx = Transaction(backend: backend)
            defer { tx.discardStaged() }
            guard let record = try await body(tx) else { return nil }
            if tx.changes.isEmpty { return (record, nil) }
            // The commit blocks (libgit2, fsync, the ref-lock retry): on a thread of its own.
            let changes = tx.changes
            let afterCommit = tx.afterCommit
            let version = try await DedicatedThread.run("stac-repository commit") {
                // Uncommitted hand edits of the touched paths are never overwritten silently.
                try self.refuseLocalChanges(to: changes.keys, force: force, command: purpose)
                let before = self.backend.layoutCacheKey()
                let version = try self.backend.commit(changes, record: record, progress: progress)
                TestHooks.crashPoint("committed-before-layout-cache")
                afterCommit?(changes, before)
                return version
            }
            tx.committed = true
            return (record, version)
        }
    }

    /// What ``CatalogIndex/load(read:lazy:)`` needs to leave sub-catalogs unread: nil for a
    /// backend without a version id (the file backend, whose files a hand edit may change
    /// without a new version, is always read whole).
    func lazyLayouts() -> LazyLayouts? {
        backend.layoutCacheKey().map { LazyLayouts(stateDirectory: backend.stateDirectory, key: $0) }
    }

    /// After a commit: the layout caches of `index` (what the commit left) brought to the new
    /// version. A cache that cannot be written is removed; the next command reads the catalog.
    func saveLayoutCachesHook(_ index: CatalogIndex) -> @Sendable ([String: FileChange], String?) -> Void {
        let backend = UncheckedTransfer(self.backend)
        return { changes, previousKey in
            guard let key = backend.value.layoutCacheKey() else { return }
            do {
                try index.saveLayoutCaches(
                    stateDirectory: backend.value.stateDirectory, key: key, previousKey: previousKey,
                    changedPaths: changes.keys)
            } catch {
                try? FileManager.default.removeItem(
                    at: backend.value.stateDirectory.appendingPathComponent("cache/layout-ids"))
            }
        }
    }

    /// The parsed current catalog structure.
    public func index() throws -> CatalogIndex {
        try CatalogIndex.load { try backend.read($0) }
    }
}

/// The changes of one transaction, read through: reads see the transaction's own writes.
public final class Transaction {
    let backend: any StorageBackend
    private(set) var changes: [String: FileChange] = [:]
    private var stagingFiles: [URL] = []
    var committed = false
    /// Run on the commit's thread right after the commit, with its changes (the layout caches).
    var afterCommit: (@Sendable (_ changes: [String: FileChange], _ previousKey: String?) -> Void)?

    init(backend: any StorageBackend) { self.backend = backend }

    /// A directory for staged asset files of this transaction.
    public var stagingDirectory: URL { backend.stagingDirectory }

    public func read(_ path: String) throws -> [UInt8]? {
        switch changes[path] {
        case .write(let b): return b
        case .delete: return nil
        case .asset(let f, _, _): return try FS.read(f.path)
        case .storedAsset: return try backend.read(path)
        case nil: return try backend.read(path)
        }
    }

    public func exists(_ path: String) throws -> Bool {
        switch changes[path] {
        case .write, .asset, .storedAsset: return true
        case .delete: return false
        case nil: return try backend.exists(path)
        }
    }

    public func write(_ path: String, _ bytes: [UInt8]) {
        if case .asset(let f, _, _) = changes[path] { try? FS.removeFile(f.path) }
        changes[path] = .write(bytes)
    }

    public func writeAsset(_ path: String, stagedFile: URL, sha256: String, size: Int64) {
        if case .asset(let f, _, _) = changes[path], f != stagedFile { try? FS.removeFile(f.path) }
        changes[path] = .asset(stagedFile: stagedFile, sha256: sha256, size: size)
        stagingFiles.append(stagedFile)
    }

    /// Puts back an asset the backend already stores (a rollback to an earlier version).
    public func restoreStoredAsset(_ path: String, sha256: String, size: Int64) {
        if case .asset(let f, _, _) = changes[path] { try? FS.removeFile(f.path) }
        changes[path] = .storedAsset(sha256: sha256, size: size)
    }

    /// Registers a staged file so that it is removed if the transaction does not commit.
    public func trackStaged(_ file: URL) { stagingFiles.append(file) }

    public func delete(_ path: String) {
        if case .asset(let f, _, _) = changes[path] { try? FS.removeFile(f.path) }
        changes[path] = .delete
    }

    /// Files under `directory` as the transaction sees them.
    public func list(under directory: String) throws -> [String] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        var set = Set(try backend.list(under: directory))
        for (path, change) in changes where path.hasPrefix(prefix) {
            if case .delete = change { set.remove(path) } else { set.insert(path) }
        }
        return set.sorted()
    }

    /// Deletes every file under `directory`.
    public func deleteTree(_ directory: String) throws {
        for path in try list(under: directory) { delete(path) }
    }

    func discardStaged() {
        guard !committed else { return }
        for f in stagingFiles { try? FS.removeFile(f.path) }
    }
}
