import AssetTransfer
public import Foundation
import Git

/// What `fetch`, `pull` or a URL `clone` did.
public struct FetchReport: Codable, Sendable {
    public var remote: String
    public var branch: String
    /// The remote branch's commit after fetching (nil when the remote has no such branch).
    public var remoteCommit: String?
    /// The local branch before and after (`pull` only moves it).
    public var before: String?
    public var after: String?
    public var lfsObjectsDownloaded = 0
    public var lfsBytesDownloaded: Int64 = 0
    public var lfsObjectsPresent = 0
    /// `pull`: "fast-forward", "up to date", "merge"; `fetch`/`clone`: nil.
    public var outcome: String?
    /// A merge: the products taken from the remote and the merge base.
    public var productsMerged: [ProductChange]?
    public var mergeBase: String?
}

extension GitBackend {
    /// Fetches the branches of `remote` into `refs/remotes/NAME/*` (libgit2), and with
    /// `assets` the Git LFS objects of the fetched tip of this repository's branch and of the
    /// checked-out commit that are missing here (a `clone --assets none` gets them this way);
    /// work-tree files that were pointers then get their bytes.
    func fetch(
        remote: String?, assets: Bool, owner: Repository, wait: Bool, progress: ProgressHandler?
    ) throws -> FetchReport {
        let git = self
        let (name, url) = try resolveRemoteName(git, remote)
        let auth = RemoteAuthentication(repository: git.repository, remoteURL: url)
        return try owner.withLock(wait: wait, purpose: "fetch") {
            var report = FetchReport(remote: name, branch: git.branch)
            do {
                try git.repository.fetch(remote: name, credentials: auth.git)
                let remoteTip = try git.repository.reference("refs/remotes/\(name)/\(git.branch)")
                report.remoteCommit = remoteTip?.hex
                guard assets else { return report }
                let local = try git.head()
                var commits = [ObjectID]()
                if let remoteTip { commits.append(remoteTip) }
                if let local { commits.append(local.commit) }
                let pointers = try lfsPointers(inCommits: commits, of: git.repository)
                let missingBefore = Set(pointers.filter { !git.lfs.contains(oid: $0.oid) }.map(\.oid))
                let endpoint = try lfsEndpoint(
                    git, remote: name, operation: "download",
                    tree: try remoteTip.map { try git.repository.commit($0).tree })
                let tally = try downloadLFSObjects(
                    pointers, into: git.lfs, from: endpoint, auth: auth, ref: "refs/heads/\(git.branch)",
                    progress: progress)
                report.lfsObjectsDownloaded = tally.transferred
                report.lfsBytesDownloaded = tally.bytes
                report.lfsObjectsPresent = tally.present
                if let local, !missingBefore.isEmpty {
                    try refreshPointerFiles(git, tree: local.tree, oids: missingBefore)
                }
            } catch {
                throw remoteFailure(error, remote: name, url: url, auth: auth)
            }
            return report
        }
    }

    /// Fetches `remote` and fast-forwards this repository's branch to the remote's, with the Git
    /// LFS objects of the new commit downloaded first. When both sides committed, merges at the
    /// product level (``ProductMerge``): one commit with both parents, or, for products changed
    /// differently on both sides and no `prefer`, a conflict that changes nothing but the
    /// remote-tracking refs.
    func pull(
        remote: String?, prefer: MergePreference?, owner: Repository, wait: Bool, progress: ProgressHandler?
    ) throws -> FetchReport {
        let git = self
        let (name, url) = try resolveRemoteName(git, remote)
        let auth = RemoteAuthentication(repository: git.repository, remoteURL: url)
        return try owner.withLock(wait: wait, purpose: "pull") {
            var report = FetchReport(remote: name, branch: git.branch)
            let remoteTip: ObjectID
            do {
                try git.repository.fetch(remote: name, credentials: auth.git)
                guard let tip = try git.repository.reference("refs/remotes/\(name)/\(git.branch)") else {
                    throw StacRepositoryError(
                        .notFound, "The remote \(name) has no branch \(git.branch) to pull; push one first.")
                }
                remoteTip = tip
            } catch {
                throw remoteFailure(error, remote: name, url: url, auth: auth)
            }
            report.remoteCommit = remoteTip.hex
            let local = try git.head()
            report.before = local?.commit.hex
            if let local, try git.repository.isAncestor(remoteTip, of: local.commit) {
                report.after = local.commit.hex
                report.outcome = "up to date"
                return report
            }
            if let local, !(try git.repository.isAncestor(local.commit, of: remoteTip)) {
                return try git.mergeRemote(
                    remoteTip, local: local, remote: name, url: url, auth: auth, prefer: prefer, report: report,
                    progress: progress)
            }
            // Local edits to the files the fast-forward rewrites would be lost: refuse first.
            let newTree = try git.repository.commit(remoteTip).tree
            let changed = try git.repository.changedPaths(from: local?.tree, to: newTree).map(\.path)
            try git.refuseWorkTreeEdits(changed)
            // Objects before refs: the new commit's assets first.
            do {
                let pointers = try lfsPointers(inCommits: [remoteTip], of: git.repository)
                let endpoint = try lfsEndpoint(git, remote: name, operation: "download", tree: newTree)
                let tally = try downloadLFSObjects(
                    pointers, into: git.lfs, from: endpoint, auth: auth, ref: "refs/heads/\(git.branch)",
                    progress: progress)
                report.lfsObjectsDownloaded = tally.transferred
                report.lfsBytesDownloaded = tally.bytes
                report.lfsObjectsPresent = tally.present
            } catch {
                throw remoteFailure(error, remote: name, url: url, auth: auth)
            }
            try git.repository.updateReference(
                git.branchRef, to: remoteTip, expected: local?.commit,
                reflogMessage: "stac-repository pull: fast-forward")
            try GitBackend(root: root).updateWorkTree(tree: newTree, paths: changed, progress: progress)
            report.after = remoteTip.hex
            report.outcome = "fast-forward"
            return report
        }
    }

