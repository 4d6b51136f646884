import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A server process on loopback, stopped when this object goes away.
final class ServerProcess {
    let process: SpawnedProcess
    let port: Int

    /// Starts the server and waits (suspended, polling every 100 ms) until it accepts connections.
    init(executable: String, arguments: [String], environment: [String: String], port: Int, log: URL) async throws {
        self.port = port
        // posix_spawn, not Foundation.Process (TestSupport/Spawn.swift says why).
        let logFD = open(log.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw ServerError(message: "cannot create \(log.path)") }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer {
            close(logFD)
            close(null)
        }
        process = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment, directory: nil, stdin: null,
            stdout: logFD, stderr: logFD)
        // Generous: a Python server (moto, giftless) imports for seconds, and far longer on a
        // loaded machine; a server that works is waited for only as long as it takes.
        let deadline = Date().addingTimeInterval(180)
        // Open and ours: a listener of another process is waited out too, since ours either
        // binds after it (SO_REUSEADDR) or exits on the bind error, which ends the wait.
        while !(portIsOpen(port) && listenerBelongs(to: process.processIdentifier, port: port)) {
            if !process.isRunning || Date() > deadline {
                let held = portIsOpen(port)
                stop()
                let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                if held {
                    throw ServerError(message: "port \(port) is held by another process than \(executable)")
                }
                throw ServerError(message: "\(executable) did not start on port \(port): \(text.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// SIGKILL by PID (not SIGTERM, which a Python server may handle slowly); the child is
    /// reaped on a thread of its own, so no task waits.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            let child = process
            Thread.detachNewThread { child.waitUntilExit() }
        }
    }

    deinit { stop() }
}

struct ServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The giftless venv made by scripts/setup.sh --test-tools.
var giftlessFlask: String? {
    let p = Env.toolsDirectory.appendingPathComponent("giftless/bin/flask").path
    return FileManager.default.isExecutableFile(atPath: p) ? p : nil
}

/// Starts giftless (a real Git LFS server) with local storage and anonymous read/write.
func startGiftless(in temp: TempDir) async throws -> ServerProcess? {
    guard let flask = giftlessFlask else { return nil }
    let port = freePort()
    let storage = temp.sub("giftless-storage")
    try FileManager.default.createDirectory(at: storage, withIntermediateDirectories: true)
    let config = temp.sub("giftless.yaml")
    try """
    AUTH_PROVIDERS:
      - giftless.auth.allow_anon:read_write
    TRANSFER_ADAPTERS:
      basic:
        factory: giftless.transfer.basic_streaming:factory
        options:
          storage_class: giftless.storage.local_storage:LocalStorage
          storage_options:
            path: \(storage.path)
    """.write(to: config, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["GIFTLESS_CONFIG_FILE"] = config.path
    env["FLASK_APP"] = "giftless.wsgi_entrypoint"
    return try await ServerProcess(
        executable: flask, arguments: ["run", "--host", "127.0.0.1", "--port", String(port)], environment: env,
        port: port,
        log: temp.sub("giftless.log"))
}

/// Starts giftless with its S3 storage adapter (`basic_external`: clients PUT and GET the
/// bucket through presigned URLs) on the S3 endpoint `s3Endpoint` (moto), storing objects
/// under `<prefix>/<org>/<repo>/<oid>` in `bucket`, with anonymous read/write.
func startGiftlessOnS3(in temp: TempDir, s3Endpoint: String, bucket: String, prefix: String) async throws
    -> ServerProcess?
{
    guard let flask = giftlessFlask else { return nil }
    let port = freePort()
    let config = temp.sub("giftless-s3.yaml")
    try """
    AUTH_PROVIDERS:
      - giftless.auth.allow_anon:read_write
    TRANSFER_ADAPTERS:
      basic:
        factory: giftless.transfer.basic_external:factory
        options:
          storage_class: giftless.storage.amazon_s3:AmazonS3Storage
          storage_options:
            bucket_name: \(bucket)
            path_prefix: \(prefix)
            endpoint: \(s3Endpoint)
    """.write(to: config, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["GIFTLESS_CONFIG_FILE"] = config.path
    env["FLASK_APP"] = "giftless.wsgi_entrypoint"
    for (k, v) in [
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    ] {
        env[k] = v
    }
    return try await ServerProcess(
        executable: flask, arguments: ["run", "--host", "127.0.0.1", "--port", String(port)], environment: env,
        port: port, log: temp.sub("giftless-s3.log"))
}

/// Whether giftless's venv has boto3 (its S3 adapter needs it; scripts/setup.sh --test-tools).
var giftlessHasBoto3: Bool {
    guard giftlessFlask != nil else { return false }
    let site = Env.toolsDirectory.appendingPathComponent("giftless/lib")
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: site.path)) ?? []
    return versions.contains {
        FileManager.default.fileExists(atPath: site.appendingPathComponent("\($0)/site-packages/boto3").path)
    }
}

/// The fault-injecting HTTP proxy of Tests/Fixtures/lfs-fault-proxy.py in front of
/// 127.0.0.1:`upstream`: `setRules` makes it answer a status instead of asking upstream, or
/// cut a connection after some bytes; `log` lists what it did with every request.
final class FaultProxy {
    let server: ServerProcess
    let rulesFile: URL
    let logFile: URL
    var port: Int { server.port }

