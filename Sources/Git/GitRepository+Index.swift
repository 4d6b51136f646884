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
    public func resetIndex(toTree tree: ObjectID, refreshingStatFor paths: [String]?) throws {
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
        guard rename(temporaryPath, indexPath) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw GitError(
                code: .generic, function: "resetIndex",
                message: "Cannot move the new index into place at \"\(indexPath)\": \(String(cString: strerror(code)))."
            )
        }
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
