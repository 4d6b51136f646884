import Foundation

/// Runs blocking work (file copies, hashing, libgit2, short waits for a running commit) on a
/// thread of its own, so that Swift's cooperative pool (2 threads here) is never blocked.
func offPool<T>(_ body: @escaping () throws -> T) async throws -> T {
    let work = UncheckedBox(body)
    return try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<UncheckedBox<T>, any Error>) in
        Thread.detachNewThread {
            do {
                continuation.resume(returning: UncheckedBox(try work.value()))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }.value
}

/// Carries a value that is used by one thread at a time across the thread hop of ``offPool(_:)``.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
