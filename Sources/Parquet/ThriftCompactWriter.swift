/// Writes Thrift structures in the compact protocol, the encoding of Parquet's `FileMetaData`
/// and `PageHeader` (Apache Thrift, "Thrift Compact protocol encoding").
///
/// Fields are written in increasing id order by the caller; the writer tracks the last field id
/// of each open struct so it can use the short (delta) field header.
struct ThriftCompactWriter {
    /// Compact protocol type codes.
    enum FieldType: UInt8 {
        case boolTrue = 1
        case boolFalse = 2
        case byte = 3
        case i16 = 4
        case i32 = 5
        case i64 = 6
        case double = 7
        case binary = 8
        case list = 9
        case set = 10
        case map = 11
        case `struct` = 12
    }

    private(set) var bytes: [UInt8] = []
    private var lastFieldID: [Int16] = [0]

    // MARK: Fields

    mutating func i32(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        varint(zigzag(Int64(value)))
    }

    mutating func i16(_ id: Int16, _ value: Int16) {
        fieldHeader(id, .i16)
        varint(zigzag(Int64(value)))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        varint(zigzag(value))
    }

    mutating func bool(_ id: Int16, _ value: Bool) {
        fieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    mutating func binary(_ id: Int16, _ value: [UInt8]) {
        fieldHeader(id, .binary)
        rawBinary(value)
    }

    mutating func string(_ id: Int16, _ value: String) { binary(id, Array(value.utf8)) }

    /// Opens a struct-typed field; close it with ``endStruct()``.
    mutating func beginStruct(_ id: Int16) {
        fieldHeader(id, .struct)
        lastFieldID.append(0)
    }

    /// Writes the stop byte of the innermost open struct.
    mutating func endStruct() {
        bytes.append(0)
        lastFieldID.removeLast()
    }

    /// A struct-typed field with no fields (`struct StringType {}`).
    mutating func emptyStruct(_ id: Int16) {
        beginStruct(id)
        endStruct()
    }

    /// Opens a list-typed field of `count` elements of `type`; write the elements with the
    /// `element…` methods.
    mutating func beginList(_ id: Int16, _ type: FieldType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type.rawValue)
        } else {
            bytes.append(0xF0 | type.rawValue)
            varint(UInt64(count))
        }
    }

    // MARK: List elements

    mutating func elementI32(_ value: Int32) { varint(zigzag(Int64(value))) }
    mutating func elementString(_ value: String) { rawBinary(Array(value.utf8)) }

    /// Opens a struct element of a list; close it with ``endStruct()``.
    mutating func beginStructElement() { lastFieldID.append(0) }

    /// Ends the outermost struct (the message itself).
    mutating func stop() { bytes.append(0) }

    // MARK: Encoding

    private mutating func fieldHeader(_ id: Int16, _ type: FieldType) {
        let last = lastFieldID[lastFieldID.count - 1]
        let delta = Int(id) - Int(last)
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            varint(zigzag(Int64(id)))
        }
        lastFieldID[lastFieldID.count - 1] = id
    }

    private mutating func rawBinary(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    private func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}
