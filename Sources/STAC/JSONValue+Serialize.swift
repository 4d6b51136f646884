public import Foundation

extension JSONValue {
    /// The repository's one canonical JSON text for this value, as UTF-8 bytes.
    ///
    /// Every JSON file the repository writes uses this format, so the same value always gives the
    /// same bytes (and the same git blob):
    ///
    /// - two spaces of indentation per level;
    /// - every array element and every object member on its own line, members as `"key": value`
    ///   with one space after the colon, in the object's order;
    /// - empty containers written as `{}` and `[]`;
    /// - strings escape only `"`, `\` and the control characters U+0000–U+001F (as `\n`, `\r`,
    ///   `\t`, `\b`, `\f`, otherwise `\u00xx` with lowercase hex); `/` and non-ASCII characters are
    ///   written as they are, in UTF-8;
    /// - numbers are written as their literal text;
    /// - no trailing spaces, and the text ends with a single `\n`.
    ///
    /// ```json
    /// {
    ///   "type": "Feature",
    ///   "bbox": [
    ///     1.0,
    ///     2
    ///   ],
    ///   "links": []
    /// }
    /// ```
    public func serialized() -> [UInt8] {
        serialized(compact: false)
    }

    /// The canonical text (`compact: false`, see ``serialized()``) or the compact form.
    ///
    /// The compact form is one line without any spaces between tokens and without a final newline,
    /// as used for newline-delimited JSON; strings and numbers are written as in the canonical form.
    public func serialized(compact: Bool) -> [UInt8] {
        var writer = JSONWriter(pretty: !compact)
        writer.write(self, depth: 0)
        if !compact { writer.output.append(UInt8(ascii: "\n")) }
        // A batch holds thousands of serialized items until it commits: a 1 KiB item kept in
        // the 4 KiB the writer reserved cost a 10,000-item batch 30 MB (heaptrack).
        if writer.output.capacity - writer.output.count > 1024 { return Array(writer.output[...]) }
        return writer.output
    }

    /// The canonical text (see ``serialized()``) as `Data`.
    public func serializedData() -> Data {
        Data(serialized())
    }

    /// The canonical text (see ``serialized()``) as a `String`.
    public func serializedString(compact: Bool = false) -> String {
        String(decoding: serialized(compact: compact), as: UTF8.self)
    }
}

/// Appends JSON text to one growing byte buffer.
struct JSONWriter {
    var output: [UInt8] = []
    let pretty: Bool

    init(pretty: Bool) {
        self.pretty = pretty
        output.reserveCapacity(4096)
    }

    mutating func write(_ value: JSONValue, depth: Int) {
        switch value {
        case .null:
            append("null")
        case .bool(let b):
            append(b ? "true" : "false")
        case .number(let n):
            output.append(contentsOf: n.literal.utf8)
        case .string(let s):
            writeString(s)
        case .array(let elements):
            guard !elements.isEmpty else {
                append("[]")
                return
            }
            output.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth: depth + 1)
                write(element, depth: depth + 1)
            }
            newline(depth: depth)
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            guard !object.isEmpty else {
                append("{}")
                return
            }
            output.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                newline(depth: depth + 1)
                writeString(member.key)
                output.append(UInt8(ascii: ":"))
                if pretty { output.append(UInt8(ascii: " ")) }
                write(member.value, depth: depth + 1)
            }
            newline(depth: depth)
            output.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    private mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    @inline(__always)
    private mutating func newline(depth: Int) {
        guard pretty else { return }
        output.append(UInt8(ascii: "\n"))
        output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
    }

    mutating func writeString(_ string: String) {
        output.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if runStart < i { output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i + 1
                output.append(UInt8(ascii: "\\"))
                switch b {
                case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "\n"): output.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): output.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): output.append(UInt8(ascii: "t"))
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    hex.withUTF8Buffer { digits in
                        output.append(digits[Int(b >> 4)])
                        output.append(digits[Int(b & 0xF)])
                    }
                }
            }
            if runStart < utf8.count {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
