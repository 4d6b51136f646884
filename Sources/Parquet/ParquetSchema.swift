/// A column of a Parquet file, as its writer sees it: a name, whether it may be null, and a
/// kind (a primitive value, a struct of fields, or a list of one element field).
///
/// Lists are written in the standard three-level form of LogicalTypes.md ("Lists"):
/// `<optional|required> group NAME (LIST) { repeated group list { <element> } }`, with the
/// element field named `element`, which is what Arrow-based readers expect.
public struct ParquetField: Sendable {
    /// What a field holds.
    public indirect enum Kind: Sendable {
        case primitive(ParquetPrimitive)
        case group([ParquetField])
        case list(element: ParquetField)
    }

    public var name: String
    public var optional: Bool
    public var kind: Kind

    public init(_ name: String, optional: Bool = true, _ kind: Kind) {
        self.name = name
        self.optional = optional
        self.kind = kind
    }
}

/// The leaf types this writer supports, each with its physical and logical Parquet type.
public enum ParquetPrimitive: Sendable, Equatable {
    /// BOOLEAN.
    case boolean
    /// INT64.
    case int64
    /// DOUBLE.
    case double
    /// BYTE_ARRAY annotated STRING (UTF-8).
    case string
    /// BYTE_ARRAY without annotation (WKB geometries).
    case binary
    /// INT64 annotated TIMESTAMP(isAdjustedToUTC = true, unit = MICROS).
    case timestampMicrosUTC
}

/// One value of a row, shaped like its ``ParquetField``: `.group` values list one value per
/// field of the group in order, `.list` values one value per element.
public enum ParquetValue: Sendable, Equatable {
    case null
    case boolean(Bool)
    case int64(Int64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([ParquetValue])
    case group([ParquetValue])
}

/// How pages are compressed.
public enum ParquetCompression: Sendable, Equatable {
    case uncompressed
    /// Zstandard (libzstd) at the given level.
    case zstd(level: Int32)

    var codec: Int32 {
        switch self {
        case .uncompressed: 0
        case .zstd: 6
        }
    }
}

/// A failure to write a Parquet file: a value that does not fit its column, or the output.
public struct ParquetError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
