public import Foundation

/// How a path differs between two versions.
public struct VersionedPathChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case added, modified, deleted }
    public var path: String
    public var kind: Kind
    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }
}

/// Layer 3 of the backend contract: a backend that keeps every version (git + Git LFS).
///
/// Versions are named by opaque strings (git: commit ids). Everything that changes the
/// catalog still goes through ``ChangeCommitting/commit(_:record:progress:)`` (a rollback is a
/// change set of ``FileChange/storedAsset(sha256:size:)`` and document bytes), except moving
/// the branch back (``resetBranch(to:savingOldTipAs:paths:reflog:)``), which writes no content.
/// Every method that writes is called with the writer lock held (``Repository`` takes it).
public protocol VersionedBackend: StorageBackend {
    /// The line of versions the catalog is kept on (git: the branch name).
    var branch: String { get }
    /// The current version, nil before the first commit.
    func headVersion() throws -> String?
    /// A user's revision (id, `HEAD~N`, branch, tag) as a version id.
    /// - Throws: ``StacRepositoryError`` `.notFound` with one sentence.
    func resolveVersion(_ ref: String) throws -> String
    /// A short form of a version id for messages.
    func shortVersion(_ version: String) -> String
    /// The catalog paths that differ between two versions (the backend's own files excluded).
    func changedPaths(from old: String, to new: String) throws -> [VersionedPathChange]
    /// Whether `path` is a file the backend keeps for itself in the tree (git: `.gitattributes`).
    func isBackendFile(_ path: String) -> Bool
    /// Moves the branch to `version` without a new version, after saving the old tip under
    /// the name `savingOldTipAs`; the work tree follows for `paths`.
    func resetBranch(to version: String, savingOldTipAs name: String, paths: [String], reflog: String) throws

    /// Work-tree files that differ from the current version (``Repository/status(paths:progress:)``);
    /// with `untracked`, also the files the version does not have (a walk of the whole work tree).
    func workTreeChanges(
        paths: [String]?, trustStat: Bool, untracked: Bool, progress: ProgressHandler?, phase: String
    ) throws -> (checked: Int, changes: [WorkTreeChange])
    /// Puts the committed bytes back at `paths`; returns those that could not be restored.
    func restoreWorkTree(_ paths: [String]) throws -> [(path: String, reason: String)]
    /// A directory on the store's filesystem for repaired asset bytes.
    var assetTemporaryDirectory: URL { get }
    /// Replaces damaged stored bytes of an asset by `file` (already verified to hash to `sha256`).
    func replaceStoredAsset(sha256: String, with file: String) throws

    /// Writes (or updates) a standalone backup at `destination` holding the versions up to
    /// `version` and every asset they need (see ``Repository/backup(to:ref:wait:progress:)``).
    func writeBackup(to destination: URL, version: String, progress: ProgressHandler?) throws -> BackupReport

    // Remotes (push and pull): see Backends/Git/Remotes.
    func addRemote(name: String, url: String, lfsURL: String?) throws
    func listRemotes() throws -> [RemoteInfo]
    func removeRemote(name: String) throws
    func push(remote: String?, branch: String?, owner: Repository, wait: Bool, progress: ProgressHandler?) throws
        -> PushReport
    func fetch(remote: String?, assets: Bool, owner: Repository, wait: Bool, progress: ProgressHandler?) throws
        -> FetchReport
    func pull(remote: String?, prefer: MergePreference?, owner: Repository, wait: Bool, progress: ProgressHandler?)
        throws -> FetchReport
}

extension Repository {
    /// The versioned layer of this repository's backend, or a clear error for `command`.
    func versioned(for command: String) throws -> any VersionedBackend {
        guard let versioned = backend.versioning else {
            throw StacRepositoryError(
                .unsupported,
                "`\(command)` needs the git backend, and this repository uses the \(backend.kind) backend (no history); create one with `stac-repository init --backend git` and ingest into it."
            )
        }
        return versioned
    }

    /// Throws a clear error when the repository keeps no history (file backend).
    public func requireHistory(_ command: String) throws {
        _ = try versioned(for: command)
    }
}
