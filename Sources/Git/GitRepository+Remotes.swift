internal import CLibGit2
public import Foundation

/// How to authenticate to a git remote: extra HTTP headers (`http.extraHeader`) and a token
/// offered as the password of HTTP basic authentication. Never stored, never printed.
public struct RemoteCredentials: Sendable {
    /// Full header lines, `Name: value`.
    public var headers: [String]
    /// The token offered when the server asks for a user name and password.
    public var token: String?
    /// A user name and password (a netrc entry for the remote's host), offered after the token.
    public var userPassword: (user: String, password: String)?
    /// Whether to offer the ssh agent (`SSH_AUTH_SOCK`) first when an ssh server asks for a key.
    public var sshAgent: Bool
    /// Private key files offered (each once, in this order) after the agent.
    public var sshKeys: [SSHKeyFile]
    /// The user name for an ssh URL that names none (`ssh://host/path`).
    public var sshUser: String?

    public init(
        headers: [String] = [], token: String? = nil, userPassword: (user: String, password: String)? = nil,
        sshAgent: Bool = false, sshKeys: [SSHKeyFile] = [], sshUser: String? = nil
    ) {
        self.headers = headers
        self.token = token
        self.userPassword = userPassword
        self.sshAgent = sshAgent
        self.sshKeys = sshKeys
        self.sshUser = sshUser
    }
}

/// An ssh private key file offered to an ssh server (`git_credential_ssh_key_new`).
public struct SSHKeyFile: Sendable, Equatable {
    /// The private key's path.
    public var privateKey: String
    /// The public key's path (`KEY.pub`), when it exists; libssh2 derives it from the private
    /// key otherwise.
    public var publicKey: String?
    /// The passphrase of an encrypted key. Never printed.
    public var passphrase: String?

    public init(privateKey: String, publicKey: String? = nil, passphrase: String? = nil) {
        self.privateKey = privateKey
        self.publicKey = publicKey
        self.passphrase = passphrase
    }
}

extension GitRepository {
    /// Whether this libgit2 has its ssh transport (built with libssh2:
    /// `git_libgit2_features() & GIT_FEATURE_SSH`).
    public static var supportsSSH: Bool {
        ensureLibGit2Initialized()
        return git_libgit2_features() & Int32(GIT_FEATURE_SSH.rawValue) != 0
    }

    /// The branches (`refs/heads/*`) and HEAD the remote `name` (a configured remote) advertises,
    /// with the branch its HEAD names (nil when it has none or is empty).
    /// (`git_remote_connect` + `git_remote_ls` + `git_remote_default_branch`.)
    ///
    /// - Throws: ``GitError`` when the remote cannot be reached or refuses the credentials.
    public func listRemote(_ name: String, credentials: RemoteCredentials) throws -> (
        heads: [(name: String, id: ObjectID)], defaultBranch: String?
    ) {
        let remote = try lookupRemote(name)
        let payload = CredentialPayload(credentials)
        var callbacks = git_remote_callbacks()
        try git("git_remote_init_callbacks") {
            git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
        }
        payload.install(into: &callbacks)
        let headers = CStringArray(credentials.headers)
        let result = withExtendedLifetime(payload) {
            headers.withStrarray { array in
                git_remote_connect(remote.pointer, GIT_DIRECTION_FETCH, &callbacks, nil, array)
            }
        }
        try git("git_remote_connect") { result }
        defer { git_remote_disconnect(remote.pointer) }
        var list: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        try git("git_remote_ls") { git_remote_ls(&list, &count, remote.pointer) }
        var heads = [(name: String, id: ObjectID)]()
        for index in 0..<count {
            guard let head = list?[index]?.pointee, let rawName = head.name else { continue }
            heads.append((String(cString: rawName), ObjectID(head.oid)))
        }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        var defaultBranch: String?
        if git_remote_default_branch(&buffer, remote.pointer) == 0, let bytes = buffer.ptr {
            let name = String(cString: bytes)
            defaultBranch = name.hasPrefix("refs/heads/") ? String(name.dropFirst("refs/heads/".count)) : name
        }
        return (heads, defaultBranch)
    }

