public import Foundation

extension JSONValue {
    /// Parses JSON text strictly (RFC 8259), keeping key order and the literal text of numbers.
    ///
    /// Rules: no trailing commas, comments, `NaN`/`Infinity`, single quotes or leading zeros;
    /// strings must be valid UTF-8 without raw control characters, and `\u` escapes must pair
    /// surrogates. A UTF-8 byte-order mark at the start is skipped. Anything but whitespace after
    /// the value is an error. Arrays and objects may nest at most 512 levels. When an object
    /// repeats a key, the last value wins and keeps the position of the first.
    ///
    /// - Parameters:
    ///   - data: UTF-8 JSON text.
    ///   - source: A name for the text (usually its path), used in error messages.
    /// - Throws: ``JSONParseError`` with the line and column of the first problem.
    public static func parse(_ data: Data, source: String? = nil) throws(JSONParseError) -> JSONValue {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSONValue in
                var parser = JSONParser(bytes: raw.assumingMemoryBound(to: UInt8.self), source: source)
                return try parser.parseDocument()
            }
        }
        return try result.get()
    }

    /// Parses JSON text given as bytes; see ``parse(_:source:)``.
    ///
    /// - Throws: ``JSONParseError`` with the line and column of the first problem.
    public static func parse(bytes: [UInt8], source: String? = nil) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in
                var parser = JSONParser(bytes: buffer, source: source)
                return try parser.parseDocument()
            }
        }
        return try result.get()
    }

    /// Parses JSON text given as a string; see ``parse(_:source:)``.
    ///
    /// - Throws: ``JSONParseError`` with the line and column of the first problem.
    public static func parse(string: String, source: String? = nil) throws(JSONParseError) -> JSONValue {
        var text = string
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) -> JSONValue in
                var parser = JSONParser(bytes: buffer, source: source)
                return try parser.parseDocument()
            }
        }
        return try result.get()
    }

    /// Parses newline-delimited JSON (one value per line; blank lines are skipped), returning each
    /// value with the 1-based line it starts on.
    ///
    /// A value may span several lines, but no two values may share a line.
    ///
    /// - Throws: ``JSONParseError`` with the line and column of the first problem.
    public static func parseLines(_ data: Data, source: String? = nil) throws(JSONParseError) -> [(
        value: JSONValue, line: Int
    )] {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> [(value: JSONValue, line: Int)] in
                var parser = JSONParser(bytes: raw.assumingMemoryBound(to: UInt8.self), source: source)
                return try parser.parseLines()
            }
        }
        return try result.get()
    }
}
