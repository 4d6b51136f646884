public import Foundation
import Git

#if canImport(Glibc)
    import Glibc
#endif

extension GitBackend {
    func writeBackup(to destination: URL, version: String, progress: ProgressHandler?) throws -> BackupReport {
        let git = self
        let dest = destination.standardizedFileURL.path
        let commit = try git.resolve(version)
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
        // A new backup is built beside its destination and appears there complete.
        let staging = report.incremental ? nil : try ExportDestination(path: dest, marker: ".stac-backup-")
        let target = staging.map { URL(fileURLWithPath: $0.temporary) } ?? destination
        let backupRepo: GitRepository
        do {
            backupRepo =
                report.incremental
                ? try GitRepository.open(at: target)
                : try GitRepository.create(at: target, bare: true, initialBranch: git.branch)
            try backupRepo.setConfig("stac-repository.backend", "git")
            try backupRepo.setConfig("stac-repository.branch", git.branch)
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage, "Could not open or create the backup repository \(dest): \(error.message); check the path.",
                underlying: error)
        }

        // 1. Git LFS objects of every commit reachable from `commit`.
        let store = LFSStore(gitDirectory: target)
        FS.removeTreeNoFollow(store.temporaryDirectory.path)  // copies a killed backup left half-written
        try FS.makeDirectories(store.temporaryDirectory.path)
        let pointers = try Self.lfsPointers(reachableFrom: commit, in: git.repository)
        let totalBytes = pointers.reduce(Int64(0)) { $0 + $1.size }
        var done = 0
        var bytes: Int64 = 0
        progress?(
            OperationProgress(
                phase: "backup", completed: 0, total: pointers.count, totalBytes: totalBytes, unit: "objects"))
        for pointer in pointers {
            let objectPath = store.objectURL(oid: pointer.oid).path
            if FS.exists(objectPath), let present = try? sha256OfFile(objectPath), present.hex == pointer.oid,
                present.size == pointer.size
            {
                report.lfsObjectsPresent += 1
            } else {
                try Self.copyLFSObject(pointer, from: git.lfs, to: store, what: "backup")
                report.lfsObjectsCopied += 1
                report.lfsBytesCopied += pointer.size
            }
            done += 1
            bytes += pointer.size
            progress?(
                OperationProgress(
                    phase: "backup", completed: done, total: pointers.count, bytes: bytes, totalBytes: totalBytes,
                    unit: "objects"))
            try crashes.point("backup-lfs-object")
        }
        FS.syncDirectory(store.objectsDirectory.path)

        // 2. Git objects, through a temporary ref (libgit2 pushes references, not commit ids).
        let temp = "refs/stac-repository/backup-push"
        try? git.repository.deleteReference(temp)
        try git.repository.updateReference(temp, to: commit, expected: nil, reflogMessage: "stac-repository backup")
        defer { try? git.repository.deleteReference(temp) }
        do {
            try git.repository.pushMirror(to: target, refs: [temp])
            try crashes.point("backup-objects-pushed")
            try backupRepo.verifyObjects()
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage,
                "Could not write the git objects of the backup to \(dest): \(error.message); run backup again.",
                underlying: error)
        }

        // 3. The branch, last.
        do {
            let previous = try backupRepo.reference("refs/heads/\(git.branch)")
            try backupRepo.updateReference(
                "refs/heads/\(git.branch)", to: commit, expected: previous, reflogMessage: "stac-repository backup")
            try? backupRepo.deleteReference(temp)
            guard try backupRepo.reference("refs/heads/\(git.branch)") == commit else {
                throw StacRepositoryError(
                    .integrity, "The backup's branch does not point at \(commit.hex) after writing; run backup again.")
            }
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage, "Could not move the branch of the backup at \(dest): \(error.message); run backup again.",
                underlying: error)
        }
        try staging?.commit(force: false)
        return report
    }

    /// Copies one Git LFS object into `store`: hashed while copied into the store's temporary
    /// directory, flushed, compared with its oid, then renamed into place.
    static func copyLFSObject(_ pointer: LFSPointer, from source: LFSStore, to store: LFSStore, what: String) throws {
        let from = source.objectURL(oid: pointer.oid).path
        guard FS.exists(from) else {
            throw StacRepositoryError(
                .integrity,
                "The Git LFS object \(pointer.oid) is missing from \(source.gitDirectory.path), so the \(what) would be incomplete; restore it first (`git lfs fetch --all`) and run \(what) again."
            )
        }
        let temporary = store.temporaryDirectory.path + "/" + UUID().uuidString
        defer { unlink(temporary) }
        let digest = try FS.copyHashing(from: from, to: temporary, sync: true)
        guard digest.sha256 == pointer.oid, digest.size == pointer.size else {
            throw StacRepositoryError(
                .integrity,
                "The Git LFS object \(pointer.oid) in \(source.gitDirectory.path) is damaged (it hashes to \(digest.sha256), \(digest.size) bytes); restore it from another copy and run \(what) again."
            )
        }
        let objectPath = store.objectURL(oid: pointer.oid).path
        try FS.makeDirectories((objectPath as NSString).deletingLastPathComponent)
        try FS.rename(temporary, objectPath)
    }

    /// Every Git LFS pointer in the trees of commits reachable from `commit`.
    static func lfsPointers(reachableFrom commit: ObjectID, in repo: GitRepository) throws -> [LFSPointer] {
        var seenBlobs: Set<ObjectID> = []
        var pointers: [String: LFSPointer] = [:]
        for c in try repo.log(from: commit, limit: nil) {
            try repo.walkTree(c.tree) { path, entry in
                // Any pointer blob, JSON-named assets included (docs/format.md, Git LFS attributes).
                guard !GitBackend.isAttributesFile(path), seenBlobs.insert(entry.oid).inserted else { return }
                if let p = LFSPointer(parsing: try repo.readBlob(entry.oid)) { pointers[p.oid] = p }
            }
        }
        return pointers.keys.sorted().compactMap { pointers[$0] }
    }

}