    /// Local edits to the files a pull rewrites would be lost: refused with one sentence.
    func refuseWorkTreeEdits(_ paths: [String]) throws {
        let edits = try workTreeChanges(paths: paths, trustStat: true).changes
        if let first = edits.first {
            throw StacRepositoryError(
                .conflict,
                "Pulling would overwrite \(plural(edits.count, "changed file")) in the work tree (\(first.path)\(edits.count > 1 ? ", …" : "")); undo them with `stac-repository restore` (or ingest them and push), then pull again."
            )
        }
    }

    /// The product-level merge of `remoteTip` into the branch (both sides committed): conflicts
    /// and local edits are refused before anything is written; the Git LFS objects of what is
    /// taken from the remote are downloaded first (objects before refs); then one commit with
    /// both parents (this branch first) through the backend's atomic commit.
    private func mergeRemote(
        _ remoteTip: ObjectID, local: (commit: ObjectID, tree: ObjectID), remote name: String, url: String,
        auth: RemoteAuthentication, prefer: MergePreference?, report: FetchReport, progress: ProgressHandler?
    ) throws -> FetchReport {
        var report = report
        let outcome = try ProductMerge(git: self, ours: local, theirs: remoteTip, prefer: prefer).plan()
        if !outcome.conflicts.isEmpty {
            throw mergeConflictError(outcome.conflicts, ours: local.commit, theirs: remoteTip, remote: name)
        }
        let changes = outcome.tx.changes
        try refuseWorkTreeEdits(changes.keys.filter { !Self.isAttributesFile($0) }.sorted())
        do {
            let endpoint = try lfsEndpoint(
                self, remote: name, operation: "download", tree: try repository.commit(remoteTip).tree)
            let tally = try downloadLFSObjects(
                outcome.pointers, into: lfs, from: endpoint, auth: auth, ref: "refs/heads/\(branch)",
                progress: progress)
            report.lfsObjectsDownloaded = tally.transferred
            report.lfsBytesDownloaded = tally.bytes
            report.lfsObjectsPresent = tally.present
        } catch {
            throw remoteFailure(error, remote: name, url: url, auth: auth)
        }
        var record = OperationRecord(
            operation: "merge", summary: "\(plural(outcome.taken.count, "product")) from \(name)/\(branch)",
            products: outcome.taken, trailers: ["Stac-Repository-Merged": remoteTip.hex])
        record.mergeParents = [remoteTip.hex]
        let commit = try self.commit(changes, record: record, progress: progress)
        report.after = commit
        report.outcome = "merge"
        report.productsMerged = outcome.taken
        report.mergeBase = outcome.base.hex
        return report
    }

