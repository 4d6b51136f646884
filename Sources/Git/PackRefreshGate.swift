internal import CLibGit2
internal import Foundation

/// Makes a pack backend's rescan of `objects/pack` (`git_odb_refresh`) cost one `stat` while the
/// folder is unchanged.
///
/// libgit2 rescans the folder whenever an object is not found, and writing an object first asks
/// whether it exists (`git_odb__freshen`), so every new object costs a rescan: a directory read
/// and, per file, a linear search of the packs already known. A long ingest writes a pack per
/// batch; with k packs each of a batch's ~20,000 new objects cost O(k²) string compares (about a
/// tenth of the time of a 1,000,000-item ingest). The gate runs the rescan only when the folder's
/// modification time differs from the one it had at the last rescan, and trusts that time only
/// when it was at least ``settled`` old then: a pack added within the file system's timestamp
/// granularity of an earlier change could keep the folder's time (git's "racy" rule).
enum PackRefreshGate {
    typealias Refresh = @convention(c) (UnsafeMutablePointer<git_odb_backend>?) -> Int32
    typealias Free = @convention(c) (UnsafeMutablePointer<git_odb_backend>?) -> Void

    private struct Gate {
        let refresh: Refresh
        let free: Free?
        let folder: String
        /// The folder's modification time at the last rescan, when it was settled then.
        var seen: timespec?
    }

    /// How old a folder time must be to be trusted: ten times a coarse kernel tick; two seconds
    /// on a file system whose times have no fraction (FAT, some network file systems).
    static let settled = 0.1
    static let settledWholeSeconds = 2.0

    nonisolated(unsafe) private static var gates: [UnsafeMutableRawPointer: Gate] = [:]
    private static let lock = NSLock()

    /// Installs the gate on `backend`, a pack backend reading `packFolder`.
    static func install(on backend: UnsafeMutablePointer<git_odb_backend>, packFolder: String) {
        guard let refresh = backend.pointee.refresh else { return }
        let gate = Gate(refresh: refresh, free: backend.pointee.free, folder: packFolder, seen: nil)
        lock.withLock { gates[UnsafeMutableRawPointer(backend)] = gate }
        backend.pointee.refresh = { PackRefreshGate.refresh($0) }
        backend.pointee.free = { PackRefreshGate.free($0) }
    }

    /// The addresses of the backends of `repository`'s object database that have a gate.
    static func gatedBackends(of repository: GitRepository) -> [Int] {
        guard let odb = try? ObjectDatabaseHandle(of: repository) else { return [] }
        var out: [Int] = []
        for n in 0..<git_odb_num_backends(odb.pointer) {
            var backend: UnsafeMutablePointer<git_odb_backend>?
            if git_odb_get_backend(&backend, odb.pointer, n) == 0, let backend, isGated(Int(bitPattern: backend)) {
                out.append(Int(bitPattern: backend))
            }
        }
        return out
    }

    /// Whether the backend at `address` has a gate (a freed backend removes its own).
    static func isGated(_ address: Int) -> Bool {
        guard let key = UnsafeMutableRawPointer(bitPattern: address) else { return false }
        return lock.withLock { gates[key] != nil }
    }

    private static func refresh(_ backend: UnsafeMutablePointer<git_odb_backend>?) -> Int32 {
        guard let backend, let gate = lock.withLock({ gates[UnsafeMutableRawPointer(backend)] }) else { return 0 }
        var info = stat()
        let before = stat(gate.folder, &info) == 0 ? info.st_mtim : nil
        if let before, let seen = gate.seen, before.tv_sec == seen.tv_sec, before.tv_nsec == seen.tv_nsec {
            return 0
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let result = gate.refresh(backend)
        var trusted: timespec?
        if result == 0, let before {
            let age = Double(now.tv_sec - before.tv_sec) + Double(now.tv_nsec - before.tv_nsec) / 1e9
            if age > (before.tv_nsec == 0 ? settledWholeSeconds : settled) { trusted = before }
        }
        lock.withLock { gates[UnsafeMutableRawPointer(backend)]?.seen = trusted }
        return result
    }

    private static func free(_ backend: UnsafeMutablePointer<git_odb_backend>?) {
        guard let backend else { return }
        let gate = lock.withLock { gates.removeValue(forKey: UnsafeMutableRawPointer(backend)) }
        gate?.free?(backend)
    }
}
