import Foundation
import TestSupport
import Testing

/// Remotes over libgit2's ssh transport (libssh2) against a private OpenSSH server on 127.0.0.1
/// (`SSHServer`: its own host key, public keys only) serving a bare repository through stock
/// git-upload-pack / git-receive-pack, with Git LFS on giftless over http (`--lfs-url`).
/// Credentials: the key files `~/.ssh/id_*` and `STAC_REPOSITORY_SSH_KEY`; host keys: the
/// workspace's `~/.ssh/known_hosts` (HOME is the workspace).
@Suite("ssh remotes with key files and known_hosts", .offPool)
struct SSHRemoteTests {
    static let haveTools = sshdAvailable && libgit2HasSSH && giftlessFlask != nil && which("git-lfs") != nil

    /// A workspace whose environment offers no ssh agent and no key from the caller's environment.
    static func workspace(_ name: String) -> Workspace {
        Workspace(
            name, extraEnv: ["SSH_AUTH_SOCK": "", "STAC_REPOSITORY_SSH_KEY": "", "STAC_REPOSITORY_SSH_PASSPHRASE": ""])
    }

    /// A git repository with three items (six LFS assets of 20 kB), a bare repository to push to
    /// and the ssh URL of that bare repository; the remote `origin` is added with giftless as its
    /// LFS server.
    /// giftless for the LFS objects (its batch URL) and a private sshd, both on 127.0.0.1; the
    /// caller stops both.
    static func servers(_ ws: Workspace) async throws -> (lfs: ServerProcess, lfsURL: String, ssh: SSHServer) {
        let lfs = try #require(try await startGiftless(in: ws.temp))
        do {
            return (lfs, "http://127.0.0.1:\(lfs.port)/stac/demo.git/info/lfs", try await SSHServer(in: ws.temp))
        } catch {
            lfs.stop()
            throw error
        }
    }

