internal import CLibGit2
public import Foundation

extension GitRepository {
    /// Makes `.git/index` equal to `tree`, with the stat data (times, device, inode, uid, gid,
    /// size) of the files currently in the work tree, so that `git status` sees a clean work
    /// tree after the caller wrote the files itself, Git LFS files included (whose work tree
    /// holds the real bytes while the index holds the pointer blob).
    ///
    /// Stat data is taken from the work tree for `paths` (files or directories, relative to the
    /// work tree; nil means every entry). Other entries keep the stat data of the previous index
    /// when their blob and mode are unchanged, and get none otherwise (git then re-hashes them).
    ///
    /// The index is built as a standalone file (`git_index_open` + `git_index_read_tree` +
    /// `git_index_add` + `git_index_write`) and renamed over `.git/index` while holding git's
    /// `index.lock`, so readers see the old or the new index, never a torn one, and libgit2's
    /// racy-entry check (which cannot run the LFS clean filter and would mark every LFS entry
    /// dirty) does not apply. Entries written in the same second as the index are still
    /// "racily clean" for git, which re-checks their content through its filters.
    ///
    /// - Throws: ``GitError`` `.bareRepository` for a bare repository, `.locked` when another
    ///   process holds `index.lock`, `.notFound` when `tree` does not exist.
    ///
    /// With `incremental`, when the index still holds the entries this method last wrote (a
    /// fingerprint of every entry's path, mode and blob is recorded next to it, with the tree it
    /// was made from; stat data is left out, so `git status` refreshing the index keeps it
    /// valid), only the entries of the files that differ between that tree and `tree`, and of
    /// `paths`, are replaced: no tree is walked and no entry converted, so a small commit costs
    /// about the same on a repository of any size. An index whose entries someone else changed
    /// (`git add`, `git rm`, a checkout) is rebuilt in full.
    ///
    /// - Returns: whether the index was updated incrementally.
    @discardableResult
    public func resetIndex(toTree tree: ObjectID, refreshingStatFor paths: [String]?, incremental: Bool = false)
        throws -> Bool
    {
        guard let workTree else {
            throw GitError(
                code: .bareRepository, function: "resetIndex", message: "A bare repository has no index to reset.")
        }
        let treeHandle = try TreeHandle(tree, in: self)
        let indexPath = gitDirectory.appendingPathComponent("index").path
        let lockPath = indexPath + ".lock"
        let temporaryPath = gitDirectory.appendingPathComponent("index.stac-repository.tmp").path

        let lock = Foundation.open(lockPath, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard lock >= 0 else {
            let code = errno
            throw GitError(
                code: code == EEXIST ? .locked : .generic, function: "resetIndex",
                message: code == EEXIST
                    ? "\"\(lockPath)\" exists: another git process is writing the index; retry when it is done, or remove the file if no git process is running."
                    : "Cannot create \"\(lockPath)\": \(String(cString: strerror(code))).")
        }
        Foundation.close(lock)
        defer { unlink(lockPath) }

        unlink(temporaryPath)
        if incremental, let record = indexRecord(indexPath),
            let fingerprint = try updateIndexEntries(
                from: record, toTree: treeHandle, tree: tree, refreshing: paths ?? [], index: indexPath,
                into: temporaryPath, workTree: workTree.path)
        {
            try moveIndexIntoPlace(temporaryPath, indexPath, tree: tree, fingerprint: fingerprint)
            return true
        }
        unlink(temporaryPath)
        let refreshAll = paths == nil
        let refreshSet = Set(try (paths ?? []).map { path throws(GitError) in try Self.normalizedPath(path) })
        let previous: IndexHandle? =
            refreshAll || !FileManager.default.fileExists(atPath: indexPath)
            ? nil : try IndexHandle(standaloneAt: indexPath)

        let index = try IndexHandle(standaloneAt: temporaryPath)
        try git("git_index_read_tree") { git_index_read_tree(index.pointer, treeHandle.pointer) }
        let workTreePath = workTree.path
        let count = git_index_entrycount(index.pointer)
        for position in 0..<count {
            guard var entry = git_index_get_byindex(index.pointer, position)?.pointee, let rawPath = entry.path else {
                continue
            }
            let path = String(cString: rawPath)
            if refreshAll || refreshSet.contains(path) || Self.ancestors(of: path).contains(where: refreshSet.contains)
            {
                var info = stat()
                let fullPath = workTreePath.hasSuffix("/") ? workTreePath + path : workTreePath + "/" + path
                guard lstat(fullPath, &info) == 0,
                    (info.st_mode & S_IFMT) == S_IFREG || (info.st_mode & S_IFMT) == S_IFLNK
                else { continue }
                entry.fill(from: info)
            } else if let previous, let old = git_index_get_bypath(previous.pointer, rawPath, 0)?.pointee,
                git_oid_equal(&entry.id, withUnsafePointer(to: old.id) { $0 }) == 1, old.mode == entry.mode
            {
                entry.ctime = old.ctime
                entry.mtime = old.mtime
                entry.dev = old.dev
                entry.ino = old.ino
                entry.uid = old.uid
                entry.gid = old.gid
                entry.file_size = old.file_size
            } else {
                continue
            }
            let added = git_index_add(index.pointer, &entry)
            try git("git_index_add") { added }
        }
        try git("git_index_write") { git_index_write(index.pointer) }
        try moveIndexIntoPlace(temporaryPath, indexPath, tree: tree, fingerprint: Self.fingerprint(index))
        return false
    }

    /// Renames the new index over `.git/index`, then records which tree it holds and the
    /// fingerprint of its entries (``indexRecord(_:)``). The record is a cache: lost, torn or
    /// stale, it only makes the next reset a full one.
    private func moveIndexIntoPlace(_ temporaryPath: String, _ indexPath: String, tree: ObjectID, fingerprint: String)
        throws(GitError)
    {
        let recordPath = indexPath + Self.indexRecordSuffix
        unlink(recordPath)
        guard rename(temporaryPath, indexPath) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw GitError(
                code: .generic, function: "resetIndex",
                message: "Cannot move the new index into place at \"\(indexPath)\": \(String(cString: strerror(code)))."
            )
        }
        let temporaryRecord = recordPath + ".tmp"
        guard
            FileManager.default.createFile(atPath: temporaryRecord, contents: Data("\(tree.hex) \(fingerprint)\n".utf8))
        else { return }
        if rename(temporaryRecord, recordPath) != 0 { unlink(temporaryRecord) }
    }

