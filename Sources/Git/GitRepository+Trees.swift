internal import CLibGit2
internal import Foundation

extension GitRepository {
    /// The bytes of the file at `path` in `tree`, or nil when there is no such path.
    ///
    /// - Throws: ``GitError`` `.directory` when `path` names a directory, `.notFound` when
    ///   `tree` does not exist.
    public func readFile(_ path: String, inTree tree: ObjectID) throws -> [UInt8]? {
        guard let entry = try entry(at: path, inTree: tree) else { return nil }
        guard entry.mode.isBlob else {
            throw GitError(
                code: .directory, function: "readFile",
                message: "\"\(path)\" is a \(entry.mode == .tree ? "directory" : "submodule"), not a file.")
        }
        return try readBlob(entry.oid)
    }

    /// The entry at `path` in `tree` (`git_tree_entry_bypath`), or nil when there is none.
    ///
    /// - Throws: ``GitError`` `.notFound` when `tree` does not exist.
    public func entry(at path: String, inTree tree: ObjectID) throws -> TreeEntry? {
        let treeHandle = try TreeHandle(tree, in: self)
        var entry: OpaquePointer?
        let result = git_tree_entry_bypath(&entry, treeHandle.pointer, path)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_tree_entry_bypath") { result }
        guard let entry else { return nil }
        let handle = TreeEntryHandle(taking: entry)
        return withExtendedLifetime(handle) { TreeEntry(handle.pointer) }
    }

    /// Visits every file (blob, executable or link; not directories or submodules) under
    /// `tree`, recursively, in git's tree order; paths are prefixed with `prefix`.
    ///
    /// - Throws: ``GitError`` when a tree is missing, or whatever `visit` throws.
    public func walkTree(
        _ tree: ObjectID, prefix: String = "", _ visit: (_ path: String, _ entry: TreeEntry) throws -> Void
    ) throws {
        let handle = try TreeHandle(tree, in: self)
        let count = git_tree_entrycount(handle.pointer)
        for index in 0..<count {
            guard let raw = git_tree_entry_byindex(handle.pointer, index) else { continue }
            let name = String(cString: git_tree_entry_name(raw))
            let path = prefix.isEmpty ? name : prefix + "/" + name
            guard let entry = TreeEntry(raw) else { continue }
            switch entry.mode {
            case .tree: try walkTree(entry.oid, prefix: path, visit)
            case .gitlink: continue
            default: try visit(path, entry)
            }
        }
    }

    /// The files that differ between two trees, without rename detection; `oldTree` nil means
    /// the empty tree. A file that became a directory shows as deleted plus the added files.
    /// Sorted by path (bytewise), as `git_diff_tree_to_tree` sorts them.
    ///
    /// Subtrees with the same id on both sides are skipped without being read, so the cost is
    /// that of the trees along the changed paths, not of the whole tree: libgit2 1.5's
    /// `git_diff_tree_to_tree` read every tree of a 100,000-item catalog to find one new file
    /// (half of a one-item commit's time).
    ///
    /// - Throws: ``GitError`` when a tree is missing.
    public func changedPaths(from oldTree: ObjectID?, to newTree: ObjectID) throws -> [PathChange] {
        var changes = [PathChange]()
        try diffTrees(oldTree, newTree, prefix: "", into: &changes)
        changes.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return changes
    }

    /// The entries of a tree by name (nil: the empty tree).
    private func treeEntries(_ id: ObjectID?) throws(GitError) -> [String: TreeEntry] {
        guard let id, id != .emptyTree else { return [:] }
        let handle = try TreeHandle(id, in: self)
        let count = git_tree_entrycount(handle.pointer)
        var out = [String: TreeEntry](minimumCapacity: count)
        for index in 0..<count {
            guard let raw = git_tree_entry_byindex(handle.pointer, index), let entry = TreeEntry(raw) else { continue }
            out[String(cString: git_tree_entry_name(raw))] = entry
        }
        return out
    }

