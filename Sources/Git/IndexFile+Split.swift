internal import Crypto
internal import Foundation

/// Git's split index (`Documentation/gitformat-index`, "Split index"), for indexes with a great
/// many entries: `.git/sharedindex.<sha1>` holds the entries as they were at one point, and
/// `.git/index` only what changed since (the new and changed entries, a bitmap of the shared
/// entries that are gone) plus a `link` extension naming the shared file. A commit that
/// changes a few files then writes a small `.git/index` instead of the whole list; git reads
/// the pair wherever it reads an index. libgit2 (1.5) cannot read it, so every read and write
/// of a split index is done here, as bytes.
///
/// What this code writes: no "replaced" entries (a changed entry is a deleted shared entry and
/// an added one, which the format allows), the cache tree and resolve-undo records in the
/// split file, and a new shared index when the split file grows past
/// ``IndexFile/resplitLimit(sharedCount:)``. What it reads: also git's own split files,
/// replacements included.
extension IndexFile {
    /// The least number of entries in the split file that makes a new shared index: every write
    /// copies them, so they are kept to about 2 % of the whole.
    static func resplitLimit(sharedCount: Int) -> Int { max(2_000, sharedCount / 50) }

    /// The file name of the shared index with trailer `checksum`, in the `.git` directory.
    static func sharedIndexName(_ checksum: [UInt8]) -> String {
        "sharedindex." + checksum.map { String(format: "%02x", $0) }.joined()
    }

