import Foundation
import Git

#if canImport(Glibc)
    import Glibc
#endif

extension GitBackend {
    /// What differs between the work tree and the last commit, under `paths` (files or
    /// directories, repository-relative; nil: everything). With `trustStat`, a file whose stat
    /// data equals the index's (and is older than the index, as git requires) is taken as
    /// unchanged; otherwise every file is re-hashed: LFS files against their pointer's SHA-256,
    /// the others against their blob id.
    func workTreeChanges(
        paths: [String]?, trustStat: Bool, untracked: Bool = true, progress: ProgressHandler? = nil,
        phase: String = "status"
    ) throws -> (
        checked: Int, changes: [WorkTreeChange]
    ) {
        var tracked: [String: TreeEntry] = [:]
        let tree = try head()?.tree
        if let tree {
            if let paths {
                for path in paths {
                    guard let entry = try repository.entry(at: path, inTree: tree) else { continue }
                    if entry.mode == .tree {
                        try repository.walkTree(entry.oid, prefix: path) { tracked[$0] = $1 }
                    } else {
                        tracked[path] = entry
                    }
                }
            } else {
                try repository.walkTree(tree) { tracked[$0] = $1 }
            }
        }
        // Files a commit run wrote that still have the stat data it took (GitBackend.runFiles):
        // unchanged when that can be trusted, else compared by content (no index entry needed).
        var trusted: Set<String> = []
        var recheck: [String: RunFile] = [:]
        if trustStat, !runFiles.isEmpty {
            let taken = AssetStatCache.now()
            for path in tracked.keys {
                guard let known = runFiles[path], let stamp = AssetStatCache.Stamp(path: root.path + "/" + path),
                    stamp == known.stamp
                else { continue }
                if known.trusted {
                    trusted.insert(path)
                } else {
                    recheck[path] = RunFile(stamp: stamp, taken: taken)
                }
            }
        }
        // A few paths (the files a command is about to write): only their index entries.
        let few = paths != nil && tracked.count < 4096
        let lookups = tracked.keys.filter { !trusted.contains($0) && recheck[$0] == nil }
        let stats =
            trustStat && !(few && lookups.isEmpty)
            ? try repository.indexStats(only: few ? Array(lookups) : nil) : ([:], nil)
        var attributes = tree.map { AttributesCache(repository: repository, tree: $0) }
        var changes: [WorkTreeChange] = []
        var checked = 0
        let sorted = tracked.keys.sorted()
        for path in sorted {
            guard let entry = tracked[path] else { continue }
            checked += 1
            progress?(OperationProgress(phase: phase, completed: checked, total: sorted.count))
            if trusted.contains(path) { continue }
            if let fresh = recheck[path] {
                // Written too recently for its times to prove it unchanged: compared by
                // content, then stamped again (trusted from then on if it stays as it is).
                if let kind = try difference(path, entry, stats: ([:], nil), attributes: &attributes) {
                    changes.append(WorkTreeChange(path: path, kind: kind))
                } else if AssetStatCache.Stamp(path: root.path + "/" + path) == fresh.stamp {
                    runFiles[path] = fresh
                }
                continue
            }
            if let kind = try difference(path, entry, stats: stats, attributes: &attributes) {
                changes.append(WorkTreeChange(path: path, kind: kind))
            }
        }
        for path in untracked ? untrackedFiles(under: paths) : [] where tracked[path] == nil {
            changes.append(WorkTreeChange(path: path, kind: .untracked))
        }
        return (checked, changes.sorted { $0.path < $1.path })
    }

    private func difference(
        _ path: String, _ entry: TreeEntry, stats: (entries: [String: IndexStat], indexModified: Int64?),
        attributes: inout AttributesCache?
    ) throws -> WorkTreeChange.Kind? {
        let full = root.path + "/" + path
        var info = stat()
        guard lstat(full, &info) == 0 else { return .missing }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || (type == S_IFLNK && entry.mode == .link) else { return .modified }
        if let indexStat = stats.entries[path], let indexModified = stats.indexModified, indexStat.blob == entry.oid,
            indexStat.matches(info),
            Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec) < indexModified
        {
            return nil
        }
        if try attributes?.isLFS(path) == true, let pointer = LFSPointer(parsing: try repository.readBlob(entry.oid)) {
            if Int64(info.st_size) != pointer.size { return .modified }
            return try sha256OfFile(full).hex == pointer.oid ? nil : .modified
        }
        return try GitRepository.blobID(ofFile: full) == entry.oid ? nil : .modified
    }

    /// Work-tree files under `paths` (nil: all), `.git` excluded.
    private func untrackedFiles(under paths: [String]?) -> [String] {
        guard let paths else {
            return FS.listFiles(under: root.path, skipHidden: false).filter { $0 != ".git" && !$0.hasPrefix(".git/") }
        }
        var out: [String] = []
        for path in paths {
            let full = root.path + "/" + path
            if FS.isDirectory(full) {
                out += FS.listFiles(under: full, skipHidden: false).map { path + "/" + $0 }
            } else if FS.exists(full) {
                out.append(path)
            }
        }
        return out
    }

    /// Puts the committed content of `paths` back into the work tree (files that are modified
    /// or missing; untracked files are left alone). A Git LFS object that is missing or damaged
    /// in the store cannot be restored: those paths are returned with the reason.
    func restoreWorkTree(_ paths: [String]) throws -> [(path: String, reason: String)] {
        guard let head = try head(), !paths.isEmpty else { return [] }
        var attributes = AttributesCache(repository: repository, tree: head.tree)
        var restorable: [String] = []
        var failed: [(path: String, reason: String)] = []
        for path in paths {
            guard let entry = try repository.entry(at: path, inTree: head.tree) else { continue }
            if try attributes.isLFS(path), let pointer = LFSPointer(parsing: try repository.readBlob(entry.oid)),
                try !lfs.verify(oid: pointer.oid, size: pointer.size)
            {
                failed.append(
                    (
                        path,
                        "its Git LFS object \(pointer.oid) is \(lfs.contains(oid: pointer.oid) ? "damaged" : "missing"); run `stac-repository verify --repair` to fetch it again from the original"
                    ))
                continue
            }
            restorable.append(path)
        }
        if !restorable.isEmpty { try updateWorkTree(tree: head.tree, paths: restorable) }
        return failed
    }
}
