import Parquet
import STAC

/// The inferred type of one column (or nested field) of a stac-geoparquet file, widened over
/// every item of the export (the first of the export's two passes).
///
/// JSON integers are `int` (INT64) until a fraction or exponent is seen (then `double`); strings
/// at the timestamp keys are `timestamp` while every one parses as RFC 3339; objects are structs
/// of the union of their keys; arrays are lists of their widened element. Anything whose shape
/// differs between items (a number here, a string there; an array of mixed elements; an object
/// with no key at all) becomes `json`: a string column holding each value's compact JSON.
final class ColumnShape {
    enum Kind: Equatable {
        case unknown, bool, int, double, string, timestamp, wkb, list, object, json
    }

    private(set) var kind: Kind
    private(set) var element: ColumnShape?
    private(set) var fieldNames: [String] = []
    private(set) var fields: [String: ColumnShape] = [:]

    init(_ kind: Kind = .unknown) {
        self.kind = kind
        if kind == .list { element = ColumnShape() }
    }

    /// A list of strings (`stac_extensions`).
    static func stringList() -> ColumnShape {
        let s = ColumnShape(.list)
        s.element = ColumnShape(.string)
        return s
    }

    /// The field `name` of an object shape, created (with `kind`) when new.
    func field(_ name: String, kind: Kind = .unknown) -> ColumnShape {
        if let f = fields[name] { return f }
        let f = ColumnShape(kind)
        fieldNames.append(name)
        fields[name] = f
        return f
    }

    /// Widens the shape to hold `value`; `timestamp` marks the keys stored as timestamps.
    func absorb(_ value: JSONValue, timestamp: Bool = false) {
        switch (kind, value) {
        case (.json, _), (_, .null), (.wkb, _): return
        case (.unknown, .string(let s)) where timestamp, (.timestamp, .string(let s)):
            kind = RFC3339.microseconds(s) != nil ? .timestamp : .string
        case (.unknown, .bool): kind = .bool
        case (.bool, .bool), (.string, .string), (.double, .number): return
        case (.unknown, .string): kind = .string
        case (.unknown, .number(let n)), (.int, .number(let n)): kind = Self.isInteger(n) ? .int : .double
        case (.unknown, .array), (.list, .array):
            if kind == .unknown {
                kind = .list
                element = ColumnShape()
            }
            guard case .array(let items) = value, let element else { return }
            for item in items {
                element.absorb(item)
                if element.kind == .json {
                    becomeJSON()
                    return
                }
            }
        case (.unknown, .object(let o)), (.object, .object(let o)):
            kind = .object
            for (key, v) in o { field(key).absorb(v) }
        default:
            becomeJSON()
        }
    }

    private func becomeJSON() {
        kind = .json
        element = nil
        fieldNames = []
        fields = [:]
    }

    /// Whether a JSON number is stored as INT64: written without fraction or exponent, and in range.
    static func isInteger(_ n: JSONNumber) -> Bool {
        !n.literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) && Int64(n.literal) != nil
    }

    /// Ends inference: an object that never had a key cannot be a Parquet group, so it becomes JSON.
    func finalize() {
        element?.finalize()
        for f in fields.values { f.finalize() }
        if kind == .object && fieldNames.isEmpty { becomeJSON() }
    }

    /// The Parquet field for this shape (always optional: a missing key is a null).
    func parquetField(_ name: String) -> ParquetField {
        switch kind {
        case .unknown, .string, .json: ParquetField(name, .primitive(.string))
        case .bool: ParquetField(name, .primitive(.boolean))
        case .int: ParquetField(name, .primitive(.int64))
        case .double: ParquetField(name, .primitive(.double))
        case .timestamp: ParquetField(name, .primitive(.timestampMicrosUTC))
        case .wkb: ParquetField(name, .primitive(.binary))
        case .list: ParquetField(name, .list(element: (element ?? ColumnShape()).parquetField("element")))
        case .object: ParquetField(name, .group(fieldNames.map { fields[$0, default: ColumnShape()].parquetField($0) }))
        }
    }

    /// A value of this shape's column (the second pass); nil when the value does not fit the shape
    /// inferred in the first pass (the snapshot changed, which a consistent read rules out).
    func value(_ value: JSONValue?) -> ParquetValue? {
        guard let value, value != .null else { return .null }
        switch (kind, value) {
        case (.json, _): return .string(value.serializedString(compact: true))
        case (.bool, .bool(let b)): return .boolean(b)
        case (.int, .number(let n)): return Int64(n.literal).map { .int64($0) }
        case (.double, .number(let n)): return n.doubleValue.map { .double($0) }
        case (.string, .string(let s)): return .string(s)
        case (.timestamp, .string(let s)): return RFC3339.microseconds(s).map { .int64($0) }
        case (.wkb, _):
            var encoder = WKBEncoder(collects: false)
            guard case .success(let bytes) = encoder.encode(value) else { return nil }
            return .bytes(bytes)
        case (.list, .array(let items)):
            guard let element else { return nil }
            var out: [ParquetValue] = []
            out.reserveCapacity(items.count)
            for item in items {
                guard let v = element.value(item) else { return nil }
                out.append(v)
            }
            return .list(out)
        case (.object, .object(let o)):
            var out: [ParquetValue] = []
            out.reserveCapacity(fieldNames.count)
            for name in fieldNames {
                guard let f = fields[name], let v = f.value(o[name]) else { return nil }
                out.append(v)
            }
            return .group(out)
        default: return nil
        }
    }
}