    /// The EWAH bitmaps of the `link` extension as git serializes them (`ewah/ewah_io.c`): the
    /// bit count, the number of 64-bit words, the words (big-endian), and the position of the
    /// last marker word. A marker word holds a run bit (bit 0), a run length in words (bits 1
    /// to 32) and the number of literal words that follow it (bits 33 to 63); bit `n` of the
    /// bitmap is bit `n % 64` of its word.
    enum EWAH {
        /// The bitmap with bits `positions` (ascending, distinct) set.
        static func encode(_ positions: [Int]) -> [UInt8] {
            var words: [UInt64] = []
            var lastMarker = 0
            var covered = 0  // words before this one are in `words` already
            var index = 0
            while index < positions.count {
                let first = positions[index] / 64
                var literals: [UInt64] = []
                var word = first
                var bits: UInt64 = 0
                while index < positions.count {
                    let position = positions[index]
                    if position / 64 == word {
                        bits |= 1 << UInt64(position % 64)
                        index += 1
                    } else if position / 64 == word + 1 {
                        literals.append(bits)
                        bits = 0
                        word += 1
                    } else {
                        break
                    }
                }
                literals.append(bits)
                lastMarker = words.count
                words.append(UInt64(first - covered) << 1 | UInt64(literals.count) << 33)
                words += literals
                covered = word + 1
            }
            if words.isEmpty { words = [0] }
            var out = Header.be32(UInt32(positions.last.map { $0 + 1 } ?? 0)) + Header.be32(UInt32(words.count))
            for word in words {
                for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((word >> UInt64(shift)) & 0xFF)) }
            }
            return out + Header.be32(UInt32(lastMarker))
        }

        /// The set bits of the bitmap at `offset`, each below `bound`, and the offset after it;
        /// nil when it is malformed or names a bit at or past `bound`.
        static func decode(_ raw: UnsafeRawBufferPointer, at offset: Int, end: Int, bound: Int) -> (
            positions: [Int], end: Int
        )? {
            guard offset + 8 <= end else { return nil }
            let wordCount = Int(Header.u32(raw, offset + 4))
            let after = offset + 8 + wordCount * 8 + 4
            guard after <= end else { return nil }
            func word(_ n: Int) -> UInt64 {
                var value: UInt64 = 0
                for byte in 0..<8 { value = value << 8 | UInt64(raw[offset + 8 + n * 8 + byte]) }
                return value
            }
            var positions: [Int] = []
            var position = 0
            var pointer = 0
            while pointer < wordCount {
                let marker = word(pointer)
                pointer += 1
                let run = Int((marker >> 1) & 0xFFFF_FFFF) * 64
                let literals = Int(marker >> 33)
                if marker & 1 != 0 {
                    guard position + run <= bound else { return nil }
                    positions += position..<(position + run)
                }
                position += run
                guard pointer + literals <= wordCount else { return nil }
                for _ in 0..<literals {
                    let bits = word(pointer)
                    pointer += 1
                    if bits != 0 {
                        for bit in 0..<64 where bits & (1 << UInt64(bit)) != 0 {
                            guard position + bit < bound else { return nil }
                            positions.append(position + bit)
                        }
                    }
                    position += 64
                }
            }
            return (positions, after)
        }
    }

    /// The parts of an index file: its entries and the extensions this code keeps.
    struct Layout {
        var header: Header
        /// Where each entry starts, in order.
        var entries: [EntryView]
        var tree: Range<Int>?
        var resolveUndo: Range<Int>?
        var link: Link?

        /// The `link` extension: the shared index's trailer and the shared entries deleted and
        /// replaced (by the first `replaced.count` entries of this file, in order).
        struct Link {
            var shared: [UInt8]
            var deletedRange: Range<Int>?
            var replacedRange: Range<Int>?
        }

        /// Nil when the file is not an index of version 2 or 3 that this code can read: another
        /// mandatory extension (a sparse index's `sdir`) or anything malformed.
        init?(_ raw: UnsafeRawBufferPointer, keepEntries: Bool = true) {
            guard let header = Header(raw) else { return nil }
            self.header = header
            entries = []
            if keepEntries { entries.reserveCapacity(header.count) }
            var offset = 12
            for _ in 0..<header.count {
                guard let entry = EntryView(raw, at: offset, version: header.version) else { return nil }
                if keepEntries { entries.append(entry) }
                offset = entry.end
            }
            guard let extensions = IndexFile.extensions(raw, from: offset) else { return nil }
            for (signature, whole, payload) in extensions {
                switch signature {
                case Array("TREE".utf8): tree = payload
                case Array("REUC".utf8): resolveUndo = whole
                case Array("link".utf8):
                    guard payload.count >= 20 else { return nil }
                    var link = Link(shared: Array(raw[payload.lowerBound..<(payload.lowerBound + 20)]))
                    if payload.count > 20 {
                        // The bitmaps' extents; their bits are read against the shared count.
                        let bitmaps = payload.lowerBound + 20
                        guard let deleted = Self.extent(raw, at: bitmaps, end: payload.upperBound),
                            let replaced = Self.extent(raw, at: bitmaps + deleted, end: payload.upperBound),
                            bitmaps + deleted + replaced == payload.upperBound
                        else { return nil }
                        link.deletedRange = bitmaps..<(bitmaps + deleted)
                        link.replacedRange = (bitmaps + deleted)..<payload.upperBound
                    }
                    self.link = link
                default:
                    guard signature[0] >= 0x41, signature[0] <= 0x5A else { return nil }
                }
            }
        }

        /// The byte length of the bitmap at `offset`, or nil when it does not fit.
        private static func extent(_ raw: UnsafeRawBufferPointer, at offset: Int, end: Int) -> Int? {
            guard offset + 8 <= end else { return nil }
            let length = 8 + Int(Header.u32(raw, offset + 4)) * 8 + 4
            return offset + length <= end ? length : nil
        }
    }

    /// The trailer of the shared index the split index at `path` names, or nil.
    static func linkedShared(ofFile path: String) -> [UInt8]? {
        guard let data = MappedFile(path) else { return nil }
        return data.withUnsafeBytes { raw in Layout(raw, keepEntries: false)?.link?.shared }
    }

    /// Whether the index file at `path` is a split index (has a `link` extension).
    static func isSplit(_ path: String) -> Bool {
        guard let data = MappedFile(path) else { return false }
        return data.withUnsafeBytes { raw in Layout(raw, keepEntries: false)?.link != nil }
    }
}

extension IndexFile {
    /// A shared index, mapped without reading it in (a few of its pages are touched per
    /// lookup), with the offsets of every ``blockSize``th entry for binary search.
    final class SharedIndex {
        static let blockSize = 64
        let file: MappedFile
        let header: Header
        /// The offset of entry `k * blockSize`, for every block.
        let blocks: [Int]
        let checksum: [UInt8]