    init(upstream: Int, in temp: TempDir) async throws {
        rulesFile = temp.sub("fault-rules.json")
        logFile = temp.sub("fault-proxy.requests")
        try Data(#"{"id": "none", "rules": []}"#.utf8).write(to: rulesFile)
        let script = Env.packageRoot.appendingPathComponent("Tests/Fixtures/lfs-fault-proxy.py")
        let port = freePort()
        server = try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: [script.path, String(port), String(upstream), rulesFile.path, logFile.path],
            environment: ProcessInfo.processInfo.environment, port: port, log: temp.sub("fault-proxy.out"))
    }

    /// Replaces the rules (counters start again), e.g.
    /// `["method": "PUT", "fault": "cut", "after": 100_000, "times": 2]`.
    func setRules(_ rules: [[String: any Sendable]]) throws {
        let document: [String: Any] = ["id": UUID().uuidString, "rules": rules]
        try JSONSerialization.data(withJSONObject: document).write(to: rulesFile, options: .atomic)
    }

    /// The log's lines so far (`METHOD PATH pass N|status S|cut N`).
    var log: [String] {
        ((try? String(contentsOf: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() { server.stop() }
}

/// Whether the libgit2 the tool links (Debian's libgit2 1.5) has its ssh transport:
/// `git_libgit2_features() & GIT_FEATURE_SSH`, read through dlopen (the tests do not link libgit2).
let libgit2HasSSH: Bool = {
    for name in ["libgit2.so.1.5", "libgit2.so"] {
        guard let handle = dlopen(name, RTLD_NOW) else { continue }
        defer { dlclose(handle) }
        guard let symbol = dlsym(handle, "git_libgit2_features") else { return false }
        typealias Features = @convention(c) () -> Int32
        return unsafeBitCast(symbol, to: Features.self)() & (1 << 2) != 0
    }
    return false
}()

/// Whether a private OpenSSH server can run here: `/usr/sbin/sshd` (Debian's openssh-server,
/// scripts/setup.sh --test-tools), `ssh-keygen`, and its privilege separation directory
/// `/run/sshd` (created by `SSHServer` when running as root).
var sshdAvailable: Bool {
    FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") && which("ssh-keygen") != nil
        && (FileManager.default.fileExists(atPath: "/run/sshd") || getuid() == 0)
}

/// A private OpenSSH server on 127.0.0.1 (`sshd -D -e -f CONFIG -p PORT`, never the system
/// service): its own ed25519 host key, public-key authentication only against the keys in
/// `authorizedKeys`, `StrictModes no`, a PidFile in the temp dir; stopped by PID. It logs in
/// the user running the tests, whose git-upload-pack / git-receive-pack serve the paths.
final class SSHServer {
    let server: ServerProcess
    let hostKey: URL
    let authorizedKeys: URL
    var port: Int { server.port }
    /// The current user, as the server knows it (for `ssh://USER@127.0.0.1:PORT/path`).
    let user: String

    init(in temp: TempDir) async throws {
        let dir = temp.sub("sshd")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        hostKey = dir.appendingPathComponent("host_ed25519")
        authorizedKeys = dir.appendingPathComponent("authorized_keys")
        try Data().write(to: authorizedKeys)
        try await sshKeygen(hostKey)
        if !FileManager.default.fileExists(atPath: "/run/sshd") {
            try FileManager.default.createDirectory(
                atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        let config = dir.appendingPathComponent("sshd_config")
        try """
        ListenAddress 127.0.0.1
        HostKey \(hostKey.path)
        AuthorizedKeysFile \(authorizedKeys.path)
        PidFile \(dir.appendingPathComponent("sshd.pid").path)
        StrictModes no
        PubkeyAuthentication yes
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        PermitRootLogin prohibit-password
        MaxAuthTries 10

        """.write(to: config, atomically: true, encoding: .utf8)
        user = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "root"
        let port = freePort()
        server = try await ServerProcess(
            executable: "/usr/sbin/sshd", arguments: ["-D", "-e", "-f", config.path, "-p", String(port)],
            environment: ProcessInfo.processInfo.environment, port: port, log: dir.appendingPathComponent("sshd.log"))
    }

    /// The known_hosts line for this server (`[127.0.0.1]:PORT ssh-ed25519 AAAA…`).
    func knownHostsLine() throws -> String {
        let key = try String(contentsOf: hostKey.appendingPathExtension("pub"), encoding: .utf8)
        let fields = key.split(separator: " ")
        return "[127.0.0.1]:\(port) \(fields[0]) \(fields[1])\n"
    }

    /// Lets the key pair at `key` (its `.pub`) log in.
    func authorize(_ key: URL) throws {
        let line = try String(contentsOf: key.appendingPathExtension("pub"), encoding: .utf8)
        let old = (try? String(contentsOf: authorizedKeys, encoding: .utf8)) ?? ""
        try (old + line).write(to: authorizedKeys, atomically: true, encoding: .utf8)
    }

    func stop() { server.stop() }
}

/// `ssh-keygen -q -t ed25519 -N PASSPHRASE -f PATH`: a new key pair at PATH and PATH.pub.
func sshKeygen(_ path: URL, passphrase: String = "") async throws {
    try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
    let r = try await run(
        which("ssh-keygen") ?? "/usr/bin/ssh-keygen",
        ["-q", "-t", "ed25519", "-N", passphrase, "-C", "test", "-f", path.path])
    guard r.status == 0 else { throw ServerError(message: "ssh-keygen failed: \(r.stderr)") }
}