extension Repository {
    /// Restores a repository from a backup (or any stac-repository git repository) into `directory`.
    ///
    /// Every Git LFS object of the checked-out commit must be in the backup and hash to its oid;
    /// otherwise nothing is left at `directory` and the error names what is missing.
    public static func clone(from source: URL, to directory: URL, progress: ProgressHandler? = nil) throws -> Repository
    {
        let dir = directory.standardizedFileURL.path
        let existed = FS.exists(dir)
        if existed, !((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty {
            throw StacRepositoryError(
                .alreadyExists, "\(dir) is not empty; choose a new or empty directory to clone into.")
        }
        let src: GitRepository
        do { src = try GitRepository.open(at: source) } catch {
            throw StacRepositoryError(.notFound, "\(source.path) is not a git repository or backup; check the path.")
        }
        let branch = ((try? src.config("stac-repository.branch")) ?? nil) ?? (try? src.headBranch()) ?? nil ?? "main"
        guard let tip = try src.reference("refs/heads/\(branch)") else {
            throw StacRepositoryError(
                .notFound,
                "\(source.path) has no branch \(branch) to clone (an incomplete backup?); run `backup` into it again, then clone."
            )
        }
        func discard() {
            if existed {
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                    FS.removeTreeNoFollow(dir + "/" + entry)
                }
            } else {
                FS.removeTreeNoFollow(dir)
            }
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
            discard()
            throw StacRepositoryError(
                .storage, "Could not clone \(source.path) into \(dir): \(error.message).", underlying: error)
        }
        do {
            let backend = try GitBackend(root: URL(fileURLWithPath: dir))
            try FS.makeDirectories(backend.stagingDirectory.path)
            try FS.makeDirectories(backend.lfs.temporaryDirectory.path)
            let srcStore = LFSStore(gitDirectory: src.gitDirectory)
            let repository = Repository(backend: backend)
            // What the checked-out commit needs, by path (source(_:) decides which paths are LFS).
            let snapshot = try backend.snapshot(at: tip.hex)
            var needed: [String: String] = [:]  // oid -> a path that uses it
            for path in try snapshot.files() {
                if let digest = try snapshot.storedDigest(path), needed[digest.sha256] == nil {
                    needed[digest.sha256] = path
                }
            }
            let pointers = try GitBackend.lfsPointers(reachableFrom: tip, in: backend.repository)
            var missing: [(oid: String, path: String)] = []
            var done = 0
            for pointer in pointers {
                defer {
                    done += 1
                    progress?(
                        OperationProgress(phase: "clone", completed: done, total: pointers.count, unit: "objects"))
                }
                let from = srcStore.objectURL(oid: pointer.oid)
                let isNeeded = needed[pointer.oid] != nil
                guard FS.exists(from.path) else {
                    if let path = needed[pointer.oid] { missing.append((pointer.oid, path)) }
                    continue
                }
                do {
                    try GitBackend.copyLFSObject(pointer, from: srcStore, to: backend.lfs, what: "clone")
                } catch let error as StacRepositoryError where error.code == .integrity {
                    // A damaged object of an older commit is left out; one the checkout needs is fatal.
                    if isNeeded { missing.append((pointer.oid, needed[pointer.oid] ?? "")) }
                }
            }
            if !missing.isEmpty {
                let examples = missing.prefix(3).map { "\($0.path) (\($0.oid.prefix(12)))" }.joined(separator: ", ")
                throw StacRepositoryError(
                    .integrity,
                    "The backup \(source.path) lacks \(missing.count) Git LFS object\(missing.count == 1 ? "" : "s") of commit \(tip.shortHex), or holds damaged ones (\(examples)); it is incomplete: run `backup` into it again from the original repository, then clone again."
                )
            }
            let tree = try backend.repository.commit(tip).tree
            var paths: [String] = []
            try backend.repository.walkTree(tree) { path, _ in paths.append(path) }
            try backend.updateWorkTree(tree: tree, paths: paths)
            return Repository(backend: try GitBackend(root: directory))
        } catch {
            discard()
            throw error
        }
    }
}
