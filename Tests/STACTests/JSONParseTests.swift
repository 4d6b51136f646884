import Foundation
import STAC
import TestSupport
import Testing

/// The error `JSONValue.parse(bytes:)` throws for `bytes`, or `nil` if they parse.
func parseError(_ bytes: [UInt8], source: String? = nil) -> JSONParseError? {
    do {
        _ = try JSONValue.parse(bytes: bytes, source: source)
        return nil
    } catch {
        return error
    }
}

/// The error `JSONValue.parse(bytes:)` throws for the UTF-8 of `text`, or `nil` if it parses.
func parseError(_ text: String, source: String? = nil) -> JSONParseError? {
    parseError(Array(text.utf8), source: source)
}

@Suite("Parsing JSON", .offPool, .offPool)
struct JSONParseTests {
    @Test("numbers keep their literal text")
    func numbersKeepTheirLiteralText() throws {
        let literals = [
            "1.0", "1e-7", "-0", "12345678901234567890", "0.30000000000000004", "1E+2", "-1.5e-10", "0", "0.0",
            "100000000000000000000000000000000000000000000000000000000000001", "2.50",
        ]
        let value = try JSONValue.parse(string: "[" + literals.joined(separator: ", ") + "]")
        let parsed = try #require(value.arrayValue).compactMap { $0.numberValue?.literal }
        #expect(parsed == literals)
    }

