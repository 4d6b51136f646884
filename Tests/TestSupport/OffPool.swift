public import Foundation
public import Testing

/// A task executor outside Swift's cooperative pool that runs each job on a thread of its own.
///
/// The pool has one thread per core (two here). A test that keeps a pool thread busy for
/// seconds (a synchronous libgit2 test building thousands of trees, a contract test committing
/// in a loop) is a thread no other test can use; two of them stop every task of the process,
/// including the in-process HTTP servers and the transfer engine of other tests, whose timeouts
/// then fire. Tests and servers that run here cannot starve anyone (docs/architecture.md).
/// A thread per job, not a bounded pool: a job may block its thread (FlyingSocks' event loop
/// waits in epoll_wait; a synchronous test runs to its end).
public final class ThreadPerJobExecutor: TaskExecutor {
    public static let shared = ThreadPerJobExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        Thread.detachNewThread { job.runSynchronously(on: executor) }
    }
}

/// Runs a test, or every test of a suite, on ``ThreadPerJobExecutor`` instead of the
/// cooperative pool: `@Suite(.offPool)` or `@Test(.offPool)`.
public struct OffPoolTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffPoolTrait {
    /// Runs the test (or suite) off Swift's cooperative pool (``OffPoolTrait``).
    public static var offPool: Self { Self() }
}
