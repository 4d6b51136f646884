import Foundation

/// Reusable threads for blocking work (libcurl transfers, POSIX read loops, lock waits, libgit2
/// commits), so the cooperative pool that runs Swift tasks is never blocked and an ingest of
/// 100,000 assets does not create 100,000 threads.
///
/// A job runs on an idle thread when there is one; a new thread starts only when every existing
/// one is busy. The number of threads a process creates is therefore the most jobs that ran at
/// once (at most `jobs` transfers per engine, plus a lock wait or a commit), not the number of
/// assets. There is deliberately no cap: a job may wait for another job (a lock wait for a
/// commit, a reader for its writer), and a capped pool could then wait for itself. Idle threads
/// beyond ``keepIdle`` end after ``idleSeconds``, so a burst does not keep its threads.
final class TransferThreads: @unchecked Sendable {
    /// The process's pool.
    static let shared = TransferThreads()

    /// Idle threads kept without a time limit.
    let keepIdle: Int
    /// How long a thread beyond ``keepIdle`` waits for work before it ends.
    let idleSeconds: TimeInterval
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var idle = 0
    private var alive = 0
    /// Threads started since the process began (for tests and logs).
    private var startedTotal = 0

    init(keepIdle: Int = 8, idleSeconds: TimeInterval = 30) {
        self.keepIdle = keepIdle
        self.idleSeconds = idleSeconds
    }

    /// Threads this pool has started so far.
    var started: Int { condition.withLock { startedTotal } }

    /// Runs `body` on a pool thread and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: body()) }
        }
    }

    /// Queues `job`; starts a thread only when more jobs wait than threads are idle.
    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        let spawn = jobs.count - head > idle
        if spawn {
            alive += 1
            startedTotal += 1
        }
        condition.signal()
        condition.unlock()
        guard spawn else { return }
        let thread = Thread { [self] in work() }
        thread.name = "stac-repository worker"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func work() {
        condition.lock()
        while true {
            while head == jobs.count {
                idle += 1
                let signalled =
                    alive > keepIdle
                    ? condition.wait(until: Date(timeIntervalSinceNow: idleSeconds))
                    : {
                        condition.wait()
                        return true
                    }()
                idle -= 1
                if !signalled && head == jobs.count {
                    alive -= 1
                    condition.unlock()
                    return
                }
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
