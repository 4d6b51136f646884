import Crypto
import FlyingFox
import FlyingSocks
import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

/// A temporary directory removed when the test ends.
struct TemporaryDirectory: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("asset-transfer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// Writes `data` to `name` and returns the file's URL.
    func write(_ data: Data, to name: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try data.write(to: file)
        return file
    }

    /// The names of the files left in the directory.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
func testBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> Data {
    var state = seed | 1
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return Data(bytes)
}

func sha256Hex(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

func sha256Hex(ofFile url: URL) throws -> String {
    sha256Hex(try Data(contentsOf: url))
}

/// A configuration for tests: short retry delays, no ambient AWS settings, and timeouts long
/// enough that a loaded machine never turns a slow answer into an extra retry (the tests count
/// requests); the timeout tests pass their own short `lowSpeedTimeout`.
func testConfiguration(
    jobs: Int = 8, retries: Int = 4, environment: [String: String] = [:], lowSpeedTimeout: Double = 60
) -> TransferConfiguration {
    TransferConfiguration(
        jobs: jobs, retries: retries, retryBaseDelay: 0.01, maxRetryDelay: 5, environment: environment,
        connectTimeout: 30, lowSpeedTimeout: lowSpeedTimeout)
}

/// A thread-safe box for counters and recorded values shared with server handlers.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) -> R) -> R {
        lock.withLock { body(&value) }
    }

    var current: Value { withLock { $0 } }
}

/// A FlyingFox server on 127.0.0.1 and an ephemeral port, stopped by ``stop()``.
final class TestHTTPServer: Sendable {
    let server: HTTPServer
    let task: Task<Void, any Error>
    let port: UInt16

    static func start(_ configure: (HTTPServer) async -> Void) async throws -> TestHTTPServer {
        let server = HTTPServer(
            address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 30, logger: .disabled)
        await configure(server)
        // The server runs on threads of its own, so that it answers at once however busy the
        // cooperative pool is with the rest of the suite (all of it runs in one process).
        let task: Task<Void, any Error>
        if #available(macOS 15.0, *) {
            task = Task(executorPreference: ThreadPerJobExecutor.shared) { try await server.run() }
        } else {
            task = Task { try await server.run() }
        }
        try await server.waitUntilListening(timeout: 60)
        guard case .ip4(_, let port)? = await server.listeningAddress else {
            task.cancel()
            throw TestFailure("the test server did not report an IPv4 port")
        }
        return TestHTTPServer(server: server, task: task, port: port)
    }

    private init(server: HTTPServer, task: Task<Void, any Error>, port: UInt16) {
        self.server = server
        self.task = task
        self.port = port
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() async {
        await server.stop(timeout: 0)
        task.cancel()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A response body that sends its first `cut` bytes and then breaks the connection.
struct BrokenBody: AsyncBufferedSequence, Sendable {
    typealias Element = UInt8
    let data: Data
    let cut: Int

    struct AsyncIterator: AsyncBufferedIteratorProtocol {
        let data: Data
        let cut: Int
        var sent = false

        mutating func next() async throws -> UInt8? {
            fatalError("unused: FlyingFox reads buffers")
        }

        mutating func nextBuffer(suggested count: Int) async throws -> Data? {
            guard !sent else { throw TestFailure("connection cut on purpose") }
            sent = true
            return data.prefix(cut)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(data: data, cut: cut) }
}

extension Result where Failure == TransferError {
    /// The success value, or a recorded issue.
    func value(sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Success? {
        switch self {
        case .success(let value): return value
        case .failure(let error):
            Issue.record("unexpected failure: \(error.message)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// The error, or a recorded issue.
    func error(sourceLocation: Testing.SourceLocation = #_sourceLocation) -> TransferError? {
        switch self {
        case .success:
            Issue.record("unexpected success", sourceLocation: sourceLocation)
            return nil
        case .failure(let error): return error
        }
    }
}

/// Runs `body` against a fresh server configured by `routes`, stopping the server afterwards.
func withHTTPServer<T>(
    _ routes: (HTTPServer) async -> Void, _ body: (TestHTTPServer) async throws -> T
) async throws -> T {
    // The server, the test's own code and the engine's child tasks all run on the servers'
    // executor: a cooperative pool kept busy by the rest of the suite (CPU-heavy synchronous
    // tests run there) cannot delay them past the timeouts these tests check.
    if #available(macOS 15.0, *) {
        return try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) {
            try await withHTTPServerOnCurrentExecutor(routes, body)
        }
    }
    return try await withHTTPServerOnCurrentExecutor(routes, body)
}

private func withHTTPServerOnCurrentExecutor<T>(
    _ routes: (HTTPServer) async -> Void, _ body: (TestHTTPServer) async throws -> T
) async throws -> T {
    let server = try await TestHTTPServer.start(routes)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
