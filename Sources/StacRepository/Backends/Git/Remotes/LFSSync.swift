import AssetTransfer
import Foundation
import Git

/// How many Git LFS transfers run at once.
let lfsTransferJobs = 4

/// Bytes and counts moved by an LFS upload or download.
struct LFSTransferTally {
    var transferred = 0
    var bytes: Int64 = 0
    var present = 0
}

extension GitBackend {
    /// Every Git LFS pointer in the trees of `commits` (each blob read once), sorted by oid.
    func lfsPointers(inCommits commits: [ObjectID], of repo: GitRepository) throws -> [LFSPointer] {
        var seenBlobs: Set<ObjectID> = []
        var pointers: [String: LFSPointer] = [:]
        for commit in commits {
            try repo.walkTree(try repo.commit(commit).tree) { path, entry in
                guard !GitBackend.isAttributesFile(path), seenBlobs.insert(entry.oid).inserted else { return }
                if let p = LFSPointer(parsing: try repo.readBlob(entry.oid)) { pointers[p.oid] = p }
            }
        }
        return pointers.keys.sorted().compactMap { pointers[$0] }
    }

    /// Uploads the objects of `pointers` the endpoint lacks, from `store`: copied into a local
    /// repository's store, or through the Batch API `upload` (+ `verify`) for a server.
    func uploadLFSObjects(
        _ pointers: [LFSPointer], from store: LFSStore, to endpoint: LFSEndpoint, auth: RemoteAuthentication,
        ref: String, progress: ProgressHandler?
    ) throws -> LFSTransferTally {
        for pointer in pointers where !store.contains(oid: pointer.oid) {
            throw StacRepositoryError(
                .integrity,
                "The Git LFS object \(pointer.oid) is missing from this repository, so the push would be incomplete; restore it (`stac-repository fetch --assets`) and push again."
            )
        }
        let total = pointers.reduce(Int64(0)) { $0 + $1.size }
        let counter = ByteCounter(phase: "upload", total: pointers.count, totalBytes: total, handler: progress)
        var tally = LFSTransferTally()
        switch endpoint {
        case .local(let remote):
            try FS.makeDirectories(remote.temporaryDirectory.path)
            for pointer in pointers {
                if remote.contains(oid: pointer.oid), remote.size(oid: pointer.oid) == pointer.size {
                    tally.present += 1
                } else {
                    try Self.copyLFSObject(pointer, from: store, to: remote, what: "push")
                    tally.transferred += 1
                    tally.bytes += pointer.size
                }
                counter.add(pointer.size)
            }
            FS.syncDirectory(remote.objectsDirectory.path)
        case .http(let url):
            // One batch request per 100 objects, each followed by its transfers: the actions'
            // pre-authorized URLs and headers expire (giftless: after 60 s), so they are used
            // soon after they are issued, as git-lfs does.
            let client = LFSBatchClient(endpoint: url, headers: auth.lfsHeaders(for: url))
            let specs = pointers.map { LFSObjectSpec(oid: $0.oid, size: $0.size) }
            for chunk in specs.chunked(LFSBatchClient.batchLimit) {
                let answers = try client.batch(operation: "upload", objects: Array(chunk), ref: ref)
                var work = [(LFSObjectSpec, LFSAction, LFSAction?)]()
                for answer in answers {
                    if let error = answer.error {
                        throw LFSClientError.object(oid: answer.oid, code: error.code, message: error.message)
                    }
                    let spec = LFSObjectSpec(oid: answer.oid, size: answer.size)
                    if let upload = answer.actions["upload"] {
                        work.append((spec, upload, answer.actions["verify"]))
                    } else {
                        tally.present += 1
                        counter.add(answer.size)
                    }
                }
                try runConcurrently(work) { spec, upload, verify in
                    try client.upload(
                        file: store.objectURL(oid: spec.oid).path, object: spec, upload: upload, verify: verify)
                    counter.add(spec.size)
                }
                tally.transferred += work.count
                tally.bytes += work.reduce(Int64(0)) { $0 + $1.0.size }
            }
        }
        return tally
    }

