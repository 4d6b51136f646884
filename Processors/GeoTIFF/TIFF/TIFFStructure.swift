/// The byte order a TIFF file declares in its first two bytes (`II` or `MM`).
enum TIFFByteOrder: Sendable, Equatable {
    case littleEndian
    case bigEndian
}

/// TIFF field types (TIFF 6.0 §2, BigTIFF additions), with their size in bytes.
enum TIFFFieldType: UInt16, Sendable {
    case byte = 1, ascii, short, long, rational, sbyte, undefined, sshort, slong, srational, float, double
    case ifd = 13
    case long8 = 16, slong8, ifd8

    /// Size of one value of this type, in bytes.
    var size: Int {
        switch self {
        case .byte, .ascii, .sbyte, .undefined: 1
        case .short, .sshort: 2
        case .long, .slong, .float, .ifd: 4
        case .rational, .srational, .double, .long8, .slong8, .ifd8: 8
        }
    }
}

/// One directory entry: a tag, its type and count, and the raw value-or-offset field.
struct TIFFEntry: Sendable {
    var tag: UInt16
    /// `nil` for a type this reader does not know; such entries are kept but cannot be decoded.
    var type: TIFFFieldType?
    var rawType: UInt16
    var count: UInt64
    /// The 4 (classic) or 8 (BigTIFF) bytes of the value/offset field, in file byte order.
    var valueField: [UInt8]
}

/// One image file directory (IFD): the entries of one image (full resolution, overview or mask).
struct TIFFDirectory: Sendable {
    /// Where the directory starts in the file.
    var offset: UInt64
    /// Entries by tag.
    var entries: [UInt16: TIFFEntry]

    subscript(tag: TIFFTag) -> TIFFEntry? { entries[tag.rawValue] }
}

/// The tags this reader understands.
enum TIFFTag: UInt16, Sendable {
    case newSubfileType = 254
    case imageWidth = 256
    case imageLength = 257
    case bitsPerSample = 258
    case compression = 259
    case photometricInterpretation = 262
    case stripOffsets = 273
    case samplesPerPixel = 277
    case rowsPerStrip = 278
    case stripByteCounts = 279
    case planarConfiguration = 284
    case dateTime = 306
    case tileWidth = 322
    case tileLength = 323
    case tileOffsets = 324
    case tileByteCounts = 325
    case sampleFormat = 339
    case modelPixelScale = 33550
    case modelTiepoint = 33922
    case modelTransformation = 34264
    case geoKeyDirectory = 34735
    case geoDoubleParams = 34736
    case geoAsciiParams = 34737
    case gdalNoData = 42113
}

/// Decodes integers and floats from bytes in one byte order.
struct TIFFDecoder: Sendable {
    var byteOrder: TIFFByteOrder

    func uint(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        switch byteOrder {
        case .littleEndian:
            for byte in bytes.reversed() { value = value << 8 | UInt64(byte) }
        case .bigEndian:
            for byte in bytes { value = value << 8 | UInt64(byte) }
        }
        return value
    }

    func uint16(_ bytes: [UInt8], at index: Int) -> UInt16 {
        UInt16(truncatingIfNeeded: uint(bytes[index..<index + 2]))
    }
    func uint32(_ bytes: [UInt8], at index: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: uint(bytes[index..<index + 4]))
    }
    func uint64(_ bytes: [UInt8], at index: Int) -> UInt64 { uint(bytes[index..<index + 8]) }
}
