import AssetTransfer
public import Foundation
import Git

/// A configured remote, as `remote list` shows it.
public struct RemoteInfo: Codable, Sendable, Equatable {
    public var name: String
    /// `remote.NAME.url`, with any user name and password removed.
    public var url: String
    /// `remote.NAME.lfsurl`, when set.
    public var lfsURL: String?
    /// Where Git LFS objects go for this remote (the rules of docs/format.md): an http(s) URL
    /// of a Batch API, or the path of a repository whose `lfs/objects` is used directly.
    public var lfsEndpoint: String?
}

/// Where a remote's Git LFS objects live.
enum LFSEndpoint {
    /// A Git LFS server (Batch API at `URL/objects/batch`).
    case http(String)
    /// A local repository (a `file://` URL or a path): objects are copied into its store.
    case local(LFSStore)

    var description: String {
        switch self {
        case .http(let url): redactedURL(url)
        case .local(let store): store.gitDirectory.path
        }
    }
}

/// `user:password@` removed from a URL, for messages and listings.
func redactedURL(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@") else {
        return url
    }
    let slash = url[schemeEnd.upperBound...].firstIndex(of: "/") ?? url.endIndex
    guard at < slash else { return url }
    return String(url[..<schemeEnd.upperBound]) + String(url[url.index(after: at)...])
}

/// The local path a `file://` URL or a plain path names; nil for network URLs.
func localPath(ofRemoteURL url: String, relativeTo root: URL) -> String? {
    if url.hasPrefix("file://") { return URL(string: url)?.path ?? String(url.dropFirst("file://".count)) }
    if url.contains("://") { return nil }
    // scp-like `user@host:path` (a colon before any slash) is ssh.
    if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") { return nil }
    return url.hasPrefix("/") ? url : root.appendingPathComponent(url).standardizedFileURL.path
}

/// The Git LFS URL git-lfs derives from a git remote URL: `<url>/info/lfs` when it ends in
/// `.git`, else `<url>.git/info/lfs`; ssh (`ssh://user@host/path`, `user@host:path`) maps to
/// `https://host/path`.
func derivedLFSURL(fromRemoteURL raw: String) -> String? {
    var url = raw
    while url.hasSuffix("/") { url.removeLast() }
    if url.hasPrefix("ssh://") {
        var rest = String(url.dropFirst("ssh://".count))
        if let at = rest.firstIndex(of: "@") { rest = String(rest[rest.index(after: at)...]) }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        var host = String(rest[..<slash])
        if let colon = host.firstIndex(of: ":") { host = String(host[..<colon]) }
        url = "https://" + host + String(rest[slash...])
    } else if !url.contains("://"), let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
        var host = String(url[..<colon])
        if let at = host.firstIndex(of: "@") { host = String(host[host.index(after: at)...]) }
        let path = String(url[url.index(after: colon)...])
        url = "https://" + host + "/" + (path.hasPrefix("/") ? String(path.dropFirst()) : path)
    }
    guard url.hasPrefix("http://") || url.hasPrefix("https://") else { return nil }
    return url.hasSuffix(".git") ? url + "/info/lfs" : url + ".git/info/lfs"
}

/// Whether `url` reaches its remote over ssh: `ssh://`, `git+ssh://`, `ssh+git://`, or the
/// scp-like `[user@]host:path` (a colon before any slash, and not a Windows drive letter).
func isSSHURL(_ url: String) -> Bool {
    for scheme in ["ssh://", "git+ssh://", "ssh+git://"] where url.hasPrefix(scheme) { return true }
    if url.contains("://") { return false }
    guard let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") else { return false }
    return url.distance(from: url.startIndex, to: colon) > 1
}

/// The ssh credentials offered to an ssh remote, in this order (docs/format.md): the ssh agent
/// when `SSH_AUTH_SOCK` names a socket; then the key file `STAC_REPOSITORY_SSH_KEY` (its
/// public key `KEY.pub` when that exists, its passphrase `STAC_REPOSITORY_SSH_PASSPHRASE`), or,
/// when that is unset, each of `~/.ssh/id_ed25519`, `~/.ssh/id_ecdsa`, `~/.ssh/id_rsa` that
/// exists. Each is offered once. `core.sshCommand` and `~/.ssh/config` are not read.
struct SSHCredentialSources {
    var agent: Bool
    var agentSocket: String?
    var keys: [SSHKeyFile]
    /// `STAC_REPOSITORY_SSH_KEY`, when set.
    var keyFromEnvironment: String?
    /// The user for `ssh://host/path` (no user in the URL): `$USER`, else the login name, as ssh does.
    var user: String?

