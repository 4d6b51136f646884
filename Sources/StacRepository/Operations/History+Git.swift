public import Foundation
import Git

/// What `backup` wrote.
public struct BackupReport: Sendable, Codable {
    public var destination: String
    public var commit: String
    public var lfsObjectsCopied = 0
    public var lfsObjectsPresent = 0
    public var lfsBytesCopied: Int64 = 0
    public var incremental = false
}

extension Repository {
    func gitBackend(for command: String) throws -> GitBackend {
        guard let git = backend as? GitBackend else {
            throw StacRepositoryError(
                .unsupported,
                "`\(command)` needs the git backend, and this repository uses the file backend (no history); create one with `stac-repository init --backend git` and ingest into it."
            )
        }
        return git
    }

    /// Makes the catalog equal to the one at `ref`: a new commit (history kept), or with `hard`
    /// the branch moved to `ref` after saving the old tip under `refs/stac-repository/backup/`.
    public func rollback(to ref: String, hard: Bool = false, wait: Bool = false) throws -> (
        commit: String, backupRef: String?
    ) {
        let git = try gitBackend(for: "rollback")
        return try withLock(wait: wait, purpose: "rollback") {
            guard let head = try git.head() else {
                throw StacRepositoryError(.notFound, "The branch \(git.branch) has no commits to roll back.")
            }
            let target = try git.resolve(ref)
            let targetCommit = try git.repository.commit(target)
            let changes = try git.repository.changedPaths(from: head.tree, to: targetCommit.tree)
            let paths = changes.map(\.path).sorted()
            if hard {
                let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
                let backupRef = "refs/stac-repository/backup/\(stamp)"
                try git.repository.updateReference(
                    backupRef, to: head.commit, expected: nil, reflogMessage: "stac-repository rollback --hard: old tip"
                )
                try git.moveBranch(
                    from: head.commit, to: target, tree: targetCommit.tree, paths: paths,
                    reflog: "stac-repository rollback --hard to \(target.shortHex)")
                return (target.hex, backupRef)
            }
            if targetCommit.tree == head.tree {
                throw StacRepositoryError(
                    .invalidInput, "The catalog at \(ref) is already the current one; nothing to roll back.")
            }
            var products: [ProductChange] = []
            let index = try git.snapshot(at: nil).index()
            let targetIndex = try git.snapshot(at: target.hex).index()
            for c in changes where c.path.hasSuffix(".json") {
                let id = CatalogIndex.itemID(fromPath: c.path)
                let kind =
                    targetIndex.items[c.path] != nil || index.items[c.path] != nil
                    ? "item" : (c.path.hasSuffix("collection.json") ? "collection" : "catalog")
                let name =
                    kind == "item" ? id : (targetIndex.containers[c.path]?.id ?? index.containers[c.path]?.id ?? id)
                let change: ProductChangeKind = c.kind == .added ? .added : c.kind == .deleted ? .removed : .updated
                products.append(ProductChange(id: name, kind: kind, change: change))
            }
            let record = OperationRecord(
                operation: "rollback", summary: "to \(target.shortHex) (\(plural(products.count, "product")) changed)",
                products: products,
                trailers: ["Stac-Repository-Rollback-To": target.hex])
            let commit = try git.makeCommit(
                tree: targetCommit.tree, parents: [head.commit], message: record.message, date: record.date)
            try git.moveBranch(
                from: head.commit, to: commit, tree: targetCommit.tree, paths: paths,
                reflog: "stac-repository rollback to \(target.shortHex)")
            return (commit.hex, nil)
        }
    }

