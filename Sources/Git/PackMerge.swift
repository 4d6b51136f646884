internal import CLibGit2
internal import Crypto
internal import Foundation

/// Rolls the small packs of `objects/pack` up into one, so that their number stays about the
/// logarithm of the objects stored instead of growing with every batch and every repack of loose
/// objects (libgit2 never runs `git gc`).
///
/// Each pack costs every object lookup a binary search of its index: at 1,000,000 items a long
/// ingest had left 202 packs, and a one-item ingest spent about a fifth of its time and half its
/// memory on them (docs/benchmarks.md, "Packs rolled up").
///
/// Like `git repack --geometric=2` the packs are sorted by object count and the smallest are
/// merged until every remaining pack holds at least twice the objects of all smaller ones
/// together; an object is copied O(log n) times over a repository's life. Unlike it, entries
/// are copied as they are stored, not decompressed and compressed again: a merge costs a
/// sequential read, a write and a SHA-1 of the bytes (the ~800 MB of a million items in a few
/// seconds). An object stored in several of the packs is kept once; a delta whose base moved
/// gets the base's new offset. Every copied entry's CRC-32 is checked against its pack's index,
/// so a damaged pack is refused, not spread. Packs with a `.keep`, `.promisor` or `.mtimes`
/// file are left alone, as git does.
///
/// Objects before removals: the new pack and its index are written under temporary names,
/// flushed, renamed (pack, then index) and their folder flushed before any merged pack is
/// removed (index first, so no reader finds an index without its pack). A crash at any point
/// leaves every object readable: at worst in two packs, or a temporary file the next merge
/// removes. The caller holds the repository's write lock; handles opened before a merge should
/// be reopened after it (a removed pack they had not read yet is gone).
public enum PackMerge {
    /// What a merge did.
    public struct Report: Sendable, Equatable {
        /// The packs merged.
        public let packs: Int
        /// The objects in the new pack.
        public let objects: Int
        /// The new pack's size in bytes.
        public let bytes: Int64
        /// The new pack's file name without extension (`pack-<sha-1>`).
        public let name: String
    }

    /// The prefix of this code's temporary files in the pack folder.
    static let temporaryPrefix = "tmp_stac_merge_"

    /// Merges the smallest packs of `packDirectory` when they break the geometric progression
    /// (factor `factor`); nil when there was nothing to merge.
    ///
    /// - Throws: ``GitError`` when a pack is damaged or the new one cannot be written; the packs
    ///   are then unchanged.
    @discardableResult
    public static func mergeGeometrically(packDirectory: String, factor: Int = 2) throws -> Report? {
        removeTemporaryFiles(in: packDirectory)
        let candidates = try mergeablePacks(in: packDirectory)
        let count = rollUpCount(candidates.map(\.objects), factor: factor)
        guard count >= 2 else { return nil }
        return try merge(packDirectory: packDirectory, names: candidates.prefix(count).map(\.name))
    }

    /// The packs of `packDirectory` that may be merged, smallest first: (name, object count).
    static func mergeablePacks(in packDirectory: String) throws -> [(name: String, objects: Int)] {
        let files = Set((try? FileManager.default.contentsOfDirectory(atPath: packDirectory)) ?? [])
        var packs: [(name: String, objects: Int)] = []
        for file in files where file.hasPrefix("pack-") && file.hasSuffix(".idx") {
            let name = String(file.dropLast(4))
            guard files.contains(name + ".pack"), !files.contains(name + ".keep"), !files.contains(name + ".promisor"),
                !files.contains(name + ".mtimes"), let objects = objectCount(indexFile: packDirectory + "/" + file)
            else { continue }
            packs.append((name, objects))
        }
        return packs.sorted { ($0.objects, $0.name) < ($1.objects, $1.name) }
    }

    /// How many of the smallest packs (counts sorted ascending) to merge: through the largest j
    /// whose count is below `factor` times all smaller counts together; 0 when none is.
    static func rollUpCount(_ counts: [Int], factor: Int) -> Int {
        var below = 0
        var last = -1
        for (j, count) in counts.enumerated() {
            if j > 0, count < factor * below { last = j }
            below += count
        }
        return last + 1
    }

