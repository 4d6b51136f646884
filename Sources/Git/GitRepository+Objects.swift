internal import CLibGit2
public import Foundation

/// The kind of a git object.
public enum ObjectKind: Sendable, Hashable {
    /// A commit.
    case commit
    /// A tree (directory).
    case tree
    /// A blob (file content).
    case blob
    /// An annotated tag.
    case tag

    init?(_ type: git_object_t) {
        switch type {
        case GIT_OBJECT_COMMIT: self = .commit
        case GIT_OBJECT_TREE: self = .tree
        case GIT_OBJECT_BLOB: self = .blob
        case GIT_OBJECT_TAG: self = .tag
        default: return nil
        }
    }
}

extension GitRepository {
    /// Writes `bytes` as a blob and returns its id (`git_blob_create_from_buffer`).
    ///
    /// Writing the same bytes twice is harmless: objects are content-addressed.
    ///
    /// - Throws: ``GitError`` when the object cannot be written.
    public func writeBlob(_ bytes: UnsafeRawBufferPointer) throws -> ObjectID {
        var oid = git_oid()
        try git("git_blob_create_from_buffer") {
            git_blob_create_from_buffer(&oid, pointer, bytes.baseAddress, bytes.count)
        }
        return ObjectID(oid)
    }

    /// Writes `bytes` as a blob and returns its id.
    ///
    /// - Throws: ``GitError`` when the object cannot be written.
    public func writeBlob(_ bytes: [UInt8]) throws -> ObjectID {
        try bytes.withUnsafeBytes { try writeBlob($0) }
    }

    /// Writes `data` as a blob and returns its id.
    ///
    /// - Throws: ``GitError`` when the object cannot be written.
    public func writeBlob(_ data: Data) throws -> ObjectID {
        try data.withUnsafeBytes { try writeBlob($0) }
    }

    /// Writes the bytes of the file at `url` as a blob, unfiltered (`git_blob_create_from_disk`).
    ///
    /// - Throws: ``GitError`` when the file cannot be read or the object written.
    public func writeBlob(contentsOf url: URL) throws -> ObjectID {
        var oid = git_oid()
        try git("git_blob_create_from_disk") { git_blob_create_from_disk(&oid, pointer, url.path) }
        return ObjectID(oid)
    }

    /// The bytes of the blob `id` (`git_blob_lookup` + `git_blob_rawcontent`).
    ///
    /// - Throws: ``GitError`` `.notFound` when there is no such blob.
    public func readBlob(_ id: ObjectID) throws -> [UInt8] {
        var oid = id.oid
        var blob: OpaquePointer?
        try git("git_blob_lookup") { git_blob_lookup(&blob, pointer, &oid) }
        guard let blob else { throw GitError(code: .notFound, function: "git_blob_lookup", message: "") }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let content = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: content, count: size))
    }

    /// Whether the object database holds an object `id` (`git_odb_exists`), of any kind.
    ///
    /// - Throws: ``GitError`` when the object database cannot be opened.
    public func hasObject(_ id: ObjectID) throws -> Bool {
        let odb = try ObjectDatabaseHandle(of: self)
        var oid = id.oid
        return git_odb_exists(odb.pointer, &oid) == 1
    }

    /// The kind of object `id`, or nil when it is absent (`git_odb_read_header`).
    ///
    /// - Throws: ``GitError`` when the object exists but cannot be read.
    public func objectKind(_ id: ObjectID) throws -> ObjectKind? {
        let odb = try ObjectDatabaseHandle(of: self)
        var oid = id.oid
        var size = 0
        var type = GIT_OBJECT_INVALID
        let result = git_odb_read_header(&size, &type, odb.pointer, &oid)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_odb_read_header") { result }
        return ObjectKind(type)
    }

    /// Whether `id` exists and is a blob.
    ///
    /// - Throws: ``GitError`` when the object exists but cannot be read.
    public func blobExists(_ id: ObjectID) throws -> Bool {
        try objectKind(id) == .blob
    }

    /// Writes the empty tree, which libgit2 (unlike git) does not treat as always present.
    func writeEmptyTree() throws(GitError) {
        var builder: OpaquePointer?
        try git("git_treebuilder_new") { git_treebuilder_new(&builder, pointer, nil) }
        defer { git_treebuilder_free(builder) }
        var oid = git_oid()
        try git("git_treebuilder_write") { git_treebuilder_write(&oid, builder) }
    }
}