    /// Writes (or updates) a standalone bare repository at `destination` holding the branch up to
    /// `ref` and every Git LFS object it needs, then verifies it.
    public func backup(to destination: URL, ref: String? = nil) throws -> BackupReport {
        let git = try gitBackend(for: "backup")
        try recoverIfIdle()
        let dest = destination.standardizedFileURL.path
        let commit =
            try ref.map { try git.resolve($0) }
            ?? (try git.head()?.commit).unwrapOr {
                StacRepositoryError(.notFound, "The branch \(git.branch) has no commits to back up.")
            }
        var report = BackupReport(destination: dest, commit: commit.hex)
        if FS.exists(dest) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: dest)) ?? []
            if !contents.isEmpty {
                guard FS.exists(dest + "/HEAD"), FS.isDirectory(dest + "/objects") else {
                    throw StacRepositoryError(
                        .alreadyExists,
                        "\(dest) is not empty and is not an earlier backup; choose an empty or new directory.")
                }
                report.incremental = true
            }
        }
        let backupRepo: GitRepository
        do {
            backupRepo =
                report.incremental
                ? try GitRepository.open(at: destination)
                : try GitRepository.create(at: destination, bare: true, initialBranch: git.branch)
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage, "Could not open or create the backup repository \(dest): \(error.message); check the path.",
                underlying: error)
        }
        // Push the wanted commit through a temporary ref (libgit2 pushes references, not
        // commit ids), then make it the backup's branch.
        let temp = "refs/stac-repository/backup-push"
        try? git.repository.deleteReference(temp)
        try git.repository.updateReference(temp, to: commit, expected: nil, reflogMessage: "stac-repository backup")
        defer { try? git.repository.deleteReference(temp) }
        do {
            try git.repository.pushMirror(to: destination, refs: [temp])
            let previous = try backupRepo.reference("refs/heads/\(git.branch)")
            try backupRepo.updateReference(
                "refs/heads/\(git.branch)", to: commit, expected: previous, reflogMessage: "stac-repository backup")
            try? backupRepo.deleteReference(temp)
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage, "Could not write the backup to \(dest): \(error.message).", underlying: error)
        }
        try backupRepo.setConfig("stac-repository.backend", "git")
        try backupRepo.setConfig("stac-repository.branch", git.branch)
        // LFS objects of every commit reachable from `commit`.
        let store = LFSStore(gitDirectory: destination)
        for pointer in try lfsPointers(reachableFrom: commit, in: git.repository) {
            let source = git.lfs.objectURL(oid: pointer.oid)
            let target = store.objectURL(oid: pointer.oid)
            if FS.exists(target.path) {
                report.lfsObjectsPresent += 1
            } else {
                guard FS.exists(source.path) else {
                    throw StacRepositoryError(
                        .integrity,
                        "The Git LFS object \(pointer.oid) is missing from this repository, so the backup would be incomplete; restore it first (`git lfs fetch --all`)."
                    )
                }
                try FS.copyFile(source.path, target.path, link: false)
                report.lfsObjectsCopied += 1
                report.lfsBytesCopied += pointer.size
            }
            let (hash, size) = try sha256OfFile(target.path)
            if hash != pointer.oid || size != pointer.size {
                throw StacRepositoryError(
                    .integrity,
                    "The backup's Git LFS object \(pointer.oid) does not have the right content; remove \(target.path) and run backup again."
                )
            }
        }
        do {
            try backupRepo.verifyObjects()
            guard try backupRepo.reference("refs/heads/\(git.branch)") == commit else {
                throw StacRepositoryError(
                    .integrity, "The backup's branch does not point at \(commit.hex) after writing; run backup again.")
            }
        } catch let error as GitError {
            throw StacRepositoryError(
                .integrity,
                "The backup at \(dest) failed verification: \(error.message); run backup again into a new directory.",
                underlying: error)
        }
        return report
    }

    /// Every Git LFS pointer in the trees of commits reachable from `commit`.
    func lfsPointers(reachableFrom commit: ObjectID, in repo: GitRepository) throws -> [LFSPointer] {
        var seenBlobs: Set<ObjectID> = []
        var pointers: [String: LFSPointer] = [:]
        for c in try repo.log(from: commit, limit: nil) {
            try repo.walkTree(c.tree) { path, entry in
                guard !path.hasSuffix(".json"), seenBlobs.insert(entry.oid).inserted else { return }
                if let p = LFSPointer(parsing: try repo.readBlob(entry.oid)) { pointers[p.oid] = p }
            }
        }
        return pointers.keys.sorted().compactMap { pointers[$0] }
    }

    /// Restores a repository from a backup (or any stac-repository git repository) into `directory`.
    public static func clone(from source: URL, to directory: URL) throws -> Repository {
        let dir = directory.standardizedFileURL.path
        if FS.exists(dir), !((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty {
            throw StacRepositoryError(
                .alreadyExists, "\(dir) is not empty; choose a new or empty directory to clone into.")
        }
        let src: GitRepository
        do { src = try GitRepository.open(at: source) } catch {
            throw StacRepositoryError(.notFound, "\(source.path) is not a git repository or backup; check the path.")
        }
        let branch = ((try? src.config("stac-repository.branch")) ?? nil) ?? (try? src.headBranch()) ?? nil ?? "main"
        guard let tip = try src.reference("refs/heads/\(branch)") else {
            throw StacRepositoryError(.notFound, "\(source.path) has no branch \(branch) to clone.")
        }
        // libgit2's local transport pushes only into bare repositories: make `.git` bare for
        // the push, then turn it into the git directory of a normal work tree.
        try FS.makeDirectories(dir)
        let gitDirectory = URL(fileURLWithPath: dir).appendingPathComponent(".git")
        do {
            let target = try GitRepository.create(at: gitDirectory, bare: true, initialBranch: branch)
            try src.pushMirror(to: gitDirectory, refs: ["refs/heads/\(branch)"])
            try target.setConfig("core.bare", "false")
            try target.setConfig("core.logallrefupdates", "true")
            try target.setConfig("stac-repository.backend", "git")
            try target.setConfig("stac-repository.branch", branch)
            try target.setConfig("remote.origin.url", source.standardizedFileURL.path)
            try target.setConfig("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*")
        } catch let error as GitError {
            FS.removeTree(dir)
            throw StacRepositoryError(
                .storage, "Could not clone \(source.path) into \(dir): \(error.message).", underlying: error)
        }
        let backend = try GitBackend(root: URL(fileURLWithPath: dir))
        try FS.makeDirectories(backend.stagingDirectory.path)
        try FS.makeDirectories(backend.lfs.temporaryDirectory.path)
        let srcStore = LFSStore(gitDirectory: src.gitDirectory)
        for pointer in try Repository(backend: backend).lfsPointers(reachableFrom: tip, in: backend.repository) {
            let from = srcStore.objectURL(oid: pointer.oid)
            if FS.exists(from.path) {
                try FS.copyFile(from.path, backend.lfs.objectURL(oid: pointer.oid).path, link: false)
            }
        }
        let tree = try backend.repository.commit(tip).tree
        var paths: [String] = []
        try backend.repository.walkTree(tree) { path, _ in paths.append(path) }
        try backend.updateWorkTree(tree: tree, paths: paths)
        return Repository(backend: try GitBackend(root: directory))
    }
}

extension Optional {
    func unwrapOr(_ error: () -> some Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}

extension Repository {
    /// Throws a clear error when the repository keeps no history (file backend).
    public func requireHistory(_ command: String) throws {
        _ = try gitBackend(for: command)
    }
}
