/// The values and levels of one leaf column in the current row group, and the pages already
/// encoded for it.
struct ColumnBuffer {
    let path: [String]
    let primitive: ParquetPrimitive
    let maxDefinition: Int
    let maxRepetition: Int

    // The page being filled.
    private var values: [UInt8] = []
    private var booleans: [Bool] = []
    private var definitions: [UInt16] = []
    private var repetitions: [UInt16] = []
    private(set) var levelCount = 0

    // The column chunk of the current row group: encoded pages.
    private(set) var chunk: [UInt8] = []
    private(set) var chunkValues: Int64 = 0
    private(set) var chunkUncompressed: Int64 = 0
    private(set) var statistics = ColumnStatistics()

    init(path: [String], primitive: ParquetPrimitive, maxDefinition: Int, maxRepetition: Int) {
        self.path = path
        self.primitive = primitive
        self.maxDefinition = maxDefinition
        self.maxRepetition = maxRepetition
    }

    /// Encoded value bytes waiting in the current page.
    var valueBytes: Int { primitive == .boolean ? booleans.count / 8 : values.count }

    mutating func appendNull(definition: Int, repetition: Int) {
        appendLevels(definition: definition, repetition: repetition)
        statistics.nullCount += 1
    }

    mutating func append(
        _ value: ParquetValue, _ type: ParquetPrimitive, definition: Int, repetition: Int, column: String
    ) throws {
        switch (type, value) {
        case (.boolean, .boolean(let b)):
            booleans.append(b)
        case (.int64, .int64(let v)), (.timestampMicrosUTC, .int64(let v)):
            appendLittleEndian(UInt64(bitPattern: v))
            statistics.observe(v)
        case (.double, .double(let d)):
            appendLittleEndian(d.bitPattern)
            statistics.observe(d)
        case (.double, .int64(let v)):
            appendLittleEndian(Double(v).bitPattern)
            statistics.observe(Double(v))
        case (.string, .string(let s)), (.binary, .string(let s)):
            var s = s
            s.withUTF8 { appendByteArray($0) }
        case (.binary, .bytes(let b)), (.string, .bytes(let b)):
            b.withUnsafeBufferPointer { appendByteArray($0) }
        default:
            throw ParquetError("the column \(column) (\(type)) cannot hold the value \(value)")
        }
        appendLevels(definition: definition, repetition: repetition)
    }

    private mutating func appendLevels(definition: Int, repetition: Int) {
        if maxDefinition > 0 { definitions.append(UInt16(definition)) }
        if maxRepetition > 0 { repetitions.append(UInt16(repetition)) }
        levelCount += 1
    }

    private mutating func appendLittleEndian(_ v: UInt64) {
        for i in 0..<8 { values.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }

    private mutating func appendByteArray(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = UInt32(bytes.count)
        values.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)])
        values.append(contentsOf: bytes)
    }

    /// Encodes the current page (levels, then PLAIN values), compresses it and appends it with
    /// its `PageHeader` to the chunk.
    mutating func flushPage(_ compressor: PageCompressor) throws {
        guard levelCount > 0 else { return }
        var body: [UInt8] = []
        body.reserveCapacity(values.count + levelCount / 2 + 16)
        if maxRepetition > 0 {
            appendLevels(LevelEncoder.encode(repetitions, bitWidth: LevelEncoder.bitWidth(maxRepetition)), to: &body)
        }
        if maxDefinition > 0 {
            appendLevels(LevelEncoder.encode(definitions, bitWidth: LevelEncoder.bitWidth(maxDefinition)), to: &body)
        }
        if primitive == .boolean {
            var byte: UInt8 = 0
            for (i, b) in booleans.enumerated() {
                if b { byte |= 1 << UInt8(i % 8) }
                if i % 8 == 7 {
                    body.append(byte)
                    byte = 0
                }
            }
            if booleans.count % 8 != 0 { body.append(byte) }
        } else {
            body.append(contentsOf: values)
        }
        let compressed = try compressor.compress(body)
        var header = ThriftCompactWriter()
        header.i32(1, 0)  // DATA_PAGE
        header.i32(2, Int32(body.count))
        header.i32(3, Int32(compressed.count))
        header.beginStruct(5)
        header.i32(1, Int32(levelCount))
        header.i32(2, 0)  // PLAIN
        header.i32(3, 3)  // RLE
        header.i32(4, 3)  // RLE
        header.endStruct()
        header.stop()
        chunk.append(contentsOf: header.bytes)
        chunk.append(contentsOf: compressed)
        chunkUncompressed += Int64(header.bytes.count + body.count)
        chunkValues += Int64(levelCount)
        values.removeAll(keepingCapacity: true)
        booleans.removeAll(keepingCapacity: true)
        definitions.removeAll(keepingCapacity: true)
        repetitions.removeAll(keepingCapacity: true)
        levelCount = 0
    }

    private func appendLevels(_ encoded: [UInt8], to body: inout [UInt8]) {
        let n = UInt32(encoded.count)
        body.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)])
        body.append(contentsOf: encoded)
    }

    /// Starts the next row group's chunk (the chunk was written).
    mutating func resetChunk() {
        chunk = []
        chunkValues = 0
        chunkUncompressed = 0
        statistics = ColumnStatistics()
    }
}

/// A column chunk's `Statistics`: the null count, and min/max for numeric columns.
struct ColumnStatistics {
    var nullCount: Int64 = 0
    private var minInt: Int64?
    private var maxInt: Int64?
    private var minDouble: Double?
    private var maxDouble: Double?

    mutating func observe(_ v: Int64) {
        minInt = Swift.min(minInt ?? v, v)
        maxInt = Swift.max(maxInt ?? v, v)
    }

    mutating func observe(_ d: Double) {
        guard !d.isNaN else { return }
        minDouble = Swift.min(minDouble ?? d, d)
        maxDouble = Swift.max(maxDouble ?? d, d)
    }

    func write(_ t: inout ThriftCompactWriter, field: Int16) {
        t.beginStruct(field)
        t.i64(3, nullCount)
        if let maxInt, let minInt {
            t.binary(5, littleEndian(UInt64(bitPattern: maxInt)))
            t.binary(6, littleEndian(UInt64(bitPattern: minInt)))
        } else if let maxDouble, let minDouble {
            // Zero bounds are written as -0.0 (min) and +0.0 (max), as the format asks.
            t.binary(5, littleEndian((maxDouble == 0 ? 0.0 : maxDouble).bitPattern))
            t.binary(6, littleEndian((minDouble == 0 ? -0.0 : minDouble).bitPattern))
        }
        t.endStruct()
    }

    private func littleEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}
