internal import Crypto
internal import Foundation

/// `.git/index` read and rewritten as bytes (versions 2 and 3, git's `Documentation/gitformat-index`),
/// for the commits that change a few of its entries: the unchanged entries are copied as they
/// are, so a one-item commit costs one sequential copy and one SHA-1 of the file instead of
/// libgit2 parsing every entry into memory and writing them back (two thirds of a one-item
/// commit at 100,000 items).
///
/// Only what this code knows how to keep correct is kept: the cache tree (`TREE`) with the
/// directories along the changed paths invalidated, as git and libgit2 do when they change an
/// entry, and the resolve-undo records (`REUC`). Other optional extensions (untracked cache,
/// fsmonitor, the offset tables `EOIE`/`IEOT`) are dropped, which git allows: they are caches.
/// A mandatory extension (a split index's `link`, a sparse index's `sdir`), version 4 or
/// anything unexpected makes ``rewrite(_:changes:to:verifying:)`` return nil, and the caller
/// rebuilds the index through libgit2.
enum IndexFile {
    /// The stage-0 entry a change writes.
    struct Entry {
        var mode: UInt32
        var oid: [UInt8]
        /// The work-tree file's `lstat`, or nil when it is not a regular file or symbolic link
        /// (zero stat data: git then compares the file by content).
        var info: stat?
    }

    /// One path whose entries are replaced: every stage of `path` is removed and `entry`, when
    /// there is one, written in its place.
    struct Change {
        var path: [UInt8]
        var entry: Entry?
    }

    /// What identifies an index this code wrote: the fingerprint of its entries (path, mode,
    /// stage and blob, not stat data) and the file's own SHA-1 trailer.
    struct Summary: Equatable {
        var fingerprint: String
        var checksum: [UInt8]

        /// The number of entries (the fingerprint's suffix).
        var count: Int { fingerprint.split(separator: "-").last.flatMap { Int($0) } ?? 0 }
    }

    /// The fingerprint and trailer of the index file at `path` (split or not), or nil when it is
    /// not a version 2 or 3 index this code can read.
    static func summary(ofFile path: String) -> Summary? {
        var sum = Fingerprint()
        guard let trailer = trailer(ofFile: path),
            let read = forEachEntry(ofFile: path, { sum.add($0.fingerprint()) })
        else { return nil }
        return Summary(fingerprint: sum.text(count: read.count), checksum: trailer)
    }

