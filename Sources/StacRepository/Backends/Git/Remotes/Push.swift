import AssetTransfer
public import Foundation
import Git

/// What `push` did.
public struct PushReport: Codable, Sendable {
    public var remote: String
    public var branch: String
    public var commit: String
    /// The remote branch's commit before the push (nil when it did not exist).
    public var previous: String?
    public var lfsObjectsUploaded = 0
    public var lfsBytesUploaded: Int64 = 0
    public var lfsObjectsPresent = 0
    /// False when the remote branch already was at `commit`.
    public var updated = false
}

extension GitBackend {
    /// Pushes `branch` (default: the repository's branch) to `remote` (default: origin).
    ///
    /// Objects before refs: every Git LFS object of the commits the remote lacks is uploaded
    /// first (those the server already has are skipped, `verify` is called when offered), and
    /// only then is the branch pushed through libgit2, without force. A kill at any instant
    /// leaves the remote branch at its old commit or at the new one with every object present.
    ///
    /// - Throws: ``StacRepositoryError`` `.conflict` for a non-fast-forward push (nothing is
    ///   changed on the remote branch), `.transfer` with one sentence for an unreachable host,
    ///   refused credentials, a server without the Batch API or a 413.
    func push(
        remote: String?, branch: String?, owner: Repository, wait: Bool, progress: ProgressHandler?
    ) throws -> PushReport {
        let git = self
        let (name, url) = try resolveRemoteName(git, remote)
        let branch = branch ?? git.branch
        let ref = "refs/heads/" + branch
        let auth = RemoteAuthentication(repository: git.repository, remoteURL: url)
        return try owner.withLock(wait: wait, purpose: "push") {
            guard let tip = try git.repository.reference(ref) else {
                throw StacRepositoryError(.notFound, "There is no branch \(branch) here to push; check `--branch`.")
            }
            var report = PushReport(remote: name, branch: branch, commit: tip.hex)
            do {
                let listing = try git.repository.listRemote(name, credentials: auth.git)
                let remoteTip = listing.heads.first { $0.name == ref }?.id
                report.previous = remoteTip?.hex
                if remoteTip == tip { return report }
                if let remoteTip {
                    guard try git.repository.hasObject(remoteTip), try git.repository.isAncestor(remoteTip, of: tip)
                    else { throw nonFastForward(name, branch) }
                }
                // 1. Git LFS objects of every commit the remote does not have.
                let remoteBranches = listing.heads.filter { $0.name.hasPrefix("refs/heads/") }.map(\.id)
                let commits = try git.repository.commits(from: tip, hiding: remoteBranches)
                let pointers = try lfsPointers(inCommits: commits, of: git.repository)
                let endpoint = try lfsEndpoint(
                    git, remote: name, operation: "upload", tree: try git.repository.commit(tip).tree)
                let tally = try uploadLFSObjects(
                    pointers, from: git.lfs, to: endpoint, auth: auth, ref: ref, progress: progress)
                report.lfsObjectsUploaded = tally.transferred
                report.lfsBytesUploaded = tally.bytes
                report.lfsObjectsPresent = tally.present
                try crashes.point("push-objects-uploaded")

                // 2. The branch, last (git objects travel with it).
                if let path = localPath(ofRemoteURL: url, relativeTo: root) {
                    try pushToLocalRepository(
                        at: path, remote: name, ref: ref, tip: tip, expected: remoteTip, auth: auth)
                } else {
                    try git.repository.push(remote: name, source: ref, destination: ref, credentials: auth.git)
                }
                report.updated = true
            } catch let error as GitError where error.code == .nonFastForward {
                _ = error
                throw nonFastForward(name, branch)
            } catch {
                throw remoteFailure(error, remote: name, url: url, auth: auth)
            }
            // The remote-tracking reference (libgit2 usually moved it already).
            let tracking = "refs/remotes/\(name)/\(branch)"
            let current = try git.repository.reference(tracking)
            if current != tip {
                try? git.repository.updateReference(
                    tracking, to: tip, expected: current, reflogMessage: "stac-repository push")
            }
            return report
        }
    }

    /// libgit2's local transport moves the remote branch without comparing it with the commit it
    /// listed, so two writers pushing at once could each overwrite the other's commit. Here the
    /// objects travel with a push to a new, unique reference, and the branch is then moved by a
    /// compare-and-swap in the remote repository itself: a writer that lost the race is told
    /// the push is not a fast-forward. The unique reference is removed afterwards (one left by a
    /// kill only keeps objects alive).
    private func pushToLocalRepository(
        at path: String, remote: String, ref: String, tip: ObjectID, expected: ObjectID?, auth: RemoteAuthentication
    ) throws {
        let incoming = "refs/stac-repository/incoming/\(UUID().uuidString.lowercased())"
        try repository.push(remote: remote, source: ref, destination: incoming, credentials: auth.git)
        let target = try GitRepository.open(at: URL(fileURLWithPath: path))
        defer { try? target.deleteReference(incoming) }
        do {
            try target.updateReference(
                ref, to: tip, expected: expected, reflogMessage: "push: stac-repository \(tip.shortHex)")
        } catch let error as GitError where [.modified, .exists, .locked].contains(error.code) {
            throw GitError(code: .nonFastForward, function: "git_reference_create_matching", message: error.message)
        }
    }

    private func nonFastForward(_ remote: String, _ branch: String) -> StacRepositoryError {
        StacRepositoryError(
            .conflict,
            "The remote \(remote) has commits on \(branch) that this repository lacks (someone else pushed), so the push would not be a fast-forward and nothing was pushed; run `stac-repository pull \(remote)` first, then push again."
        )
    }
}