    @Test("object members keep their order")
    func objectMembersKeepTheirOrder() throws {
        let value = try JSONValue.parse(string: #"{"z": 1, "a": 2, "m": {"y": true, "b": null}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["m"]?.objectValue?.keys == ["y", "b"])
        #expect(value["m"]?["b"]?.isNull == true)
    }

    @Test("a repeated key keeps the last value at the position of the first")
    func repeatedKeyKeepsLastValueAtFirstPosition() throws {
        let value = try JSONValue.parse(string: #"{"a": 1, "b": 2, "a": 3}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
    }

    @Test("a repeated key in a large object keeps the last value at the position of the first")
    func repeatedKeyInLargeObject() throws {
        let members = (0..<40).map { "\"k\($0)\": \($0)" } + ["\"k3\": \"again\"", "\"k39\": \"last\""]
        let value = try JSONValue.parse(string: "{" + members.joined(separator: ",") + "}")
        let object = try #require(value.objectValue)
        #expect(object.count == 40)
        #expect(object.keys == (0..<40).map { "k\($0)" })
        #expect(object["k3"] == "again")
        #expect(object["k39"] == "last")
        #expect(object["k4"] == 4)
    }

    @Test("all escape sequences are decoded")
    func escapesAreDecoded() throws {
        let value = try JSONValue.parse(string: #""\"\\\/\b\f\n\r\t\u00e9\u00E9\ud83d\ude00\u0000x""#)
        #expect(value == .string("\"\\/\u{8}\u{C}\n\r\t\u{E9}\u{E9}😀\u{0}x"))
    }

    @Test("UTF-8 text in strings is kept as it is")
    func utf8TextIsKept() throws {
        let text = "日本語 – été 🌍 \u{2028} Ω"
        let value = try JSONValue.parse(string: "{\"\(text)\": \"\(text)\"}")
        #expect(value.objectValue?.keys == [text])
        #expect(value[text] == .string(text))
    }

    @Test("a byte-order mark and surrounding whitespace are skipped")
    func bomAndWhitespaceAreSkipped() throws {
        let value = try JSONValue.parse(bytes: [0xEF, 0xBB, 0xBF] + Array(" \r\n\t{\"a\": [ ] }\n\n".utf8))
        #expect(value == ["a": []])
    }

    @Test(
        "scalars and empty containers are valid top-level values",
        arguments: [
            ("null", JSONValue.null), ("true", true), ("false", false), ("\"x\"", "x"), ("42", 42), ("[]", []),
            ("{}", [:]),
        ] as [(String, JSONValue)])
    func scalarsAtTopLevel(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(string: text) == expected)
    }

    @Test("Data, bytes and string inputs give the same value")
    func inputKindsAgree() throws {
        let text = #"{"a": [1, 2.5, "x", {"b": null}], "c": "é"}"#
        let fromString = try JSONValue.parse(string: text)
        #expect(try JSONValue.parse(Data(text.utf8)) == fromString)
        #expect(try JSONValue.parse(bytes: Array(text.utf8)) == fromString)
        #expect(fromString["a"]?.arrayValue?.count == 4)
    }

    @Test("nesting up to 512 levels is accepted")
    func nestingUpTo512IsAccepted() throws {
        var value = try JSONValue.parse(
            string: String(repeating: "[", count: 511) + "{}" + String(repeating: "]", count: 511))
        var depth = 1
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        #expect(depth == 512)
        #expect(value == [:])
    }

    @Test("nesting deeper than 512 levels is an error at the 513th opening bracket")
    func nestingDeeperThan512IsAnError() throws {
        let error = try #require(parseError(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)))
        #expect(error.line == 1)
        #expect(error.column == 513)
        #expect(error.reason == "arrays and objects are nested deeper than 512 levels")
    }

    @Test(
        "syntax errors report line, column and reason",
        arguments: [
            ("", 1, 1, "the input is empty; expected a JSON value"),
            ("  \n  ", 2, 3, "the input is empty; expected a JSON value"),
            (#"{"a": 1,}"#, 1, 8, "trailing comma before '}' is not allowed"),
            ("[1, 2,\n]", 1, 6, "trailing comma before ']' is not allowed"),
            (#"{"a" 1}"#, 1, 6, "expected ':' after an object key, found '1'"),
            (#"{"a": 1 "b": 2}"#, 1, 9, "expected ',' or '}' after an object member, found '\"'"),
            ("[1 2]", 1, 4, "expected ',' or ']' after an array element, found '2'"),
            (#"{"a": [1, 2}"#, 1, 12, "expected ',' or ']' after an array element, found '}'"),
            ("{a: 1}", 1, 2, "expected a member name in double quotes, found 'a'"),
            (
                "{\"a\": 1,\n \"b\"", 2, 5,
                "expected ':' after an object key, found the end of the input (the object opened at line 1, column 1 is not closed)"
            ),
            (
                "{\"a\": [1,\n 2", 2, 3,
                "expected ',' or ']' after an array element, found the end of the input (the array opened at line 1, column 7 is not closed)"
            ),
            (
                "[", 1, 2,
                "expected a JSON value, found the end of the input (the array opened at line 1, column 1 is not closed)"
            ),
            ("[,1]", 1, 2, "expected a JSON value, found ','"),
            ("[]]", 1, 3, "unexpected ']' after the JSON value"),
            ("{} x", 1, 4, "unexpected 'x' after the JSON value"),
            ("// note\n{}", 1, 1, "comments are not allowed in JSON"),
            ("[1, /* x */ 2]", 1, 5, "comments are not allowed in JSON"),
            ("[NaN]", 1, 2, "NaN and Infinity are not valid JSON; expected a JSON value"),
            ("[-Infinity]", 1, 3, "expected a digit after '-' in a number, found 'I'"),
            ("[Infinity]", 1, 2, "NaN and Infinity are not valid JSON; expected a JSON value"),
            ("01", 1, 1, "a number may not have a leading zero"),
            ("-01", 1, 1, "a number may not have a leading zero"),
            ("1.", 1, 3, "expected a digit after the decimal point, found the end of the input"),
            ("[1.e5]", 1, 4, "expected a digit after the decimal point, found 'e'"),
            ("1e", 1, 3, "expected a digit in the exponent of a number, found the end of the input"),
            ("1e+", 1, 4, "expected a digit in the exponent of a number, found the end of the input"),
            (".5", 1, 1, "a number must have a digit before the decimal point"),
            ("+1", 1, 1, "a number may not start with '+'"),
            ("-", 1, 2, "expected a digit after '-' in a number, found the end of the input"),
            ("tru", 1, 1, "invalid literal; expected 'true'"),
            ("[nul]", 1, 2, "invalid literal; expected 'null'"),
            ("[True]", 1, 2, "expected a JSON value, found 'T'"),
            ("'a'", 1, 1, "strings must be in double quotes, not single quotes"),
            ("\"abc", 1, 1, "string is not terminated"),
            ("\"abc\\", 1, 5, "string is not terminated"),
            ("[\"a\nb\"]", 1, 4, "a string may not contain a line break (write it as \\n)"),
            ("\"a\tb\"", 1, 3, "a string may not contain a tab (write it as \\t)"),
            ("\"a\u{1}\"", 1, 3, "a string may not contain control character U+0001 (write it as \\u0001)"),
            ("\"é\u{1F}\"", 1, 3, "a string may not contain control character U+001F (write it as \\u001f)"),
            (#""\x""#, 1, 2, "invalid escape sequence '\\x' in a string"),
            (#""\u12""#, 1, 2, "invalid \\u escape in a string; expected four hexadecimal digits"),
            (
                #""\uD800""#, 1, 2,
                "lone high surrogate \\uD800 in a string; it must be followed by a \\u escape of a low surrogate"
            ),
            (#""\uDC00""#, 1, 2, "lone low surrogate \\uDC00 in a string"),
            (#""\ud800\u0041""#, 1, 2, "high surrogate \\uD800 is followed by \\u0041, which is not a low surrogate"),
            (
                #""\ud800\n""#, 1, 2,
                "lone high surrogate \\uD800 in a string; it must be followed by a \\u escape of a low surrogate"
            ),
            ("{\"é\": 1 x}", 1, 9, "expected ',' or '}' after an object member, found 'x'"),
            ("[“a”]", 1, 2, "expected a JSON value, found '“'"),
            ("[1,\r\n2,\r\n]", 2, 2, "trailing comma before ']' is not allowed"),
        ] as [(String, Int, Int, String)])
    func syntaxErrors(text: String, line: Int, column: Int, reason: String) throws {
        let error = try #require(parseError(text))
        #expect(error.reason == reason)
        #expect(error.line == line)
        #expect(error.column == column)
    }

    @Test(
        "invalid UTF-8 is an error at the offending sequence",
        arguments: [
            ([0x22, 0x61, 0xFF, 0x22], 3, "invalid UTF-8: byte 0xFF cannot start a character"),
            ([0x22, 0x80, 0x22], 2, "invalid UTF-8: byte 0x80 cannot start a character"),
            ([0x22, 0xC3, 0x28, 0x22], 2, "invalid UTF-8: byte 0xC3 is not followed by valid continuation bytes"),
            ([0x22, 0xC0, 0xAF, 0x22], 2, "invalid UTF-8: byte 0xC0 cannot start a character"),
            (
                [0x22, 0xE0, 0x80, 0xAF, 0x22], 2,
                "invalid UTF-8: byte 0xE0 is not followed by valid continuation bytes"
            ),
            (
                [0x22, 0xED, 0xA0, 0x80, 0x22], 2,
                "invalid UTF-8: byte 0xED is not followed by valid continuation bytes"
            ),
            (
                [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 2,
                "invalid UTF-8: byte 0xF4 is not followed by valid continuation bytes"
            ),
            ([0x22, 0xE2, 0x82], 2, "invalid UTF-8: the character starting with byte 0xE2 is cut off"),
            ([0x22, 0x5C, 0x6E, 0xFE, 0x22], 4, "invalid UTF-8: byte 0xFE cannot start a character"),
            ([0x5B, 0xFF, 0x5D], 2, "expected a JSON value, found byte 0xFF"),
        ] as [([UInt8], Int, String)])
    func invalidUTF8(bytes: [UInt8], column: Int, reason: String) throws {
        let error = try #require(parseError(bytes))
        #expect(error.reason == reason)
        #expect(error.line == 1)
        #expect(error.column == column)
    }

    @Test("a byte-order mark is not counted in columns")
    func bomIsNotCounted() throws {
        let error = try #require(parseError([0xEF, 0xBB, 0xBF] + Array("x".utf8)))
        #expect(error.line == 1)
        #expect(error.column == 1)
    }

    @Test("the error description names the source, line and column")
    func errorDescriptionNamesSource() throws {
        let text = "{\n  \"a\": 1,\n  \"b\": 2 \"c\"\n}"
        let error = try #require(parseError(text, source: "catalog/items/a.json"))
        #expect(error.source == "catalog/items/a.json")
        #expect(
            error.description
                == "catalog/items/a.json:3:10: expected ',' or '}' after an object member, found '\"'.")
        let anonymous = try #require(parseError(text))
        #expect(
            anonymous.description == "line 3, column 10: expected ',' or '}' after an object member, found '\"'.")
    }

    @Test("parsing Data throws an error that carries the source")
    func dataParsingReportsSource() {
        let expected = JSONParseError(
            source: "x.json", line: 1, column: 3, reason: "trailing comma before ']' is not allowed")
        #expect(throws: expected) {
            _ = try JSONValue.parse(Data("[1,]".utf8), source: "x.json")
        }
    }
}
