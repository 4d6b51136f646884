import Foundation

/// Remotes: push, fetch and pull through the versioned layer (``VersionedBackend``); the git
/// backend implements them in Backends/Git/Remotes.
extension Repository {
    /// Adds the remote `name` at `url` (`remote.NAME.url`, `remote.NAME.fetch =
    /// +refs/heads/*:refs/remotes/NAME/*`, and `remote.NAME.lfsurl` when `lfsURL` is given),
    /// as `git remote add` does. A relative path is stored as an absolute one.
    ///
    /// - Throws: ``StacRepositoryError`` `.usage` for an invalid name, `.alreadyExists` when
    ///   the remote exists.
    public func addRemote(name: String, url: String, lfsURL: String? = nil) throws {
        try versioned(for: "remote add").addRemote(name: name, url: url, lfsURL: lfsURL)
    }

    /// The configured remotes, in name order.
    public func listRemotes() throws -> [RemoteInfo] {
        try versioned(for: "remote list").listRemotes()
    }

    /// Removes the remote `name`: its configuration and its remote-tracking references.
    ///
    /// - Throws: ``StacRepositoryError`` `.notFound` when there is no such remote.
    public func removeRemote(name: String) throws {
        try versioned(for: "remote remove").removeRemote(name: name)
    }

    /// Pushes `branch` (default: the repository's branch) to `remote` (default: origin).
    ///
    /// Objects before refs: every Git LFS object of the commits the remote lacks is uploaded
    /// first (those the server already has are skipped, `verify` is called when offered), and
    /// only then is the branch pushed, without force. A kill at any instant leaves the remote
    /// branch at its old commit or at the new one with every object present.
    ///
    /// - Throws: ``StacRepositoryError`` `.conflict` for a non-fast-forward push (nothing is
    ///   changed on the remote branch), `.transfer` with one sentence for an unreachable host,
    ///   refused credentials, a server without the Batch API or a 413.
    public func push(
        remote: String? = nil, branch: String? = nil, wait: Bool = false, progress: ProgressHandler? = nil
    ) throws -> PushReport {
        try versioned(for: "push").push(remote: remote, branch: branch, owner: self, wait: wait, progress: progress)
    }

    /// Fetches the branches of `remote` into `refs/remotes/NAME/*`, and with `assets` the Git LFS
    /// objects of the fetched tip and of the checked-out commit that are missing here; work-tree
    /// files that were pointers then get their bytes.
    public func fetch(
        remote: String? = nil, assets: Bool = false, wait: Bool = false, progress: ProgressHandler? = nil
    ) throws -> FetchReport {
        try versioned(for: "fetch").fetch(remote: remote, assets: assets, owner: self, wait: wait, progress: progress)
    }

    /// Fetches `remote` and brings its branch in, the Git LFS objects needed downloaded first:
    /// a fast-forward when only the remote committed, else a product-level merge (one commit
    /// with both parents, this branch first; container JSON recomputed, never text-merged).
    ///
    /// - Parameter prefer: which side wins products both sides changed differently; nil refuses
    ///   such a merge.
    /// - Throws: ``StacRepositoryError`` `.conflict` naming each product changed differently on
    ///   both sides (with `prefer` nil) or the work-tree files the pull would overwrite; nothing
    ///   then changes but the remote-tracking refs.
    public func pull(
        remote: String? = nil, prefer: MergePreference? = nil, wait: Bool = false, progress: ProgressHandler? = nil
    ) throws -> FetchReport {
        try versioned(for: "pull").pull(remote: remote, prefer: prefer, owner: self, wait: wait, progress: progress)
    }

    /// Fetch, fast-forward or merge (``pull(remote:prefer:wait:progress:)``), then push, repeated
    /// while the push is refused because someone else pushed in between, at most `attempts`
    /// times with a short jittered pause, so writers of different products to one remote all
    /// get their commits in and none is lost.
    ///
    /// Blocking (network, libgit2, the pauses): call it off Swift's cooperative pool.
    ///
    /// - Throws: ``StacRepositoryError`` `.conflict` from the pull (products changed differently
    ///   on both sides: nothing changed) or when every attempt met a concurrent push.
    public func sync(
        remote: String? = nil, prefer: MergePreference? = nil, attempts: Int = 5, wait: Bool = false,
        progress: ProgressHandler? = nil
    ) throws -> SyncReport {
        let versioned = try versioned(for: "sync")
        var report = SyncReport(remote: remote ?? "origin", branch: versioned.branch)
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...max(1, attempts) {
            report.attempts = attempt
            do {
                let pulled = try versioned.pull(
                    remote: remote, prefer: prefer, owner: self, wait: wait, progress: progress)
                report.remote = pulled.remote
                report.pulls.append(pulled)
            } catch let error as StacRepositoryError where error.code == .notFound {
                // A remote without the branch yet: the push creates it.
                let fetched = try versioned.fetch(
                    remote: remote, assets: false, owner: self, wait: wait, progress: progress)
                guard fetched.remoteCommit == nil else { throw error }
            }
            do {
                let pushed = try versioned.push(
                    remote: remote, branch: nil, owner: self, wait: wait, progress: progress)
                report.remote = pushed.remote
                report.push = pushed
                report.commit = pushed.commit
                return report
            } catch let error as StacRepositoryError where error.code == .conflict {
                // Someone pushed between our fetch and our push: fetch and merge again.
                guard attempt < attempts else {
                    throw StacRepositoryError(
                        .conflict,
                        "The remote \(report.remote) received other pushes to \(versioned.branch) during each of \(plural(attempts, "attempt")) to sync, so this repository's commits are not pushed yet (they are kept here, merged with the remote's); run `stac-repository sync` again.",
                        underlying: error)
                }
                let pause = 0.05 * Double(1 << min(attempt, 5)) + Double.random(in: 0...0.2, using: &generator)
                Thread.sleep(forTimeInterval: pause)
            }
        }
        return report
    }
}

/// What `sync` did: each pull (fetch, then fast-forward or merge) and the push that succeeded.
public struct SyncReport: Codable, Sendable {
    public var remote: String
    public var branch: String
    /// How many fetch-merge-push rounds it took (more than one when others pushed meanwhile).
    public var attempts = 0
    public var pulls: [FetchReport] = []
    public var push: PushReport?
    /// The commit the remote branch is at afterwards.
    public var commit: String?
}
