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
        let splitThreshold = splitIndexThreshold()
        if incremental, let record = indexRecord(indexPath),
            let (summary, newShared) = try rewriteIndexEntries(
                from: record, toTree: treeHandle, tree: tree, refreshing: paths ?? [], index: indexPath,
                into: temporaryPath, workTree: workTree.path, splitThreshold: splitThreshold)
        {
            try moveIndexIntoPlace(temporaryPath, indexPath, tree: tree, summary: summary, newShared: newShared)
            return true
        }
        unlink(temporaryPath)
        let refreshAll = paths == nil
        let refreshSet = Set(try (paths ?? []).map { path throws(GitError) in try Self.normalizedPath(path) })
        // A split index is handed to libgit2 (which cannot read one) as one full file; one this
        // code cannot read either only loses its stat data (git then compares by content).
        var previousPath: String? = FileManager.default.fileExists(atPath: indexPath) ? indexPath : nil
        let unsplitPath = gitDirectory.appendingPathComponent("index.stac-repository.previous").path
        unlink(unsplitPath)
        defer { unlink(unsplitPath) }
        if !refreshAll, IndexFile.isSplit(indexPath) {
            previousPath = IndexFile.writeUnsplit(indexPath, to: unsplitPath) ? unsplitPath : nil
        }
        let previous: IndexHandle? =
            refreshAll ? nil : try previousPath.map { path throws(GitError) in try IndexHandle(standaloneAt: path) }

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
        var summary = IndexFile.summary(ofFile: temporaryPath)
        var newShared: [UInt8]?
        if let threshold = splitThreshold, let full = summary, full.count >= threshold,
            let checksum = IndexFile.split(temporaryPath)
        {
            summary?.checksum = checksum
            newShared = IndexFile.linkedShared(ofFile: temporaryPath)
        }
        try moveIndexIntoPlace(temporaryPath, indexPath, tree: tree, summary: summary, newShared: newShared)
        return false
    }

    /// The entry count from which `.git/index` is written as a split index (``IndexFile``'s
    /// split extension), or nil for never: git's `core.splitIndex` when it is set (true: always,
    /// false: never), else 100,000 entries, where the whole file is 11 MB and rewriting it is
    /// most of a one-item commit.
    func splitIndexThreshold() -> Int? {
        switch (try? config("core.splitIndex"))?.lowercased() {
        case "false", "no", "off", "0": return nil
        case "true", "yes", "on", "1": return 0
        default: break
        }
        #if DEBUG
            if let text = ProcessInfo.processInfo.environment["STAC_REPOSITORY_TEST_SPLIT_INDEX_ENTRIES"],
                let entries = Int(text)
            {
                return entries
            }
        #endif
        return 100_000
    }

    /// Renames the new index over `.git/index`, then records which tree it holds, the
    /// fingerprint of its entries and its SHA-1 trailer (``indexRecord(_:)``). The record is a
    /// cache: lost, torn or stale, it only makes the next reset a full one; nil `summary` (an
    /// index this code cannot read as bytes) records nothing.
    private func moveIndexIntoPlace(
        _ temporaryPath: String, _ indexPath: String, tree: ObjectID, summary: IndexFile.Summary?,
        newShared: [UInt8]? = nil
    ) throws(GitError) {
        defer {
            if let newShared { IndexFile.removeStaleSharedIndexes(in: gitDirectory.path, current: newShared) }
        }
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
        guard let summary else { return }
        let checksum = ObjectID(bytes: summary.checksum)?.hex ?? ""
        let temporaryRecord = recordPath + ".tmp"
        let text = "\(tree.hex) \(summary.fingerprint) \(checksum)\n"
        guard FileManager.default.createFile(atPath: temporaryRecord, contents: Data(text.utf8)) else { return }
        if rename(temporaryRecord, recordPath) != 0 { unlink(temporaryRecord) }
    }

    static let indexRecordSuffix = ".stac-repository-tree"

    /// What ``moveIndexIntoPlace(_:_:tree:summary:)`` last recorded: the tree the index was made
    /// from, the fingerprint of its entries (``IndexFile/Fingerprint``) and its trailer.
    struct IndexRecord {
        var tree: ObjectID
        var fingerprint: String
        var checksum: [UInt8]
    }

    /// The tree `.git/index` was last made from by ``resetIndex(toTree:refreshingStatFor:incremental:)``,
    /// as its record says; nil without a record (or a bare repository).
    public func indexRecordedTree() -> ObjectID? {
        indexRecord(gitDirectory.appendingPathComponent("index").path)?.tree
    }

    private func indexRecord(_ indexPath: String) -> IndexRecord? {
        guard let data = FileManager.default.contents(atPath: indexPath + Self.indexRecordSuffix),
            let text = String(data: data, encoding: .utf8), text.hasSuffix("\n")
        else { return nil }
        let fields = text.dropLast().split(separator: " ")
        guard fields.count == 3, let tree = ObjectID(hex: String(fields[0])),
            let checksum = ObjectID(hex: String(fields[2]))
        else { return nil }
        return IndexRecord(tree: tree, fingerprint: String(fields[1]), checksum: checksum.bytes)
    }

    /// The incremental half of ``resetIndex(toTree:refreshingStatFor:incremental:)``: the index
    /// at `indexPath` (made from `record.tree`) with the entries of the files that differ
    /// between that tree and `tree`, and of `refreshing`, taken from `tree` with stat data from
    /// the work tree, written to `temporaryPath` as bytes (``IndexFile``). Returns the new
    /// file's summary, or nil, writing nothing, when the index's entries are not the recorded
    /// ones, a path of `refreshing` is a directory, or the file is in a form only libgit2
    /// rewrites (the full reset handles all three).
    private func rewriteIndexEntries(
        from record: IndexRecord, toTree treeHandle: TreeHandle, tree: ObjectID, refreshing: [String],
        index indexPath: String, into temporaryPath: String, workTree: String, splitThreshold: Int?
    ) throws -> (IndexFile.Summary, newShared: [UInt8]?)? {
        let prefix = workTree.hasSuffix("/") ? workTree : workTree + "/"
        func entry(_ mode: FileMode, _ oid: ObjectID, _ path: String) -> IndexFile.Entry? {
            guard mode.isBlob else { return nil }
            var info = stat()
            let isFile =
                lstat(prefix + path, &info) == 0
                && ((info.st_mode & S_IFMT) == S_IFREG || (info.st_mode & S_IFMT) == S_IFLNK)
            return IndexFile.Entry(mode: mode.rawValue, oid: oid.bytes, info: isFile ? info : nil)
        }
        var entries: [String: IndexFile.Entry?] = [:]
        if record.tree != tree {
            // The diff reads every tree added since the index was written: once per item
            // directory in a long ingest. A handle of its own takes them out of memory with it;
            // this handle's object cache would keep them, as it counts a parsed tree by its raw
            // size (about a tenth of what it takes), so its cap bounds nothing (heaptrack: 207
            // MB more at 300,000 streamed items than at 150,000).
            let reader = (try? GitRepository.open(at: gitDirectory)) ?? self
            guard let changes = try? reader.changedPaths(from: record.tree, to: tree) else { return nil }
            for change in changes {
                if let id = change.newID, let mode = change.newMode {
                    entries[change.path] = entry(mode, id, change.path)
                } else {
                    entries[change.path] = .some(nil)
                }
            }
        }
        for path in refreshing {
            let path = try Self.normalizedPath(path)
            if entries[path] != nil { continue }
            var rawEntry: OpaquePointer?
            let found = git_tree_entry_bypath(&rawEntry, treeHandle.pointer, path)
            if found == GIT_ENOTFOUND.rawValue {
                entries[path] = .some(nil)
                continue
            }
            try git("git_tree_entry_bypath") { found }
            guard let rawEntry else { return nil }
            let handle = TreeEntryHandle(taking: rawEntry)
            guard let treeEntry = withExtendedLifetime(handle, { TreeEntry(handle.pointer) }) else { return nil }
            // A directory asked to be refreshed is left to the full reset.
            if treeEntry.mode == .tree { return nil }
            entries[path] = entry(treeEntry.mode, treeEntry.oid, path)
        }
        let changes = entries.map { IndexFile.Change(path: Array($0.key.utf8), entry: $0.value) }
            .sorted { $0.path.lexicographicallyPrecedes($1.path) }
        let trusted = IndexFile.trailer(ofFile: indexPath) == record.checksum
        if IndexFile.isSplit(indexPath) {
            // Split: the small file is rewritten; the shared index when the small one has grown.
            guard splitThreshold != nil,
                let result = IndexFile.rewriteSplit(
                    indexPath, changes: changes, to: temporaryPath, recorded: record.fingerprint, trusted: trusted)
            else { return nil }
            guard result.apart >= IndexFile.resplitLimit(sharedCount: result.sharedCount) else {
                return (result.summary, nil)
            }
            return resplit(temporaryPath, result.summary)
        }
        guard
            let summary = IndexFile.rewrite(
                indexPath, changes: changes, to: temporaryPath, recorded: record.fingerprint, trusted: trusted)
        else { return nil }
        if let splitThreshold, summary.count >= splitThreshold, let checksum = IndexFile.split(temporaryPath) {
            return (
                IndexFile.Summary(fingerprint: summary.fingerprint, checksum: checksum),
                IndexFile.linkedShared(ofFile: temporaryPath)
            )
        }
        return (summary, nil)
    }

    /// The split index at `path` written with a new shared index of all its entries (the
    /// fingerprint stays `summary`'s); the split one as it is when that fails.
    private func resplit(_ path: String, _ summary: IndexFile.Summary) -> (IndexFile.Summary, newShared: [UInt8]?) {
        let full = path + ".full"
        unlink(full)
        guard IndexFile.writeUnsplit(path, to: full), let checksum = IndexFile.split(full),
            rename(full, path) == 0
        else {
            unlink(full)
            return (summary, nil)
        }
        return (
            IndexFile.Summary(fingerprint: summary.fingerprint, checksum: checksum),
            IndexFile.linkedShared(ofFile: path)
        )
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