        /// The shared index named by `checksum` in `gitDirectory`; nil when it is missing, not
        /// an index this code reads, or its trailer is not `checksum`. The block offsets come
        /// from the side file ``offsetsFile(_:)`` when it is for this file, else from one pass
        /// over the entries (and the side file is written for the next time).
        init?(gitDirectory: String, checksum: [UInt8]) {
            let path = gitDirectory + "/" + IndexFile.sharedIndexName(checksum)
            guard let file = MappedFile(path, populate: false) else { return nil }
            let parsed = file.withUnsafeBytes { raw -> (Header, Bool)? in
                guard let header = Header(raw) else { return nil }
                return (header, Array(raw[(raw.count - 20)...]) == checksum)
            }
            guard let (header, matches) = parsed, matches else { return nil }
            self.file = file
            self.header = header
            self.checksum = checksum
            let side = Self.offsetsFile(gitDirectory)
            if let stored = Self.readOffsets(side, checksum: checksum, count: header.count) {
                blocks = stored
                return
            }
            let built = file.withUnsafeBytes { raw -> [Int]? in
                var blocks: [Int] = []
                var offset = 12
                for number in 0..<header.count {
                    guard let entry = EntryView(raw, at: offset, version: header.version) else { return nil }
                    if number % Self.blockSize == 0 { blocks.append(offset) }
                    offset = entry.end
                }
                return blocks
            }
            guard let built else { return nil }
            blocks = built
            Self.writeOffsets(side, checksum: checksum, count: header.count, blocks: built)
        }

        /// `.git/index.stac-repository-offsets`: the trailer of the shared index it is for, its
        /// entry count and the block offsets, big-endian. A cache; lost or stale, it is rebuilt.
        static func offsetsFile(_ gitDirectory: String) -> String { gitDirectory + "/index.stac-repository-offsets" }

        static func writeOffsets(_ path: String, checksum: [UInt8], count: Int, blocks: [Int]) {
            var bytes = checksum + Header.be32(UInt32(count))
            bytes.reserveCapacity(24 + blocks.count * 8)
            for offset in blocks {
                bytes +=
                    Header.be32(UInt32(truncatingIfNeeded: offset >> 32)) + Header.be32(UInt32(offset & 0xFFFF_FFFF))
            }
            let temporary = path + ".tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else { return }
            if rename(temporary, path) != 0 { unlink(temporary) }
        }

        private static func readOffsets(_ path: String, checksum: [UInt8], count: Int) -> [Int]? {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let blockCount = (count + blockSize - 1) / blockSize
            guard data.count == 24 + blockCount * 8 else { return nil }
            return data.withUnsafeBytes { raw -> [Int]? in
                guard Array(raw[0..<20]) == checksum, Int(Header.u32(raw, 20)) == count else { return nil }
                return (0..<blockCount).map { n in
                    Int(Header.u32(raw, 24 + n * 8)) << 32 | Int(Header.u32(raw, 28 + n * 8))
                }
            }
        }

        /// The entry at `position`, or nil past the end or when malformed.
        func entry(at position: Int, _ raw: UnsafeRawBufferPointer) -> EntryView? {
            guard position >= 0, position < header.count else { return nil }
            var offset = blocks[position / Self.blockSize]
            var entry = EntryView(raw, at: offset, version: header.version)
            for _ in 0..<(position % Self.blockSize) {
                guard let current = entry else { return nil }
                offset = current.end
                entry = EntryView(raw, at: offset, version: header.version)
            }
            return entry
        }

        /// The position of the first entry (lowest stage) whose path is `path`, or nil.
        func firstPosition(of path: [UInt8], _ raw: UnsafeRawBufferPointer) -> Int? {
            // The last block whose first entry sorts at or before `path`.
            var low = 0
            var high = blocks.count - 1
            var block = -1
            while low <= high {
                let middle = (low + high) / 2
                guard let first = EntryView(raw, at: blocks[middle], version: header.version) else { return nil }
                if first.compare(raw, with: path) <= 0 {
                    block = middle
                    low = middle + 1
                } else {
                    high = middle - 1
                }
            }
            guard block >= 0 else { return nil }
            // A path's stages may begin in the block before.
            var start = block
            while start > 0, let first = EntryView(raw, at: blocks[start], version: header.version),
                first.compare(raw, with: path) == 0
            {
                start -= 1
            }
            var position = start * Self.blockSize
            var offset = blocks[start]
            let last = min(header.count, (block + 1) * Self.blockSize)
            while position < last {
                guard let entry = EntryView(raw, at: offset, version: header.version) else { return nil }
                let order = entry.compare(raw, with: path)
                if order == 0 { return position }
                if order > 0 { return nil }
                offset = entry.end
                position += 1
            }
            return nil
        }
    }
}

