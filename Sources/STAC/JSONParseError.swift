/// Why and where JSON text could not be parsed.
///
/// `line` and `column` are 1-based; the column counts Unicode scalars from the start of the line
/// (a UTF-8 byte-order mark at the start of the input is not counted). The ``description`` is one
/// sentence that names the file when ``source`` is known:
///
/// ```
/// catalog/items/a.json:3:14: expected ',' or '}' after an object member, found '"'.
/// line 3, column 14: expected ',' or '}' after an object member, found '"'.
/// ```
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where the text came from (usually a file path), if the caller said.
    public var source: String?
    /// The 1-based line of the offending character (or of the end of the input).
    public var line: Int
    /// The 1-based column of the offending character, counted in Unicode scalars.
    public var column: Int
    /// What is wrong, as a sentence fragment without a final period.
    public var reason: String

    /// An error at a known position.
    public init(source: String?, line: Int, column: Int, reason: String) {
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason
    }

    /// `source:line:column: reason.`, or `line L, column C: reason.` without a source.
    public var description: String {
        if let source {
            "\(source):\(line):\(column): \(reason)."
        } else {
            "line \(line), column \(column): \(reason)."
        }
    }
}