    /// The last 20 bytes of the file (its SHA-1 trailer), read without reading the rest.
    static func trailer(ofFile path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size >= 32 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 20)
        let read = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 20, off_t(info.st_size) - 20) }
        return read == 20 ? bytes : nil
    }

    /// Writes to `newPath` the index at `oldPath` with `changes` applied (sorted bytewise by path,
    /// one per path) and returns the new file's summary, or nil, leaving `newPath` absent, when
    /// the old index cannot be rewritten here (see the type's comment) or its entries'
    /// fingerprint is not `recorded` (another program changed them).
    ///
    /// With `trusted` (the old file's trailer is the one recorded with `recorded`, so the file is
    /// the one this code wrote), the fingerprint is not recomputed: the new one is `recorded`
    /// with the removed entries' hashes subtracted and the written ones' added, and the cost is
    /// one copy and one SHA-1 of the file.
    static func rewrite(_ oldPath: String, changes: [Change], to newPath: String, recorded: String, trusted: Bool)
        -> Summary?
    {
        guard let base = Fingerprint(text: recorded), let data = MappedFile(oldPath) else { return nil }
        var invalidDirectories = Set<[UInt8]>([[]])
        for change in changes {
            for (position, byte) in change.path.enumerated() where byte == 0x2F {
                invalidDirectories.insert(Array(change.path[..<position]))
            }
        }
        return data.withUnsafeBytes { raw -> Summary? in
            guard let header = Header(raw) else { return nil }
            guard
                let plan = plan(
                    raw, header: header, changes: changes, invalidating: invalidDirectories, hashingAll: !trusted)
            else { return nil }
            if !trusted, plan.oldFingerprint.text(count: header.count) != recorded { return nil }
            var fingerprint = base
            if !trusted { fingerprint = plan.oldFingerprint }
            fingerprint.subtract(plan.removed.sum)
            fingerprint.add(plan.added.sum)
            guard plan.count <= Int(UInt32.max),
                let checksum = write(plan.pieces, raw, header: header.bytes(count: plan.count), to: newPath)
            else { return nil }
            return Summary(fingerprint: fingerprint.text(count: plan.count), checksum: checksum)
        }
    }

    /// A piece of the new file: a byte range of the old one, or new bytes.
    enum Piece {
        case old(Range<Int>)
        case new([UInt8])
        /// Bytes made while the file is written, handed to the closure it is given.
        case generated((_ emit: (UnsafeRawBufferPointer) -> Void) -> Void)
    }

    struct Plan {
        var pieces: [Piece] = []
        var count = 0
        var oldFingerprint = Fingerprint()
        var removed = Fingerprint()
        var added = Fingerprint()
    }

    /// The new file as pieces, in one pass over the old entries and extensions.
    static func plan(
        _ raw: UnsafeRawBufferPointer, header: Header, changes: [Change], invalidating directories: Set<[UInt8]>,
        hashingAll: Bool
    ) -> Plan? {
        var plan = Plan()
        plan.count = header.count
        var changeIndex = 0
        var offset = 12
        var runStart = 12
        func insert(_ change: Change) {
            guard let entry = change.entry else { return }
            var bytes = [UInt8]()
            plan.added.add(encode(entry, path: change.path, into: &bytes))
            plan.pieces.append(.new(bytes))
            plan.count += 1
        }
        func cut(at position: Int) {
            if position > runStart { plan.pieces.append(.old(runStart..<position)) }
        }
        for number in 0..<header.count {
            guard let entry = EntryView(raw, at: offset, version: header.version) else { return nil }
            if hashingAll { plan.oldFingerprint.add(entry.fingerprint(raw)) }
            while changeIndex < changes.count {
                let order = entry.compare(raw, with: changes[changeIndex].path)
                if order < 0 { break }
                if order == 0 {
                    // Every stage of the changed path goes; the new entry follows the last one.
                    cut(at: offset)
                    runStart = entry.end
                    plan.removed.add(entry.fingerprint(raw))
                    plan.count -= 1
                    let last = number == header.count - 1
                    if last || !EntryView.samePath(raw, entry, at: entry.end, version: header.version) {
                        insert(changes[changeIndex])
                        changeIndex += 1
                    }
                    break
                }
                // The change sorts before this entry: a new path.
                cut(at: offset)
                runStart = offset
                insert(changes[changeIndex])
                changeIndex += 1
            }
            offset = entry.end
        }
        cut(at: offset)
        runStart = offset
        while changeIndex < changes.count {
            insert(changes[changeIndex])
            changeIndex += 1
        }
        guard let extensions = extensions(raw, from: offset) else { return nil }
        for (signature, whole, payload) in extensions {
            switch signature {
            case Array("TREE".utf8):
                let bytes = UnsafeRawBufferPointer(rebasing: raw[payload])
                guard let tree = CacheTree.invalidating(directories, in: bytes) else { return nil }
                plan.pieces.append(.new(signature + Header.be32(UInt32(tree.count)) + tree))
            case Array("REUC".utf8):
                plan.pieces.append(.old(whole))
            default:
                // Optional extensions start with an upper-case letter; others must be understood.
                guard signature[0] >= 0x41, signature[0] <= 0x5A else { return nil }
            }
        }
        return plan
    }

    /// The extensions from `offset` (just after the last entry) up to the trailer: each one's
    /// signature, its whole range and its payload's; nil when one does not fit.
    static func extensions(_ raw: UnsafeRawBufferPointer, from start: Int) -> [(
        signature: [UInt8], whole: Range<Int>, payload: Range<Int>
    )]? {
        var out: [(signature: [UInt8], whole: Range<Int>, payload: Range<Int>)] = []
        let end = raw.count - 20
        var offset = start
        while offset < end {
            guard offset + 8 <= end else { return nil }
            let size = Int(Header.u32(raw, offset + 4))
            guard offset + 8 + size <= end else { return nil }
            out.append(
                (Array(raw[offset..<(offset + 4)]), offset..<(offset + 8 + size), (offset + 8)..<(offset + 8 + size)))
            offset += 8 + size
        }
        return out
    }

    /// Writes `header`, the pieces and the SHA-1 trailer of all of it to a new file at `path`
    /// (which must not exist); returns the trailer, or nil, removing the file, when a write fails.
    static func write(_ pieces: [Piece], _ raw: UnsafeRawBufferPointer, header: [UInt8], to path: String)
        -> [UInt8]?
    {
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return nil }
        var ok = true
        defer {
            close(descriptor)
            if !ok { unlink(path) }
        }
        var hasher = Insecure.SHA1()
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        func put(_ bytes: UnsafeRawBufferPointer) {
            guard ok, var cursor = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                let written = Foundation.write(descriptor, cursor, left)
                if written < 0 {
                    if errno == EINTR { continue }
                    ok = false
                    return
                }
                cursor += written
                left -= written
            }
        }
        func flush() {
            buffer.withUnsafeBytes { put($0) }
            buffer.removeAll(keepingCapacity: true)
        }
        func add(_ bytes: UnsafeRawBufferPointer) {
            hasher.update(bufferPointer: bytes)
            if bytes.count >= 1 << 16 {
                flush()
                put(bytes)
            } else {
                buffer.append(contentsOf: bytes)
                if buffer.count >= 1 << 20 { flush() }
            }
        }
        header.withUnsafeBytes { add($0) }
        for piece in pieces {
            switch piece {
            case .old(let range): add(UnsafeRawBufferPointer(rebasing: raw[range]))
            case .new(let bytes): bytes.withUnsafeBytes { add($0) }
            case .generated(let produce): produce { add($0) }
            }
        }
        let checksum = Array(hasher.finalize())
        checksum.withUnsafeBytes { buffer.append(contentsOf: $0) }
        flush()
        return ok ? checksum : nil
    }

    /// Appends the on-disk form of `entry` at `path` (version 2 layout, valid in 3) and returns
    /// its fingerprint hash.
    static func encode(_ entry: Entry, path: [UInt8], into out: inout [UInt8]) -> UInt64 {
        let info = entry.info
        func add(_ value: UInt32) { out.append(contentsOf: Header.be32(value)) }
        add(UInt32(bitPattern: Int32(truncatingIfNeeded: info?.st_ctim.tv_sec ?? 0)))
        add(UInt32(truncatingIfNeeded: info?.st_ctim.tv_nsec ?? 0))
        add(UInt32(bitPattern: Int32(truncatingIfNeeded: info?.st_mtim.tv_sec ?? 0)))
        add(UInt32(truncatingIfNeeded: info?.st_mtim.tv_nsec ?? 0))
        add(UInt32(truncatingIfNeeded: info?.st_dev ?? 0))
        add(UInt32(truncatingIfNeeded: info?.st_ino ?? 0))
        add(entry.mode)
        add(UInt32(truncatingIfNeeded: info?.st_uid ?? 0))
        add(UInt32(truncatingIfNeeded: info?.st_gid ?? 0))
        add(UInt32(truncatingIfNeeded: info?.st_size ?? 0))
        out.append(contentsOf: entry.oid)
        let flags = UInt16(min(path.count, 0xFFF))
        out.append(UInt8(flags >> 8))
        out.append(UInt8(flags & 0xFF))
        out.append(contentsOf: path)
        let length = 62 + path.count
        let padded = (length + 8) & ~7
        out.append(contentsOf: repeatElement(0, count: padded - length))
        return Fingerprint.hash(oid: entry.oid[...], mode: entry.mode, stage: 0, path: path[...])
    }
}

