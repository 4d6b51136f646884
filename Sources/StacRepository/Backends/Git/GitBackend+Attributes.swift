import Foundation
import Git

#if canImport(Glibc)
    import Glibc
#endif

/// The `.gitattributes` files of a tree, read once per directory: answers "is this path an LFS
/// pointer" with ``LFSAttributes/isLFS(path:listedInDirectory:)``.
struct AttributesCache {
    let repository: GitRepository
    let tree: ObjectID
    private var listed: [String: Set<String>] = [:]

    init(repository: GitRepository, tree: ObjectID) {
        self.repository = repository
        self.tree = tree
    }

    mutating func isLFS(_ path: String) throws -> Bool {
        try LFSAttributes.isLFS(path: path) { directory in try names(in: directory) }
    }

    /// The names the `.gitattributes` of `directory` marks as LFS.
    mutating func names(in directory: String) throws -> Set<String> {
        if let known = listed[directory] { return known }
        let bytes = try? repository.readFile(GitBackend.attributesPath(in: directory), inTree: tree)
        let names = bytes.map(LFSAttributes.listedNames) ?? []
        listed[directory] = names
        return names
    }
}

extension GitBackend {
    /// The configuration value (`stac-repository.format`) of repositories whose tree follows the
    /// attributes rule and whose work tree holds copies, not hard links, of the LFS objects.
    static let currentFormat = "2"

    /// Whether `path` is an attributes file (the tool's, not the catalog's).
    static func isAttributesFile(_ path: String) -> Bool {
        LFSAttributes.split(path).name == LFSAttributes.fileName
    }

    /// `DIR/.gitattributes` (`.gitattributes` for the root).
    static func attributesPath(in directory: String) -> String {
        directory.isEmpty ? LFSAttributes.fileName : directory + "/" + LFSAttributes.fileName
    }

    /// `changes` plus the `.gitattributes` updates they need: every directory where a
    /// JSON-named asset is added or removed gets its attributes file rewritten (or removed
    /// when no such asset is left). A requested write of an attributes file keeps only the
    /// LFS lines this tool writes; a requested delete is recomputed like any other change.
    func withAttributeFiles(_ changes: [String: FileChange], base: ObjectID?) throws -> [String: FileChange] {
        var byDirectory: [String: [(name: String, change: FileChange)]] = [:]
        for (path, change) in changes {
            let (directory, name) = LFSAttributes.split(path)
            if LFSAttributes.needsOwnLine(name) || name == LFSAttributes.fileName {
                byDirectory[directory, default: []].append((name, change))
            }
        }
        guard !byDirectory.isEmpty else { return changes }
        var out = changes
        for (directory, entries) in byDirectory {
            let path = Self.attributesPath(in: directory)
            let old = try base.flatMap { try repository.readFile(path, inTree: $0) }
            var listed: Set<String>
            // The file is computed from the tree and the changes: a requested delete (an updated
            // item drops the files it does not reference, a prune its whole directory) only
            // removes the lines of the assets it removes.
            if case .write(let bytes)? = changes[path] {
                listed = LFSAttributes.listedNames(in: bytes)
            } else {
                listed = old.map(LFSAttributes.listedNames) ?? []
            }
            for entry in entries where entry.name != LFSAttributes.fileName {
                switch entry.change {
                case .asset, .storedAsset: listed.insert(entry.name)
                case .write, .delete: listed.remove(entry.name)
                }
            }
            let wanted: [UInt8]? =
                directory.isEmpty
                ? (listed.isEmpty && old != nil && changes[path] == nil ? old : LFSAttributes.rootFile(names: listed))
                : (listed.isEmpty ? nil : LFSAttributes.directoryFile(names: listed))
            if let wanted {
                if wanted != old || changes[path] != nil { out[path] = .write(wanted) }
            } else if old != nil {
                out[path] = .delete
            } else {
                out.removeValue(forKey: path)
            }
        }
        return out
    }

    /// ``GitRepository/resetIndex(toTree:refreshingStatFor:)``, recovering a stale
    /// `.git/index.lock`: we hold the writer lock, so a lock file that stays put is left by a
    /// dead process (a killed `git`, or a crash). A live git (`git status` refreshing the
    /// index) holds it for milliseconds: wait up to 2 s for it, then take the lock over.
    func resetIndex(toTree tree: ObjectID, refreshingStatFor paths: [String]?, incremental: Bool = false) throws {
        let lock = repository.gitDirectory.path + "/index.lock"
        var waited = 0
        while true {
            do {
                _ = try repository.resetIndex(toTree: tree, refreshingStatFor: paths, incremental: incremental)
                return
            } catch let error as GitError where error.code == .locked {
                let age = FS.modificationTime(lock).map { Date().timeIntervalSince1970 - Double($0) / 1e9 } ?? 0
                if age > 2 || waited >= 40 {
                    guard waited < 1000 else { throw error }
                    try FS.removeFile(lock)
                    waited = 1000  // remove it once; a second failure is reported
                    continue
                }
                waited += 1
                usleep(50_000)
            }
        }
    }