    init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        home: String? = ProcessInfo.processInfo.environment["HOME"]
    ) {
        let socket = environment["SSH_AUTH_SOCK"].flatMap { $0.isEmpty ? nil : $0 }
        agentSocket = socket
        agent = socket.map { FS.exists($0) } ?? false
        user = environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["LOGNAME"] ?? NSUserName()
        let passphrase = environment["STAC_REPOSITORY_SSH_PASSPHRASE"].flatMap { $0.isEmpty ? nil : $0 }
        func keyFile(_ path: String, passphrase: String?) -> SSHKeyFile {
            SSHKeyFile(
                privateKey: path, publicKey: FS.exists(path + ".pub") ? path + ".pub" : nil, passphrase: passphrase)
        }
        if let path = environment["STAC_REPOSITORY_SSH_KEY"], !path.isEmpty {
            keyFromEnvironment = path
            keys = [keyFile(path, passphrase: passphrase)]
        } else if let home, !home.isEmpty {
            keyFromEnvironment = nil
            keys = ["id_ed25519", "id_ecdsa", "id_rsa"].map { home + "/.ssh/" + $0 }.filter { FS.exists($0) }.map {
                keyFile($0, passphrase: passphrase)
            }
        } else {
            keyFromEnvironment = nil
            keys = []
        }
    }

    /// "tried the ssh agent (SSH_AUTH_SOCK) and the key file K", for an "auth refused" sentence.
    var description: String {
        var tried = [String]()
        if agent { tried.append("the ssh agent at SSH_AUTH_SOCK") }
        if let keyFromEnvironment {
            tried.append("the key file \(keyFromEnvironment) (STAC_REPOSITORY_SSH_KEY)")
        } else if !keys.isEmpty {
            tried.append(
                (keys.count == 1 ? "the key file " : "the key files ")
                    + keys.map(\.privateKey).joined(separator: ", "))
        }
        if tried.isEmpty {
            return
                "no ssh agent (SSH_AUTH_SOCK), STAC_REPOSITORY_SSH_KEY or ~/.ssh/id_ed25519, id_ecdsa, id_rsa was found"
        }
        return "tried " + tried.joined(separator: " and ")
    }
}

/// Credentials for a remote, read from git config, the environment and the user's netrc; never
/// stored, never printed.
struct RemoteAuthentication {
    /// `http.extraHeader` values.
    var extraHeaders: [String]
    /// `STAC_REPOSITORY_GIT_TOKEN`.
    var token: String?
    /// The netrc entry for the host of the remote's URL (``Netrc``), if any.
    var netrcForRemote: Netrc.Entry?
    let netrc: Netrc

    /// Whether the remote's URL is ssh (`ssh://`, `git+ssh://`, `ssh+git://` or scp-like `user@host:path`).
    let isSSH: Bool
    /// The ssh credential sources, in the order they are offered (``SSHCredentialSources``).
    let ssh: SSHCredentialSources

    init(repository: GitRepository, remoteURL: String, netrc: Netrc = .load()) {
        extraHeaders = ((try? repository.configValues("http.extraheader")) ?? []).filter { $0.contains(":") }
        let token = ProcessInfo.processInfo.environment["STAC_REPOSITORY_GIT_TOKEN"]
        self.token = token?.isEmpty == false ? token : nil
        self.netrc = netrc
        netrcForRemote = netrc.entry(for: remoteURL)
        isSSH = isSSHURL(remoteURL)
        ssh = isSSH ? SSHCredentialSources() : SSHCredentialSources(environment: [:], home: nil)
    }

    var git: RemoteCredentials {
        RemoteCredentials(
            headers: extraHeaders, token: token,
            userPassword: netrcForRemote.map { (user: $0.login, password: $0.password) },
            sshAgent: ssh.agent, sshKeys: ssh.keys, sshUser: ssh.user)
    }