    static func prepare(_ ws: Workspace, server: SSHServer, lfsURL: String) async throws -> (
        assets: [String: Data], bare: URL, url: String
    ) {
        let bare = ws.temp.sub("served/origin.git")
        try FileManager.default.createDirectory(at: bare.deletingLastPathComponent(), withIntermediateDirectories: true)
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)
        let url = "ssh://\(server.user)@127.0.0.1:\(server.port)\(bare.path)"
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3, assetBytes: 20_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try await ws.ok(["remote", "add", "--repository", ws.repo.path, "origin", url, "--lfs-url", lfsURL])
        return (assets, bare, url)
    }

    /// The workspace's `~/.ssh/known_hosts` holds exactly `lines`.
    static func knownHosts(_ ws: Workspace, _ lines: String) throws {
        let dir = ws.temp.sub(".ssh")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try lines.write(to: dir.appendingPathComponent("known_hosts"), atomically: true, encoding: .utf8)
    }

    /// Exit 1 with one `error: …` line naming each of `words`.
    static func oneSentence(_ r: RunResult, _ words: [String], _ label: String) {
        #expect(r.status == 1, "\(label): exit \(r.status), stderr: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && r.stderr.hasPrefix("error: "), "\(label): \(r.stderr)")
        for word in words { #expect(r.stderr.contains(word), "\(label): should name \(word): \(r.stderr)") }
        #expect(!r.stderr.contains("PRIVATE KEY"), "\(label): no key material in messages")
    }

    @Test(
        "push with LFS assets over ssh:// with ~/.ssh/id_ed25519, clone back byte-identical, pull a new commit, verify clean",
        .enabled(
            if: haveTools,
            "needs /usr/sbin/sshd (openssh-server) with /run/sshd, ssh-keygen, a libgit2 built with ssh, and giftless (scripts/setup.sh --test-tools)"
        ))
    func pushCloneOverSSH() async throws {
        let ws = Self.workspace("ssh-push")
        let (lfs, lfsURL, server) = try await Self.servers(ws)
        defer {
            lfs.stop()
            server.stop()
        }
        let key = ws.temp.sub(".ssh/id_ed25519")
        try await sshKeygen(key)
        try server.authorize(key)
        try Self.knownHosts(ws, try server.knownHostsLine())
        let (assets, bare, url) = try await Self.prepare(ws, server: server, lfsURL: lfsURL)

        let pushed = try await ws.ok(["push", "--json"])
        let report = jsonObject(pushed.stdout) as? [String: Any]
        #expect(report?["lfsObjectsUploaded"] as? Int == assets.count, "\(pushed.stdout)")
        let tip = try await ws.git(["rev-parse", "main"]).stdout
        #expect(try await ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout == tip)
        let log = (try? String(contentsOf: ws.temp.sub("sshd/sshd.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("Accepted publickey for \(server.user)"), "\(log)")

        // Our clone over ssh: git objects through libssh2, LFS objects from giftless. The URL
        // names no user: the tool logs in as $USER (else the login name), as ssh does.
        let clone = ws.temp.sub("clone")
        let noUser = "ssh://127.0.0.1:\(server.port)\(bare.path)"
        let cloned = try await ws.tool(
            ["clone", noUser, clone.path, "--lfs-url", lfsURL, "--json"], env: ["USER": server.user])
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(
            (jsonObject(cloned.stdout) as? [String: Any])?["lfsObjectsDownloaded"] as? Int == assets.count,
            "\(cloned.stdout)")
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: clone)

        // A new commit pushed over ssh reaches the clone with `pull` over ssh.
        let more = ws.temp.sub("more")
        _ = try makeCatalog(at: more, collection: "coll", items: 4, seed: 0, assetBytes: 20_000)
        try await ws.ok(["ingest", more.appendingPathComponent("catalog.json").path])
        try await ws.ok(["push"])
        try await ws.ok(["pull"], repo: clone)
        #expect(
            try await ws.git(["rev-parse", "main"], in: clone).stdout
                == (try await ws.git(["rev-parse", "main"]).stdout))
        try await ws.ok(["verify"], repo: clone)
    }

    @Test(
        "STAC_REPOSITORY_SSH_KEY (and its passphrase) names the key; a refused, missing or no key: one sentence naming what was tried, exit 1, nothing changed",
        .enabled(
            if: haveTools,
            "needs /usr/sbin/sshd (openssh-server) with /run/sshd, ssh-keygen, a libgit2 built with ssh, and giftless (scripts/setup.sh --test-tools)"
        ))
    func keyFromEnvironment() async throws {
        let ws = Self.workspace("ssh-key-env")
        let (lfs, lfsURL, server) = try await Self.servers(ws)
        defer {
            lfs.stop()
            server.stop()
        }
        let deploy = ws.temp.sub("keys/deploy")
        let stranger = ws.temp.sub("keys/stranger")
        try await sshKeygen(deploy)
        try await sshKeygen(stranger)
        try server.authorize(deploy)
        try Self.knownHosts(ws, try server.knownHostsLine())
        let (assets, bare, url) = try await Self.prepare(ws, server: server, lfsURL: lfsURL)
        let before = treeState(ws.repo)
        func remoteBranch() async throws -> Int32 {
            try await ws.git(["--git-dir", bare.path, "rev-parse", "-q", "--verify", "main"], in: ws.temp.url).status
        }

        // No agent, no STAC_REPOSITORY_SSH_KEY, no ~/.ssh/id_*: nothing to offer.
        Self.oneSentence(
            try await ws.tool(["push"]), ["refused the ssh credentials", "no ssh agent", "STAC_REPOSITORY_SSH_KEY"],
            "no key")
        // A key the server does not know: refused, the sentence names the key file.
        Self.oneSentence(
            try await ws.tool(["push"], env: ["STAC_REPOSITORY_SSH_KEY": stranger.path]),
            ["refused the ssh credentials", stranger.path], "wrong key")
        // A default key the server does not know is named too.
        try FileManager.default.createDirectory(at: ws.temp.sub(".ssh"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: stranger, to: ws.temp.sub(".ssh/id_rsa"))
        Self.oneSentence(
            try await ws.tool(["push"]), ["refused the ssh credentials", ws.temp.sub(".ssh/id_rsa").path],
            "wrong default key")
        #expect(treeState(ws.repo) == before, "a refused push changes nothing locally")
        #expect(try await remoteBranch() != 0, "a refused push creates no remote branch")
        let refusedClone = ws.temp.sub("refused-clone")
        Self.oneSentence(
            try await ws.tool(["clone", url, refusedClone.path, "--lfs-url", lfsURL]), ["refused the ssh credentials"],
            "clone with a wrong key")
        #expect(!FileManager.default.fileExists(atPath: refusedClone.path), "a refused clone leaves nothing")

        // STAC_REPOSITORY_SSH_KEY (without its .pub: libssh2 derives it) wins over ~/.ssh/id_rsa.
        try FileManager.default.removeItem(at: deploy.appendingPathExtension("pub"))
        let pushed = try await ws.tool(["push"], env: ["STAC_REPOSITORY_SSH_KEY": deploy.path])
        #expect(pushed.status == 0, "\(pushed.stderr)")
        #expect(try await remoteBranch() == 0)
        let missing = ws.temp.sub("keys/missing").path
        Self.oneSentence(
            try await ws.tool(["push"], env: ["STAC_REPOSITORY_SSH_KEY": missing]), [missing, "does not exist"],
            "missing key file")

        // An encrypted key: refused without STAC_REPOSITORY_SSH_PASSPHRASE, used with it.
        let encrypted = ws.temp.sub("keys/encrypted")
        try await sshKeygen(encrypted, passphrase: "open sesame")
        try server.authorize(encrypted)
        let clone = ws.temp.sub("clone")
        Self.oneSentence(
            try await ws.tool(
                ["clone", url, clone.path, "--lfs-url", lfsURL], env: ["STAC_REPOSITORY_SSH_KEY": encrypted.path]),
            [encrypted.path, "STAC_REPOSITORY_SSH_PASSPHRASE"], "encrypted key without its passphrase")
        let cloned = try await ws.tool(
            ["clone", url, clone.path, "--lfs-url", lfsURL],
            env: ["STAC_REPOSITORY_SSH_KEY": encrypted.path, "STAC_REPOSITORY_SSH_PASSPHRASE": "open sesame"])
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(!cloned.stdout.contains("open sesame") && !cloned.stderr.contains("open sesame"))
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: clone)
    }

    @Test(
        "an unknown or changed ssh host key is refused with one sentence naming the host and ssh-keyscan",
        .enabled(
            if: haveTools,
            "needs /usr/sbin/sshd (openssh-server) with /run/sshd, ssh-keygen, a libgit2 built with ssh, and giftless (scripts/setup.sh --test-tools)"
        ))
    func hostKeyChecking() async throws {
        let ws = Self.workspace("ssh-hostkey")
        let (lfs, lfsURL, server) = try await Self.servers(ws)
        defer {
            lfs.stop()
            server.stop()
        }
        let key = ws.temp.sub(".ssh/id_ed25519")
        try await sshKeygen(key)
        try server.authorize(key)
        let (_, bare, url) = try await Self.prepare(ws, server: server, lfsURL: lfsURL)
        let before = treeState(ws.repo)
        let words = ["[127.0.0.1]:\(server.port)", "known_hosts", "ssh-keyscan -p \(server.port) 127.0.0.1"]

        // No known_hosts at all: the host is unknown.
        Self.oneSentence(try await ws.tool(["push"]), words, "no known_hosts")
        // known_hosts names another host only.
        let other = ws.temp.sub("other-host-key")
        try await sshKeygen(other)
        let otherKey = try String(contentsOf: other.appendingPathExtension("pub"), encoding: .utf8).split(
            separator: " ")
        try Self.knownHosts(ws, "[127.0.0.1]:1 \(otherKey[0]) \(otherKey[1])\n")
        Self.oneSentence(try await ws.tool(["push"]), words, "unknown host")
        // known_hosts has a different key for this host and port: a changed host key.
        try Self.knownHosts(ws, "[127.0.0.1]:\(server.port) \(otherKey[0]) \(otherKey[1])\n")
        Self.oneSentence(try await ws.tool(["push"]), words, "changed host key")
        let clone = ws.temp.sub("clone")
        Self.oneSentence(try await ws.tool(["clone", url, clone.path, "--lfs-url", lfsURL]), words, "clone")
        #expect(!FileManager.default.fileExists(atPath: clone.path), "a refused clone leaves nothing")
        #expect(treeState(ws.repo) == before, "a refused push changes nothing locally")
        #expect(
            try await ws.git(["--git-dir", bare.path, "rev-parse", "-q", "--verify", "main"], in: ws.temp.url).status
                != 0)

        // With the server's key in known_hosts the same push goes through.
        try Self.knownHosts(ws, try server.knownHostsLine())
        try await ws.ok(["push"])
        #expect(
            try await ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout
                == (try await ws.git(["rev-parse", "main"]).stdout))
    }
}

