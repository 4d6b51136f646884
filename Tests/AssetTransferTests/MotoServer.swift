import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `moto_server` (S3 emulator) on 127.0.0.1 and a free port, killed by ``stop()``.
final class MotoServer: Sendable {
    let process: Process
    let port: UInt16
    let endpoint: String

    /// The project's tool venv made by scripts/setup.sh (`$STAC_REPOSITORY_TOOLS`, else `.build-tools`).
    static let toolsBin: String = {
        let tools =
            ProcessInfo.processInfo.environment["STAC_REPOSITORY_TOOLS"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build-tools").path
        return tools + "/venv/bin"
    }()

    /// The `moto_server` executable in the tool venv or on PATH, if installed.
    static let executable: String? = {
        let path = toolsBin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/moto_server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Whether moto can run here; tests that need it are skipped (`.enabled(if:)`) otherwise.
    static var isInstalled: Bool {
        executable != nil
    }

    /// Starts moto and waits (at most 20 s) until it accepts connections.
    ///
    /// - Parameter initialNoAuthActions: with a value, moto verifies signatures after that many
    ///   unauthenticated setup calls (`INITIAL_NO_AUTH_ACTION_COUNT`).
    static func start(initialNoAuthActions: Int? = nil) async throws -> MotoServer {
        guard let executable else { throw TestFailure("moto_server is not installed") }
        let port = UInt16(freePort())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        var environment = ProcessInfo.processInfo.environment
        if let initialNoAuthActions { environment["INITIAL_NO_AUTH_ACTION_COUNT"] = "\(initialNoAuthActions)" }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = MotoServer(process: process, port: port)
        // Up to 3 minutes: moto imports for seconds, far longer on a loaded machine.
        for _ in 0..<1800 {
            if portIsOpen(Int(port)) {
                guard listenerBelongs(to: process.processIdentifier, port: Int(port)) else { break }
                return server
            }
            guard process.isRunning else { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        server.stop()
        throw TestFailure("moto_server did not start listening on port \(port) within 180 s")
    }

    private init(process: Process, port: UInt16) {
        self.process = process
        self.port = port
        endpoint = "http://127.0.0.1:\(port)"
    }

    func stop() {
        guard process.isRunning else { return }
        // Not terminate(): the child inherits the blocked signal mask of the dispatch thread that
        // spawned it, so SIGTERM would stay pending forever. moto keeps nothing worth flushing.
        // Not waited for: Foundation reaps the killed child (no test thread waits for it).
        kill(process.processIdentifier, SIGKILL)
    }

    /// Runs a Python snippet with boto3 against this server; returns its standard output.
    func python(_ script: String, arguments: [String] = []) async throws -> String {
        let endpoint = endpoint
        // Started and waited for on a thread of its own, never on the cooperative pool that
        // also runs the in-process HTTP servers.
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result { try Self.pythonBlocking(script, endpoint: endpoint, arguments: arguments) })
            }
        }
    }

    private static func pythonBlocking(_ script: String, endpoint: String, arguments: [String]) throws -> String {
        let venvPython = Self.toolsBin + "/python3"
        // posix_spawn, not Foundation.Process (TestSupport/Spawn.swift says why).
        let run = try spawnAndCollect(
            "/usr/bin/env",
            [FileManager.default.isExecutableFile(atPath: venvPython) ? venvPython : "python3", "-c", script, endpoint]
                + arguments)
        let text = String(decoding: run.stdout, as: UTF8.self)
        guard run.status == 0 else {
            throw TestFailure("S3 setup failed: \(String(decoding: run.stderr, as: UTF8.self))")
        }
        return text
    }

}

/// Two moto servers shared by the S3 suite: one verifying signatures (with an IAM user's keys and a
/// private object), one in moto's default mode for anonymous reads (moto answers 500 to unsigned
/// requests once it verifies signatures, so those need the second server).
struct S3Fixture: Sendable {
    let signing: MotoServer
    let accessKeyID: String
    let secretAccessKey: String
    let anonymous: MotoServer
    /// The bytes of `s3://stac-assets/scenes/private scene.tif` on ``signing``.
    let privateObject: Data
    /// The bytes of `s3://open-data/public/hello.tif` on ``anonymous``.
    let publicObject: Data

    @TaskLocal static var current: S3Fixture?

    static let signingSetup = """
        import boto3, json, sys
        endpoint, path = sys.argv[1], sys.argv[2]
        kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam = boto3.client("iam", **kw)
        iam.create_user(UserName="stac")
        key = iam.create_access_key(UserName="stac")["AccessKey"]
        iam.put_user_policy(UserName="stac", PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        s3 = boto3.client("s3", **kw)
        s3.create_bucket(Bucket="stac-assets")
        s3.put_object(Bucket="stac-assets", Key="scenes/private scene.tif", Body=open(path, "rb").read())
        print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
        """
    /// The number of calls above, after which moto starts verifying signatures.
    static let signingSetupCalls = 5

    static let anonymousSetup = """
        import boto3, sys
        endpoint, path = sys.argv[1], sys.argv[2]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        s3.create_bucket(Bucket="open-data")
        s3.put_object(Bucket="open-data", Key="public/hello.tif", Body=open(path, "rb").read(), ACL="public-read")
        s3.put_object(Bucket="open-data", Key="private/secret.tif", Body=b"not for you")
        """

    static func start() async throws -> S3Fixture {
        let files = try TemporaryDirectory()
        let privateObject = testBytes(1 << 20 + 777, seed: 7)
        let publicObject = testBytes(300_001, seed: 8)
        let privateFile = try files.write(privateObject, to: "private.bin")
        let publicFile = try files.write(publicObject, to: "public.bin")
        async let signingServer = MotoServer.start(initialNoAuthActions: signingSetupCalls)
        async let anonymousServer = MotoServer.start()
        let (signing, anonymous) = try await (signingServer, anonymousServer)
        do {
            let keys = try await signing.python(signingSetup, arguments: [privateFile.path])
            let parsed = try JSONSerialization.jsonObject(with: Data(keys.utf8)) as? [String: String]
            guard let id = parsed?["id"], let secret = parsed?["secret"] else {
                throw TestFailure("no keys in \(keys)")
            }
            _ = try await anonymous.python(anonymousSetup, arguments: [publicFile.path])
            return S3Fixture(
                signing: signing, accessKeyID: id, secretAccessKey: secret, anonymous: anonymous,
                privateObject: privateObject, publicObject: publicObject)
        } catch {
            signing.stop()
            anonymous.stop()
            throw error
        }
    }

    func stop() {
        signing.stop()
        anonymous.stop()
    }
}

/// Starts the moto servers once around the whole suite it is attached to and stops them after.
struct S3FixtureTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let fixture = try await S3Fixture.start()
        do {
            try await S3Fixture.$current.withValue(fixture) { try await function() }
            fixture.stop()
        } catch {
            fixture.stop()
            throw error
        }
    }
}

extension Trait where Self == S3FixtureTrait {
    /// Runs the suite against moto servers, see ``S3Fixture``.
    static var motoServers: Self { S3FixtureTrait() }
}