    /// Downloads the objects of `pointers` that `store` lacks: copied from a local repository's
    /// store, or through the Batch API `download` for a server, each hashed on arrival and
    /// renamed into place only when it matches its oid.
    func downloadLFSObjects(
        _ pointers: [LFSPointer], into store: LFSStore, from endpoint: LFSEndpoint, auth: RemoteAuthentication,
        ref: String, progress: ProgressHandler?
    ) throws -> LFSTransferTally {
        var tally = LFSTransferTally()
        let missing = pointers.filter { !store.contains(oid: $0.oid) }
        tally.present = pointers.count - missing.count
        guard !missing.isEmpty else { return tally }
        try FS.makeDirectories(store.temporaryDirectory.path)
        let total = missing.reduce(Int64(0)) { $0 + $1.size }
        let counter = ByteCounter(phase: "download", total: missing.count, totalBytes: total, handler: progress)
        switch endpoint {
        case .local(let remote):
            for pointer in missing {
                try Self.copyLFSObject(pointer, from: remote, to: store, what: "download")
                counter.add(pointer.size)
            }
        case .http(let url):
            let client = LFSBatchClient(endpoint: url, headers: auth.lfsHeaders(for: url))
            let specs = missing.map { LFSObjectSpec(oid: $0.oid, size: $0.size) }
            for chunk in specs.chunked(LFSBatchClient.batchLimit) {
                let answers = try client.batch(operation: "download", objects: Array(chunk), ref: ref)
                var work = [(LFSObjectSpec, LFSAction)]()
                for answer in answers {
                    if let error = answer.error {
                        throw LFSClientError.object(oid: answer.oid, code: error.code, message: error.message)
                    }
                    guard let download = answer.actions["download"] else {
                        throw LFSClientError.object(oid: answer.oid, code: 404, message: "no download action")
                    }
                    work.append((LFSObjectSpec(oid: answer.oid, size: answer.size), download))
                }
                try runConcurrently(work) { spec, action in
                    let temporary = store.temporaryDirectory.path + "/" + UUID().uuidString
                    defer { unlink(temporary) }
                    try client.download(object: spec, action: action, to: temporary)
                    let objectPath = store.objectURL(oid: spec.oid).path
                    try FS.makeDirectories((objectPath as NSString).deletingLastPathComponent)
                    try FS.rename(temporary, objectPath)
                    counter.add(spec.size)
                }
            }
        }
        tally.transferred = missing.count
        tally.bytes = total
        return tally
    }
}

extension Array {
    /// The elements in consecutive slices of at most `size`.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min(count, $0 + size)] }
    }
}

/// Runs `body` for every element on at most ``lfsTransferJobs`` threads (never the
/// cooperative pool: callers are already on a dedicated thread); rethrows the first error
/// after every started transfer has ended.
func runConcurrently<T>(_ items: [T], _ body: @escaping (T) throws -> Void) throws {
    guard !items.isEmpty else { return }
    let state = ConcurrentWork(items: items, body: body)
    DispatchQueue.concurrentPerform(iterations: min(lfsTransferJobs, items.count)) { _ in state.drain() }
    if let failure = state.failure { throw failure }
}

/// The shared queue of ``runConcurrently(_:_:)``: each worker takes the next item until none
/// is left or one failed.
private final class ConcurrentWork<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var failure: (any Error)?
    let items: [T]
    let body: (T) throws -> Void

    init(items: [T], body: @escaping (T) throws -> Void) {
        self.items = items
        self.body = body
    }

    func drain() {
        while true {
            let index: Int? = lock.withLock {
                guard failure == nil, next < items.count else { return nil }
                next += 1
                return next - 1
            }
            guard let index else { return }
            do { try body(items[index]) } catch { lock.withLock { if failure == nil { failure = error } } }
        }
    }
}

/// Progress for transfers finishing on several threads.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private var bytes: Int64 = 0
    let phase: String
    let total: Int
    let totalBytes: Int64
    let handler: ProgressHandler?

    init(phase: String, total: Int, totalBytes: Int64, handler: ProgressHandler?) {
        (self.phase, self.total, self.totalBytes, self.handler) = (phase, total, totalBytes, handler)
        handler?(OperationProgress(phase: phase, completed: 0, total: total, totalBytes: totalBytes, unit: "objects"))
    }

    func add(_ size: Int64) {
        let (d, b) = lock.withLock {
            done += 1
            bytes += size
            return (done, bytes)
        }
        handler?(
            OperationProgress(
                phase: phase, completed: d, total: total, bytes: b, totalBytes: totalBytes, unit: "objects"))
    }
}

