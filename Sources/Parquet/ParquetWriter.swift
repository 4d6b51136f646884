/// Writes a Parquet file row by row, in bounded memory: rows are shredded into columns
/// (Dremel definition and repetition levels) as they arrive, and every `rowGroupSize` rows the
/// row group is encoded (PLAIN values, RLE/bit-packed hybrid levels, one data page per
/// `pageSize` bytes of values) and handed to `output`. ``finish(keyValueMetadata:)`` writes the
/// footer (`FileMetaData`, Thrift compact protocol) and the trailing `PAR1`.
///
/// After an error the writer refuses further rows: the file it was writing is incomplete.
public final class ParquetWriter {
    /// Rows appended so far.
    public private(set) var rowCount = 0
    /// Row groups written so far.
    public private(set) var rowGroupCount = 0
    /// Bytes handed to the output so far.
    public private(set) var bytesWritten: Int64 = 0

    private let schema: [ParquetField]
    private let roots: [Node]
    private var columns: [ColumnBuffer]
    private let compressor: PageCompressor
    private let rowGroupSize: Int
    private let pageSize: Int
    private let createdBy: String
    private let output: ([UInt8]) throws -> Void
    private var rowsInGroup = 0
    private var rowGroups: [RowGroupMetadata] = []
    private var failed = false
    private var finished = false

    /// - Parameters:
    ///   - schema: the top-level fields, in column order.
    ///   - rowGroupSize: rows per row group (at least 1).
    ///   - pageSize: encoded value bytes after which a column starts a new page.
    ///   - output: receives the file's bytes in order.
    /// - Throws: ``ParquetError`` for an empty schema or group, or when libzstd fails.
    public init(
        schema: [ParquetField], compression: ParquetCompression = .zstd(level: 3), rowGroupSize: Int = 10_000,
        pageSize: Int = 1 << 20, createdBy: String = "stac-repository", output: @escaping ([UInt8]) throws -> Void
    ) throws {
        guard !schema.isEmpty else { throw ParquetError("a Parquet schema needs at least one column") }
        self.schema = schema
        var leaves: [ColumnBuffer] = []
        roots = try schema.map { try Node.compile($0, path: [], parentDefinition: 0, repetition: 0, leaves: &leaves) }
        columns = leaves
        compressor = try PageCompressor(compression)
        self.rowGroupSize = max(1, rowGroupSize)
        self.pageSize = max(1024, pageSize)
        self.createdBy = createdBy
        self.output = output
        try emit(Array("PAR1".utf8))
    }

    /// Appends one row: one value per top-level field.
    ///
    /// - Throws: ``ParquetError`` when a value does not fit its field (the writer is then unusable).
    public func append(_ row: [ParquetValue]) throws {
        guard !failed, !finished else { throw ParquetError("the Parquet writer is closed") }
        guard row.count == roots.count else {
            failed = true
            throw ParquetError("a row has \(row.count) values for \(roots.count) columns")
        }
        do {
            for (node, value) in zip(roots, row) { try write(value, node, parentDefinition: 0, repetition: 0) }
        } catch {
            failed = true
            throw error
        }
        rowCount += 1
        rowsInGroup += 1
        for i in columns.indices where columns[i].valueBytes >= pageSize || columns[i].levelCount >= 1 << 20 {
            try columns[i].flushPage(compressor)
        }
        if rowsInGroup >= rowGroupSize { try flushRowGroup() }
    }