    static let indexRecordSuffix = ".stac-repository-tree"

    /// The tree the index was last made from by ``resetIndex(toTree:refreshingStatFor:incremental:)``
    /// and the fingerprint of its entries then.
    private func indexRecord(_ indexPath: String) -> (tree: ObjectID, fingerprint: String)? {
        guard let data = FileManager.default.contents(atPath: indexPath + Self.indexRecordSuffix),
            let text = String(data: data, encoding: .utf8), text.hasSuffix("\n")
        else { return nil }
        let fields = text.dropLast().split(separator: " ")
        guard fields.count == 2, let tree = try? ObjectID(hex: String(fields[0])) else { return nil }
        return (tree, String(fields[1]))
    }

    /// A fingerprint of every entry's path, mode, stage and blob (not its stat data): FNV-1a
    /// (64 bits) over their bytes, with the entry count. Not a security check: it tells an index
    /// this code wrote from one whose entries another program changed.
    static func fingerprint(_ index: IndexHandle) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ byte: UInt8) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let count = git_index_entrycount(index.pointer)
        for position in 0..<count {
            guard let entry = git_index_get_byindex(index.pointer, position) else { continue }
            withUnsafeBytes(of: entry.pointee.id) { for byte in $0 { mix(byte) } }
            withUnsafeBytes(of: entry.pointee.mode) { for byte in $0 { mix(byte) } }
            mix(UInt8(truncatingIfNeeded: entry.pointee.flags >> 12))
            if let path = entry.pointee.path {
                var cursor = UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self)
                while cursor.pointee != 0 {
                    mix(cursor.pointee)
                    cursor += 1
                }
            }
            mix(0)
        }
        return String(hash, radix: 16) + "-" + String(count)
    }

    /// The incremental half of ``resetIndex(toTree:refreshingStatFor:incremental:)``: a copy of
    /// the index at `indexPath` (made from `record.tree`) with the entries of the files that
    /// differ between that tree and `tree`, and of `refreshing`, taken from `tree` with stat data
    /// from the work tree, written to `temporaryPath`. Returns the new fingerprint, or nil,
    /// writing nothing, when the index's entries are not the recorded ones or a path of
    /// `refreshing` is a directory (the full reset handles both).
    private func updateIndexEntries(
        from record: (tree: ObjectID, fingerprint: String), toTree treeHandle: TreeHandle, tree: ObjectID,
        refreshing: [String], index indexPath: String, into temporaryPath: String, workTree: String
    ) throws -> String? {
        let base = record.tree
        let refreshed = Set(try refreshing.map { path throws(GitError) in try Self.normalizedPath(path) })
        var paths = refreshed
        if base != tree {
            guard let changes = try? changedPaths(from: base, to: tree) else { return nil }
            for change in changes { paths.insert(change.path) }
        }
        // A new name for the same file: libgit2 writes through `temporaryPath.lock` and a
        // rename, so the live index is never modified.
        guard link(indexPath, temporaryPath) == 0 else { return nil }
        var done = false
        defer { if !done { unlink(temporaryPath) } }
        let index = try IndexHandle(standaloneAt: temporaryPath)
        guard Self.fingerprint(index) == record.fingerprint else { return nil }
        let prefix = workTree.hasSuffix("/") ? workTree : workTree + "/"
        for path in paths.sorted() {
            var rawEntry: OpaquePointer?
            let found = git_tree_entry_bypath(&rawEntry, treeHandle.pointer, path)
            if found == GIT_ENOTFOUND.rawValue {
                _ = git_index_remove(index.pointer, path, 0)
                continue
            }
            try git("git_tree_entry_bypath") { found }
            guard let rawEntry else { return nil }
            let handle = TreeEntryHandle(taking: rawEntry)
            guard let entry = withExtendedLifetime(handle, { TreeEntry(handle.pointer) }) else { return nil }
            guard entry.mode.isBlob else {
                // A file that became a directory (whose files are changes of their own); a
                // directory asked to be refreshed is left to the full reset.
                if refreshed.contains(path) { return nil }
                _ = git_index_remove(index.pointer, path, 0)
                continue
            }
            var indexEntry = git_index_entry()
            indexEntry.id = entry.oid.oid
            indexEntry.mode = entry.mode.rawValue
            var info = stat()
            if lstat(prefix + path, &info) == 0,
                (info.st_mode & S_IFMT) == S_IFREG || (info.st_mode & S_IFMT) == S_IFLNK
            {
                indexEntry.fill(from: info)
            }
            let added = path.withCString { cPath in
                indexEntry.path = cPath
                return git_index_add(index.pointer, &indexEntry)
            }
            try git("git_index_add") { added }
        }
        try git("git_index_write") { git_index_write(index.pointer) }
        done = true
        return Self.fingerprint(index)
    }

    /// Writes the files of `tree` (a tree, or a commit whose tree is meant) into `directory`
    /// (`git_checkout_tree` with `target_directory`, `GIT_CHECKOUT_FORCE` and
    /// `GIT_CHECKOUT_DONT_UPDATE_INDEX`), without touching the index or HEAD; for exports.
    /// Only `paths` (exact files or directories, no globs; nil means all) are written.
    ///
    /// Git LFS files come out as their pointer text: libgit2 runs no LFS filter.
    ///
    /// - Throws: ``GitError`` when the tree is missing or a file cannot be written.
    public func checkoutTree(_ tree: ObjectID, to directory: URL, paths: [String]? = nil) throws {
        let treeHandle = try TreeHandle(try peelToTree(tree), in: self)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var options = git_checkout_options()
        try git("git_checkout_options_init") {
            git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        }
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | GIT_CHECKOUT_DONT_UPDATE_INDEX.rawValue
        if paths != nil { options.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue }
        let pathStrings = CStringArray(paths ?? [])
        let restrict = paths != nil
        let repository = pointer
        let result = directory.path.withCString { target in
            pathStrings.withStrarray { array in
                var scoped = options
                scoped.target_directory = target
                if restrict { scoped.paths = array.pointee }
                return git_checkout_tree(repository, treeHandle.pointer, &scoped)
            }
        }
        try git("git_checkout_tree") { result }
    }
}

