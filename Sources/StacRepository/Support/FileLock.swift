import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive advisory lock (flock) on a file. The kernel drops it when the process dies,
/// so a crash never leaves a stale lock behind.
final class FileLock: @unchecked Sendable {
    private let fd: Int32
    let path: String

    /// Takes the lock; with `wait` false, fails at once when another process holds it. With
    /// `wait`, tells `onWait` who holds it (once) before blocking until it is released.
    init(
        path: String, wait: Bool, holderDescription: String, onWait: (@Sendable (String) -> Void)? = nil
    ) throws {
        self.path = path
        try FS.makeDirectories((path as NSString).deletingLastPathComponent)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw FS.storageError("open the lock file", path) }
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        if !locked, errno == EWOULDBLOCK, wait {
            let holder = Self.holder(path)
            onWait?(
                "The repository is locked by another stac-repository process\(holder.isEmpty ? "" : " (\(holder))"); waiting for it to finish (Ctrl-C to stop)."
            )
            locked = flock(fd, LOCK_EX) == 0
        }
        if !locked, !wait { locked = Self.waitForRecovery(fd, path: path) }
        if !locked {
            let e = errno
            let holder = Self.holder(path)
            close(fd)
            if e == EWOULDBLOCK {
                let by = holder.isEmpty ? "" : " (\(holder))"
                throw StacRepositoryError(
                    .locked,
                    "The repository is locked by another stac-repository process\(by); wait for it to finish or pass --wait."
                )
            }
            throw FS.storageError("lock", path, e)
        }
        self.fd = fd
        let text = Array("pid \(getpid()): \(holderDescription)\n".utf8)
        ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// What the lock file says about its holder ("pid 12: ingest").
    private static func holder(_ path: String) -> String {
        (try? FS.read(path)).map { String(decoding: $0, as: UTF8.self) }?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// What a reader writes into the lock while it finishes a dead writer's commit.
    static let recoveryPurpose = "recovery of an interrupted commit by a reader"

    /// A writer that finds the lock held by a reader's recovery waits for it (it takes
    /// milliseconds) instead of failing: readers must never make a writer fail. The holder's
    /// text is written just after the lock is taken, so it is looked at for a few milliseconds.
    /// - Returns: true once the lock is held.
    private static func waitForRecovery(_ fd: Int32, path: String) -> Bool {
        guard errno == EWOULDBLOCK else { return false }
        for _ in 0..<10 {
            let holder = (try? FS.read(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if holder.contains(recoveryPurpose) { return flock(fd, LOCK_EX) == 0 }
            usleep(5_000)
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
        }
        errno = EWOULDBLOCK
        return false
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