    /// Writes the last row group and the footer with `keyValueMetadata` (in order).
    public func finish(keyValueMetadata: [(key: String, value: String)] = []) throws {
        guard !failed, !finished else { throw ParquetError("the Parquet writer is closed") }
        if rowsInGroup > 0 { try flushRowGroup() }
        finished = true
        let footer = fileMetadata(keyValueMetadata)
        try emit(footer)
        let n = UInt32(footer.count)
        try emit([UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + Array("PAR1".utf8))
    }

    // MARK: Shredding

    private func write(_ value: ParquetValue, _ node: Node, parentDefinition: Int, repetition: Int) throws {
        if case .null = value {
            guard node.field.optional else { throw ParquetError("the required column \(node.dotted) is null") }
            for leaf in node.leaves { columns[leaf].appendNull(definition: parentDefinition, repetition: repetition) }
            return
        }
        let definition = parentDefinition + (node.field.optional ? 1 : 0)
        switch node.field.kind {
        case .primitive(let type):
            try columns[node.leaves.lowerBound].append(
                value, type, definition: definition, repetition: repetition, column: node.dotted)
        case .group:
            guard case .group(let values) = value, values.count == node.children.count else {
                throw ParquetError("the column \(node.dotted) needs a group of \(node.children.count) values")
            }
            for (child, v) in zip(node.children, values) {
                try write(v, child, parentDefinition: definition, repetition: repetition)
            }
        case .list:
            guard case .list(let elements) = value else {
                throw ParquetError("the column \(node.dotted) needs a list")
            }
            let element = node.children[0]
            if elements.isEmpty {
                for leaf in node.leaves { columns[leaf].appendNull(definition: definition, repetition: repetition) }
                return
            }
            for (i, e) in elements.enumerated() {
                try write(
                    e, element, parentDefinition: definition + 1,
                    repetition: i == 0 ? repetition : node.listRepetition)
            }
        }
    }

    // MARK: Row groups and footer

    private func flushRowGroup() throws {
        var chunks: [ColumnChunkMetadata] = []
        var totalUncompressed: Int64 = 0
        var totalCompressed: Int64 = 0
        let start = bytesWritten
        for i in columns.indices {
            try columns[i].flushPage(compressor)
            let offset = bytesWritten
            try emit(columns[i].chunk)
            chunks.append(
                ColumnChunkMetadata(
                    offset: offset, values: columns[i].chunkValues, uncompressed: columns[i].chunkUncompressed,
                    compressed: Int64(columns[i].chunk.count), statistics: columns[i].statistics))
            totalUncompressed += columns[i].chunkUncompressed
            totalCompressed += Int64(columns[i].chunk.count)
            columns[i].resetChunk()
        }
        rowGroups.append(
            RowGroupMetadata(
                columns: chunks, rows: Int64(rowsInGroup), offset: start, uncompressed: totalUncompressed,
                compressed: totalCompressed))
        rowGroupCount += 1
        rowsInGroup = 0
    }

    private func emit(_ bytes: [UInt8]) throws {
        do { try output(bytes) } catch {
            failed = true
            throw error
        }
        bytesWritten += Int64(bytes.count)
    }

    private func fileMetadata(_ keyValues: [(key: String, value: String)]) -> [UInt8] {
        var t = ThriftCompactWriter()
        t.i32(1, 2)
        var elements: [SchemaElement] = [SchemaElement(name: "schema", children: roots.count)]
        for root in roots { root.appendSchemaElements(&elements) }
        t.beginList(2, .struct, count: elements.count)
        for e in elements { e.write(&t) }
        t.i64(3, Int64(rowCount))
        t.beginList(4, .struct, count: rowGroups.count)
        for (ordinal, group) in rowGroups.enumerated() {
            t.beginStructElement()
            t.beginList(1, .struct, count: group.columns.count)
            for (column, chunk) in zip(columns, group.columns) {
                t.beginStructElement()
                t.i64(2, chunk.offset)
                t.beginStruct(3)
                t.i32(1, column.primitive.physicalType)
                t.beginList(2, .i32, count: 2)
                t.elementI32(0)  // PLAIN
                t.elementI32(3)  // RLE (levels)
                t.beginList(3, .binary, count: column.path.count)
                for p in column.path { t.elementString(p) }
                t.i32(4, compressor.compression.codec)
                t.i64(5, chunk.values)
                t.i64(6, chunk.uncompressed)
                t.i64(7, chunk.compressed)
                t.i64(9, chunk.offset)
                chunk.statistics.write(&t, field: 12)
                t.endStruct()
                t.endStruct()
            }
            t.i64(2, group.uncompressed)
            t.i64(3, group.rows)
            t.i64(5, group.offset)
            t.i64(6, group.compressed)
            t.i16(7, Int16(truncatingIfNeeded: ordinal))
            t.endStruct()
        }
        if !keyValues.isEmpty {
            t.beginList(5, .struct, count: keyValues.count)
            for (k, v) in keyValues {
                t.beginStructElement()
                t.string(1, k)
                t.string(2, v)
                t.endStruct()
            }
        }
        t.string(6, createdBy)
        // Column orders: TYPE_ORDER for every leaf, so readers may use min_value/max_value.
        t.beginList(7, .struct, count: columns.count)
        for _ in columns {
            t.beginStructElement()
            t.emptyStruct(1)
            t.endStruct()
        }
        t.stop()
        return t.bytes
    }
}

// MARK: - Compiled schema

/// A field with its place among the leaf columns and its repetition level.
private final class Node {
    let field: ParquetField
    let children: [Node]
    /// The leaf columns under this field (one for a primitive).
    let leaves: Range<Int>
    /// The repetition level of a list's repeated group.
    let listRepetition: Int
    let dotted: String

