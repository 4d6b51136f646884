import Foundation
import STAC

/// The stored state an ingest starts from, read through once: every stage that needs a stored
/// document asks here, so a document is read from the backend (and parsed) at most once per
/// transaction. Containers stay cached (they are few and several stages need them); an item's
/// document is parsed for change detection and not kept.
///
/// Reads see the backend's committed state as the transaction opened it, never this ingest's
/// own edits (those are ``IngestEdits``, which reads through this).
final class StoredDocuments {
    private let readBackend: (String) throws -> [UInt8]?
    private let listBackend: (String) throws -> [String]
    private let existsBackend: (String) throws -> Bool
    private var bytesByPath: [String: [UInt8]?] = [:]
    private var objects: [String: STACObject?] = [:]
    /// How many reads reached the backend (each path at most once): what a test checks.
    private(set) var backendReads = 0

    init(
        read: @escaping (String) throws -> [UInt8]?, list: @escaping (String) throws -> [String],
        exists: @escaping (String) throws -> Bool
    ) {
        readBackend = read
        listBackend = list
        existsBackend = exists
    }

    /// The committed state of the transaction's backend.
    convenience init(_ tx: Transaction) {
        let backend = tx.backend
        self.init(
            read: { try backend.read($0) }, list: { try backend.list(under: $0) },
            exists: { try backend.exists($0) })
    }

    /// The stored bytes at `path` (nil when nothing is stored there).
    func bytes(_ path: String) throws -> [UInt8]? {
        if let cached = bytesByPath[path] { return cached }
        backendReads += 1
        let bytes = try readBackend(path)
        bytesByPath[path] = bytes
        return bytes
    }

    /// The stored STAC object at `path`, nil when absent or not STAC. With `keep: false` (an
    /// item read once for change detection) neither its bytes nor its parse stay in memory.
    func object(_ path: String, keep: Bool = true) throws -> STACObject? {
        if let cached = objects[path] { return cached }
        let object: STACObject?
        if keep || bytesByPath[path] != nil {
            object = try bytes(path).flatMap(Self.parse)
        } else {
            backendReads += 1
            object = try readBackend(path).flatMap(Self.parse)
        }
        if keep { objects[path] = object }
        return object
    }

    /// Whether anything (document or asset) is stored at `path`.
    func exists(_ path: String) throws -> Bool {
        if let cached = bytesByPath[path], cached != nil { return true }
        return try existsBackend(path)
    }

    /// Stored files under `directory`.
    func list(under directory: String) throws -> [String] { try listBackend(directory) }

    private static func parse(_ bytes: [UInt8]) -> STACObject? {
        guard let value = try? JSONValue.parse(bytes: bytes) else { return nil }
        return try? STACObject(value)
    }
}

/// What catalog placement and layout code may do to the stored catalog: read a document (its
/// own edits included), write one, delete a folder. ``Transaction`` (used by `relayout`) and
/// ``IngestEdits`` (the ingest's value of pending edits) both are.
protocol CatalogEditing {
    func read(_ path: String) throws -> [UInt8]?
    mutating func write(_ path: String, _ bytes: [UInt8])
    mutating func deleteTree(_ directory: String) throws
}

extension Transaction: CatalogEditing {}

/// The edits an ingest's stages decide, in order, before anything touches the transaction:
/// documents written, asset files written from staged copies, files deleted and folders
/// deleted. Reads see these edits over the stored state. The commit stage applies them to the
/// ``Transaction`` in the same order (``Transaction/apply(_:)``).
struct IngestEdits: CatalogEditing {
    enum Edit {
        case write(String, [UInt8])
        case asset(String, stagedFile: URL, sha256: String, size: Int64)
        case delete(String)
        case deleteTree(String)
    }

    let stored: StoredDocuments
    private(set) var edits: [Edit] = []
    /// Position of the last write, asset or delete of each path.
    private var lastEdit: [String: Int] = [:]
    /// Folders deleted, with the position of their deletion.
    private var deletedTrees: [(directory: String, at: Int)] = []

    init(stored: StoredDocuments) { self.stored = stored }

    var isEmpty: Bool { edits.isEmpty }

    mutating func write(_ path: String, _ bytes: [UInt8]) { append(.write(path, bytes), path: path) }

    mutating func writeAsset(_ path: String, stagedFile: URL, sha256: String, size: Int64) {
        append(.asset(path, stagedFile: stagedFile, sha256: sha256, size: size), path: path)
    }

    mutating func delete(_ path: String) { append(.delete(path), path: path) }

    mutating func deleteTree(_ directory: String) throws {
        deletedTrees.append((directory, edits.count))
        edits.append(.deleteTree(directory))
    }

    /// The document at `path` as these edits leave it.
    func read(_ path: String) throws -> [UInt8]? {
        let at = lastEdit[path]
        if isDeletedByTree(path, after: at ?? -1) { return nil }
        if let at {
            switch edits[at] {
            case .write(_, let bytes): return bytes
            case .asset(_, let file, _, _): return try FS.read(file.path)
            case .delete, .deleteTree: return nil
            }
        }
        return try stored.bytes(path)
    }

    /// Whether anything is at `path` once these edits are made.
    func exists(_ path: String) throws -> Bool {
        let at = lastEdit[path]
        if isDeletedByTree(path, after: at ?? -1) { return false }
        if let at {
            if case .delete = edits[at] { return false }
            return true
        }
        return try stored.exists(path)
    }

    /// Files under `directory` once these edits are made.
    func list(under directory: String) throws -> [String] {
        let prefix = directory.isEmpty ? "" : directory + "/"
        var files = Set(try stored.list(under: directory).filter { !isDeletedByTree($0, after: -1) })
        for (path, at) in lastEdit where path.hasPrefix(prefix) {
            if isDeletedByTree(path, after: at) { files.remove(path); continue }
            if case .delete = edits[at] { files.remove(path) } else { files.insert(path) }
        }
        return files.sorted()
    }

    private mutating func append(_ edit: Edit, path: String) {
        lastEdit[path] = edits.count
        edits.append(edit)
    }

    private func isDeletedByTree(_ path: String, after position: Int) -> Bool {
        deletedTrees.contains { $0.at > position && (path == $0.directory || path.hasPrefix($0.directory + "/")) }
    }
}

extension Transaction {
    /// Makes the edits an ingest decided, in their order (the commit stage of an ingest).
    func apply(_ edits: IngestEdits) throws {
        for edit in edits.edits {
            switch edit {
            case .write(let path, let bytes): write(path, bytes)
            case .asset(let path, let file, let sha256, let size):
                writeAsset(path, stagedFile: file, sha256: sha256, size: size)
            case .delete(let path): delete(path)
            case .deleteTree(let directory): try deleteTree(directory)
            }
        }
    }
}
