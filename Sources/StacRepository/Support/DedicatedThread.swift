import Foundation

/// Runs blocking work (a libgit2 commit with its ref-lock retry, a flock wait, a long file loop)
/// on a thread of its own and resumes the awaiting task when it is done, so that no thread of
/// Swift's cooperative pool (two on a two-core machine) ever waits. See docs/architecture.md.
enum DedicatedThread {
    static func run<T>(_ name: String, _ body: @escaping () throws -> T) async throws -> T {
        let work = UncheckedTransfer(body)
        return try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<UncheckedTransfer<T>, any Error>) in
            let thread = Thread {
                do {
                    continuation.resume(returning: UncheckedTransfer(try work.value()))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = name
            thread.start()
        }.value
    }
}

/// Carries a value used by one thread at a time across the hop of ``DedicatedThread/run(_:_:)``:
/// the awaiting task is suspended while the thread runs.
struct UncheckedTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
