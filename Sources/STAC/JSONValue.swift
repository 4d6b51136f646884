/// A JSON value that keeps what a STAC file says exactly: object key order and the literal text
/// of numbers survive a parse/serialize round trip.
///
/// Objects are ``JSONObject`` (ordered); numbers are ``JSONNumber`` (their literal text).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON number kept as the exact text it was written with (`1.0`, `1e3`, `-0`), so that
/// re-serialising a value never changes a digit.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The literal text of the number, as it appeared in the source or as produced by an initialiser.
    public var literal: String

    /// Wraps literal number text. The caller guarantees it is a valid JSON number.
    public init(literal: String) { self.literal = literal }

    /// A number from an integer.
    public init(_ value: Int) { self.literal = String(value) }

    /// A number from a floating-point value; non-finite values become `0`.
    public init(_ value: Double) {
        if !value.isFinite {
            self.literal = "0"
        } else if value == value.rounded(.towardZero), abs(value) < 1e15 {
            self.literal = String(Int64(value))
        } else {
            self.literal = "\(value)"
        }
    }

    /// The number as an `Int`, if its text is an integer that fits.
    public var intValue: Int? {
        Int(literal) ?? Double(literal).flatMap { $0 == $0.rounded() && abs($0) < 9e15 ? Int($0) : nil }
    }

    /// The number as a `Double`.
    public var doubleValue: Double? { Double(literal) }

    public var description: String { literal }
}

/// A JSON object that keeps its keys in order.
///
/// Lookup is linear in the number of keys, which for STAC objects (tens of keys) is faster than
/// hashing; setting an existing key keeps its position, setting a new key appends it.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The members, in order.
    public private(set) var members: [(key: String, value: JSONValue)]

    /// An empty object.
    public init() { members = [] }

    /// An object with the given members in order. Later duplicates of a key replace earlier ones.
    public init(_ pairs: [(String, JSONValue)]) {
        members = []
        members.reserveCapacity(pairs.count)
        if pairs.count <= Self.linearLookupLimit {
            for (k, v) in pairs { self[k] = v }
            return
        }
        // Large objects: index positions by key so building stays linear.
        var positions: [String: Int] = [:]
        positions.reserveCapacity(pairs.count)
        for (k, v) in pairs {
            if let i = positions[k] {
                members[i].value = v
            } else {
                positions[k] = members.count
                members.append((k, v))
            }
        }
    }

    /// Wraps members whose keys the caller guarantees to be distinct (the parser's fast path).
    init(uniqueMembers: [(key: String, value: JSONValue)]) { members = uniqueMembers }

    /// Up to this many members, a linear scan finds a key faster than building a hash table.
    static let linearLookupLimit = 16

    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// The keys, in order.
    public var keys: [String] { members.map(\.key) }

    /// Number of members.
    public var count: Int { members.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The value for `key`; setting `nil` removes the member, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            for m in members where m.key == key { return m.value }
            return nil
        }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append((key, newValue))
            }
        }
    }

    /// Removes `key` and returns its value, if present.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let i = members.firstIndex(where: { $0.key == key }) else { return nil }
        return members.remove(at: i).value
    }

    /// Inserts or replaces `key` right after `anchor` (or at the end if `anchor` is absent).
    public mutating func set(_ key: String, _ value: JSONValue, after anchor: String) {
        if let i = members.firstIndex(where: { $0.key == key }) {
            members[i].value = value
            return
        }
        if let a = members.firstIndex(where: { $0.key == anchor }) {
            members.insert((key, value), at: a + 1)
        } else {
            members.append((key, value))
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (a, b) in zip(lhs.members, rhs.members) where a.key != b.key || a.value != b.value { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for m in members {
            hasher.combine(m.key)
            hasher.combine(m.value)
        }
    }
}

extension JSONValue {
    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The object, if this is an object.
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    /// The array, if this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    /// The number, if this is a number.
    public var numberValue: JSONNumber? { if case .number(let n) = self { n } else { nil } }
    /// The bool, if this is a bool.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// Whether this is `null`.
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// Member lookup on objects; `nil` for other kinds.
    public subscript(key: String) -> JSONValue? { objectValue?[key] }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
    public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}
