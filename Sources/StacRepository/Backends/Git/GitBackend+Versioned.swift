import Foundation
import Git

extension GitBackend {
    /// The registry entry of the git backend.
    static let descriptor = BackendDescriptor(
        kind: .git,
        summary: "git repository with Git LFS assets (libgit2): history, rollback, export at any commit, backup, diff",
        detect: { FS.exists($0 + "/.git") && isStacRepository(URL(fileURLWithPath: $0)) },
        open: { try GitBackend(root: $0) },
        create: { url, options in
            // A plain git repository is adopted: its history and files stay.
            let plainGit = FS.exists(url.path + "/.git")
            let backend = plainGit ? try adopt(at: url) : try create(at: url, branch: options.branch)
            // An adopted repository keeps its own attributes; the repository's come after them.
            var attributes =
                plainGit ? (try backend.read(".gitattributes")).map { String(decoding: $0, as: UTF8.self) } ?? "" : ""
            if !attributes.isEmpty && !attributes.hasSuffix("\n") { attributes += "\n" }
            return (backend, [".gitattributes": .write(Array((attributes + gitattributes).utf8))])
        })
}

extension GitBackend: VersionedBackend {
    var versioning: (any VersionedBackend)? { self }

    func prepareForWriting() throws { try upgradeFormat() }

    func headVersion() throws -> String? { try head()?.commit.hex }

    func resolveVersion(_ ref: String) throws -> String { try resolve(ref).hex }

    func shortVersion(_ version: String) -> String { String(version.prefix(12)) }

    func changedPaths(from old: String, to new: String) throws -> [VersionedPathChange] {
        let oldTree = try repository.commit(try resolve(old)).tree
        let newTree = try repository.commit(try resolve(new)).tree
        return try repository.changedPaths(from: oldTree, to: newTree).compactMap { change in
            guard !Self.isAttributesFile(change.path) else { return nil }
            let kind: VersionedPathChange.Kind =
                change.kind == .added ? .added : change.kind == .deleted ? .deleted : .modified
            return VersionedPathChange(path: change.path, kind: kind)
        }
    }

    func isBackendFile(_ path: String) -> Bool { Self.isAttributesFile(path) }

    func resetBranch(to version: String, savingOldTipAs name: String, paths: [String], reflog: String) throws {
        guard let head = try head() else {
            throw StacRepositoryError(.notFound, "The branch \(branch) has no commits to roll back.")
        }
        let target = try resolve(version)
        let tree = try repository.commit(target).tree
        // The old tip first, so that it is never unreachable.
        try repository.updateReference(
            "refs/stac-repository/backup/" + name, to: head.commit, expected: nil,
            reflogMessage: "stac-repository rollback --hard: old tip")
        // The work tree follows every path that differs, attributes files included.
        let all = try repository.changedPaths(from: head.tree, to: tree).map(\.path)
        try moveBranch(
            from: head.commit, to: target, tree: tree, paths: Array(Set(paths + all)).sorted(), reflog: reflog)
    }

    var assetTemporaryDirectory: URL { lfs.temporaryDirectory }

    func replaceStoredAsset(sha256: String, with file: String) throws {
        try FS.removeFile(lfs.objectURL(oid: sha256).path)
        do {
            try lfs.insert(file: URL(fileURLWithPath: file), oid: sha256, size: FS.fileSize(file) ?? 0)
        } catch {
            try? FS.removeFile(file)
            throw StacRepositoryError(
                .storage,
                "Could not put the repaired Git LFS object \(sha256) in place: \(error); check the free space and run `verify --repair` again."
            )
        }
    }
}