    /// Brings a repository written by an earlier version to ``currentFormat`` (docs/format.md,
    /// "Migration"), once, with the writer lock held:
    /// - JSON-named assets stored as LFS pointers without an attributes line get their
    ///   directory's `.gitattributes`, in one commit (`migrate: …`);
    /// - work-tree files that are hard links to their LFS object are replaced by copies.
    ///
    /// - Returns: the number of JSON-named assets whose attributes were added.
    @discardableResult
    func upgradeFormat() throws -> Int {
        guard (try? configValue("format")) ?? nil != Self.currentFormat else { return 0 }
        guard let head = try head() else {
            try setConfigValue("format", Self.currentFormat)
            return 0
        }
        var attributes = AttributesCache(repository: repository, tree: head.tree)
        var missing: [String: Set<String>] = [:]
        var linked: [String] = []
        try repository.walkTree(head.tree) { path, entry in
            let (directory, name) = LFSAttributes.split(path)
            if name == LFSAttributes.fileName { return }
            if LFSAttributes.needsOwnLine(name), try !attributes.isLFS(path) {
                let blob = try repository.readBlob(entry.oid)
                if blob.count < 1024, LFSPointer(parsing: blob) != nil {
                    let listed = try attributes.names(in: directory)
                    missing[directory, default: listed].insert(name)
                }
            }
            var info = stat()
            if lstat(root.path + "/" + path, &info) == 0, info.st_nlink > 1 { linked.append(path) }
        }
        var count = 0
        if !missing.isEmpty {
            var changes: [String: FileChange] = [:]
            for (directory, names) in missing {
                let path = Self.attributesPath(in: directory)
                changes[path] = .write(
                    directory.isEmpty ? LFSAttributes.rootFile(names: names) : LFSAttributes.directoryFile(names: names)
                )
                count += names.count - ((try? attributes.names(in: directory).count) ?? 0)
            }
            try commit(
                changes,
                record: OperationRecord(
                    operation: "migrate",
                    summary: "Git LFS attributes for \(count) JSON-named asset\(count == 1 ? "" : "s")", products: []))
        }
        if !linked.isEmpty, let current = try self.head() {
            let head = current
            var attributes = AttributesCache(repository: repository, tree: head.tree)
            var copied: [String] = []
            for path in linked {
                guard try attributes.isLFS(path), let blob = try repository.readFile(path, inTree: head.tree),
                    let pointer = LFSPointer(parsing: blob)
                else { continue }
                var file = stat()
                var object = stat()
                let target = root.path + "/" + path
                guard lstat(target, &file) == 0, lstat(lfs.objectURL(oid: pointer.oid).path, &object) == 0,
                    file.st_ino == object.st_ino, file.st_dev == object.st_dev
                else { continue }
                try FS.cloneFile(lfs.objectURL(oid: pointer.oid).path, target, tempDirectory: stagingDirectory.path)
                copied.append(path)
            }
            if !copied.isEmpty { try resetIndex(toTree: head.tree, refreshingStatFor: copied) }
        }
        try setConfigValue("format", Self.currentFormat)
        return count
    }
}

extension GitBackend {
    /// `tree` with the attributes lines its JSON-named LFS pointers among `paths` lack (a tree
    /// written before the attributes rule, e.g. the target of a rollback), and the attributes
    /// files it changed.
    func addingMissingAttributes(to tree: ObjectID, paths: [String]) throws -> (tree: ObjectID, changed: [String]) {
        var attributes = AttributesCache(repository: repository, tree: tree)
        var missing: [String: Set<String>] = [:]
        // Every JSON file in the directories of the changed paths: a changed attributes file
        // concerns its whole directory.
        var candidates: [(path: String, blob: ObjectID)] = []
        for directory in Set(paths.map { LFSAttributes.split($0).directory }) {
            if directory.isEmpty {
                try repository.walkTree(tree) { path, entry in
                    if !path.contains("/") { candidates.append((path, entry.oid)) }
                }
            } else if let entry = try repository.entry(at: directory, inTree: tree), entry.mode == .tree {
                try repository.walkTree(entry.oid, prefix: directory) { path, entry in
                    if LFSAttributes.split(path).directory == directory { candidates.append((path, entry.oid)) }
                }
            }
        }
        for (path, oid) in candidates {
            let (directory, name) = LFSAttributes.split(path)
            guard LFSAttributes.needsOwnLine(name), try !attributes.isLFS(path) else { continue }
            let blob = try repository.readBlob(oid)
            guard blob.count < 1024, LFSPointer(parsing: blob) != nil else { continue }
            let listed = try attributes.names(in: directory)
            missing[directory, default: listed].insert(name)
        }
        guard !missing.isEmpty else { return (tree, []) }
        var updates: [TreeUpdate] = []
        for (directory, names) in missing {
            let bytes =
                directory.isEmpty ? LFSAttributes.rootFile(names: names) : LFSAttributes.directoryFile(names: names)
            updates.append(
                .upsert(path: Self.attributesPath(in: directory), blob: try repository.writeBlob(bytes), mode: .blob))
        }
        return (try repository.updateTree(base: tree, updates), missing.keys.map(Self.attributesPath(in:)))
    }
}