    /// Fetches the configured remote `name` with its configured refspecs
    /// (`remote.NAME.fetch`, e.g. `+refs/heads/*:refs/remotes/NAME/*`), updating the
    /// remote-tracking references (`git_remote_fetch`). Git objects only.
    ///
    /// - Throws: ``GitError`` when the remote cannot be reached or refuses the credentials.
    public func fetch(remote name: String, credentials: RemoteCredentials) throws {
        let remote = try lookupRemote(name)
        var options = git_fetch_options()
        try git("git_fetch_options_init") { git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)) }
        let payload = CredentialPayload(credentials)
        payload.install(into: &options.callbacks)
        let headers = CStringArray(credentials.headers)
        let result = withExtendedLifetime(payload) {
            headers.withStrarray { array in
                options.custom_headers = array.pointee
                return git_remote_fetch(remote.pointer, nil, &options, "stac-repository fetch")
            }
        }
        try git("git_remote_fetch") { result }
    }

    /// Pushes `source` to `destination` (full reference names) on the configured remote
    /// `name`, without force: a destination that is not an ancestor of `source` is refused.
    /// The remote-tracking reference is updated after a successful push.
    ///
    /// - Throws: ``GitError`` `.nonFastForward` when the remote branch has commits this
    ///   repository lacks or that `source` does not contain; `.generic` naming the remote's
    ///   reason when it refuses the reference; another ``GitError`` when it cannot be reached.
    public func push(remote name: String, source: String, destination: String, credentials: RemoteCredentials)
        throws
    {
        let remote = try lookupRemote(name)
        var options = git_push_options()
        try git("git_push_options_init") { git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)) }
        let payload = CredentialPayload(credentials)
        payload.install(into: &options.callbacks)
        options.callbacks.push_update_reference = { name, status, payload in
            guard let status, let payload else { return 0 }
            let state = Unmanaged<CredentialPayload>.fromOpaque(payload).takeUnretainedValue()
            state.rejections.append("\(name.map { String(cString: $0) } ?? "?"): \(String(cString: status))")
            return 0
        }
        let headers = CStringArray(credentials.headers)
        let refspecs = CStringArray(["\(source):\(destination)"])
        let result = withExtendedLifetime(payload) {
            headers.withStrarray { headerArray in
                options.custom_headers = headerArray.pointee
                return refspecs.withStrarray { array in git_remote_push(remote.pointer, array, &options) }
            }
        }
        try git("git_remote_push") { result }
        guard payload.rejections.isEmpty else {
            let reasons = payload.rejections.joined(separator: "; ")
            // git receive-pack checks the branch's old value when it takes the lock: a branch
            // moved by a concurrent push since it was advertised fails as "failed to update ref"
            // (older git: "failed to lock"): a lost race, retried by `sync` like a non-fast-forward.
            let raced = [
                "fast-forward", "fetch first", "failed to update ref", "failed to lock", "cannot lock ref",
            ]
            let code: GitError.Code = raced.contains { reasons.contains($0) } ? .nonFastForward : .generic
            throw GitError(code: code, function: "git_remote_push", message: "the remote refused \(reasons)")
        }
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors (`git_graph_descendant_of`).
    public func isAncestor(_ ancestor: ObjectID, of descendant: ObjectID) throws -> Bool {
        if ancestor == descendant { return true }
        var a = descendant.oid
        var b = ancestor.oid
        return try git("git_graph_descendant_of") { git_graph_descendant_of(pointer, &a, &b) } == 1
    }

    /// The commits reachable from `tip` but from none of `hidden` (those absent here are
    /// ignored), newest first: what a push of `tip` sends to a remote whose branches are `hidden`.
    public func commits(from tip: ObjectID, hiding hidden: [ObjectID]) throws -> [ObjectID] {
        let walk = try RevwalkHandle(in: self)
        git_revwalk_sorting(walk.pointer, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_TIME.rawValue)
        var start = tip.oid
        try git("git_revwalk_push") { git_revwalk_push(walk.pointer, &start) }
        for id in hidden where (try? hasObject(id)) == true {
            var oid = id.oid
            try git("git_revwalk_hide") { git_revwalk_hide(walk.pointer, &oid) }
        }
        var out = [ObjectID]()
        var next = git_oid()
        while true {
            let result = git_revwalk_next(&next, walk.pointer)
            if result == GIT_ITEROVER.rawValue { break }
            try git("git_revwalk_next") { result }
            out.append(ObjectID(next))
        }
        return out
    }

    /// The values of a configuration file that is not part of the repository's configuration
    /// (`.lfsconfig`), read the way git reads config files (`git_config_open_ondisk`).
    public static func configFile(_ url: URL, value key: String) throws -> String? {
        ensureLibGit2Initialized()
        var config: OpaquePointer?
        try git("git_config_open_ondisk") { git_config_open_ondisk(&config, url.path) }
        defer { git_config_free(config) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let result = git_config_get_string_buf(&buffer, config, key)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_config_get_string_buf") { result }
        return buffer.ptr.map { String(cString: $0) } ?? ""
    }

    /// Every value of a multi-valued key (`http.extraHeader`), in configuration order.
    public func configValues(_ key: String) throws -> [String] {
        var config: OpaquePointer?
        try git("git_repository_config_snapshot") { git_repository_config_snapshot(&config, pointer) }
        defer { git_config_free(config) }
        let collector = ValueCollector()
        let result = withExtendedLifetime(collector) {
            git_config_get_multivar_foreach(
                config, key, nil,
                { entry, payload in
                    guard let entry, let payload, let value = entry.pointee.value else { return 0 }
                    Unmanaged<ValueCollector>.fromOpaque(payload).takeUnretainedValue().values.append(
                        String(cString: value))
                    return 0
                }, Unmanaged.passUnretained(collector).toOpaque())
        }
        if result == GIT_ENOTFOUND.rawValue { return [] }
        try git("git_config_get_multivar_foreach") { result }
        return collector.values
    }

    private func lookupRemote(_ name: String) throws(GitError) -> RemoteHandle {
        var remote: OpaquePointer?
        try git("git_remote_lookup") { git_remote_lookup(&remote, pointer, name) }
        guard let remote else { throw GitError(code: .notFound, function: "git_remote_lookup", message: "") }
        return RemoteHandle(taking: remote, in: self)
    }
}

