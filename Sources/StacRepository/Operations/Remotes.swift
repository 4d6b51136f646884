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

    /// Fetches `remote` and fast-forwards this repository's branch to the remote's, with the Git
    /// LFS objects of the new commit downloaded first. Histories that diverged are refused
    /// (product-level merge is not built yet) and nothing changes but the remote-tracking refs.
    public func pull(remote: String? = nil, wait: Bool = false, progress: ProgressHandler? = nil) throws
        -> FetchReport
    {
        try versioned(for: "pull").pull(remote: remote, owner: self, wait: wait, progress: progress)
    }
}
