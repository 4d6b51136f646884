/// A strict RFC 8259 parser over raw UTF-8 bytes.
///
/// It works on a borrowed buffer and must not outlive the closure that provides it. Numbers keep
/// their literal text, object members keep their order (a repeated key keeps the position of its
/// first occurrence and the value of its last), and any deviation from the grammar is an error
/// with a line and column.
struct JSONParser {
    /// Containers may nest this deep; one more is an error (it also bounds recursion).
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private let source: String?
    /// Where the content starts (after a byte-order mark), for column counting on line 1.
    private let contentStart: Int
    private var index: Int
    private var depth = 0
    /// Reused buffer for strings that contain escapes.
    private var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, source: String?) {
        self.bytes = bytes
        self.source = source
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        self.contentStart = start
        self.index = start
    }

    /// Parses exactly one JSON value surrounded by optional whitespace.
    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        if index >= bytes.count {
            throw failure(at: index, "the input is empty; expected a JSON value")
        }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw failure(at: index, "unexpected \(describe(at: index)) after the JSON value")
        }
        return value
    }

    /// Parses a sequence of JSON values, each ending its line (newline-delimited JSON); blank lines
    /// are skipped. Returns each value with the 1-based line it starts on.
    mutating func parseLines() throws(JSONParseError) -> [(value: JSONValue, line: Int)] {
        var values: [(value: JSONValue, line: Int)] = []
        var line = 1
        var counted = 0
        while true {
            skipWhitespace()
            if index >= bytes.count { break }
            line += newlines(from: counted, to: index)
            counted = index
            values.append((try parseValue(), line))
            while index < bytes.count, bytes[index] == .space || bytes[index] == .tab || bytes[index] == .cr {
                index += 1
            }
            if index < bytes.count, bytes[index] != .newline {
                throw failure(
                    at: index,
                    "unexpected \(describe(at: index)) after a JSON value; newline-delimited JSON needs one value per line"
                )
            }
        }
        if values.isEmpty {
            throw failure(at: index, "the input is empty; expected a JSON value")
        }
        return values
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else {
            throw failure(at: index, "expected a JSON value, found the end of the input")
        }
        switch bytes[index] {
        case .quote: return .string(try parseString())
        case .openBrace: return try parseObject()
        case .openBracket: return try parseArray()
        case .minus, .zero ... .nine: return .number(try parseNumber())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            throw unexpectedValue()
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let start = index
        let matches = literal.withUTF8Buffer { text in
            guard bytes.count - start >= count else { return false }
            for k in 0..<count where bytes[start + k] != text[k] { return false }
            return true
        }
        guard matches else {
            throw failure(at: start, "invalid literal; expected '\(literal)'")
        }
        index += count
    }

    private func unexpectedValue() -> JSONParseError {
        let reason: String
        switch bytes[index] {
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            reason = "NaN and Infinity are not valid JSON; expected a JSON value"
        case UInt8(ascii: "+"):
            reason = "a number may not start with '+'"
        case UInt8(ascii: "."):
            reason = "a number must have a digit before the decimal point"
        case UInt8(ascii: "'"):
            reason = "strings must be in double quotes, not single quotes"
        case UInt8(ascii: "/"), UInt8(ascii: "#"):
            reason = "comments are not allowed in JSON"
        default:
            reason = "expected a JSON value, found \(describe(at: index))"
        }
        return failure(at: index, reason)
    }

    // MARK: - Containers

    private mutating func enter(at open: Int) throws(JSONParseError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw failure(at: open, "arrays and objects are nested deeper than \(Self.maximumDepth) levels")
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        let open = index
        try enter(at: open)
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == .closeBrace {
            index += 1
            depth -= 1
            return .object(JSONObject())
        }
        var members: [(key: String, value: JSONValue)] = []
        var positions: [String: Int]? = nil
        while true {
            guard index < bytes.count, bytes[index] == .quote else {
                throw expected("a member name in double quotes", in: "object", openedAt: open)
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == .colon else {
                throw expected("':' after an object key", in: "object", openedAt: open)
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()

            // The last duplicate wins, at the position of the first.
            if positions == nil, members.count < JSONObject.linearLookupLimit {
                if let i = members.firstIndex(where: { $0.key == key }) {
                    members[i].value = value
                } else {
                    members.append((key, value))
                }
            } else {
                var table = positions ?? Self.positions(of: members)
                if let i = table[key] {
                    members[i].value = value
                } else {
                    table[key] = members.count
                    members.append((key, value))
                }
                positions = table
            }

            skipWhitespace()
            guard index < bytes.count else {
                throw expected("',' or '}' after an object member", in: "object", openedAt: open)
            }
            let b = bytes[index]
            if b == .comma {
                let comma = index
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == .closeBrace {
                    throw failure(at: comma, "trailing comma before '}' is not allowed")
                }
                continue
            }
            if b == .closeBrace {
                index += 1
                break
            }
            throw expected("',' or '}' after an object member", in: "object", openedAt: open)
        }
        depth -= 1
        return .object(JSONObject(uniqueMembers: members))
    }

    private static func positions(of members: [(key: String, value: JSONValue)]) -> [String: Int] {
        var table: [String: Int] = [:]
        table.reserveCapacity(members.count * 2)
        for (i, m) in members.enumerated() { table[m.key] = i }
        return table
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        let open = index
        try enter(at: open)
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == .closeBracket {
            index += 1
            depth -= 1
            return .array([])
        }
        var elements: [JSONValue] = []
        while true {
            guard index < bytes.count else {
                throw expected("a JSON value", in: "array", openedAt: open)
            }
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else {
                throw expected("',' or ']' after an array element", in: "array", openedAt: open)
            }
            let b = bytes[index]
            if b == .comma {
                let comma = index
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == .closeBracket {
                    throw failure(at: comma, "trailing comma before ']' is not allowed")
                }
                continue
            }
            if b == .closeBracket {
                index += 1
                break
            }
            throw expected("',' or ']' after an array element", in: "array", openedAt: open)
        }
        depth -= 1
        return .array(elements)
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = index
        if bytes[index] == .minus {
            index += 1
        }
        guard index < bytes.count, bytes[index].isDigit else {
            throw failure(at: index, "expected a digit after '-' in a number, found \(describe(at: index))")
        }
        if bytes[index] == .zero {
            index += 1
            if index < bytes.count, bytes[index].isDigit {
                throw failure(at: start, "a number may not have a leading zero")
            }
        } else {
            skipDigits()
        }
        if index < bytes.count, bytes[index] == .period {
            index += 1
            guard index < bytes.count, bytes[index].isDigit else {
                throw failure(at: index, "expected a digit after the decimal point, found \(describe(at: index))")
            }
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == .plus || bytes[index] == .minus {
                index += 1
            }
            guard index < bytes.count, bytes[index].isDigit else {
                throw failure(at: index, "expected a digit in the exponent of a number, found \(describe(at: index))")
            }
            skipDigits()
        }
        return JSONNumber(literal: makeString(from: start, to: index))
    }

    @inline(__always)
    private mutating func skipDigits() {
        while index < bytes.count, bytes[index].isDigit { index += 1 }
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONParseError) -> String {
        let open = index
        index += 1
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == .quote {
                let string = makeString(from: start, to: index)
                index += 1
                return string
            }
            if b == .backslash {
                return try parseEscapedString(open: open, start: start)
            }
            if b < 0x20 {
                throw controlCharacter(b)
            }
            if b < 0x80 {
                index += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        throw failure(at: open, "string is not terminated")
    }

    /// Continues a string once the first backslash is found, decoding into `scratch`.
    private mutating func parseEscapedString(open: Int, start: Int) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let b = bytes[index]
            if b == .quote {
                index += 1
                return scratch.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
            }
            if b == .backslash {
                try decodeEscape()
            } else if b < 0x20 {
                throw controlCharacter(b)
            } else if b < 0x80 {
                scratch.append(b)
                index += 1
            } else {
                let sequenceStart = index
                try skipUTF8Sequence()
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[sequenceStart..<index]))
            }
        }
        throw failure(at: open, "string is not terminated")
    }

    /// Decodes one escape sequence at `index` (which points at the backslash) into `scratch`.
    private mutating func decodeEscape() throws(JSONParseError) {
        let escapeStart = index
        index += 1
        guard index < bytes.count else {
            throw failure(at: escapeStart, "string is not terminated")
        }
        let e = bytes[index]
        index += 1
        switch e {
        case .quote: scratch.append(.quote)
        case .backslash: scratch.append(.backslash)
        case UInt8(ascii: "/"): scratch.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(.newline)
        case UInt8(ascii: "r"): scratch.append(.cr)
        case UInt8(ascii: "t"): scratch.append(.tab)
        case UInt8(ascii: "u"):
            let unit = try hexQuad(escapeStart: escapeStart)
            var scalarValue = UInt32(unit)
            if (0xDC00...0xDFFF).contains(unit) {
                throw failure(at: escapeStart, "lone low surrogate \\u\(hex4(unit)) in a string")
            }
            if (0xD800...0xDBFF).contains(unit) {
                let lowStart = index
                guard index + 1 < bytes.count, bytes[index] == .backslash, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure(
                        at: escapeStart,
                        "lone high surrogate \\u\(hex4(unit)) in a string; it must be followed by a \\u escape of a low surrogate"
                    )
                }
                index += 2
                let low = try hexQuad(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw failure(
                        at: escapeStart,
                        "high surrogate \\u\(hex4(unit)) is followed by \\u\(hex4(low)), which is not a low surrogate")
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            }
            appendUTF8(scalarValue)
        default:
            throw failure(at: escapeStart, "invalid escape sequence '\\\(describeCharacter(e))' in a string")
        }
    }

    /// Reads the four hex digits after `\u`.
    private mutating func hexQuad(escapeStart: Int) throws(JSONParseError) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard index < bytes.count, let digit = bytes[index].hexDigitValue else {
                throw failure(at: escapeStart, "invalid \\u escape in a string; expected four hexadecimal digits")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            scratch.append(UInt8(v))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (v >> 6)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (v >> 12)))
            scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (v >> 18)))
            scratch.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Validates the multi-byte UTF-8 sequence at `index` (Unicode 15, table 3-7) and skips it.
    private mutating func skipUTF8Sequence() throws(JSONParseError) {
        let b0 = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default:
            throw failure(at: index, "invalid UTF-8: byte \(hexByte(b0)) cannot start a character")
        }
        guard index + length <= bytes.count else {
            throw failure(at: index, "invalid UTF-8: the character starting with byte \(hexByte(b0)) is cut off")
        }
        var valid = secondRange.contains(bytes[index + 1])
        for k in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + k]) {
            valid = false
        }
        guard valid else {
            throw failure(at: index, "invalid UTF-8: byte \(hexByte(b0)) is not followed by valid continuation bytes")
        }
        index += length
    }

    private func controlCharacter(_ b: UInt8) -> JSONParseError {
        let name: String
        switch b {
        case .newline: name = "a line break (write it as \\n)"
        case .cr: name = "a carriage return (write it as \\r)"
        case .tab: name = "a tab (write it as \\t)"
        default: name = "control character U+00\(hexDigits(b).uppercased()) (write it as \\u00\(hexDigits(b)))"
        }
        return failure(at: index, "a string may not contain \(name)")
    }

    // MARK: - Helpers

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case .space, .newline, .cr, .tab: index += 1
            default: return
            }
        }
    }

    @inline(__always)
    private func makeString(from start: Int, to end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    private func expected(_ what: String, in container: String, openedAt open: Int) -> JSONParseError {
        if index >= bytes.count {
            let (line, column) = position(of: open)
            return failure(
                at: index,
                "expected \(what), found the end of the input (the \(container) opened at line \(line), column \(column) is not closed)"
            )
        }
        return failure(at: index, "expected \(what), found \(describe(at: index))")
    }

    /// A short human description of the character at `offset`: `'x'`, `'é'`, `byte 0xFF`.
    private func describe(at offset: Int) -> String {
        guard offset < bytes.count else { return "the end of the input" }
        let b = bytes[offset]
        if b >= 0x20, b < 0x7F { return "'\(describeCharacter(b))'" }
        if b >= 0x80 {
            // Show a whole character if the bytes form valid UTF-8.
            var end = offset + 1
            while end < bytes.count, end - offset < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
            if let text = String(validating: UnsafeBufferPointer(rebasing: bytes[offset..<end]), as: UTF8.self),
                text.unicodeScalars.count == 1
            {
                return "'\(text)'"
            }
        }
        return "byte \(hexByte(b))"
    }

    private func describeCharacter(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : hexByte(b)
    }

    private func hexByte(_ b: UInt8) -> String { "0x" + hexDigits(b).uppercased() }

    private func hexDigits(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }

    private func hex4(_ unit: UInt16) -> String {
        let s = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    /// Counts line feeds in `bytes[from ..< to]`.
    private func newlines(from start: Int, to end: Int) -> Int {
        var n = 0
        for k in start..<end where bytes[k] == .newline { n += 1 }
        return n
    }

    /// The 1-based line and column (in Unicode scalars) of a byte offset.
    private func position(of offset: Int) -> (line: Int, column: Int) {
        let end = min(offset, bytes.count)
        var line = 1
        var lineStart = contentStart
        for k in contentStart..<end where bytes[k] == .newline {
            line += 1
            lineStart = k + 1
        }
        var column = 1
        for k in lineStart..<end where bytes[k] & 0xC0 != 0x80 { column += 1 }
        return (line, column)
    }

    private func failure(at offset: Int, _ reason: String) -> JSONParseError {
        let (line, column) = position(of: offset)
        return JSONParseError(source: source, line: line, column: column, reason: reason)
    }
}

extension UInt8 {
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let newline = UInt8(ascii: "\n")
    fileprivate static let cr = UInt8(ascii: "\r")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let plus = UInt8(ascii: "+")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let minus = UInt8(ascii: "-")
    fileprivate static let period = UInt8(ascii: ".")
    fileprivate static let zero = UInt8(ascii: "0")
    fileprivate static let nine = UInt8(ascii: "9")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let openBrace = UInt8(ascii: "{")
    fileprivate static let closeBrace = UInt8(ascii: "}")

    @inline(__always)
    fileprivate var isDigit: Bool { self &- .zero < 10 }

    fileprivate var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
