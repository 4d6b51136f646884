public import Foundation
import STAC

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
    /// Makes the catalog equal to the one at `ref`: a new commit (history kept), or with `hard`
    /// the branch moved to `ref` after saving the old tip under `refs/stac-repository/backup/`.
    ///
    /// The new commit goes through the same transaction as `ingest` (lock, local-changes check,
    /// the backend's atomic commit): its change set is every path that differs, with the
    /// document bytes of `ref` and its stored assets (``FileChange/storedAsset(sha256:size:)``).
    public func rollback(to ref: String, hard: Bool = false, wait: Bool = false, force: Bool = false) async throws
        -> (commit: String, backupRef: String?)
    {
        let versioned = try versioned(for: "rollback")
        if hard {
            return try await withLock(wait: wait, purpose: "rollback") {
                try await DedicatedThread.run("stac-repository rollback") {
                    guard let head = try versioned.headVersion() else {
                        throw StacRepositoryError(
                            .notFound, "The branch \(versioned.branch) has no commits to roll back.")
                    }
                    let target = try versioned.resolveVersion(ref)
                    let paths = try versioned.changedPaths(from: head, to: target).map(\.path).sorted()
                    try self.refuseLocalChanges(to: paths, force: force, command: "rollback")
                    let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
                    try versioned.resetBranch(
                        to: target, savingOldTipAs: stamp, paths: paths,
                        reflog: "stac-repository rollback --hard to \(versioned.shortVersion(target))")
                    return (target, "refs/stac-repository/backup/\(stamp)")
                }
            }
        }
        let result = try await withTransaction(wait: wait, purpose: "rollback", force: force) { tx in
            // Diffs and tree reads are libgit2 work: on a thread of their own.
            try await DedicatedThread.run("stac-repository rollback") {
                guard let head = try versioned.headVersion() else {
                    throw StacRepositoryError(.notFound, "The branch \(versioned.branch) has no commits to roll back.")
                }
                let target = try versioned.resolveVersion(ref)
                let changes = try versioned.changedPaths(from: head, to: target)
                let current = try versioned.snapshot(at: head)
                let old = try versioned.snapshot(at: target)
                let index = try current.index()
                let targetIndex = try old.index()
                var products: [ProductChange] = []
                for change in changes {
                    if change.kind == .deleted {
                        tx.delete(change.path)
                    } else if let digest = try old.storedDigest(change.path) {
                        tx.restoreStoredAsset(change.path, sha256: digest.sha256, size: digest.size)
                    } else if let bytes = try old.read(change.path) {
                        tx.write(change.path, bytes)
                    }
                    // Products are the documents; JSON-named assets are not.
                    guard change.path.hasSuffix(".json"),
                        try !old.isStoredAsAsset(change.path), try !current.isStoredAsAsset(change.path)
                    else { continue }
                    let id = CatalogIndex.itemID(fromPath: change.path)
                    let kind =
                        targetIndex.items[change.path] != nil || index.items[change.path] != nil
                        ? "item" : (change.path.hasSuffix("collection.json") ? "collection" : "catalog")
                    let name =
                        kind == "item"
                        ? id : (targetIndex.containers[change.path]?.id ?? index.containers[change.path]?.id ?? id)
                    let kindOfChange: ProductChangeKind =
                        change.kind == .added ? .added : change.kind == .deleted ? .removed : .updated
                    products.append(ProductChange(id: name, kind: kind, change: kindOfChange))
                }
                if changes.isEmpty {
                    throw StacRepositoryError(
                        .invalidInput, "The catalog at \(ref) is already the current one; nothing to roll back.")
                }
                return OperationRecord(
                    operation: "rollback",
                    summary: "to \(versioned.shortVersion(target)) (\(plural(products.count, "product")) changed)",
                    products: products,
                    trailers: ["Stac-Repository-Rollback-To": target])
            }
        }
        guard let version = result?.version else {
            throw StacRepositoryError(
                .invalidInput, "The catalog at \(ref) is already the current one; nothing to roll back.")
        }
        return (version, nil)
    }

    /// Writes (or updates) a standalone bare repository at `destination` holding the branch up to
    /// `ref` and every Git LFS object it needs, then verifies it.
    ///
    /// Objects before refs: every Git LFS object is copied first (hashed while copied, flushed,
    /// renamed into place), then the git objects, which are verified, and the backup's branch is
    /// moved last. A new backup is built in a temporary sibling (`.NAME.stac-backup-…`) and
    /// renamed into place at the end. A kill at any instant leaves a backup that `clone`
    /// restores at its previous commit or refuses, and the next `backup` completes it.
    ///
    /// Takes the writer lock: it writes a temporary reference in this repository.
    public func backup(
        to destination: URL, ref: String? = nil, wait: Bool = false, progress: ProgressHandler? = nil
    ) throws -> BackupReport {
        let versioned = try versioned(for: "backup")
        return try withLock(wait: wait, purpose: "backup") {
            let version =
                try ref.map { try versioned.resolveVersion($0) }
                ?? (try versioned.headVersion()).unwrapOr {
                    StacRepositoryError(.notFound, "The branch \(versioned.branch) has no commits to back up.")
                }
            return try versioned.writeBackup(to: destination, version: version, progress: progress)
        }
    }

}

extension Optional {
    func unwrapOr(_ error: () -> some Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
