import Foundation

/// Crash points for the crash-safety tests, in two forms:
///
/// - in-process (contract tests): a test sets ``CrashInjector/hook`` on a backend's
///   ``StorageBackend/crashes``; at the named point the hook throws, which abandons the
///   operation there (nothing after the point runs) and the test then opens the repository
///   afresh and checks that it recovers to exactly before or after;
/// - whole-process (end-to-end kill tests of the debug binary): when `STAC_REPOSITORY_CRASH_AT`
///   names a point, the process SIGKILLs itself there, exactly as a power cut would stop it.
///
/// Both are compiled only into debug builds: in a release build the calls are empty.
public final class CrashInjector: @unchecked Sendable {
    #if DEBUG
        private let lock = NSLock()
        private var _hook: (@Sendable (String) throws -> Void)?
        /// Called at every crash point of this backend (test-only, debug builds).
        public var hook: (@Sendable (String) throws -> Void)? {
            get { lock.withLock { _hook } }
            set { lock.withLock { _hook = newValue } }
        }
    #endif

    public init() {}

    /// A named point where a crash must be survivable.
    @inline(__always) func point(_ name: String) throws {
        #if DEBUG
            TestHooks.crashPoint(name)
            try hook?(name)
        #endif
    }
}

/// The error an in-process crash hook throws (tests).
public struct SimulatedCrash: Error, CustomStringConvertible {
    public let point: String
    public init(point: String) { self.point = point }
    public var description: String { "simulated crash at \(point)" }
}

enum TestHooks {
    #if DEBUG
        static let crashAt: String? = ProcessInfo.processInfo.environment["STAC_REPOSITORY_CRASH_AT"]
        nonisolated(unsafe) static var counts: [String: Int] = [:]

        /// `STAC_REPOSITORY_CRASH_AT=name` or `name:N` (the N-th time the point is reached).
        static func crashPoint(_ name: String) {
            guard let crashAt else { return }
            let parts = crashAt.split(separator: ":")
            guard parts.first.map(String.init) == name else { return }
            let n = (counts[name] ?? 0) + 1
            counts[name] = n
            let wanted = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
            if n == wanted { kill(getpid(), SIGKILL) }
        }

        /// `STAC_REPOSITORY_TEST_HOLD_INDEX=1`: a commit run updates `.git/index` only before
        /// it waits for input and at its end, never in between (the tests of what a kill in a
        /// run leaves; left to the timing rule, a small repository updates it almost every commit).
        static let holdIndexInCommitRuns = ProcessInfo.processInfo.environment["STAC_REPOSITORY_TEST_HOLD_INDEX"] == "1"
    #else
        @inline(__always) static func crashPoint(_ name: String) {}
        static let holdIndexInCommitRuns = false
    #endif
}
