public import Foundation

/// The name of a storage backend (`git`, `file`): what `init --backend` takes and what a
/// repository records. The backends themselves are listed once, in ``BackendRegistry``.
public struct BackendKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// git + Git LFS through libgit2: every operation is a commit.
    public static let git = BackendKind("git")
    /// Plain files with a journal: no content history.
    public static let file = BackendKind("file")

    /// Every registered backend, in registration order.
    public static var allCases: [BackendKind] { BackendRegistry.backends.map(\.kind) }

    /// One line describing the backend, for `show-backends`.
    public var summary: String { BackendRegistry.descriptor(self)?.summary ?? "unknown backend" }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// One change to a file of the catalog tree, by repository-relative path.
public enum FileChange: Sendable {
    /// A small file (JSON) with these bytes.
    case write([UInt8])
    /// A large file (asset) whose bytes are in `stagedFile` (inside the backend's staging
    /// directory), already hashed.
    case asset(stagedFile: URL, sha256: String, size: Int64)
    /// An asset whose bytes the backend already stores under this SHA-256 (a rollback to an
    /// older version reuses them; only versioned backends are given this change).
    case storedAsset(sha256: String, size: Int64)
    /// The file is removed.
    case delete
}

/// What an operation did to a product, for commit messages and history.
public enum ProductChangeKind: String, Sendable, Codable {
    case added, updated, removed, unchanged

    var symbol: String {
        switch self {
        case .added: "+"
        case .updated: "~"
        case .removed: "-"
        case .unchanged: "="
        }
    }
}

/// A product touched by an operation.
public struct ProductChange: Sendable, Codable, Hashable {
    public var id: String
    /// "item", "collection" or "catalog".
    public var kind: String
    public var change: ProductChangeKind
    public init(id: String, kind: String, change: ProductChangeKind) {
        self.id = id
        self.kind = kind
        self.change = change
    }
}

/// The description of one operation: what `history` shows and what a commit message says.
public struct OperationRecord: Sendable, Codable {
    public var operation: String
    public var summary: String
    public var products: [ProductChange]
    public var trailers: [String: String]
    public var date: Date
    /// Versions besides the current one that the new version continues (a merge: the remote
    /// commit, second parent); nil for every other operation. Versioned backends only.
    public var mergeParents: [String]?

    public init(
        operation: String, summary: String, products: [ProductChange], trailers: [String: String] = [:],
        date: Date = Date()
    ) {
        self.operation = operation
        self.summary = summary
        self.products = products
        self.trailers = trailers
        self.date = date
    }

    /// The commit message (DESIGN §7): summary line, product list with +/~/-, trailers.
    public var message: String {
        var text = "\(operation): \(summary)\n"
        let listed = products.filter { $0.change != .unchanged }
        if !listed.isEmpty {
            text += "\n"
            for p in listed { text += "\(p.change.symbol) \(p.kind) \(p.id)\n" }
        }
        text += "\nStac-Repository-Operation: \(operation)\n"
        for key in trailers.keys.sorted() { text += "\(key): \(trailers[key] ?? "")\n" }
        return text
    }

    /// Parses a commit message written by ``message``; nil when it was not written by this tool.
    public static func parse(message: String, date: Date) -> OperationRecord? {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, let colon = first.firstIndex(of: ":") else { return nil }
        var products: [ProductChange] = []
        var trailers: [String: String] = [:]
        var operation: String?
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            if parts.count == 3, let sym = parts.first, ["+", "~", "-"].contains(sym) {
                let change: ProductChangeKind = sym == "+" ? .added : sym == "~" ? .updated : .removed
                products.append(ProductChange(id: parts[2], kind: parts[1], change: change))
            } else if let r = line.range(of: ": "), line.hasPrefix("Stac-Repository-") || line.hasPrefix("Processor") {
                let key = String(line[..<r.lowerBound])
                let value = String(line[r.upperBound...])
                if key == "Stac-Repository-Operation" { operation = value } else { trailers[key] = value }
            }
        }
        guard let op = operation else { return nil }
        let summary = first[first.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        return OperationRecord(operation: op, summary: summary, products: products, trailers: trailers, date: date)
    }
}

/// One entry of `history`.
public struct HistoryEntry: Sendable, Codable {
    /// The commit id (git) or operation number (file backend).
    public var id: String
    public var record: OperationRecord
}

