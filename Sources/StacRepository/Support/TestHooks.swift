import Foundation

/// Crash points for the crash-safety tests: when `STAC_REPOSITORY_CRASH_AT` names a point, the
/// process kills itself there (SIGKILL), exactly as a power cut would stop it.
///
/// Compiled only into debug builds (the end-to-end crash tests run the debug binary): a release
/// binary has no such environment variable and the calls are empty.
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
    #else
        @inline(__always) static func crashPoint(_ name: String) {}
    #endif
}