    private func diffTrees(
        _ old: ObjectID?, _ new: ObjectID?, prefix: String, into changes: inout [PathChange]
    ) throws(GitError) {
        if old == new { return }
        let before = try treeEntries(old)
        let after = try treeEntries(new)
        for (name, entry) in before {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            let other = after[name]
            switch (entry.mode == .tree, other.map { $0.mode == .tree }) {
            case (true, true?):
                try diffTrees(entry.oid, other?.oid, prefix: path, into: &changes)
            case (true, _):
                try diffTrees(entry.oid, nil, prefix: path, into: &changes)
                if let other {
                    changes.append(
                        PathChange(
                            kind: .added, path: path, oldID: nil, newID: other.oid, oldMode: nil, newMode: other.mode))
                }
            case (false, true?):
                changes.append(
                    PathChange(
                        kind: .deleted, path: path, oldID: entry.oid, newID: nil, oldMode: entry.mode, newMode: nil))
                try diffTrees(nil, other?.oid, prefix: path, into: &changes)
            case (false, false?):
                if let other, other != entry {
                    changes.append(
                        PathChange(
                            kind: .modified, path: path, oldID: entry.oid, newID: other.oid, oldMode: entry.mode,
                            newMode: other.mode))
                }
            case (false, nil):
                changes.append(
                    PathChange(
                        kind: .deleted, path: path, oldID: entry.oid, newID: nil, oldMode: entry.mode, newMode: nil))
            }
        }
        for (name, entry) in after where before[name] == nil {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            if entry.mode == .tree {
                try diffTrees(nil, entry.oid, prefix: path, into: &changes)
            } else {
                changes.append(
                    PathChange(
                        kind: .added, path: path, oldID: nil, newID: entry.oid, oldMode: nil, newMode: entry.mode))
            }
        }
    }

    /// Writes a new tree: `base` (nil for the empty tree) with `updates` applied, and returns
    /// its id (`git_tree_create_updated`). Only the trees along the updated paths are rewritten,
    /// so a few thousand updates on a tree of any size are fast.
    ///
    /// Later updates of the same path win. Removing a directory removes everything under it;
    /// removing an absent path does nothing. A removal and an upsert inside the removed
    /// directory (replacing a product) are applied in that order, as are upserts that turn a
    /// file into a directory or back.
    ///
    /// - Throws: ``GitError`` `.invalid` for a malformed path (empty, `.`, `..`, `.git`
    ///   components), `.notFound` when `base` does not exist.
    public func updateTree(base: ObjectID?, _ updates: [TreeUpdate]) throws -> ObjectID {
        let baseID = base ?? .emptyTree
        // Last update of a path wins; libgit2 calls two updates of one path undefined.
        var latest = [String: TreeUpdate]()
        latest.reserveCapacity(updates.count)
        for update in updates {
            let path = try Self.normalizedPath(update.path)
            switch update {
            case .upsert(_, let blob, let mode):
                guard mode.isBlob else {
                    throw GitError(
                        code: .invalid, function: "updateTree",
                        message:
                            "Cannot upsert \"\(path)\" with mode \(String(mode.rawValue, radix: 8)): only files can be upserted."
                    )
                }
                latest[path] = .upsert(path: path, blob: blob, mode: mode)
            case .remove:
                latest[path] = .remove(path: path)
            }
        }
        guard !latest.isEmpty else {
            if baseID == .emptyTree { try writeEmptyTree() }
            return baseID
        }
        let baseTree = try TreeHandle(baseID, in: self)

        // Removals of absent paths are dropped (libgit2 fails on them). A removal, or an existing
        // file, that sits at or above an upserted path must go first, in a separate pass,
        // because libgit2 cannot delete and re-create an entry, or turn a blob into a tree, in one.
        var removals = [String]()
        var upserts = [(path: String, blob: ObjectID, mode: FileMode)]()
        for (path, update) in latest {
            switch update {
            case .remove:
                if try entryExists(path, in: baseTree) { removals.append(path) }
            case .upsert(_, let blob, let mode):
                upserts.append((path, blob, mode))
            }
        }
        let upsertAncestors = Set(upserts.flatMap { Self.ancestors(of: $0.path) })
        var clearedFirst = Set<String>()
        for path in removals where upsertAncestors.contains(path) {
            clearedFirst.insert(path)
        }
        var checkedAncestors = Set<String>()
        for upsert in upserts {
            // A file where an upsert needs a directory: "a/b" is a blob and "a/b/c" is upserted.
            for ancestor in Self.ancestors(of: upsert.path) {
                guard checkedAncestors.insert(ancestor).inserted else { continue }
                guard let entry = try entry(at: ancestor, in: baseTree) else { break }
                if entry.mode != .tree { clearedFirst.insert(ancestor) }
            }
            // A directory where an upsert needs a file.
            if let entry = try entry(at: upsert.path, in: baseTree), entry.mode == .tree {
                clearedFirst.insert(upsert.path)
            }
        }

        var treeID = baseID
        var tree = baseTree
        if !clearedFirst.isEmpty {
            treeID = try applyTreeUpdates(
                to: tree, clearedFirst.map { (GIT_TREE_UPDATE_REMOVE, $0, ObjectID.emptyTree, FileMode.tree) })
            tree = try TreeHandle(treeID, in: self)
        }
        var rest: [(git_tree_update_t, String, ObjectID, FileMode)] = []
        rest.reserveCapacity(latest.count)
        for path in removals where !clearedFirst.contains(path) {
            rest.append((GIT_TREE_UPDATE_REMOVE, path, .emptyTree, .tree))
        }
        for upsert in upserts {
            rest.append((GIT_TREE_UPDATE_UPSERT, upsert.path, upsert.blob, upsert.mode))
        }
        if !rest.isEmpty {
            treeID = try applyTreeUpdates(to: tree, rest)
        }
        if treeID == .emptyTree { try writeEmptyTree() }
        return treeID
    }

