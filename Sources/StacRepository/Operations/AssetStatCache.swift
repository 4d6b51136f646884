import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A stat cache for local asset originals, like git's index: (device, inode, size, mtime,
/// ctime) → SHA-256. A re-ingest hashes a local original again only when one of these changed,
/// so an unchanged re-ingest reads no asset bytes.
///
/// Kept in the tool's state directory (`cache/asset-stat`, one line per file), never committed; losing it
/// only costs a re-hash. An entry is not trusted when the file changed within
/// ``racyWindow`` seconds of the moment it was hashed ("racily clean", as git says): a write
/// in the same timestamp tick could otherwise go unnoticed.
final class AssetStatCache: @unchecked Sendable {
    struct Stamp: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var mtime: Int64
        var ctime: Int64

        init(device: UInt64, inode: UInt64, size: Int64, mtime: Int64, ctime: Int64) {
            self.device = device
            self.inode = inode
            self.size = size
            self.mtime = mtime
            self.ctime = ctime
        }

        /// The stamp of `path` now, nil when it is not a readable regular file.
        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        }
    }

    struct Entry {
        var stamp: Stamp
        var sha256: String
    }

    private struct Contents {
        var entries: [String: Entry] = [:]
    }

    /// The first line of the file; the others are `sha256 size mtime ctime device inode path`.
    static let header = "stac-repository asset-stat cache v1"

    /// Seconds before the hashing time within which a change makes an entry untrusted.
    static let racyWindow: Int64 = 2

    let file: String
    private let lock = NSLock()
    private var contents: Contents
    private var dirty = false
    /// Lookups answered from the cache, and files hashed, in this run (logged by ingest).
    private(set) var hits = 0
    private(set) var hashed = 0

    init(stateDirectory: URL) {
        file = stateDirectory.appendingPathComponent("cache/asset-stat").path
        contents = (try? FS.read(file)).flatMap { $0 }.map(Self.parse) ?? Contents()
    }

    /// Reads the line format (a plain format: JSONDecoder costs more than the lookups it serves).
    private static func parse(_ bytes: [UInt8]) -> Contents {
        var contents = Contents()
        let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard let first = lines.first, String(decoding: first, as: UTF8.self) == header else { return contents }
        contents.entries.reserveCapacity(lines.count)
        for line in lines.dropFirst() {
            let fields = line.split(separator: 0x20, maxSplits: 6, omittingEmptySubsequences: false)
            guard fields.count == 7, let size = Int64(String(decoding: fields[1], as: UTF8.self)),
                let mtime = Int64(String(decoding: fields[2], as: UTF8.self)),
                let ctime = Int64(String(decoding: fields[3], as: UTF8.self)),
                let device = UInt64(String(decoding: fields[4], as: UTF8.self)),
                let inode = UInt64(String(decoding: fields[5], as: UTF8.self))
            else { continue }
            let stamp = Stamp(device: device, inode: inode, size: size, mtime: mtime, ctime: ctime)
            contents.entries[String(decoding: fields[6], as: UTF8.self)] = Entry(
                stamp: stamp, sha256: String(decoding: fields[0], as: UTF8.self))
        }
        return contents
    }

    /// The SHA-256 and size of the local file `path`, from the cache when its stamp is unchanged,
    /// else by reading it (and remembering the answer).
    /// - Returns: nil when the file is missing or unreadable.
    func digest(of path: String) -> (sha256: String, size: Int64)? {
        guard let before = Stamp(path: path) else { return nil }
        lock.lock()
        let cached = contents.entries[path]
        lock.unlock()
        if let cached, cached.stamp == before {
            lock.lock()
            hits += 1
            lock.unlock()
            return (cached.sha256, before.size)
        }
        let hashTime = Self.now()
        guard let digest = try? sha256OfFile(path) else { return nil }
        lock.lock()
        hashed += 1
        lock.unlock()
        record(path, stamp: before, sha256: digest.hex, hashTime: hashTime)
        return (digest.hex, digest.size)
    }

    /// The cached SHA-256 and size of `path` when its stamp is unchanged since it was hashed, else nil.
    func trusted(_ path: String) -> (sha256: String, size: Int64)? {
        guard let now = Stamp(path: path) else { return nil }
        lock.lock()
        defer { lock.unlock() }
        guard let cached = contents.entries[path], cached.stamp == now else { return nil }
        hits += 1
        return (cached.sha256, now.size)
    }

    /// Hashes `path` (always reading it) and remembers the answer with the stamp it had before.
    /// - Throws: when the file cannot be read.
    func hash(_ path: String) throws -> (hex: String, size: Int64) {
        let before = Stamp(path: path)
        let hashTime = Self.now()
        let digest = try sha256OfFile(path)
        lock.lock()
        hashed += 1
        lock.unlock()
        if let before, before.size == digest.size {
            record(path, stamp: before, sha256: digest.hex, hashTime: hashTime)
        }
        return digest
    }

    /// Remembers that `path`, whose stamp was `stamp` before it was read at `hashTime`, has
    /// this SHA-256; ignored when the file changed since, or too close to `hashTime`.
    func record(_ path: String, stamp: Stamp, sha256: String, hashTime: Int64) {
        guard Stamp(path: path) == stamp, max(stamp.mtime, stamp.ctime) < hashTime - Self.racyWindow * 1_000_000_000
        else { return }
        lock.lock()
        contents.entries[path] = Entry(stamp: stamp, sha256: sha256)
        dirty = true
        lock.unlock()
    }

    /// Writes the cache when it changed (atomically; a failure only costs re-hashing later).
    func save() {
        lock.lock()
        defer { lock.unlock() }
        guard dirty else { return }
        var text = Self.header + "\n"
        for (path, e) in contents.entries where !path.contains("\n") {
            let s = e.stamp
            text += "\(e.sha256) \(s.size) \(s.mtime) \(s.ctime) \(s.device) \(s.inode) \(path)\n"
        }
        try? FS.writeAtomically(Array(text.utf8), to: file)
        dirty = false
    }

    /// Nanoseconds since the epoch.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