extension GitRepository {
    /// The tree of a commit, or the id itself when it is a tree.
    func peelToTree(_ id: ObjectID) throws(GitError) -> ObjectID {
        if id == .emptyTree { return id }
        var oid = id.oid
        var object: OpaquePointer?
        try git("git_object_lookup") { git_object_lookup(&object, pointer, &oid, GIT_OBJECT_ANY) }
        guard let object else { throw GitError(code: .notFound, function: "git_object_lookup", message: "") }
        let handle = ObjectHandle(taking: object, in: self)
        var peeled: OpaquePointer?
        try git("git_object_peel") { git_object_peel(&peeled, handle.pointer, GIT_OBJECT_TREE) }
        guard let peeled else { throw GitError(code: .peel, function: "git_object_peel", message: "") }
        let tree = ObjectHandle(taking: peeled, in: self)
        return ObjectID(git_object_id(tree.pointer).pointee)
    }
}

extension git_index_entry {
    /// Copies the stat data git compares (`fill_stat_data` in git), truncated to 32 bits as
    /// the index format stores it.
    mutating func fill(from info: stat) {
        ctime = git_index_time(
            seconds: Int32(truncatingIfNeeded: info.st_ctim.tv_sec),
            nanoseconds: UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec))
        mtime = git_index_time(
            seconds: Int32(truncatingIfNeeded: info.st_mtim.tv_sec),
            nanoseconds: UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec))
        dev = UInt32(truncatingIfNeeded: info.st_dev)
        ino = UInt32(truncatingIfNeeded: info.st_ino)
        uid = UInt32(truncatingIfNeeded: info.st_uid)
        gid = UInt32(truncatingIfNeeded: info.st_gid)
        file_size = UInt32(truncatingIfNeeded: info.st_size)
    }
}
