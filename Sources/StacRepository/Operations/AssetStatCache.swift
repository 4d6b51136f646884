import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A stat cache for local asset originals, like git's index: (device, inode, size, mtime,
/// ctime) → SHA-256. A re-ingest hashes a local original again only when one of these changed,
/// so an unchanged re-ingest reads no asset bytes.
///
/// Kept in the tool's state directory (`cache/asset-stat/00` … `ff`: 256 shards by a hash of the
/// path, one line per file), never committed; losing it only costs a re-hash. A command reads only
/// the shards of the paths it asks about and writes only those it changed, so a one-item ingest
/// into a repository of a million assets reads a few kilobytes, not the whole cache. An entry is not trusted when the file changed within
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

        /// Whether this stamp, taken at `time` (nanoseconds since the epoch), can prove the file
        /// unchanged later: it was last changed ``AssetStatCache/racyWindow`` or more before, so
        /// a later write cannot have kept its times ("racily clean", as git says).
        func isTrustworthy(takenAt time: Int64) -> Bool {
            max(mtime, ctime) < time - AssetStatCache.racyWindow * 1_000_000_000
        }
    }

    struct Entry {
        var stamp: Stamp
        var sha256: String
    }

    private struct Contents {
        var entries: [String: Entry] = [:]
    }

    /// How many shard files the cache is split into.
    static let shardCount = 256

    /// The first line of the file; the others are `sha256 size mtime ctime device inode path`.
    static let header = "stac-repository asset-stat cache v1"

    /// Seconds before the hashing time within which a change makes an entry untrusted.
    static let racyWindow: Int64 = 2

    /// The directory of the shard files.
    let directory: String
    private let lock = NSLock()
    /// The shards read so far, by number.
    private var shards: [Int: Contents] = [:]
    private var dirty: Set<Int> = []
    /// Lookups answered from the cache, and files hashed, in this run (logged by ingest).
    private(set) var hits = 0
    private(set) var hashed = 0

    init(stateDirectory: URL) {
        directory = stateDirectory.appendingPathComponent("cache/asset-stat").path
    }

    /// The shard of `path`: FNV-1a of its bytes, modulo ``shardCount`` (stable across runs).
    static func shard(of path: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(shardCount))
    }

    private func shardFile(_ number: Int) -> String {
        directory + "/" + String(format: "%02x", number)
    }

    /// The entry of `path`, reading its shard on first use. Call with `lock` held.
    private func entry(_ path: String) -> Entry? {
        let number = Self.shard(of: path)
        if shards[number] == nil {
            // An earlier version kept one file at `cache/asset-stat`: not a directory, so no shard
            // reads; the first save replaces it.
            shards[number] = (try? FS.read(shardFile(number))).flatMap { $0 }.map(Self.parse) ?? Contents()
        }
        return shards[number]?.entries[path]
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
        let cached = entry(path)
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
        guard let cached = entry(path), cached.stamp == now else { return nil }
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
        guard Stamp(path: path) == stamp, stamp.isTrustworthy(takenAt: hashTime) else { return }
        lock.lock()
        _ = entry(path)
        let number = Self.shard(of: path)
        shards[number]?.entries[path] = Entry(stamp: stamp, sha256: sha256)
        dirty.insert(number)
        lock.unlock()
    }

    /// Writes the shards that changed (each atomically; a failure only costs re-hashing later).
    func save() {
        lock.lock()
        defer { lock.unlock() }
        guard !dirty.isEmpty else { return }
        // The single file of an earlier version is in the way of the shard directory.
        if !FS.isDirectory(directory) {
            unlink(directory)
            try? FS.makeDirectories(directory)
        }
        for number in dirty.sorted() {
            guard let shard = shards[number] else { continue }
            var text = Self.header + "\n"
            for (path, e) in shard.entries.sorted(by: { $0.key < $1.key }) where !path.contains("\n") {
                let s = e.stamp
                text += "\(e.sha256) \(s.size) \(s.mtime) \(s.ctime) \(s.device) \(s.inode) \(path)\n"
            }
            try? FS.writeAtomically(Array(text.utf8), to: shardFile(number))
        }
        dirty.removeAll()
    }

    /// Nanoseconds since the epoch.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