extension IndexFile {
    /// One entry of a merged (split) index: the fixed part (stat data, mode and blob: the first
    /// 60 bytes), the flags and extended flags of the entry that holds it, and its path, which
    /// for a replaced entry is the shared entry's.
    struct MergedEntry {
        var fixed: UnsafeRawBufferPointer
        var flags: UInt16
        var extended: UInt16?
        var path: UnsafeRawBufferPointer
        var stage: UInt8 { UInt8((flags >> 12) & 3) }

        init(_ raw: UnsafeRawBufferPointer, _ entry: EntryView, path: UnsafeRawBufferPointer? = nil) {
            fixed = UnsafeRawBufferPointer(rebasing: raw[entry.start..<(entry.start + 60)])
            flags = UInt16(raw[entry.start + 60]) << 8 | UInt16(raw[entry.start + 61])
            extended =
                flags & 0x4000 != 0 ? UInt16(raw[entry.start + 62]) << 8 | UInt16(raw[entry.start + 63]) : nil
            self.path =
                path ?? UnsafeRawBufferPointer(rebasing: raw[entry.pathStart..<(entry.pathStart + entry.pathLength)])
        }

        func fingerprint() -> UInt64 {
            Fingerprint.hash(
                oid: fixed[40..<60], mode: Header.u32(fixed, 24), stage: stage, path: path)
        }

        /// Appends the entry in the on-disk form (name length recomputed, padded to 8 bytes).
        func encode(into out: inout [UInt8]) {
            out.append(contentsOf: fixed)
            let named = flags & ~0x0FFF | UInt16(min(path.count, 0xFFF))
            out.append(UInt8(named >> 8))
            out.append(UInt8(named & 0xFF))
            var length = 62 + path.count
            if let extended {
                out.append(UInt8(extended >> 8))
                out.append(UInt8(extended & 0xFF))
                length += 2
            }
            out.append(contentsOf: path)
            out.append(contentsOf: repeatElement(0, count: ((length + 8) & ~7) - length))
        }

        /// Git's index order: path bytewise, then stage.
        static func order(_ a: MergedEntry, _ b: MergedEntry) -> Int {
            let common = min(a.path.count, b.path.count)
            if common > 0, let x = a.path.baseAddress, let y = b.path.baseAddress {
                let order = memcmp(x, y, common)
                if order != 0 { return order < 0 ? -1 : 1 }
            }
            if a.path.count != b.path.count { return a.path.count < b.path.count ? -1 : 1 }
            return a.stage == b.stage ? 0 : (a.stage < b.stage ? -1 : 1)
        }
    }

    /// A split index file mapped with its shared index, and the sets of its `link` extension.
    struct SplitIndex {
        var layout: Layout
        var shared: SharedIndex
        var deleted: Set<Int>
        /// Shared positions replaced, in order, by the split file's first entries.
        var replaced: [Int]

        /// Nil when `raw` is not a split index this code reads, or its shared index is missing
        /// or not the one named.
        init?(_ raw: UnsafeRawBufferPointer, gitDirectory: String) {
            guard let layout = Layout(raw), let link = layout.link,
                let shared = SharedIndex(gitDirectory: gitDirectory, checksum: link.shared)
            else { return nil }
            var deleted: [Int] = []
            var replaced: [Int] = []
            if let range = link.deletedRange, let replacedRange = link.replacedRange {
                guard
                    let d = EWAH.decode(raw, at: range.lowerBound, end: range.upperBound, bound: shared.header.count),
                    let r = EWAH.decode(
                        raw, at: replacedRange.lowerBound, end: replacedRange.upperBound, bound: shared.header.count)
                else { return nil }
                deleted = d.positions
                replaced = r.positions
            }
            guard replaced.count <= layout.entries.count,
                layout.entries[..<replaced.count].allSatisfy({ $0.pathLength == 0 }),
                layout.entries[replaced.count...].allSatisfy({ $0.pathLength > 0 })
            else { return nil }
            self.layout = layout
            self.shared = shared
            self.deleted = Set(deleted)
            self.replaced = replaced
            guard self.deleted.isDisjoint(with: replaced) else { return nil }
        }

