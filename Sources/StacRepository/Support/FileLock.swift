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

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}