    /// Headers for the Git LFS Batch API at `endpoint`: `http.extraHeader`; then, unless a
    /// header already carries `Authorization`, the token as HTTP basic authentication
    /// (`x-access-token:TOKEN`, as git's credential helpers send it), else the netrc entry of
    /// the endpoint's own host.
    func lfsHeaders(for endpoint: String) -> [String] {
        var headers = extraHeaders
        guard !headers.contains(where: { $0.lowercased().hasPrefix("authorization:") }) else { return headers }
        if let token {
            headers.append("Authorization: Basic " + Data("x-access-token:\(token)".utf8).base64EncodedString())
        } else if let entry = netrc.entry(for: endpoint) {
            headers.append(
                "Authorization: Basic " + Data("\(entry.login):\(entry.password)".utf8).base64EncodedString())
        }
        return headers
    }

    /// Which credential sources were tried, for an "auth refused" sentence.
    /// (HTTP sources: those of ssh are ``SSHCredentialSources/description``.)
    var sources: String {
        var tried = [String]()
        if token != nil { tried.append("STAC_REPOSITORY_GIT_TOKEN") }
        if !extraHeaders.isEmpty { tried.append("http.extraHeader") }
        if netrcForRemote != nil, let path = netrc.path { tried.append("the netrc entry in \(path)") }
        return tried.isEmpty ? "no credentials were configured" : "tried " + tried.joined(separator: " and ")
    }
}

extension GitBackend {
    /// Adds the remote `name` at `url` (`remote.NAME.url`, `remote.NAME.fetch =
    /// +refs/heads/*:refs/remotes/NAME/*`, and `remote.NAME.lfsurl` when `lfsURL` is given),
    /// as `git remote add` does. A relative path is stored as an absolute one.
    ///
    /// - Throws: ``StacRepositoryError`` `.usage` for an invalid name, `.alreadyExists` when
    ///   the remote exists.
    func addRemote(name: String, url: String, lfsURL: String?) throws {
        let git = self
        try Self.validateRemoteName(name)
        guard !url.isEmpty else { throw StacRepositoryError(.usage, "The remote URL is empty; give a URL or a path.") }
        if let lfsURL, !(lfsURL.hasPrefix("http://") || lfsURL.hasPrefix("https://") || lfsURL.hasPrefix("file://")) {
            throw StacRepositoryError(
                .usage,
                "The LFS URL \(redactedURL(lfsURL)) is not an http(s) or file:// URL; give the server's LFS URL.")
        }
        if try git.repository.config("remote.\(name).url") != nil {
            throw StacRepositoryError(
                .alreadyExists,
                "The remote \(name) already exists; remove it first (`stac-repository remote remove \(name)`) or choose another name."
            )
        }
        let stored =
            url.contains("://") || localPath(ofRemoteURL: url, relativeTo: root) == nil
            ? url : localPath(ofRemoteURL: url, relativeTo: root) ?? url
        try git.repository.setConfig("remote.\(name).url", stored)
        try git.repository.setConfig("remote.\(name).fetch", "+refs/heads/*:refs/remotes/\(name)/*")
        if let lfsURL { try git.repository.setConfig("remote.\(name).lfsurl", lfsURL) }
    }

    /// The configured remotes, in name order.
    func listRemotes() throws -> [RemoteInfo] {
        let git = self
        var names = Set<String>()
        for entry in try git.repository.configEntries(withPrefix: "remote.") where entry.name.hasSuffix(".url") {
            names.insert(String(entry.name.dropFirst("remote.".count).dropLast(".url".count)))
        }
        return try names.sorted().map { name in
            let url = try git.repository.config("remote.\(name).url") ?? ""
            let endpoint = try? lfsEndpoint(git, remote: name, operation: "download", tree: try git.head()?.tree)
            return RemoteInfo(
                name: name, url: redactedURL(url),
                lfsURL: try git.repository.config("remote.\(name).lfsurl").map(redactedURL),
                lfsEndpoint: endpoint?.description)
        }
    }

    /// Removes the remote `name`: its configuration and its remote-tracking references.
    ///
    /// - Throws: ``StacRepositoryError`` `.notFound` when there is no such remote.
    func removeRemote(name: String) throws {
        let git = self
        guard try git.repository.config("remote.\(name).url") != nil else {
            throw StacRepositoryError(
                .notFound, "There is no remote \(name); `stac-repository remote list` shows the configured ones.")
        }
        for entry in try git.repository.configEntries(withPrefix: "remote.\(name).")
        where entry.name.hasPrefix("remote.\(name).") {
            try git.repository.removeConfig(entry.name)
        }
        for reference in try git.repository.references(withPrefix: "refs/remotes/\(name)/") {
            try? git.repository.deleteReference(reference.name)
        }
    }