        /// The number of entries of the merged index.
        var count: Int { shared.header.count - deleted.count + layout.entries.count - replaced.count }

        /// Calls `body` with every entry of the merged index, in index order (git's
        /// `merge_base_index`: replaced shared entries take the split file's data, deleted ones
        /// go, added ones are inserted in order). False when the shared index is malformed.
        func forEach(_ raw: UnsafeRawBufferPointer, _ body: (MergedEntry) -> Void) -> Bool {
            let replacements = Dictionary(uniqueKeysWithValues: replaced.enumerated().map { ($1, $0) })
            let added = layout.entries[replaced.count...].map { MergedEntry(raw, $0) }
            return shared.file.withUnsafeBytes { sharedRaw -> Bool in
                var next = 0
                var offset = 12
                for position in 0..<shared.header.count {
                    guard let entry = EntryView(sharedRaw, at: offset, version: shared.header.version) else {
                        return false
                    }
                    offset = entry.end
                    if deleted.contains(position) { continue }
                    let merged: MergedEntry
                    if let k = replacements[position] {
                        let path = MergedEntry(sharedRaw, entry).path
                        merged = MergedEntry(raw, layout.entries[k], path: path)
                    } else {
                        merged = MergedEntry(sharedRaw, entry)
                    }
                    while next < added.count, MergedEntry.order(added[next], merged) < 0 {
                        body(added[next])
                        next += 1
                    }
                    body(merged)
                }
                for entry in added[next...] { body(entry) }
                return true
            }
        }

        /// The entry of `path` at stage 0, or nil.
        func stageZero(_ path: [UInt8], _ raw: UnsafeRawBufferPointer, _ sharedRaw: UnsafeRawBufferPointer)
            -> MergedEntry?
        {
            for entry in layout.entries[replaced.count...] where entry.stage == 0 && entry.compare(raw, with: path) == 0
            {
                return MergedEntry(raw, entry)
            }
            guard let position = shared.firstPosition(of: path, sharedRaw), !deleted.contains(position),
                let entry = shared.entry(at: position, sharedRaw), entry.stage == 0
            else { return nil }
            if let k = replaced.firstIndex(of: position) {
                return MergedEntry(raw, layout.entries[k], path: MergedEntry(sharedRaw, entry).path)
            }
            return MergedEntry(sharedRaw, entry)
        }
    }

    /// Calls `body` with the entries of the index file at `path`, split or not, in order, and
    /// returns its header's version and entry count; nil when it cannot be read here.
    @discardableResult
    static func forEachEntry(ofFile path: String, _ body: (MergedEntry) -> Void) -> (version: UInt32, count: Int)? {
        guard let data = MappedFile(path) else { return nil }
        let directory = (path as NSString).deletingLastPathComponent
        return data.withUnsafeBytes { raw -> (UInt32, Int)? in
            guard let layout = Layout(raw, keepEntries: false) else { return nil }
            if layout.link != nil {
                guard let split = SplitIndex(raw, gitDirectory: directory), split.forEach(raw, body) else { return nil }
                return (max(layout.header.version, split.shared.header.version), split.count)
            }
            var offset = 12
            for _ in 0..<layout.header.count {
                guard let entry = EntryView(raw, at: offset, version: layout.header.version) else { return nil }
                body(MergedEntry(raw, entry))
                offset = entry.end
            }
            return (layout.header.version, layout.header.count)
        }
    }

    /// Writes the split index at `path` as one full index at `newPath` (which must not exist):
    /// its entries, streamed as they are merged, cache tree and resolve-undo records. False,
    /// leaving no file, when it cannot.
    static func writeUnsplit(_ path: String, to newPath: String) -> Bool {
        guard let data = MappedFile(path) else { return false }
        let directory = (path as NSString).deletingLastPathComponent
        return data.withUnsafeBytes { raw -> Bool in
            guard let split = SplitIndex(raw, gitDirectory: directory) else { return false }
            var complete = true
            var pieces: [Piece] = [
                .generated { emit in
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(512)
                    complete = split.forEach(raw) { entry in
                        bytes.removeAll(keepingCapacity: true)
                        entry.encode(into: &bytes)
                        bytes.withUnsafeBytes(emit)
                    }
                }
            ]
            if let tree = split.layout.tree {
                pieces.append(.new(Array("TREE".utf8) + Header.be32(UInt32(tree.count))))
                pieces.append(.old(tree))
            }
            if let resolveUndo = split.layout.resolveUndo { pieces.append(.old(resolveUndo)) }
            // An entry with extended flags comes from a version 3 file, so the higher version holds them.
            var header = split.layout.header
            header.version = max(header.version, split.shared.header.version)
            guard write(pieces, raw, header: header.bytes(count: split.count), to: newPath) != nil else { return false }
            if !complete { unlink(newPath) }
            return complete
        }
    }