/// Layer 1 of the backend contract: reading the catalog at a version.
///
/// Paths are repository-relative POSIX paths (`"c1/i1/i1.json"`). Readers never take the
/// writer lock; ``readConsistently(at:_:)`` never shows a half-made commit.
public protocol CatalogReading: AnyObject {
    /// The current bytes of a catalog file, or nil.
    func read(_ path: String) throws -> [UInt8]?
    /// Whether anything (a document or an asset) is stored at `path` in the current version.
    func exists(_ path: String) throws -> Bool
    /// Files under a directory of the catalog (recursively), repository-relative; "" is the root.
    func list(under directory: String) throws -> [String]
    /// The catalog at `ref` (nil: the current version).
    func snapshot(at ref: String?) throws -> any CatalogSnapshot
    /// Where the current bytes of an asset are on the local disk (the work-tree file), for the
    /// stat cache and in-place checks.
    func assetFile(_ path: String) -> URL
    /// Runs `body` on the catalog at `ref` as one version: a concurrent commit is never seen
    /// half-made (the file backend retries when a commit happened while `body` read).
    func readConsistently<T>(at ref: String?, _ body: (any CatalogSnapshot) throws -> T) throws -> T
}

/// Layer 2 of the backend contract: committing a change set atomically.
///
/// Implementations must make ``commit(_:record:progress:)`` atomic: after a crash at any
/// instant, ``recover()`` brings the repository to the state before or after the commit.
/// Objects before refs: new content is written (and flushed) before whatever makes it visible.
/// Writers hold the lock ``acquireLock(wait:purpose:onWait:)`` gives (``Repository`` takes it
/// for every writing operation, then calls ``recover()`` and ``prepareForWriting()``).
public protocol ChangeCommitting: AnyObject {
    /// A directory on the same filesystem as the repository for staged asset files.
    var stagingDirectory: URL { get }
    /// Takes the writer lock; released when the returned object is released.
    func acquireLock(wait: Bool, purpose: String, onWait: (@Sendable (String) -> Void)?) throws -> AnyObject
    /// Takes the lock only if it is free and something needs recovery; nil otherwise.
    func lockForRecoveryIfIdle() throws -> AnyObject?
    /// Brings an interrupted commit to a consistent state. Called with the lock held.
    func recover() throws
    /// Called with the lock held after ``recover()``, before a writing operation: a backend
    /// migrates an older on-disk format here (git: repository format 2).
    func prepareForWriting() throws
    /// Applies all changes atomically; returns the new version's id (commit id) if any.
    /// Tells `progress` (phase "commit", unit "paths") how many paths it has written, and may
    /// report a second phase (the git backend's "work tree", unit "files").
    @discardableResult
    func commit(_ changes: [String: FileChange], record: OperationRecord, progress: ProgressHandler?) throws
        -> String?
    /// Brackets many commits made in a row by one process (`ingest --batch-size`, with the lock
    /// held): until ``endCommitRun()``, a backend may put off work that only keeps a local view of
    /// the newest version current (git: `.git/index`), as long as what is committed stays
    /// committed if the process dies (the next writer's ``recover()`` finishes the view).
    func beginCommitRun()
    /// Does the work a commit run put off (called before the process waits for more input).
    func catchUpCommitRun() throws
    /// Does the work a commit run put off and ends the run.
    func endCommitRun() throws
}

/// A storage backend: reading and committing (layers 1 and 2), the operations log, settings,
/// and, for versioned backends, ``versioning`` (layer 3).
///
/// A new backend is one folder under `Backends/` plus one line in ``BackendRegistry``; the
/// contract tests (`BackendContractTests`) run every registered backend.
public protocol StorageBackend: CatalogReading, ChangeCommitting {
    /// Which backend this is.
    var kind: BackendKind { get }
    /// The catalog's root directory (the work tree).
    var root: URL { get }
    /// Where the tool keeps its state (lock, journal, staging, caches).
    var stateDirectory: URL { get }
    /// The operations, newest first.
    func history(limit: Int?) throws -> [HistoryEntry]
    /// Settings stored with the repository.
    func configValue(_ key: String) throws -> String?
    func setConfigValue(_ key: String, _ value: String?) throws
    func configEntries() throws -> [(String, String)]
    /// The versioned layer, when the backend keeps content history (nil: it does not).
    var versioning: (any VersionedBackend)? { get }
    /// The test-only crash points of this backend (see ``CrashInjector``).
    var crashes: CrashInjector { get }
    /// The id of the current version when it names its content exactly (a commit id), so that
    /// caches derived from it (``LayoutIDCache``) can be trusted; nil otherwise.
    func layoutCacheKey() -> String?
}