/// An LFS URL as an error message shows it: no user information, and no query, where the
/// actions' pre-authorized URLs carry their credentials (giftless `?jwt=`, S3 presigned
/// `X-Amz-Signature`).
func shownLFSURL(_ url: String) -> String {
    let shown = redactedURL(url)
    return shown.firstIndex(of: "?").map { String(shown[..<$0]) } ?? shown
}

/// One sentence for a failure talking to a remote (git transport or LFS server).
func remoteFailure(_ error: any Error, remote: String, url: String, auth: RemoteAuthentication) -> any Error {
    if error is StacRepositoryError { return error }
    let shown = redactedURL(url)
    if let lfs = error as? LFSClientError {
        switch lfs {
        case .unreachable(let at, let detail):
            return StacRepositoryError(
                .transfer,
                "Cannot reach the Git LFS server of \(remote) at \(shownLFSURL(at)) (\(detail)); check the LFS URL (`stac-repository remote list`) and the network."
            )
        case .authRefused(let at, let status):
            return StacRepositoryError(
                .transfer,
                "The Git LFS server \(shownLFSURL(at)) refused the credentials (HTTP \(status); \(auth.sources)); set STAC_REPOSITORY_GIT_TOKEN or http.extraHeader and try again."
            )
        case .noBatchAPI(let at, 404):
            return StacRepositoryError(
                .notFound,
                "The Git LFS server \(shownLFSURL(at)) answered 404: it has no such repository (or objects), or no Git LFS Batch API there; check the remote's LFS URL (`stac-repository remote list`)."
            )
        case .noBatchAPI(let at, let status):
            return StacRepositoryError(
                .unsupported,
                "\(shownLFSURL(at)) does not answer the Git LFS Batch API (HTTP \(status)); set the remote's LFS URL to a Git LFS server (`remote add --lfs-url`)."
            )
        case .tooLarge(let at):
            return StacRepositoryError(
                .transfer,
                "The Git LFS server \(shownLFSURL(at)) refused an object as too large (HTTP 413, a size limit or quota); raise the server's limit and try again."
            )
        case .object(let oid, 404, _):
            return StacRepositoryError(
                .notFound,
                "The Git LFS server of \(remote) does not have object \(oid); push it from a repository that holds it (`stac-repository push`), then try again."
            )
        case .object(let oid, let code, let message):
            return StacRepositoryError(
                .transfer,
                "The Git LFS server of \(remote) refused object \(oid) (\(code): \(message)); check the server and try again."
            )
        case .mismatch(let oid, let actual, _):
            return StacRepositoryError(
                .integrity,
                "The Git LFS object \(oid) from \(remote) arrived damaged (it hashes to \(actual)); nothing was stored, try again."
            )
        case .status(let at, let status, let message, let attempts):
            let tried = attempts > 1 ? " \(attempts) times" : ""
            return StacRepositoryError(
                .transfer,
                "The Git LFS server \(shownLFSURL(at)) answered HTTP \(status)\(message.isEmpty ? "" : " (\(message))")\(tried); try again later."
            )
        case .io(let path, let detail):
            return StacRepositoryError(.storage, "Could not read or write \(path) (\(detail)); check the disk.")
        }
    }
    if let git = error as? GitError, auth.isSSH, let sentence = sshFailure(git, remote: remote, url: url, auth: auth) {
        return sentence
    }
    if let git = error as? GitError {
        // The message names the URL or path, which may itself contain "401" (a temporary directory's
        // UUID did): look for a status only in what is left once the URL and its path are removed.
        var message = git.message.lowercased()
        for name in [url, shown, URL(string: url)?.path ?? ""] where !name.isEmpty {
            message = message.replacingOccurrences(of: name.lowercased(), with: "")
        }
        let httpRefused = message.range(of: #"(^|[^0-9a-z])(401|403)($|[^0-9a-z])"#, options: .regularExpression) != nil
        if git.code == .other(-16) || message.contains("authentication") || httpRefused {
            return StacRepositoryError(
                .transfer,
                "The remote \(remote) (\(shown)) refused the credentials (\(auth.sources)); set STAC_REPOSITORY_GIT_TOKEN or http.extraHeader and try again."
            )
        }
        if git.code == .notFound || message.contains("resolve") || message.contains("connect")
            || message.contains("could not find repository") || message.contains("not a git repository")
        {
            return StacRepositoryError(
                .transfer,
                "Cannot reach the remote \(remote) at \(shown) (\(git.message)); check the URL (`stac-repository remote list`) and the network."
            )
        }
        return StacRepositoryError(
            .transfer, "The remote \(remote) (\(shown)) failed: \(git.message); try again.", underlying: git)
    }
    return error
}

/// One sentence for the ssh-specific failures of a remote at an ssh URL: a libgit2 without ssh,
/// a host key not in (or not matching) `~/.ssh/known_hosts`, refused keys, an unreadable key file.
/// nil for the failures every transport shares (unreachable host, missing repository).
private func sshFailure(_ git: GitError, remote: String, url: String, auth: RemoteAuthentication) -> (any Error)? {
    let shown = redactedURL(url)
    let message = git.message.lowercased()
    if !GitRepository.supportsSSH {
        return StacRepositoryError(
            .unsupported,
            "The remote \(remote) (\(shown)) is an ssh URL, but this libgit2 was built without ssh (libssh2); use its https:// URL or a libgit2 built with ssh."
        )
    }
    let (host, port) = sshHostAndPort(url)
    if git.code == .other(-17) || message.contains("hostkey") || message.contains("host key") {
        let entry = port.map { "[\(host)]:\($0)" } ?? host
        let scan = port.map { "ssh-keyscan -p \($0) \(host)" } ?? "ssh-keyscan \(host)"
        return StacRepositoryError(
            .transfer,
            "The ssh host key of \(entry) is not in ~/.ssh/known_hosts or does not match it, so the remote \(remote) was not trusted; check the host's key and add it (`\(scan) >> ~/.ssh/known_hosts`), then try again."
        )
    }
    if let path = auth.ssh.keyFromEnvironment, !FS.exists(path) {
        return StacRepositoryError(
            .notFound,
            "The ssh key file \(path) (STAC_REPOSITORY_SSH_KEY) does not exist; set STAC_REPOSITORY_SSH_KEY to the path of your private key, then try again."
        )
    }
    if git.code == .other(-16) || message.contains("authentication") {
        return StacRepositoryError(
            .transfer,
            "The remote \(remote) (\(shown)) refused the ssh credentials (\(auth.ssh.description)); add your public key to the server's authorized keys, set STAC_REPOSITORY_SSH_PASSPHRASE for an encrypted key, or set STAC_REPOSITORY_SSH_KEY to a key it accepts, then try again."
        )
    }
    if message.contains("private key") || message.contains("public key") || message.contains("passphrase") {
        return StacRepositoryError(
            .transfer,
            "Could not use the ssh key for the remote \(remote) (\(auth.ssh.description)): \(git.message); check the key file and STAC_REPOSITORY_SSH_PASSPHRASE, then try again."
        )
    }
    return nil
}

/// The host and the port (when not the default 22) of an ssh URL: `ssh://[user@]host[:port]/path`
/// or scp-like `[user@]host:path`.
func sshHostAndPort(_ url: String) -> (host: String, port: Int?) {
    var rest = url
    var scpLike = true
    for scheme in ["ssh://", "git+ssh://", "ssh+git://"] where rest.hasPrefix(scheme) {
        rest = String(rest.dropFirst(scheme.count))
        scpLike = false
    }
    var authority = String(rest.prefix { $0 != (scpLike ? ":" : "/") })
    if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
    if scpLike { return (authority, nil) }
    if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
        let host = String(authority[authority.index(after: authority.startIndex)..<close])
        let after = authority[authority.index(after: close)...]
        let port = after.hasPrefix(":") ? Int(after.dropFirst()) : nil
        return (host, port == 22 ? nil : port)
    }
    if let colon = authority.lastIndex(of: ":") {
        let port = Int(authority[authority.index(after: colon)...])
        return (String(authority[..<colon]), port == 22 ? nil : port)
    }
    return (authority, nil)
}
