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
        if let paths, let found = Self.scanIndexFile(indexPath, for: paths) { return (found, modified) }
        if paths == nil {
            // Every entry, read here: also a split index, which libgit2 cannot read.
            var out: [String: IndexStat] = [:]
            let read = IndexFile.forEachEntry(ofFile: indexPath) { entry in
                out[String(decoding: entry.path, as: UTF8.self)] = IndexStat(entry.fixed)
            }
            if read != nil { return (out, modified) }
        }
        if IndexFile.isSplit(indexPath) {
            throw GitError(
                code: .generic, function: "indexStats",
                message:
                    "Cannot read the split index \"\(indexPath)\" (its shared index is missing or damaged): remove the file and run `git reset` to rebuild it."
            )
        }
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

    /// The stage-0 entries of `paths` read straight from the index file (versions 2 and 3),
    /// without libgit2 parsing and hashing all of its entries (a one-item commit of a
    /// 100,000-item catalog read its 11 MB index whole for the check of the few paths it
    /// writes), split or not. Nil when the file is in another version or not as expected (a
    /// split index whose shared index is missing): the caller then asks libgit2. An entry it
    /// misses only means that file is compared by content; the blob id of an entry is compared
    /// with the tree's before its stat is trusted.
    public static func scanIndexFile(_ path: String, for paths: [String]) -> [String: IndexStat]? {
        guard let file = IndexFile.MappedFile(path) else { return nil }
        // The index is sorted bytewise by path, so one merge with the sorted paths finds them:
        // one comparison per entry (a 1,000,000-entry index: a dictionary probe and a compare
        // with every wanted path of the same length per entry took a quarter of a one-item
        // commit). An index out of order only makes a file be compared by content.
        let wanted = Set(paths).map { (bytes: Array($0.utf8), path: $0) }
            .sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        return file.withUnsafeBytes { raw -> [String: IndexStat]? in
            guard let header = IndexFile.Header(raw) else { return nil }
            if let layout = IndexFile.Layout(raw, keepEntries: false), layout.link != nil {
                return scanSplitIndex(raw, directory: (path as NSString).deletingLastPathComponent, for: wanted)
            }
            var out: [String: IndexStat] = [:]
            var next = 0
            var offset = 12
            for _ in 0..<header.count {
                guard next < wanted.count else { break }
                guard let entry = IndexFile.EntryView(raw, at: offset, version: header.version) else { return nil }
                var order = entry.compare(raw, with: wanted[next].bytes)
                while order > 0, next + 1 < wanted.count {
                    next += 1
                    order = entry.compare(raw, with: wanted[next].bytes)
                }
                if order > 0 { break }
                if order == 0, entry.stage == 0 {
                    out[wanted[next].path] = IndexStat(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 60)]))
                }
                offset = entry.end
            }
            return out
        }
    }

    /// The stage-0 entries of `wanted` in a split index: the split file's own entries, then a
    /// binary search of the shared index by block, so a lookup touches a few of its pages.
    private static func scanSplitIndex(
        _ raw: UnsafeRawBufferPointer, directory: String, for wanted: [(bytes: [UInt8], path: String)]
    ) -> [String: IndexStat]? {
        guard let split = IndexFile.SplitIndex(raw, gitDirectory: directory) else { return nil }
        return split.shared.file.withUnsafeBytes { sharedRaw in
            var out: [String: IndexStat] = [:]
            for path in wanted {
                if let entry = split.stageZero(path.bytes, raw, sharedRaw) { out[path.path] = IndexStat(entry.fixed) }
            }
            return out
        }
    }
}

extension IndexStat {
    /// The stat data and blob of an index entry's first 60 bytes.
    init(_ fixed: UnsafeRawBufferPointer) {
        func u32(_ o: Int) -> UInt32 { IndexFile.Header.u32(fixed, o) }
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: fixed[40..<60])) }
        self.init(
            blob: ObjectID(oid), mtimeSeconds: Int32(bitPattern: u32(8)), mtimeNanoseconds: u32(12),
            ctimeSeconds: Int32(bitPattern: u32(0)), ctimeNanoseconds: u32(4), inode: u32(20), size: u32(36))
    }
}
