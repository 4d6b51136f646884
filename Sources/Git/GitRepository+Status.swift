internal import CLibGit2
public import Foundation

/// The stat data `.git/index` keeps for one file, as git compares it (32-bit fields).
public struct IndexStat: Sendable, Equatable {
    /// The blob the index holds for the path.
    public var blob: ObjectID
    public var mtimeSeconds: Int32
    public var mtimeNanoseconds: UInt32
    public var ctimeSeconds: Int32
    public var ctimeNanoseconds: UInt32
    public var inode: UInt32
    public var size: UInt32

    /// Whether `info` (an `lstat` of the work-tree file) has this stat data.
    public func matches(_ info: stat) -> Bool {
        mtimeSeconds == Int32(truncatingIfNeeded: info.st_mtim.tv_sec)
            && mtimeNanoseconds == UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec)
            && ctimeSeconds == Int32(truncatingIfNeeded: info.st_ctim.tv_sec)
            && ctimeNanoseconds == UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec)
            && inode == UInt32(truncatingIfNeeded: info.st_ino)
            && size == UInt32(truncatingIfNeeded: info.st_size)
    }
}

extension GitRepository {
    /// The stat data of every entry of `.git/index` by path, and the index file's modification
    /// time in nanoseconds (entries modified at or after it are "racy": their stat data cannot
    /// prove them unchanged). An absent index gives no entries.
    ///
    /// - Throws: ``GitError`` when the index cannot be read.
    /// With `paths` (files, repository-relative), only the entries of those paths are
    /// returned, looked up one by one instead of converting the whole index.
    public func indexStats(only paths: [String]? = nil) throws -> (
        entries: [String: IndexStat], indexModified: Int64?
    ) {
        let indexPath = gitDirectory.appendingPathComponent("index").path
        var info = stat()
        guard lstat(indexPath, &info) == 0 else { return ([:], nil) }
        let modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        let index = try IndexHandle(standaloneAt: indexPath)
        var out: [String: IndexStat] = [:]
        if let paths {
            for path in paths {
                guard let entry = git_index_get_bypath(index.pointer, path, 0)?.pointee else { continue }
                out[path] = IndexStat(
                    blob: ObjectID(entry.id), mtimeSeconds: entry.mtime.seconds,
                    mtimeNanoseconds: entry.mtime.nanoseconds, ctimeSeconds: entry.ctime.seconds,
                    ctimeNanoseconds: entry.ctime.nanoseconds, inode: entry.ino, size: entry.file_size)
            }
            return (out, modified)
        }
        let count = git_index_entrycount(index.pointer)
        out.reserveCapacity(count)
        for position in 0..<count {
            guard let entry = git_index_get_byindex(index.pointer, position)?.pointee, let raw = entry.path else {
                continue
            }
            out[String(cString: raw)] = IndexStat(
                blob: ObjectID(entry.id), mtimeSeconds: entry.mtime.seconds,
                mtimeNanoseconds: entry.mtime.nanoseconds, ctimeSeconds: entry.ctime.seconds,
                ctimeNanoseconds: entry.ctime.nanoseconds, inode: entry.ino, size: entry.file_size)
        }
        return (out, modified)
    }

    /// The git blob id the file at `path` would have (`git_odb_hashfile`, no filters).
    ///
    /// - Throws: ``GitError`` when the file cannot be read.
    public static func blobID(ofFile path: String) throws -> ObjectID {
        ensureLibGit2Initialized()
        var oid = git_oid()
        try git("git_odb_hashfile") { git_odb_hashfile(&oid, path, GIT_OBJECT_BLOB) }
        return ObjectID(oid)
    }
}
