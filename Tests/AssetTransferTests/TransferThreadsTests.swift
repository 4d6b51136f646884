import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

/// The pool that runs blocking transfer work: threads are reused, and a job may wait for another.
@Suite("Transfer threads", .offPool)
struct TransferThreadsTests {
    @Test("400 jobs, at most 4 at once: a handful of threads, not one per job")
    func threadsAreReused() async {
        let pool = TransferThreads()
        let running = Locked(0)
        let most = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<400 {
                if n >= 4 { await group.next() }
                group.addTask {
                    await pool.run {
                        let now = running.withLock { value -> Int in
                            value += 1
                            return value
                        }
                        most.withLock { $0 = max($0, now) }
                        usleep(200)
                        running.withLock { $0 -= 1 }
                    }
                }
            }
        }
        #expect(most.current <= 4)
        // A finished job's thread may not be idle yet when the next job arrives, so a few more
        // than 4 can start; a thread per job would be 400.
        #expect(pool.started <= 16, "\(pool.started) threads for 400 jobs")
    }

    @Test("a job that waits for a later job finishes (the pool has no cap to deadlock on)")
    func jobWaitingForAnotherJob() async {
        let pool = TransferThreads(keepIdle: 0, idleSeconds: 0.05)
        let gate = DispatchSemaphore(value: 0)
        async let first: Bool = pool.run { gate.wait(timeout: .now() + 30) == .success }
        await pool.run { gate.signal() }
        #expect(await first)
    }

    @Test("idle threads beyond the kept ones end, and the pool starts new ones for later work")
    func idleThreadsEnd() async {
        let pool = TransferThreads(keepIdle: 0, idleSeconds: 0.01)
        #expect(await pool.run { 1 } == 1)
        await pauseBriefly()
        #expect(await pool.run { 2 } == 2)
        #expect(pool.started == 2)
    }

    private func pauseBriefly() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { c.resume() }
        }
    }
}