    /// The object count a version-2 pack index records (the last fan-out entry), nil when the
    /// file is not one.
    static func objectCount(indexFile path: String) -> Int? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 8 + 1024)
        guard pread(fd, &header, header.count, 0) == header.count, header[0..<8].elementsEqual(indexMagic) else {
            return nil
        }
        return Int(bigEndian32(header, 8 + 255 * 4))
    }

    static let indexMagic: [UInt8] = [0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]

    /// Merges the packs `names` (file names without extension) of `packDirectory` into one and
    /// removes them.
    public static func merge(packDirectory: String, names: [String]) throws -> Report {
        let packs = try names.map { try SourcePack(directory: packDirectory, name: $0) }
        // Every object once, in SHA-1 order, from the first pack (in `names` order) holding it:
        // a delta's base then always comes from its own pack or an earlier one, so it is
        // written before the delta and no chain of bases can loop.
        var chosenPack: [UInt16] = []
        var chosenPosition: [UInt32] = []
        var outputOf = packs.map { [UInt32](repeating: 0, count: $0.count) }
        var heap = MergeHeap(packs: packs)
        var last: (pack: Int, position: Int)?
        while let (p, i) = heap.pop() {
            if let last, packs[last.pack].sha(last.position).elementsEqual(packs[p].sha(i)) {
                outputOf[p][i] = UInt32(chosenPack.count - 1)
                continue
            }
            outputOf[p][i] = UInt32(chosenPack.count)
            chosenPack.append(UInt16(p))
            chosenPosition.append(UInt32(i))
            last = (p, i)
        }
        let total = chosenPack.count
        guard total < Int(UInt32.max) else { throw failure("merge", "too many objects") }

        let stamp = "\(getpid())_\(UInt64.random(in: 0...UInt64.max))"
        let temporaryPack = packDirectory + "/" + temporaryPrefix + stamp + ".pack"
        let temporaryIndex = packDirectory + "/" + temporaryPrefix + stamp + ".idx"
        var finished = false
        defer {
            if !finished {
                unlink(temporaryPack)
                unlink(temporaryIndex)
            }
        }
        var newOffset = [UInt64](repeating: UInt64.max, count: total)
        var newCRC = [UInt32](repeating: 0, count: total)
        let packWriter = try HashingWriter(path: temporaryPack)
        try packWriter.write([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2] + bigEndian(UInt32(total)))
        var entry: [UInt8] = []
        for (p, pack) in packs.enumerated() {
            let reader = ChunkReader(fd: pack.packFD, name: pack.packPath)
            for k in 0..<pack.count {
                let i = Int(pack.byOffset[k])
                let start = pack.sortedOffsets[k]
                let end = k + 1 < pack.count ? pack.sortedOffsets[k + 1] : pack.packSize - 20
                let raw = try reader.bytes(at: start, count: Int(end - start))
                guard
                    UInt32(crc32(0, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(raw.count)))
                        == pack.crc(i)
                else {
                    throw failure(
                        "merge", "\(pack.packPath) is damaged: the object at offset \(start) fails its CRC-32")
                }
                let out = Int(outputOf[p][i])
                guard chosenPack[out] == p, chosenPosition[out] == i else { continue }
                let here = packWriter.offset
                newOffset[out] = here
                // The type and size header, then for an offset delta the distance to its base.
                var n = 0
                while n < raw.count, raw[n] & 0x80 != 0 { n += 1 }
                n += 1
                guard n <= raw.count else {
                    throw failure("merge", "\(pack.packPath) has a truncated entry at \(start)")
                }
                let type = (raw[0] >> 4) & 7
                guard type != 0, type != 5 else {
                    throw failure("merge", "\(pack.packPath) has an entry of unknown type at \(start)")
                }
                guard type != 6 else {
                    var m = n
                    guard m < raw.count else {
                        throw failure("merge", "\(pack.packPath) has a truncated entry at \(start)")
                    }
                    var distance = UInt64(raw[m] & 0x7f)
                    while raw[m] & 0x80 != 0 {
                        m += 1
                        guard m < raw.count, distance < (1 << 56) else {
                            throw failure("merge", "\(pack.packPath) has a bad delta at \(start)")
                        }
                        distance = ((distance + 1) << 7) | UInt64(raw[m] & 0x7f)
                    }
                    m += 1
                    guard distance > 0, distance <= start, let b = pack.position(atOffset: start - distance) else {
                        throw failure("merge", "\(pack.packPath) has a delta at \(start) without its base")
                    }
                    let base = newOffset[Int(outputOf[p][b])]
                    guard base < here else { throw failure("merge", "a delta base was not written first") }
                    entry.removeAll(keepingCapacity: true)
                    entry += raw[0..<n]
                    entry += offsetDistance(here - base)
                    entry += raw[m...]
                    newCRC[out] = entry.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
                    try packWriter.write(entry)
                    continue
                }
                newCRC[out] = pack.crc(i)
                try packWriter.write(raw)
            }
        }
        let packChecksum = try packWriter.finish(appendingDigest: true)
        let name = "pack-" + packChecksum.map { String(format: "%02x", $0) }.joined()

        // The index: fan-out, names, CRCs, offsets (31 bits, or an index into 64-bit ones).
        let indexWriter = try HashingWriter(path: temporaryIndex)
        try indexWriter.write(indexMagic)
        var fanout = [UInt32](repeating: 0, count: 256)
        for out in 0..<total { fanout[Int(packs[Int(chosenPack[out])].sha(Int(chosenPosition[out]))[0])] += 1 }
        var running: UInt32 = 0
        var table: [UInt8] = []
        table.reserveCapacity(1024)
        for n in 0..<256 {
            running += fanout[n]
            table += bigEndian(running)
        }
        try indexWriter.write(table)
        for out in 0..<total { try indexWriter.write(packs[Int(chosenPack[out])].sha(Int(chosenPosition[out]))) }
        var words: [UInt8] = []
        words.reserveCapacity(total * 4)
        for out in 0..<total { words += bigEndian(newCRC[out]) }
        try indexWriter.write(words)
        words.removeAll(keepingCapacity: true)
        var large: [UInt8] = []
        var largeCount: UInt32 = 0
        for out in 0..<total {
            let offset = newOffset[out]
            guard offset != UInt64.max else { throw failure("merge", "an object was not copied") }
            if offset < 0x8000_0000 {
                words += bigEndian(UInt32(offset))
            } else {
                words += bigEndian(0x8000_0000 | largeCount)
                large += bigEndian(UInt32(offset >> 32)) + bigEndian(UInt32(offset & 0xffff_ffff))
                largeCount += 1
            }
        }
        try indexWriter.write(words)
        try indexWriter.write(large)
        try indexWriter.write(packChecksum)
        _ = try indexWriter.finish(appendingDigest: true)

        // Objects before removals.
        let finalPack = packDirectory + "/" + name + ".pack"
        let finalIndex = packDirectory + "/" + name + ".idx"
        guard rename(temporaryPack, finalPack) == 0 else { throw failure("rename", finalPack) }
        guard rename(temporaryIndex, finalIndex) == 0 else {
            unlink(finalPack)
            throw failure("rename", finalIndex)
        }
        finished = true
        chmod(finalPack, 0o444)
        chmod(finalIndex, 0o444)
        try syncDirectory(packDirectory)
        // A multi-pack index naming a removed pack would send readers to it.
        unlink(packDirectory + "/multi-pack-index")
        for pack in packs where pack.name != name {
            for ext in [".idx", ".pack", ".rev", ".bitmap"] { unlink(packDirectory + "/" + pack.name + ext) }
        }
        return Report(packs: packs.count, objects: total, bytes: Int64(packWriter.offset), name: name)
    }

    /// Removes temporary files an interrupted merge left.
    static func removeTemporaryFiles(in packDirectory: String) {
        for file in (try? FileManager.default.contentsOfDirectory(atPath: packDirectory)) ?? []
        where file.hasPrefix(temporaryPrefix) {
            unlink(packDirectory + "/" + file)
        }
    }

    /// The varint of an offset delta's distance to its base (gitformat-pack: each further byte
    /// adds one before shifting).
    static func offsetDistance(_ value: UInt64) -> [UInt8] {
        var v = value
        var bytes: [UInt8] = [UInt8(v & 0x7f)]
        v >>= 7
        while v > 0 {
            v -= 1
            bytes.append(0x80 | UInt8(v & 0x7f))
            v >>= 7
        }
        return bytes.reversed()
    }

    static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }

    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }

    static func failure(_ function: String, _ message: String) -> GitError {
        GitError(code: .generic, function: "pack merge (\(function))", message: message)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    static func bigEndian32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }
}