    /// Rewrites the work-tree files of `tree` whose Git LFS object is one of `oids` (they held
    /// pointers while the object was missing).
    private func refreshPointerFiles(_ git: GitBackend, tree: ObjectID, oids: Set<String>) throws {
        var paths = [String]()
        try git.repository.walkTree(tree) { path, entry in
            guard !GitBackend.isAttributesFile(path),
                let pointer = LFSPointer(parsing: try git.repository.readBlob(entry.oid)),
                oids.contains(pointer.oid), git.lfs.contains(oid: pointer.oid)
            else { return }
            paths.append(path)
        }
        if !paths.isEmpty { try git.updateWorkTree(tree: tree, paths: paths) }
    }
}

extension Repository {
    /// Clones the repository at `url` (any libgit2 transport: `file://`, a path, http(s),
    /// ssh) into `directory`: git objects and refs through libgit2 (`origin`), then, unless
    /// `assets` is false, the Git LFS objects of the checked-out commit (Batch API `download`,
    /// verified on arrival). With `assets: false` the work tree holds LFS pointers where the
    /// assets are; `fetch --assets` brings them later. On failure nothing is left at `directory`.
    public static func clone(
        url: String, to directory: URL, branch: String? = nil, assets: Bool = true, lfsURL: String? = nil,
        progress: ProgressHandler? = nil
    ) throws -> (repository: Repository, report: FetchReport) {
        let dir = directory.standardizedFileURL.path
        let existed = FS.exists(dir)
        if existed, !((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty {
            throw StacRepositoryError(
                .alreadyExists, "\(dir) is not empty; choose a new or empty directory to clone into.")
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
        let root = URL(fileURLWithPath: dir)
        let remoteURL =
            localPath(ofRemoteURL: url, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .map { url.contains("://") ? url : $0 } ?? url
        var auth: RemoteAuthentication?
        do {
            try FS.makeDirectories(dir)
            let gitDirectory = root.appendingPathComponent(".git")
            let target = try GitRepository.create(at: gitDirectory, bare: true, initialBranch: branch ?? "main")
            auth = RemoteAuthentication(repository: target, remoteURL: remoteURL)
            try target.setConfig("remote.origin.url", remoteURL)
            try target.setConfig("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*")
            if let lfsURL { try target.setConfig("remote.origin.lfsurl", lfsURL) }
            let listing = try target.listRemote("origin", credentials: auth?.git ?? RemoteCredentials())
            let chosen = branch ?? listing.defaultBranch ?? "main"
            try target.fetch(remote: "origin", credentials: auth?.git ?? RemoteCredentials())
            guard let tip = try target.reference("refs/remotes/origin/\(chosen)") else {
                throw StacRepositoryError(
                    .notFound,
                    "\(redactedURL(url)) has no branch \(chosen) to clone; name one with `--branch`.")
            }
            try target.updateReference(
                "refs/heads/\(chosen)", to: tip, expected: nil, reflogMessage: "clone: from \(redactedURL(url))")
            try target.setHeadBranch(chosen)
            try target.setConfig("core.bare", "false")
            try target.setConfig("core.logallrefupdates", "true")
            try target.setConfig("stac-repository.backend", "git")
            try target.setConfig("stac-repository.branch", chosen)
            try target.setConfig("branch.\(chosen).remote", "origin")
            try target.setConfig("branch.\(chosen).merge", "refs/heads/\(chosen)")

            let backend = try GitBackend(root: root)
            try FS.makeDirectories(backend.stagingDirectory.path)
            try FS.makeDirectories(backend.lfs.temporaryDirectory.path)
            let repository = Repository(backend: backend)
            let tree = try backend.repository.commit(tip).tree
            var report = FetchReport(remote: "origin", branch: chosen, remoteCommit: tip.hex, after: tip.hex)
            if assets {
                let pointers = try backend.lfsPointers(inCommits: [tip], of: backend.repository)
                let endpoint = try backend.lfsEndpoint(backend, remote: "origin", operation: "download", tree: tree)
                let tally = try backend.downloadLFSObjects(
                    pointers, into: backend.lfs, from: endpoint,
                    auth: auth ?? RemoteAuthentication(repository: target, remoteURL: remoteURL),
                    ref: "refs/heads/\(chosen)", progress: progress)
                report.lfsObjectsDownloaded = tally.transferred
                report.lfsBytesDownloaded = tally.bytes
                report.lfsObjectsPresent = tally.present
            }
            var paths: [String] = []
            try backend.repository.walkTree(tree) { path, _ in paths.append(path) }
            try backend.updateWorkTree(tree: tree, paths: paths, progress: progress)
            return (Repository(backend: try GitBackend(root: root)), report)
        } catch {
            discard()
            if let auth { throw remoteFailure(error, remote: "origin", url: url, auth: auth) }
            throw error
        }
    }
}