    /// One call of `git_tree_create_updated`.
    private func applyTreeUpdates(
        to tree: TreeHandle, _ updates: [(git_tree_update_t, String, ObjectID, FileMode)]
    ) throws(GitError) -> ObjectID {
        let paths = CStringArray(updates.map(\.1))
        var raw = [git_tree_update]()
        raw.reserveCapacity(updates.count)
        for (index, update) in updates.enumerated() {
            raw.append(
                git_tree_update(
                    action: update.0, id: update.2.oid, filemode: git_filemode_t(update.3.rawValue),
                    path: UnsafePointer(paths.pointers[index])))
        }
        var oid = git_oid()
        try git("git_tree_create_updated") {
            git_tree_create_updated(&oid, pointer, tree.pointer, raw.count, raw)
        }
        withExtendedLifetime(paths) {}
        return ObjectID(oid)
    }

    private func entry(at path: String, in tree: TreeHandle) throws(GitError) -> TreeEntry? {
        var entry: OpaquePointer?
        let result = git_tree_entry_bypath(&entry, tree.pointer, path)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_tree_entry_bypath") { result }
        guard let entry else { return nil }
        let handle = TreeEntryHandle(taking: entry)
        return withExtendedLifetime(handle) { TreeEntry(handle.pointer) }
    }

    private func entryExists(_ path: String, in tree: TreeHandle) throws(GitError) -> Bool {
        try entry(at: path, in: tree) != nil
    }

    /// Checks a tree path and strips leading and trailing slashes.
    static func normalizedPath(_ path: String) throws(GitError) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        var trimmed = components[...]
        while trimmed.first == "" { trimmed = trimmed.dropFirst() }
        while trimmed.last == "" { trimmed = trimmed.dropLast() }
        guard !trimmed.isEmpty else {
            throw GitError(code: .invalid, function: "updateTree", message: "A tree path may not be empty.")
        }
        for component in trimmed {
            if component.isEmpty || component == "." || component == ".." || component.lowercased() == ".git"
                || component.utf8.contains(0)
            {
                throw GitError(
                    code: .invalid, function: "updateTree",
                    message:
                        "Path \"\(path)\" is not a valid tree path: components may not be empty, \".\", \"..\" or \".git\"."
                )
            }
        }
        return trimmed.joined(separator: "/")
    }

    /// "a/b/c" -> ["a", "a/b"].
    static func ancestors(of path: String) -> [String] {
        var result = [String]()
        var index = path.startIndex
        while let slash = path[index...].firstIndex(of: "/") {
            result.append(String(path[..<slash]))
            index = path.index(after: slash)
        }
        return result
    }
}

extension TreeEntry {
    /// Copies a libgit2 tree entry; nil for a mode this module does not know.
    init?(_ entry: OpaquePointer) {
        guard let mode = FileMode(rawValue: git_tree_entry_filemode(entry).rawValue) else { return nil }
        self.init(oid: ObjectID(git_tree_entry_id(entry).pointee), mode: mode)
    }
}