/// A pack and its version-2 index, the index mapped read-only.
private final class SourcePack {
    let name: String
    let packPath: String
    let packFD: Int32
    let packSize: UInt64
    let count: Int
    private let index: UnsafeRawBufferPointer
    /// Positions (in SHA-1 order) sorted by offset, and those offsets.
    let byOffset: [UInt32]
    let sortedOffsets: [UInt64]

    init(directory: String, name: String) throws {
        self.name = name
        let indexPath = directory + "/" + name + ".idx"
        let packPath = directory + "/" + name + ".pack"
        self.packPath = packPath
        let ifd = open(indexPath, O_RDONLY | O_CLOEXEC)
        guard ifd >= 0 else { throw PackMerge.failure("open", indexPath) }
        defer { close(ifd) }
        var status = stat()
        guard fstat(ifd, &status) == 0, status.st_size >= 8 + 1024 + 40 else {
            throw PackMerge.failure("merge", "\(indexPath) is not a pack index")
        }
        let size = Int(status.st_size)
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, ifd, 0), map != UnsafeMutableRawPointer(bitPattern: -1)
        else { throw PackMerge.failure("mmap", indexPath) }
        let index = UnsafeRawBufferPointer(start: map, count: size)
        let packFD = open(packPath, O_RDONLY | O_CLOEXEC)
        var packStatus = stat()
        guard packFD >= 0, fstat(packFD, &packStatus) == 0 else {
            munmap(map, size)
            if packFD >= 0 { close(packFD) }
            throw PackMerge.failure("open", packPath)
        }
        let packSize = UInt64(packStatus.st_size)
        func word(_ at: Int) -> UInt32 {
            UInt32(index[at]) << 24 | UInt32(index[at + 1]) << 16 | UInt32(index[at + 2]) << 8 | UInt32(index[at + 3])
        }
        let n = Int(word(8 + 255 * 4))
        var byOffset: [UInt32] = []
        var sortedOffsets: [UInt64] = []
        var valid = index.prefix(8).elementsEqual(PackMerge.indexMagic) && size >= 8 + 1024 + n * 28 + 40
        if valid {
            var previous: UInt32 = 0
            for k in 0..<256 {
                let f = word(8 + k * 4)
                if f < previous { valid = false }
                previous = f
            }
        }
        var header = [UInt8](repeating: 0, count: 12)
        var trailer = [UInt8](repeating: 0, count: 20)
        if valid, packSize >= 32, pread(packFD, &header, 12, 0) == 12,
            pread(packFD, &trailer, 20, off_t(packSize - 20)) == 20
        {
            valid =
                header[0..<4].elementsEqual("PACK".utf8) && (header[7] == 2 || header[7] == 3)
                && PackMerge.bigEndian32(header, 8) == UInt32(n)
                && trailer.elementsEqual(index[(size - 40)..<(size - 20)])
        } else {
            valid = false
        }
        let largeBase = 8 + 1024 + n * 28
        let largeCount = valid ? (size - 40 - largeBase) / 8 : 0
        if valid {
            var pairs: [(UInt64, UInt32)] = []
            pairs.reserveCapacity(n)
            for i in 0..<n {
                let w = word(8 + 1024 + n * 24 + i * 4)
                var offset = UInt64(w)
                if w & 0x8000_0000 != 0 {
                    let k = Int(w & 0x7fff_ffff)
                    guard k < largeCount else {
                        valid = false
                        break
                    }
                    offset = UInt64(word(largeBase + k * 8)) << 32 | UInt64(word(largeBase + k * 8 + 4))
                }
                pairs.append((offset, UInt32(i)))
            }
            pairs.sort { $0.0 < $1.0 }
            byOffset = pairs.map(\.1)
            sortedOffsets = pairs.map(\.0)
            if let first = sortedOffsets.first, first < 12 { valid = false }
            if let last = sortedOffsets.last, last >= packSize - 20 { valid = false }
            if n > 1 { for k in 1..<n where sortedOffsets[k] <= sortedOffsets[k - 1] { valid = false } }
        }
        guard valid else {
            munmap(map, size)
            close(packFD)
            throw PackMerge.failure("merge", "\(packPath) or its index is damaged or not a version-2 pack")
        }
        self.index = index
        self.packFD = packFD
        self.packSize = packSize
        self.count = n
        self.byOffset = byOffset
        self.sortedOffsets = sortedOffsets
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: index.baseAddress), index.count)
        close(packFD)
    }

    /// The SHA-1 of the object at position `i` of the index.
    func sha(_ i: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: index[(8 + 1024 + i * 20)..<(8 + 1024 + i * 20 + 20)])
    }

    func crc(_ i: Int) -> UInt32 {
        let at = 8 + 1024 + count * 20 + i * 4
        return UInt32(index[at]) << 24 | UInt32(index[at + 1]) << 16 | UInt32(index[at + 2]) << 8
            | UInt32(index[at + 3])
    }

    /// The index position of the entry starting at `offset`.
    func position(atOffset offset: UInt64) -> Int? {
        var low = 0
        var high = sortedOffsets.count
        while low < high {
            let mid = (low + high) / 2
            if sortedOffsets[mid] < offset { low = mid + 1 } else { high = mid }
        }
        return low < sortedOffsets.count && sortedOffsets[low] == offset ? Int(byOffset[low]) : nil
    }
}

