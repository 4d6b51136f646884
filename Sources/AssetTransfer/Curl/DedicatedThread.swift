import Foundation

/// Runs blocking work (a libcurl transfer, a POSIX read loop, a lock wait, a commit) on a thread
/// of the process's ``TransferThreads`` pool, so the cooperative pool that runs Swift tasks is
/// never blocked. A thread is reused for the next job: the number of threads follows the jobs
/// running at once (the engine's task group admits at most `jobs` transfers), not the number of
/// assets.
enum DedicatedThread {
    /// `name` describes the work for the reader of the call site; pool threads are all named
    /// "stac-repository worker".
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await TransferThreads.shared.run(body)
    }
}

/// A flag set when the task awaiting a transfer is cancelled; transfer threads poll it.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool {
        lock.withLock { cancelled }
    }

    func cancel() {
        lock.withLock { cancelled = true }
    }
}