extension SSHRemoteTests {
    @Test(
        "the ssh agent (SSH_AUTH_SOCK) is offered first, then the key files; a refusal names both",
        .enabled(
            if: haveTools && which("ssh-agent") != nil && which("ssh-add") != nil,
            "needs sshd, ssh-agent and ssh-add (openssh), a libgit2 built with ssh, and giftless"))
    func agentThenKeyFiles() async throws {
        let ws = Self.workspace("ssh-agent")
        let (lfs, lfsURL, server) = try await Self.servers(ws)
        defer {
            lfs.stop()
            server.stop()
        }
        try Self.knownHosts(ws, try server.knownHostsLine())
        let (_, bare, url) = try await Self.prepare(ws, server: server, lfsURL: lfsURL)

        // A private ssh-agent (foreground, `-D`) on a socket in the workspace, stopped by PID.
        let socket = ws.temp.sub("agent.sock").path
        let agent = try startInBackground(
            URL(fileURLWithPath: which("ssh-agent") ?? "/usr/bin/ssh-agent"), ["-D", "-a", socket], env: ws.env)
        defer {
            kill(agent.processIdentifier, SIGKILL)
            Thread.detachNewThread { agent.waitUntilExit() }
        }
        while !FileManager.default.fileExists(atPath: socket) {
            try #require(agent.isRunning, "ssh-agent exited")
            try await Task.sleep(for: .milliseconds(50))
        }
        var agentEnv = ws.env
        agentEnv["SSH_AUTH_SOCK"] = socket
        func agentHolds(_ key: URL) async throws {
            let added = try await run(which("ssh-add") ?? "/usr/bin/ssh-add", ["-q", key.path], env: agentEnv)
            #expect(added.status == 0, "\(added.stderr)")
        }

        // The agent holds a key the server does not know, ~/.ssh/id_ed25519 one it does not know
        // either: refused, the sentence names the agent and the key file.
        let stranger = ws.temp.sub("keys/stranger")
        try await sshKeygen(stranger)
        try await agentHolds(stranger)
        let fallback = ws.temp.sub(".ssh/id_ed25519")
        try await sshKeygen(fallback)
        Self.oneSentence(
            try await ws.tool(["push"], env: ["SSH_AUTH_SOCK": socket]),
            ["refused the ssh credentials", "the ssh agent at SSH_AUTH_SOCK", fallback.path], "agent and key refused")

        // Once the server knows ~/.ssh/id_ed25519, the agent's refused key is followed by it.
        try server.authorize(fallback)
        let viaKeyFile = try await ws.tool(["push"], env: ["SSH_AUTH_SOCK": socket])
        #expect(viaKeyFile.status == 0, "\(viaKeyFile.stderr)")
        #expect(
            try await ws.git(["--git-dir", bare.path, "rev-parse", "-q", "--verify", "main"], in: ws.temp.url).status
                == 0)

        // A key only the agent holds (no file where the tool looks) is used through the agent.
        let agentOnly = ws.temp.sub("keys/agent-only")
        try await sshKeygen(agentOnly)
        try await agentHolds(agentOnly)
        try FileManager.default.removeItem(at: fallback)
        try FileManager.default.removeItem(at: agentOnly)
        try server.authorize(agentOnly)  // reads agent-only.pub, still there
        let clone = ws.temp.sub("clone")
        let cloned = try await ws.tool(["clone", url, clone.path, "--lfs-url", lfsURL], env: ["SSH_AUTH_SOCK": socket])
        #expect(cloned.status == 0, "\(cloned.stderr)")
        try await ws.ok(["verify"], repo: clone)
    }
}