    static func validateRemoteName(_ name: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, !name.hasPrefix("-"), !name.hasPrefix("."), !name.hasSuffix(".lock"),
            name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII })
        else {
            throw StacRepositoryError(
                .usage, "\"\(name)\" is not a valid remote name; use letters, digits, '-', '_' or '.'.")
        }
    }

    /// The remote to use: `name`, else `origin`, else the only configured one.
    func resolveRemoteName(_ git: GitBackend, _ name: String?) throws -> (name: String, url: String) {
        if let name {
            guard let url = try git.repository.config("remote.\(name).url") else {
                throw StacRepositoryError(
                    .notFound,
                    "There is no remote \(name); add it with `stac-repository remote add \(name) URL`.")
            }
            return (name, url)
        }
        if let url = try git.repository.config("remote.origin.url") { return ("origin", url) }
        let remotes = try listRemotes()
        guard remotes.count == 1, let only = remotes.first,
            let url = try git.repository.config("remote.\(only.name).url")
        else {
            throw StacRepositoryError(
                .notFound,
                remotes.isEmpty
                    ? "This repository has no remote; add one with `stac-repository remote add origin URL`."
                    : "This repository has several remotes and none is named origin; name the one to use.")
        }
        return (only.name, url)
    }

    /// The Git LFS endpoint of a remote, found as git-lfs finds it (docs/format.md): for an
    /// upload `lfs.pushurl` first; then `lfs.url`; `remote.NAME.lfspushurl` (upload) and
    /// `remote.NAME.lfsurl`; each from git config, else from the `.lfsconfig` of `tree`; else
    /// derived from `remote.NAME.pushurl` (upload) or `remote.NAME.url`: a local repository's own
    /// store for a path or `file://` URL, `<url>/info/lfs` or `<url>.git/info/lfs` for http(s)/ssh.
    func lfsEndpoint(_ git: GitBackend, remote: String, operation: String, tree: ObjectID?) throws -> LFSEndpoint {
        let lfsconfig = try tree.flatMap { try git.repository.readFile(".lfsconfig", inTree: $0) }
        var lfsconfigFile: URL?
        if let lfsconfig {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("lfsconfig-\(UUID().uuidString)")
            try Data(lfsconfig).write(to: file)
            lfsconfigFile = file
        }
        defer { if let lfsconfigFile { try? FileManager.default.removeItem(at: lfsconfigFile) } }
        func value(_ key: String) throws -> String? {
            if let v = try git.repository.config(key), !v.isEmpty { return v }
            if let lfsconfigFile, let v = try? GitRepository.configFile(lfsconfigFile, value: key), !v.isEmpty {
                return v
            }
            return nil
        }
        var keys = ["lfs.url", "remote.\(remote).lfsurl"]
        if operation == "upload" {
            keys = ["lfs.pushurl", "lfs.url", "remote.\(remote).lfspushurl", "remote.\(remote).lfsurl"]
        }
        for key in keys {
            if let url = try value(key) { return try endpoint(forLFSURL: url) }
        }
        let pushURL = operation == "upload" ? try git.repository.config("remote.\(remote).pushurl") : nil
        let remoteURL = try pushURL ?? git.repository.config("remote.\(remote).url") ?? ""
        if let path = localPath(ofRemoteURL: remoteURL, relativeTo: root) { return .local(Self.localStore(path)) }
        guard let derived = derivedLFSURL(fromRemoteURL: remoteURL) else {
            throw StacRepositoryError(
                .unsupported,
                "No Git LFS server is known for the remote \(remote) (\(redactedURL(remoteURL))); set one with `stac-repository remote add --lfs-url URL` or `git config remote.\(remote).lfsurl URL`."
            )
        }
        return .http(derived)
    }

    private func endpoint(forLFSURL url: String) throws -> LFSEndpoint {
        if let path = localPath(ofRemoteURL: url, relativeTo: root), url.hasPrefix("file://") || !url.contains("://") {
            return .local(Self.localStore(path))
        }
        return .http(url)
    }

    /// The Git LFS store of a local repository: `PATH/.git/lfs/objects`, or `PATH/lfs/objects`
    /// when PATH is a bare repository (or a `.git` directory).
    static func localStore(_ path: String) -> LFSStore {
        let dotGit = path + "/.git"
        return LFSStore(gitDirectory: URL(fileURLWithPath: FS.isDirectory(dotGit) ? dotGit : path))
    }
}