extension IndexFile {
    /// A file mapped read-only with its pages populated up front (`MAP_POPULATE`): one call
    /// instead of a page fault per 4 KiB, which cost more than the scan itself.
    final class MappedFile {
        private let base: UnsafeMutableRawPointer
        private let count: Int

        /// Without `populate`, pages are read as they are touched: for a large file of which a
        /// few pages are read (a shared index searched by block).
        init?(_ path: String, populate: Bool = true) {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            var info = stat()
            guard fstat(descriptor, &info) == 0, info.st_size > 0 else { return nil }
            count = Int(info.st_size)
            guard let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), descriptor, 0),
                mapped != MAP_FAILED
            else { return nil }
            base = mapped
        }

        deinit { munmap(base, count) }

        func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            body(UnsafeRawBufferPointer(start: base, count: count))
        }
    }

    /// The 12-byte header: `DIRC`, the version and the entry count.
    struct Header {
        var version: UInt32
        var count: Int

        init?(_ raw: UnsafeRawBufferPointer) {
            guard raw.count >= 32, raw[0] == 0x44, raw[1] == 0x49, raw[2] == 0x52, raw[3] == 0x43 else { return nil }
            version = Self.u32(raw, 4)
            guard version == 2 || version == 3 else { return nil }
            count = Int(Self.u32(raw, 8))
        }

        func bytes(count: Int) -> [UInt8] {
            Array("DIRC".utf8) + Self.be32(version) + Self.be32(UInt32(truncatingIfNeeded: count))
        }

        static func u32(_ raw: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
            UInt32(raw[offset]) << 24 | UInt32(raw[offset + 1]) << 16 | UInt32(raw[offset + 2]) << 8
                | UInt32(raw[offset + 3])
        }

        static func be32(_ value: UInt32) -> [UInt8] {
            [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
    }

    /// One entry of a version 2 or 3 index, located in the mapped file.
    struct EntryView {
        var start: Int
        var pathStart: Int
        var pathLength: Int
        var stage: UInt8
        var end: Int

        init?(_ raw: UnsafeRawBufferPointer, at offset: Int, version: UInt32) {
            let limit = raw.count - 20
            guard offset + 62 <= limit else { return nil }
            let flags = Int(raw[offset + 60]) << 8 | Int(raw[offset + 61])
            var pathStart = offset + 62
            if flags & 0x4000 != 0 {
                guard version >= 3 else { return nil }
                pathStart += 2
            }
            var length = flags & 0xFFF
            if length == 0xFFF {
                var cursor = pathStart + 0xFFF
                while cursor < limit, raw[cursor] != 0 { cursor += 1 }
                length = cursor - pathStart
            }
            let end = offset + ((pathStart - offset + length + 8) & ~7)
            guard pathStart + length < limit, end <= limit else { return nil }
            start = offset
            self.pathStart = pathStart
            pathLength = length
            stage = UInt8((flags >> 12) & 3)
            self.end = end
        }

        /// Bytewise order of this entry's path against `path` (git's index order): -1, 0 or 1.
        func compare(_ raw: UnsafeRawBufferPointer, with path: [UInt8]) -> Int {
            let common = min(pathLength, path.count)
            let order = path.withUnsafeBytes { other -> Int32 in
                guard let base = raw.baseAddress, let otherBase = other.baseAddress, common > 0 else { return 0 }
                return memcmp(base + pathStart, otherBase, common)
            }
            if order != 0 { return order < 0 ? -1 : 1 }
            return pathLength == path.count ? 0 : (pathLength < path.count ? -1 : 1)
        }

        /// Whether the entry at `offset` has the same path as `entry` (a further stage of it).
        static func samePath(_ raw: UnsafeRawBufferPointer, _ entry: EntryView, at offset: Int, version: UInt32)
            -> Bool
        {
            guard let next = EntryView(raw, at: offset, version: version), next.pathLength == entry.pathLength,
                let base = raw.baseAddress
            else { return false }
            return memcmp(base + next.pathStart, base + entry.pathStart, entry.pathLength) == 0
        }

        func fingerprint(_ raw: UnsafeRawBufferPointer) -> UInt64 {
            Fingerprint.hash(
                oid: raw[(start + 40)..<(start + 60)], mode: Header.u32(raw, start + 24), stage: stage,
                path: raw[pathStart..<(pathStart + pathLength)])
        }
    }

    /// A sum of per-entry hashes (FNV-1a of path, mode, stage and blob, then mixed), so that
    /// changing a few entries changes it in O(those entries). Not a security check: it tells
    /// an index this code wrote from one whose entries another program changed.
    struct Fingerprint {
        var sum: UInt64 = 0

        init() {}

        init?(text: String) {
            guard let dash = text.lastIndex(of: "-"), let value = UInt64(text[..<dash], radix: 16) else { return nil }
            sum = value
        }

        mutating func add(_ hash: UInt64) { sum &+= hash }
        mutating func subtract(_ hash: UInt64) { sum &-= hash }

        func text(count: Int) -> String { String(sum, radix: 16) + "-" + String(count) }

        static func hash<O: Collection<UInt8>, P: Collection<UInt8>>(oid: O, mode: UInt32, stage: UInt8, path: P)
            -> UInt64
        {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            @inline(__always) func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            for byte in oid { mix(byte) }
            for byte in Header.be32(mode) { mix(byte) }
            mix(stage)
            for byte in path { mix(byte) }
            mix(0)
            hash ^= hash >> 33
            hash &*= 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 33
            return hash
        }
    }

    /// The cache-tree extension (`TREE`): nodes in pre-order, each `name NUL count SP subtrees LF`
    /// followed by the tree id when `count` is not negative.
    enum CacheTree {
        /// The extension with every node whose directory is in `directories` (paths without a
        /// trailing slash; the root is empty) marked invalid (`-1`, no id), as git does when an
        /// entry below it changes. Nil when the payload is not well formed.
        static func invalidating(_ directories: Set<[UInt8]>, in payload: UnsafeRawBufferPointer) -> [UInt8]? {
            var out = [UInt8]()
            out.reserveCapacity(payload.count)
            var offset = 0
            // Nodes that stay as they are are copied in runs; only invalidated ones are rewritten.
            var runStart = 0
            func node(parent: [UInt8]?, depth: Int) -> Bool {
                guard depth < 4096 else { return false }
                let start = offset
                guard let nul = find(0, from: offset), let space = find(0x20, from: nul + 1),
                    let newline = find(0x0A, from: space + 1), let count = number(nul + 1, space),
                    let subtrees = number(space + 1, newline), subtrees >= 0
                else { return false }
                var next = newline + 1
                if count >= 0 { next += 20 }
                guard next <= payload.count else { return false }
                var path: [UInt8]?
                if let parent {
                    let name = payload[start..<nul]
                    path = parent.isEmpty ? Array(name) : parent + [0x2F] + name
                }
                let invalid = path.map(directories.contains) ?? false
                if invalid {
                    out.append(contentsOf: payload[runStart...nul])
                    out.append(contentsOf: Array("-1 \(subtrees)\n".utf8))
                    runStart = next
                }
                offset = next
                for _ in 0..<subtrees {
                    guard node(parent: invalid ? path : nil, depth: depth + 1) else { return false }
                }
                return true
            }
            func find(_ byte: UInt8, from: Int) -> Int? {
                guard from < payload.count, let base = payload.baseAddress,
                    let found = memchr(base + from, Int32(byte), payload.count - from)
                else { return nil }
                return UnsafeRawPointer(found) - base
            }
            // A decimal number, optionally negative, from `start` up to `end`.
            func number(_ start: Int, _ end: Int) -> Int? {
                var cursor = start
                let negative = cursor < end && payload[cursor] == 0x2D
                if negative { cursor += 1 }
                guard cursor < end, end - cursor <= 18 else { return nil }
                var value = 0
                while cursor < end {
                    let digit = Int(payload[cursor]) - 0x30
                    guard digit >= 0, digit <= 9 else { return nil }
                    value = value * 10 + digit
                    cursor += 1
                }
                return negative ? -value : value
            }
            // The root's name is empty and its path is the empty path.
            guard payload.isEmpty || node(parent: [], depth: 0) else { return nil }
            guard offset == payload.count else { return nil }
            out.append(contentsOf: payload[runStart...])
            return out
        }
    }
}
