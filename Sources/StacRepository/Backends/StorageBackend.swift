public import Foundation

/// The storage backends a repository can use.
public enum BackendKind: String, Sendable, CaseIterable, Codable {
    /// git + Git LFS through libgit2: every operation is a commit.
    case git
    /// Plain files with a journal: no content history.
    case file

    /// One line describing the backend, for `show-backends`.
    public var summary: String {
        switch self {
        case .git: "git repository with Git LFS assets (libgit2): history, rollback, export at any commit, backup, diff"
        case .file: "plain files with a journal and an operations log: no content history"
        }
    }
}

/// One change to a file of the catalog tree, by repository-relative path.
public enum FileChange: Sendable {
    /// A small file (JSON) with these bytes.
    case write([UInt8])
    /// A large file (asset) whose bytes are in `stagedFile` (inside the backend's staging
    /// directory), already hashed.
    case asset(stagedFile: URL, sha256: String, size: Int64)
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

/// Where a repository keeps its catalog and how it commits changes (STYLE §7–8).
///
/// Paths are repository-relative POSIX paths (`"c1/i1/i1.json"`). Implementations must make
/// ``commit(_:record:)`` atomic: after a crash at any instant, ``recover()`` brings the repository
/// to the state before or after the commit.
public protocol StorageBackend: AnyObject {
    /// Which backend this is.
    var kind: BackendKind { get }
    /// The catalog's root directory (the work tree).
    var root: URL { get }
    /// Where the tool keeps its state (lock, journal, staging).
    var stateDirectory: URL { get }
    /// A directory on the same filesystem as the repository for staged asset files.
    var stagingDirectory: URL { get }

    /// Brings an interrupted commit to a consistent state. Called with the lock held.
    func recover() throws
    /// The current bytes of a catalog file, or nil.
    func read(_ path: String) throws -> [UInt8]?
    /// Files under a directory of the catalog (recursively), repository-relative; "" is the root.
    func list(under directory: String) throws -> [String]
    /// Applies all changes atomically; returns the new version's id (commit id) if any.
    /// Tells `progress` (phase "commit", unit "paths") how many paths it has written, and may
    /// report a second phase (the git backend's "work tree", unit "files").
    @discardableResult
    func commit(_ changes: [String: FileChange], record: OperationRecord, progress: ProgressHandler?) throws
        -> String?
    /// The operations, newest first.
    func history(limit: Int?) throws -> [HistoryEntry]
    /// The catalog at `ref` (nil: the current version).
    func snapshot(at ref: String?) throws -> any CatalogSnapshot
    /// The absolute path of an asset's bytes for a catalog path (the work tree file).
    func assetFile(_ path: String) -> URL
    /// Runs `body` on the catalog at `ref` as one version: a concurrent commit is never seen
    /// half-made (the file backend retries when a commit happened while `body` read). Readers
    /// use this and never take the writer lock.
    func readConsistently<T>(at ref: String?, _ body: (any CatalogSnapshot) throws -> T) throws -> T
    /// Settings stored with the repository.
    func configValue(_ key: String) throws -> String?
    func setConfigValue(_ key: String, _ value: String?) throws
    func configEntries() throws -> [(String, String)]
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
}

extension CatalogSnapshot {
    public func storedDigest(_ path: String) throws -> (sha256: String, size: Int64)? { nil }
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