/// The k-way merge of the packs' SHA-1 lists: a binary heap of (pack, position), ordered by
/// SHA-1, then pack.
private struct MergeHeap {
    let packs: [SourcePack]
    var heap: [(pack: Int, position: Int)] = []

    init(packs: [SourcePack]) {
        self.packs = packs
        for (p, pack) in packs.enumerated() where pack.count > 0 { push((p, 0)) }
    }

    func less(_ a: (pack: Int, position: Int), _ b: (pack: Int, position: Int)) -> Bool {
        let x = packs[a.pack].sha(a.position)
        let y = packs[b.pack].sha(b.position)
        for k in 0..<20 where x[k] != y[k] { return x[k] < y[k] }
        return a.pack < b.pack
    }

    mutating func push(_ e: (pack: Int, position: Int)) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (Int, Int)? {
        guard let top = heap.first else { return nil }
        let next = top.position + 1
        if next < packs[top.pack].count {
            heap[0] = (top.pack, next)
        } else {
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
        }
        var i = 0
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count, less(heap[l], heap[m]) { m = l }
            if r < heap.count, less(heap[r], heap[m]) { m = r }
            guard m != i else { break }
            heap.swapAt(i, m)
            i = m
        }
        return (top.pack, top.position)
    }
}

/// Sequential reads of a pack in large chunks.
private final class ChunkReader {
    let fd: Int32
    let name: String
    private var buffer: UnsafeMutableRawBufferPointer
    private var start: UInt64 = 0
    private var filled = 0

