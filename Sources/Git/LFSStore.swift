internal import Crypto
public import Foundation

/// The Git LFS object store of a repository: `.git/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`,
/// exactly where git-lfs keeps it, so `git lfs fsck`, `git lfs push` and `git lfs pull` work
/// on the same files.
///
/// Objects are content-addressed: inserting an object that exists is a no-op, and an object
/// never changes once in place (it is renamed in whole, never written in place).
public struct LFSStore: Sendable {
    /// Bytes read at a time when hashing or copying.
    static let chunkSize = 8 << 20

    /// The repository's `.git` directory (or bare repository).
    public let gitDirectory: URL

    /// Creates a store for the repository whose git directory is `gitDirectory`; nothing is
    /// created on disk until an object is inserted.
    public init(gitDirectory: URL) {
        self.gitDirectory = gitDirectory
    }

    /// `.git/lfs/objects`.
    public var objectsDirectory: URL {
        gitDirectory.appendingPathComponent("lfs/objects", isDirectory: true)
    }

    /// `.git/lfs/tmp`, where files are written before they are renamed into place; on the
    /// same file system as the objects, so the rename is atomic.
    public var temporaryDirectory: URL {
        gitDirectory.appendingPathComponent("lfs/tmp", isDirectory: true)
    }

    /// Where the object `oid` lives: `.git/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`.
    public func objectURL(oid: String) -> URL {
        let utf8 = Array(oid.utf8)
        let first = utf8.count >= 2 ? String(decoding: utf8[0..<2], as: UTF8.self) : "__"
        let second = utf8.count >= 4 ? String(decoding: utf8[2..<4], as: UTF8.self) : "__"
        return objectsDirectory.appendingPathComponent(first, isDirectory: true)
            .appendingPathComponent(second, isDirectory: true)
            .appendingPathComponent(oid, isDirectory: false)
    }

    /// Whether the object `oid` is in the store (its bytes are not checked; see ``verify(oid:)``).
    public func contains(oid: String) -> Bool {
        LFSPointer.isValidOID(oid) && FileManager.default.fileExists(atPath: objectURL(oid: oid).path)
    }

    /// The size of the stored object `oid`, or nil when it is absent.
    public func size(oid: String) -> Int64? {
        guard LFSPointer.isValidOID(oid),
            let attributes = try? FileManager.default.attributesOfItem(atPath: objectURL(oid: oid).path),
            let size = attributes[.size] as? NSNumber
        else { return nil }
        return size.int64Value
    }

    /// Moves `file`, whose SHA-256 the caller computed as `oid`, into the store. The file must be
    /// on the same file system (e.g. in ``temporaryDirectory``); it is renamed, not copied. If
    /// the object is already stored, `file` is removed instead.
    ///
    /// - Throws: ``LFSError`` `.invalidOID`, `.mismatch` when the file's size is not `size`,
    ///   `.io` when the rename fails (e.g. across file systems).
    public func insert(file: URL, oid: String, size: Int64) throws {
        guard LFSPointer.isValidOID(oid) else {
            throw LFSError(code: .invalidOID, message: "\"\(oid)\" is not a Git LFS oid (64 lowercase hex digits).")
        }
        var info = stat()
        guard lstat(file.path, &info) == 0 else {
            throw Self.ioError(errno, "Cannot read \"\(file.path)\"")
        }
        guard Int64(info.st_size) == size else {
            throw LFSError(
                code: .mismatch,
                message:
                    "\"\(file.path)\" has \(info.st_size) bytes, not the \(size) its pointer says; it was changed after hashing."
            )
        }
        let destination = objectURL(oid: oid)
        if FileManager.default.fileExists(atPath: destination.path) {
            try? FileManager.default.removeItem(at: file)
            return
        }
        // Rename first: the fan-out directories usually exist, and a failed rename is cheaper
        // than creating (or stat-ing) them for every object.
        if rename(file.path, destination.path) == 0 { return }
        guard errno == ENOENT else {
            throw Self.ioError(errno, "Cannot move \"\(file.path)\" to \"\(destination.path)\"")
        }
        try createDirectory(destination.deletingLastPathComponent())
        guard rename(file.path, destination.path) == 0 else {
            throw Self.ioError(errno, "Cannot move \"\(file.path)\" to \"\(destination.path)\"")
        }
    }

