import Foundation

/// Reads the structure of a TIFF or BigTIFF file: its byte order and the chain of image file
/// directories, decoding tag values on demand.
///
/// Every offset is checked against the file's size and every count against a limit before
/// anything is read, so a corrupt or hostile file gives a ``TIFFError``, never a crash or a huge
/// allocation.
final class TIFFReader {
    /// Limits that keep a corrupt file from making the reader loop or allocate without bound.
    struct Limits: Sendable {
        /// Most directories followed along the chain (a COG has one per overview and mask).
        var maximumDirectories = 512
        /// Most entries in one directory (real files have a few dozen).
        var maximumEntries: UInt64 = 4096
        /// Largest tag value decoded, in bytes.
        var maximumValueBytes: UInt64 = 16 << 20
    }

    let source: TIFFByteSource
    let byteOrder: TIFFByteOrder
    let isBigTIFF: Bool
    let directories: [TIFFDirectory]
    private let decoder: TIFFDecoder
    private let limits: Limits

    /// Opens `url` and reads its header and every directory in the chain.
    ///
    /// - Throws: ``TIFFError`` when the file is not a TIFF, is truncated, or is malformed.
    init(url: URL, limits: Limits = Limits()) throws(TIFFError) {
        self.limits = limits
        source = try TIFFByteSource(url: url)
        guard source.size >= 8 else {
            throw TIFFError("is not a TIFF file: it is only \(source.size) bytes long")
        }
        let header = try source.read(at: 0, count: 8, what: "the TIFF header")
        switch (header[0], header[1]) {
        case (0x49, 0x49): byteOrder = .littleEndian
        case (0x4D, 0x4D): byteOrder = .bigEndian
        default:
            throw TIFFError("is not a TIFF file: it does not start with \"II\" or \"MM\"")
        }
        decoder = TIFFDecoder(byteOrder: byteOrder)
        let firstDirectory: UInt64
        switch decoder.uint16(header, at: 2) {
        case 42:
            isBigTIFF = false
            firstDirectory = UInt64(decoder.uint32(header, at: 4))
        case 43:
            isBigTIFF = true
            guard decoder.uint16(header, at: 4) == 8, decoder.uint16(header, at: 6) == 0 else {
                throw TIFFError("is a malformed BigTIFF file: its header does not declare 8-byte offsets")
            }
            let more = try source.read(at: 8, count: 8, what: "the BigTIFF header")
            firstDirectory = decoder.uint64(more, at: 0)
        default:
            throw TIFFError("is not a TIFF file: its version number is neither 42 (TIFF) nor 43 (BigTIFF)")
        }
        directories = try Self.readChain(
            from: firstDirectory, source: source, decoder: decoder, isBigTIFF: isBigTIFF, limits: limits)
    }

    private static func readChain(
        from first: UInt64, source: TIFFByteSource, decoder: TIFFDecoder, isBigTIFF: Bool, limits: Limits
    ) throws(TIFFError) -> [TIFFDirectory] {
        guard first != 0 else { throw TIFFError("has no image: its first directory offset is 0") }
        var directories: [TIFFDirectory] = []
        var seen: Set<UInt64> = []
        var next = first
        while next != 0 {
            guard seen.insert(next).inserted else {
                throw TIFFError("is corrupt: its directory chain loops back to byte \(next)")
            }
            guard directories.count < limits.maximumDirectories else {
                throw TIFFError(
                    "has more than \(limits.maximumDirectories) image directories, which this reader does not follow")
            }
            let index = directories.count
            let (directory, following) = try readDirectory(
                at: next, index: index, source: source, decoder: decoder, isBigTIFF: isBigTIFF, limits: limits)
            directories.append(directory)
            next = following
        }
        return directories
    }

    private static func readDirectory(
        at offset: UInt64, index: Int, source: TIFFByteSource, decoder: TIFFDecoder, isBigTIFF: Bool, limits: Limits
    ) throws(TIFFError) -> (TIFFDirectory, UInt64) {
        let countSize = isBigTIFF ? 8 : 2
        let entrySize = isBigTIFF ? 20 : 12
        let offsetSize = isBigTIFF ? 8 : 4
        let countBytes = try source.read(at: offset, count: countSize, what: "the entry count of directory \(index)")
        let count = isBigTIFF ? decoder.uint64(countBytes, at: 0) : UInt64(decoder.uint16(countBytes, at: 0))
        guard count > 0 else { throw TIFFError("is corrupt: directory \(index) has no entries") }
        guard count <= limits.maximumEntries else {
            throw TIFFError(
                "is corrupt: directory \(index) claims \(count) entries (at most \(limits.maximumEntries) are read)")
        }
        let body = try source.read(
            at: offset + UInt64(countSize), count: Int(count) * entrySize + offsetSize,
            what: "directory \(index) (\(count) entries)")
        var entries: [UInt16: TIFFEntry] = [:]
        for i in 0..<Int(count) {
            let base = i * entrySize
            let tag = decoder.uint16(body, at: base)
            let rawType = decoder.uint16(body, at: base + 2)
            let valueCount = isBigTIFF ? decoder.uint64(body, at: base + 4) : UInt64(decoder.uint32(body, at: base + 4))
            let fieldStart = base + (isBigTIFF ? 12 : 8)
            let field = Array(body[fieldStart..<fieldStart + offsetSize])
            // The first of duplicate tags wins, as in libtiff.
            if entries[tag] == nil {
                entries[tag] = TIFFEntry(
                    tag: tag, type: TIFFFieldType(rawValue: rawType), rawType: rawType, count: valueCount,
                    valueField: field)
            }
        }
        let nextBase = Int(count) * entrySize
        let next = isBigTIFF ? decoder.uint64(body, at: nextBase) : UInt64(decoder.uint32(body, at: nextBase))
        return (TIFFDirectory(offset: offset, entries: entries), next)
    }