extension CatalogReading {
    /// A backend that keeps assets as local files: a document, or an asset file at its place.
    public func exists(_ path: String) throws -> Bool {
        try read(path) != nil || FS.exists(assetFile(path).path)
    }
}

extension StorageBackend {
    public var versioning: (any VersionedBackend)? { nil }
    public func layoutCacheKey() -> String? { nil }
    public func prepareForWriting() throws {}
    public func beginCommitRun() {}
    public func catchUpCommitRun() throws {}
    public func endCommitRun() throws {}

    /// A lock file `lock` in ``stateDirectory`` (flock), shared by the built-in backends.
    public func acquireLock(wait: Bool, purpose: String, onWait: (@Sendable (String) -> Void)?) throws -> AnyObject {
        try FileLock(path: stateDirectory.path + "/lock", wait: wait, holderDescription: purpose, onWait: onWait)
    }

    public func lockForRecoveryIfIdle() throws -> AnyObject? {
        guard FS.exists(stateDirectory.path + "/journal.json") else { return nil }
        return try? FileLock(
            path: stateDirectory.path + "/lock", wait: false, holderDescription: FileLock.recoveryPurpose)
    }
}

extension StorageBackend {
    /// ``commit(_:record:progress:)`` without progress.
    @discardableResult
    public func commit(_ changes: [String: FileChange], record: OperationRecord) throws -> String? {
        try commit(changes, record: record, progress: nil)
    }
}

/// Counts units of a phase and tells a ``ProgressHandler`` (at most every 1/256 of the total).
final class PhaseCounter {
    let phase: String
    let total: Int
    let unit: String
    let handler: ProgressHandler?
    private(set) var done = 0

    init(_ phase: String, total: Int, unit: String, handler: ProgressHandler?) {
        self.phase = phase
        self.total = total
        self.unit = unit
        self.handler = handler
    }

    func step() {
        done += 1
        guard let handler, done == total || done % max(1, total / 256) == 0 else { return }
        handler(OperationProgress(phase: phase, completed: done, total: total, unit: unit))
    }
}

/// Where the bytes of a catalog file are.
public enum FileSource {
    /// Small content, in memory (JSON, or a blob of the git tree).
    case bytes([UInt8])
    /// A file on disk (the work tree file, or a Git LFS object).
    case file(URL)
    /// A Git LFS pointer whose object is missing from the store.
    case missingObject(oid: String, size: Int64)
}

/// A read-only view of the catalog at one version.
public protocol CatalogSnapshot {
    /// The version id (commit id), nil for the file backend.
    var version: String? { get }
    /// Every file of the catalog, repository-relative, sorted (tool files excluded).
    func files() throws -> [String]
    /// The bytes of a small file (JSON).
    func read(_ path: String) throws -> [UInt8]?
    /// Where a file's bytes are.
    func source(_ path: String) throws -> FileSource?
    /// The SHA-256 (lowercase hex) and size the backend itself recorded for a file (its Git LFS
    /// pointer), nil when it records none.
    func storedDigest(_ path: String) throws -> (sha256: String, size: Int64)?
    /// Whether the backend stores `path` as an asset (a Git LFS object), so that a JSON-named
    /// file (`tilejson.json`) is not mistaken for a document.
    func isStoredAsAsset(_ path: String) throws -> Bool
    /// Whether `path` is stored in a shape an earlier version wrote, which the next writing
    /// command migrates (git: a pointer without its attributes line).
    func needsFormatMigration(_ path: String) throws -> Bool
}

extension CatalogSnapshot {
    public func storedDigest(_ path: String) throws -> (sha256: String, size: Int64)? { nil }
    public func isStoredAsAsset(_ path: String) throws -> Bool { false }
    public func needsFormatMigration(_ path: String) throws -> Bool { false }
}

extension StorageBackend {
    public func readConsistently<T>(at ref: String?, _ body: (any CatalogSnapshot) throws -> T) throws -> T {
        try body(try snapshot(at: ref))
    }
}

extension CatalogSnapshot {
    /// The catalog structure of this snapshot.
    public func index() throws -> CatalogIndex { try CatalogIndex.load { try read($0) } }
}

/// The snapshot of a plain directory.
struct DirectorySnapshot: CatalogSnapshot {
    let root: URL
    var version: String? { nil }
    func files() throws -> [String] { FS.listFiles(under: root.path, skipHidden: true) }
    func read(_ path: String) throws -> [UInt8]? { try FS.read(root.path + "/" + path) }
    func source(_ path: String) throws -> FileSource? {
        FS.exists(root.path + "/" + path) ? .file(root.appendingPathComponent(path)) : nil
    }
}