    /// Copies `file` into the store, hashing it while copying (8 MiB at a time) into
    /// ``temporaryDirectory`` and then renaming the copy into place; returns its pointer.
    /// The copy is flushed to disk before the rename.
    ///
    /// - Throws: ``LFSError`` `.io` when the file cannot be read or the copy written.
    public func insert(copying file: URL) throws -> LFSPointer {
        try createDirectory(temporaryDirectory)
        let temporary = temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let input = Foundation.open(file.path, O_RDONLY)
        guard input >= 0 else { throw Self.ioError(errno, "Cannot open \"\(file.path)\"") }
        defer { Foundation.close(input) }
        let output = Foundation.open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard output >= 0 else { throw Self.ioError(errno, "Cannot create \"\(temporary.path)\"") }
        var outputOpen = true
        defer {
            if outputOpen { Foundation.close(output) }
            unlink(temporary.path)  // a no-op once renamed into place
        }

        var hasher = SHA256()
        var size: Int64 = 0
        try Self.forEachChunk(of: input, path: file.path) { chunk in
            hasher.update(bufferPointer: chunk)
            try Self.writeAll(output, chunk, path: temporary.path)
            size += Int64(chunk.count)
        }
        guard fsync(output) == 0 else { throw Self.ioError(errno, "Cannot flush \"\(temporary.path)\"") }
        Foundation.close(output)
        outputOpen = false

        let oid = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard let pointer = LFSPointer(oid: oid, size: size) else {
            throw LFSError(code: .invalidOID, message: "SHA-256 produced an invalid oid \"\(oid)\".")
        }
        try insert(file: temporary, oid: oid, size: size)
        return pointer
    }

    /// Stores `bytes` as an object and returns its pointer; for small contents held in memory.
    ///
    /// - Throws: ``LFSError`` `.io` when the object cannot be written.
    public func insert(bytes: [UInt8]) throws -> LFSPointer {
        let oid = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        guard let pointer = LFSPointer(oid: oid, size: Int64(bytes.count)) else {
            throw LFSError(code: .invalidOID, message: "SHA-256 produced an invalid oid \"\(oid)\".")
        }
        if contains(oid: oid) { return pointer }
        try createDirectory(temporaryDirectory)
        let temporary = temporaryDirectory.appendingPathComponent(UUID().uuidString)
        do {
            try Data(bytes).write(to: temporary, options: .atomic)
        } catch {
            throw LFSError(code: .io(EIO), message: "Cannot write \"\(temporary.path)\": \(error.localizedDescription)")
        }
        defer { unlink(temporary.path) }
        try insert(file: temporary, oid: oid, size: pointer.size)
        return pointer
    }

    /// Re-hashes the stored object `oid` and reports whether its bytes still have that SHA-256
    /// (and, when given, `size` bytes). A missing object is reported as false.
    ///
    /// - Throws: ``LFSError`` `.io` when the object exists but cannot be read.
    public func verify(oid: String, size: Int64? = nil) throws -> Bool {
        guard LFSPointer.isValidOID(oid) else { return false }
        let url = objectURL(oid: oid)
        let input = Foundation.open(url.path, O_RDONLY)
        guard input >= 0 else {
            if errno == ENOENT { return false }
            throw Self.ioError(errno, "Cannot open \"\(url.path)\"")
        }
        defer { Foundation.close(input) }
        var hasher = SHA256()
        var total: Int64 = 0
        try Self.forEachChunk(of: input, path: url.path) { chunk in
            hasher.update(bufferPointer: chunk)
            total += Int64(chunk.count)
        }
        if let size, size != total { return false }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined() == oid
    }

    /// Puts the object `oid` into `other` (another repository's store, e.g. a backup) by
    /// hard link, or by copy when a link is impossible; does nothing if `other` has it.
    ///
    /// - Throws: ``LFSError`` when the object is missing here or cannot be copied.
    public func copy(oid: String, to other: LFSStore) throws {
        guard contains(oid: oid) else {
            throw LFSError(code: .io(ENOENT), message: "Git LFS object \(oid) is not in \"\(objectsDirectory.path)\".")
        }
        if other.contains(oid: oid) { return }
        let source = objectURL(oid: oid)
        let destination = other.objectURL(oid: oid)
        try other.createDirectory(destination.deletingLastPathComponent())
        if link(source.path, destination.path) == 0 || errno == EEXIST { return }
        try other.createDirectory(other.temporaryDirectory)
        let temporary = other.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        do {
            try FileManager.default.copyItem(at: source, to: temporary)
        } catch {
            throw LFSError(code: .io(EIO), message: "Cannot copy \"\(source.path)\": \(error.localizedDescription)")
        }
        defer { unlink(temporary.path) }
        guard let size = size(oid: oid) else { return }
        try other.insert(file: temporary, oid: oid, size: size)
    }

    private func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw LFSError(code: .io(EIO), message: "Cannot create \"\(url.path)\": \(error.localizedDescription)")
        }
    }

    /// Reads `descriptor` to its end, ``chunkSize`` bytes at a time, handing each chunk to `body`.
    private static func forEachChunk(
        of descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError(errno, "Cannot read \"\(path)\"")
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError(errno, "Cannot write \"\(path)\"")
            }
            offset += written
        }
    }

    private static func ioError(_ code: Int32, _ what: String) -> LFSError {
        LFSError(code: .io(code), message: "\(what): \(String(cString: strerror(code))).")
    }
}