    /// Turns the full index at `path` into a split one in place: writes its entries as
    /// `sharedindex.<sha1>` next to it (and the block offsets), then `path` as a split file
    /// with no entries of its own. Returns the split file's trailer, or nil, leaving `path` as
    /// it was, when it cannot.
    static func split(_ path: String) -> [UInt8]? {
        let directory = (path as NSString).deletingLastPathComponent
        guard let data = MappedFile(path) else { return nil }
        return data.withUnsafeBytes { raw -> [UInt8]? in
            guard let layout = Layout(raw), layout.link == nil else { return nil }
            let entriesEnd = layout.entries.last?.end ?? 12
            let sharedTemporary = directory + "/sharedindex.stac-repository.tmp"
            unlink(sharedTemporary)
            guard
                let checksum = write(
                    [.old(12..<entriesEnd)], raw, header: layout.header.bytes(count: layout.header.count),
                    to: sharedTemporary)
            else { return nil }
            let sharedPath = directory + "/" + sharedIndexName(checksum)
            guard rename(sharedTemporary, sharedPath) == 0 else {
                unlink(sharedTemporary)
                return nil
            }
            let blocks = stride(from: 0, to: layout.entries.count, by: SharedIndex.blockSize).map {
                layout.entries[$0].start
            }
            SharedIndex.writeOffsets(
                SharedIndex.offsetsFile(directory), checksum: checksum, count: layout.header.count, blocks: blocks)
            var pieces: [Piece] = []
            if let tree = layout.tree {
                pieces.append(.new(Array("TREE".utf8) + Header.be32(UInt32(tree.count))))
                pieces.append(.old(tree))
            }
            if let resolveUndo = layout.resolveUndo { pieces.append(.old(resolveUndo)) }
            let link = checksum + EWAH.encode([]) + EWAH.encode([])
            pieces.append(.new(Array("link".utf8) + Header.be32(UInt32(link.count)) + link))
            let splitTemporary = path + ".split"
            unlink(splitTemporary)
            guard let trailer = write(pieces, raw, header: layout.header.bytes(count: 0), to: splitTemporary),
                rename(splitTemporary, path) == 0
            else {
                unlink(splitTemporary)
                return nil
            }
            return trailer
        }
    }