/// Callback payload: the credentials to offer (each kind once, so a refusal ends the attempt
/// instead of looping) and the references a push refused. An ssh server gets the agent (when
/// ``RemoteCredentials/sshAgent``), then each key file of ``RemoteCredentials/sshKeys`` once.
/// Host keys are not this callback's business: libgit2 1.5.1 refuses a host whose key is not
/// in `$HOME/.ssh/known_hosts` (or differs from it) with `GIT_ECERTIFICATE` before it asks.
private final class CredentialPayload {
    let credentials: RemoteCredentials
    var offeredToken = false
    var offeredPassword = false
    var offeredAgent = false
    var offeredUser = false
    var nextKey = 0
    var rejections = [String]()

    init(_ credentials: RemoteCredentials) { self.credentials = credentials }

    func install(into callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = { out, _, usernameFromURL, allowed, payload in
            guard let out, let payload else { return GIT_PASSTHROUGH.rawValue }
            let state = Unmanaged<CredentialPayload>.fromOpaque(payload).takeUnretainedValue()
            let user = usernameFromURL.map { String(cString: $0) }
            if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, let token = state.credentials.token,
                !state.offeredToken
            {
                state.offeredToken = true
                return git_credential_userpass_plaintext_new(out, user ?? "x-access-token", token)
            }
            if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, let pair = state.credentials.userPassword,
                !state.offeredPassword
            {
                state.offeredPassword = true
                return git_credential_userpass_plaintext_new(out, pair.user, pair.password)
            }
            if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0, !state.offeredUser {
                // ssh://host/path names no user: libgit2 asks for one before anything else.
                state.offeredUser = true
                return git_credential_username_new(out, state.credentials.sshUser ?? "git")
            }
            if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
                let sshUser = user ?? state.credentials.sshUser ?? "git"
                if state.credentials.sshAgent, !state.offeredAgent {
                    state.offeredAgent = true
                    return git_credential_ssh_key_from_agent(out, sshUser)
                }
                if state.nextKey < state.credentials.sshKeys.count {
                    let key = state.credentials.sshKeys[state.nextKey]
                    state.nextKey += 1
                    return git_credential_ssh_key_new(out, sshUser, key.publicKey, key.privateKey, key.passphrase)
                }
            }
            return GIT_EAUTH.rawValue
        }
    }
}

/// Collects configuration values (callback payload).
private final class ValueCollector {
    var values = [String]()
}