    init(field: ParquetField, children: [Node], leaves: Range<Int>, listRepetition: Int, dotted: String) {
        self.field = field
        self.children = children
        self.leaves = leaves
        self.listRepetition = listRepetition
        self.dotted = dotted
    }

    static func compile(
        _ field: ParquetField, path: [String], parentDefinition: Int, repetition: Int, leaves: inout [ColumnBuffer]
    ) throws -> Node {
        let definition = parentDefinition + (field.optional ? 1 : 0)
        let here = path + [field.name]
        let dotted = here.joined(separator: ".")
        let first = leaves.count
        switch field.kind {
        case .primitive(let type):
            leaves.append(
                ColumnBuffer(path: here, primitive: type, maxDefinition: definition, maxRepetition: repetition))
            return Node(field: field, children: [], leaves: first..<leaves.count, listRepetition: 0, dotted: dotted)
        case .group(let fields):
            guard !fields.isEmpty else { throw ParquetError("the group column \(dotted) has no fields") }
            let children = try fields.map {
                try compile($0, path: here, parentDefinition: definition, repetition: repetition, leaves: &leaves)
            }
            return Node(
                field: field, children: children, leaves: first..<leaves.count, listRepetition: 0, dotted: dotted)
        case .list(let element):
            let child = try compile(
                element, path: here + ["list"], parentDefinition: definition + 1, repetition: repetition + 1,
                leaves: &leaves)
            return Node(
                field: field, children: [child], leaves: first..<leaves.count, listRepetition: repetition + 1,
                dotted: dotted)
        }
    }

    func appendSchemaElements(_ out: inout [SchemaElement]) {
        let repetition: Int32 = field.optional ? 1 : 0
        switch field.kind {
        case .primitive(let type):
            out.append(SchemaElement(name: field.name, repetition: repetition, primitive: type))
        case .group:
            out.append(SchemaElement(name: field.name, repetition: repetition, children: children.count))
            for c in children { c.appendSchemaElements(&out) }
        case .list:
            out.append(SchemaElement(name: field.name, repetition: repetition, children: 1, isList: true))
            out.append(SchemaElement(name: "list", repetition: 2, children: 1))
            children[0].appendSchemaElements(&out)
        }
    }
}

/// One `SchemaElement` of the footer.
private struct SchemaElement {
    var name: String
    var repetition: Int32? = nil
    var children: Int? = nil
    var primitive: ParquetPrimitive? = nil
    var isList = false

    init(name: String, children: Int) {
        self.name = name
        self.children = children
    }

    init(name: String, repetition: Int32, children: Int, isList: Bool = false) {
        self.name = name
        self.repetition = repetition
        self.children = children
        self.isList = isList
    }

    init(name: String, repetition: Int32, primitive: ParquetPrimitive) {
        self.name = name
        self.repetition = repetition
        self.primitive = primitive
    }

    func write(_ t: inout ThriftCompactWriter) {
        t.beginStructElement()
        if let primitive { t.i32(1, primitive.physicalType) }
        if let repetition { t.i32(3, repetition) }
        t.string(4, name)
        if let children { t.i32(5, Int32(children)) }
        if isList {
            t.i32(6, 3)  // ConvertedType LIST
            t.beginStruct(10)
            t.emptyStruct(3)  // LogicalType LIST
            t.endStruct()
        }
        switch primitive {
        case .string?:
            t.i32(6, 0)  // UTF8
            t.beginStruct(10)
            t.emptyStruct(1)  // STRING
            t.endStruct()
        case .timestampMicrosUTC?:
            t.i32(6, 10)  // TIMESTAMP_MICROS
            t.beginStruct(10)
            t.beginStruct(8)  // TIMESTAMP
            t.bool(1, true)  // isAdjustedToUTC
            t.beginStruct(2)  // unit
            t.emptyStruct(2)  // MICROS
            t.endStruct()
            t.endStruct()
            t.endStruct()
        default: break
        }
        t.endStruct()
    }
}

private struct ColumnChunkMetadata {
    var offset: Int64
    var values: Int64
    var uncompressed: Int64
    var compressed: Int64
    var statistics: ColumnStatistics
}

private struct RowGroupMetadata {
    var columns: [ColumnChunkMetadata]
    var rows: Int64
    var offset: Int64
    var uncompressed: Int64
    var compressed: Int64
}

extension ParquetPrimitive {
    var physicalType: Int32 {
        switch self {
        case .boolean: 0
        case .int64, .timestampMicrosUTC: 2
        case .double: 5
        case .string, .binary: 6
        }
    }
}