    // MARK: Values

    /// The raw bytes of an entry's value, read from the value field or from the offset it holds.
    func bytes(of entry: TIFFEntry, name: String) throws(TIFFError) -> (TIFFFieldType, [UInt8]) {
        guard let type = entry.type else {
            throw TIFFError("is corrupt: tag \(name) (\(entry.tag)) has unknown field type \(entry.rawType)")
        }
        let (total, overflow) = entry.count.multipliedReportingOverflow(by: UInt64(type.size))
        guard !overflow, total <= limits.maximumValueBytes else {
            throw TIFFError(
                "is corrupt: tag \(name) (\(entry.tag)) claims \(entry.count) values, more than this reader accepts")
        }
        if total <= UInt64(entry.valueField.count) {
            return (type, Array(entry.valueField[0..<Int(total)]))
        }
        let offset =
            isBigTIFF ? decoder.uint64(entry.valueField, at: 0) : UInt64(decoder.uint32(entry.valueField, at: 0))
        return (type, try source.read(at: offset, count: Int(total), what: "the value of tag \(name) (\(entry.tag))"))
    }

    /// An integer-typed entry's values.
    func integers(of entry: TIFFEntry, name: String) throws(TIFFError) -> [UInt64] {
        let (type, raw) = try bytes(of: entry, name: name)
        switch type {
        case .byte, .short, .long, .long8, .ifd, .ifd8, .undefined:
            return stride(from: 0, to: raw.count, by: type.size).map { decoder.uint(raw[$0..<$0 + type.size]) }
        case .sbyte, .sshort, .slong, .slong8:
            let values = signedIntegers(raw, type: type)
            guard values.allSatisfy({ $0 >= 0 }) else {
                throw TIFFError("is corrupt: tag \(name) (\(entry.tag)) holds a negative value")
            }
            return values.map { UInt64($0) }
        default:
            throw TIFFError(
                "is corrupt: tag \(name) (\(entry.tag)) should hold integers but has field type \(entry.rawType)")
        }
    }

    /// A numeric entry's values as doubles (integers, rationals and floats alike).
    func doubles(of entry: TIFFEntry, name: String) throws(TIFFError) -> [Double] {
        let (type, raw) = try bytes(of: entry, name: name)
        switch type {
        case .double:
            return stride(from: 0, to: raw.count, by: 8).map { Double(bitPattern: decoder.uint(raw[$0..<$0 + 8])) }
        case .float:
            return stride(from: 0, to: raw.count, by: 4).map {
                Double(Float(bitPattern: UInt32(truncatingIfNeeded: decoder.uint(raw[$0..<$0 + 4]))))
            }
        case .rational, .srational:
            return stride(from: 0, to: raw.count, by: 8).map {
                let numerator = decoder.uint(raw[$0..<$0 + 4])
                let denominator = decoder.uint(raw[$0 + 4..<$0 + 8])
                if type == .srational {
                    return Double(Int32(truncatingIfNeeded: numerator)) / Double(Int32(truncatingIfNeeded: denominator))
                }
                return Double(numerator) / Double(denominator)
            }
        case .sbyte, .sshort, .slong, .slong8:
            return signedIntegers(raw, type: type).map(Double.init)
        case .byte, .short, .long, .long8, .ifd, .ifd8, .undefined:
            return stride(from: 0, to: raw.count, by: type.size).map { Double(decoder.uint(raw[$0..<$0 + type.size])) }
        case .ascii:
            throw TIFFError("is corrupt: tag \(name) (\(entry.tag)) should hold numbers but holds text")
        }
    }

    /// An ASCII entry's text, up to its first NUL, with surrounding whitespace removed.
    func text(of entry: TIFFEntry, name: String) throws(TIFFError) -> String {
        let (type, raw) = try bytes(of: entry, name: name)
        guard type == .ascii || type == .byte || type == .undefined else {
            throw TIFFError(
                "is corrupt: tag \(name) (\(entry.tag)) should hold text but has field type \(entry.rawType)")
        }
        let end = raw.firstIndex(of: 0) ?? raw.endIndex
        return String(decoding: raw[..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func signedIntegers(_ raw: [UInt8], type: TIFFFieldType) -> [Int64] {
        stride(from: 0, to: raw.count, by: type.size).map {
            let bits = decoder.uint(raw[$0..<$0 + type.size])
            switch type.size {
            case 1: return Int64(Int8(truncatingIfNeeded: bits))
            case 2: return Int64(Int16(truncatingIfNeeded: bits))
            case 4: return Int64(Int32(truncatingIfNeeded: bits))
            default: return Int64(bitPattern: bits)
            }
        }
    }
}
