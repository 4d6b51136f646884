import Foundation

/// Runs blocking work (a libcurl transfer, a POSIX read loop) on a thread of its own, so the
/// cooperative pool that runs Swift tasks is never blocked. At most `jobs` such threads exist at once
/// because the engine's task group admits at most `jobs` transfers.
enum DedicatedThread {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: body())
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
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