    /// ``rewrite(_:changes:to:recorded:trusted:)`` for a split index: the new split file at
    /// `newPath` holds the split file's added entries and the new entries of `changes`, and
    /// marks the shared entries of the changed paths deleted; the shared index is not touched.
    /// Git's replaced entries become deleted-and-added ones. Returns the summary of the merged
    /// index and the number of entries the split file now holds (what every later write copies;
    /// the deleted ones cost a bit each), or nil, writing nothing, when the index cannot be
    /// rewritten here or its entries are not the recorded ones.
    static func rewriteSplit(
        _ oldPath: String, changes: [Change], to newPath: String, recorded: String, trusted: Bool
    ) -> (summary: Summary, apart: Int, sharedCount: Int)? {
        guard var fingerprint = Fingerprint(text: recorded), let data = MappedFile(oldPath) else { return nil }
        let directory = (oldPath as NSString).deletingLastPathComponent
        var invalidDirectories = Set<[UInt8]>([[]])
        for change in changes {
            for (position, byte) in change.path.enumerated() where byte == 0x2F {
                invalidDirectories.insert(Array(change.path[..<position]))
            }
        }
        return data.withUnsafeBytes { raw -> (Summary, Int, Int)? in
            guard var split = SplitIndex(raw, gitDirectory: directory) else { return nil }
            if !trusted {
                var sum = Fingerprint()
                guard split.forEach(raw, { sum.add($0.fingerprint()) }),
                    sum.text(count: split.count) == recorded
                else { return nil }
                fingerprint = sum
            }
            let changed = Set(changes.map(\.path))
            return split.shared.file.withUnsafeBytes { sharedRaw -> (Summary, Int, Int)? in
                var kept: [(path: [UInt8], stage: UInt8, bytes: [UInt8])] = []
                for (k, position) in split.replaced.enumerated() {
                    guard let shared = split.shared.entry(at: position, sharedRaw) else { return nil }
                    let entry = MergedEntry(raw, split.layout.entries[k], path: MergedEntry(sharedRaw, shared).path)
                    split.deleted.insert(position)
                    let path = Array(entry.path)
                    if changed.contains(path) {
                        fingerprint.subtract(entry.fingerprint())
                        continue
                    }
                    var bytes: [UInt8] = []
                    entry.encode(into: &bytes)
                    kept.append((path, entry.stage, bytes))
                }
                for view in split.layout.entries[split.replaced.count...] {
                    let entry = MergedEntry(raw, view)
                    let path = Array(entry.path)
                    if changed.contains(path) {
                        fingerprint.subtract(entry.fingerprint())
                        continue
                    }
                    kept.append((path, entry.stage, Array(raw[view.start..<view.end])))
                }
                for change in changes {
                    if var position = split.shared.firstPosition(of: change.path, sharedRaw),
                        var offset = split.shared.entry(at: position, sharedRaw)?.start
                    {
                        while position < split.shared.header.count,
                            let entry = EntryView(sharedRaw, at: offset, version: split.shared.header.version),
                            entry.compare(sharedRaw, with: change.path) == 0
                        {
                            if !split.deleted.contains(position) {
                                fingerprint.subtract(entry.fingerprint(sharedRaw))
                                split.deleted.insert(position)
                            }
                            offset = entry.end
                            position += 1
                        }
                    }
                    if let entry = change.entry {
                        var bytes: [UInt8] = []
                        fingerprint.add(encode(entry, path: change.path, into: &bytes))
                        kept.append((change.path, 0, bytes))
                    }
                }
                kept.sort {
                    $0.path == $1.path ? $0.stage < $1.stage : $0.path.lexicographicallyPrecedes($1.path)
                }
                guard
                    let tree = split.layout.tree.map({ range -> [UInt8]? in
                        CacheTree.invalidating(invalidDirectories, in: UnsafeRawBufferPointer(rebasing: raw[range]))
                    }) ?? .some([])
                else { return nil }
                var bytes: [UInt8] = []
                for entry in kept { bytes += entry.bytes }
                var pieces: [Piece] = [.new(bytes)]
                if split.layout.tree != nil {
                    pieces.append(.new(Array("TREE".utf8) + Header.be32(UInt32(tree.count)) + tree))
                }
                if let resolveUndo = split.layout.resolveUndo { pieces.append(.old(resolveUndo)) }
                let link = split.shared.checksum + EWAH.encode(split.deleted.sorted()) + EWAH.encode([])
                pieces.append(.new(Array("link".utf8) + Header.be32(UInt32(link.count)) + link))
                guard
                    let checksum = write(
                        pieces, raw, header: split.layout.header.bytes(count: kept.count), to: newPath)
                else { return nil }
                let count = split.shared.header.count - split.deleted.count + kept.count
                return (
                    Summary(fingerprint: fingerprint.text(count: count), checksum: checksum), kept.count,
                    split.shared.header.count
                )
            }
        }
    }

    /// Removes the shared indexes in `gitDirectory` other than the one `current` names and the
    /// newest other one (which a reader that opened the previous `.git/index` may be about to
    /// read).
    static func removeStaleSharedIndexes(in gitDirectory: String, current: [UInt8]) {
        let keep = sharedIndexName(current)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: gitDirectory) else { return }
        var others: [(name: String, modified: Int)] = []
        for name in names where name.hasPrefix("sharedindex.") && name != keep && name.count == 52 {
            var info = stat()
            guard lstat(gitDirectory + "/" + name, &info) == 0 else { continue }
            others.append((name, Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)))
        }
        for other in others.sorted(by: { $0.modified > $1.modified }).dropFirst() {
            unlink(gitDirectory + "/" + other.name)
        }
    }
}