    init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        buffer = .allocate(byteCount: 4 << 20, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// `count` bytes at `offset`, valid until the next call.
    func bytes(at offset: UInt64, count: Int) throws -> UnsafeRawBufferPointer {
        if offset < start || offset + UInt64(count) > start + UInt64(filled) {
            if count > buffer.count {
                buffer.deallocate()
                buffer = .allocate(byteCount: count, alignment: 16)
            }
            start = offset
            filled = 0
            guard let base = buffer.baseAddress else { throw PackMerge.failure("read", name) }
            while filled < buffer.count {
                let n = pread(fd, base + filled, buffer.count - filled, off_t(start) + off_t(filled))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                filled += n
            }
            guard filled >= count else { throw PackMerge.failure("read", "\(name) ends early") }
        }
        let at = Int(offset - start)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[at..<(at + count)])
    }
}

/// A file written through a large buffer, with the SHA-1 of everything written, flushed on
/// ``finish(appendingDigest:)``.
private final class HashingWriter {
    let path: String
    let fd: Int32
    private var hash = Insecure.SHA1()
    private var buffer: [UInt8] = []
    private(set) var offset: UInt64 = 0

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PackMerge.failure("create", path) }
        buffer.reserveCapacity(8 << 20)
    }

    deinit { close(fd) }

    func write(_ bytes: some Collection<UInt8>) throws {
        buffer += bytes
        offset += UInt64(bytes.count)
        if buffer.count >= 8 << 20 { try flush() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > 8 << 20 { try flush() }
        if bytes.count >= 8 << 20 {
            hash.update(bufferPointer: bytes)
            try writeAll(bytes)
        } else {
            buffer += bytes
        }
        offset += UInt64(bytes.count)
    }

    private func flush() throws {
        try buffer.withUnsafeBytes { raw in
            hash.update(bufferPointer: raw)
            try writeAll(raw)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) throws {
        guard let base = raw.baseAddress, !raw.isEmpty else { return }
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, base + done, raw.count - done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw PackMerge.failure("write", path) }
            done += n
        }
    }

    /// Writes what is buffered, then (when asked) the SHA-1 of all of it; flushes the file.
    /// Returns the SHA-1.
    func finish(appendingDigest: Bool) throws -> [UInt8] {
        try flush()
        let digest = Array(hash.finalize())
        if appendingDigest {
            try digest.withUnsafeBytes { try writeAll($0) }
            offset += 20
        }
        guard fsync(fd) == 0 else { throw PackMerge.failure("fsync", path) }
        return digest
    }
}
