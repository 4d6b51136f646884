import Foundation
import STAC
import TestSupport
import Testing

@Suite("Writing JSON", .offPool, .offPool)
struct JSONSerializeTests {
    @Test("the canonical format of a small document is exact")
    func canonicalFormatIsExact() {
        let value: JSONValue = [
            "type": "Feature",
            "n": .number(JSONNumber(literal: "1.0")),
            "empty": [:],
            "list": [],
            "nested": ["a": [1, "x", [:], []]],
            "s": "a/b\"c\\d\n\u{1}é",
        ]
        let expected = """
            {
              "type": "Feature",
              "n": 1.0,
              "empty": {},
              "list": [],
              "nested": {
                "a": [
                  1,
                  "x",
                  {},
                  []
                ]
              },
              "s": "a/b\\"c\\\\d\\n\\u0001é"
            }

            """
        #expect(value.serializedString() == expected)
        #expect(value.serialized() == Array(expected.utf8))
        #expect(value.serializedData() == Data(expected.utf8))
    }

    @Test("the compact format is one line without spaces or final newline")
    func compactFormat() {
        let value: JSONValue = ["a": [1, "x y", [:], []], "b": ["c": nil, "d": true]]
        #expect(value.serializedString(compact: true) == #"{"a":[1,"x y",{},[]],"b":{"c":null,"d":true}}"#)
    }

    @Test("a top-level scalar ends with a newline")
    func topLevelScalar() {
        #expect(JSONValue.number(JSONNumber(literal: "-0")).serialized() == Array("-0\n".utf8))
        #expect(JSONValue.string("x").serialized(compact: true) == Array("\"x\"".utf8))
    }

    @Test("strings escape quotes, backslashes and control characters only")
    func stringEscapes() {
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        let value = JSONValue.string(controls + "\"\\/\u{7F}é😀\u{2028}")
        let expected =
            #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#
            + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
            + "\\\"\\\\/\u{7F}é😀\u{2028}\""
        #expect(value.serializedString(compact: true) == expected)
    }

    @Test("a realistic item in canonical form is written back byte for byte")
    func realisticItemIsWrittenBackByteForByte() throws {
        let value = try JSONValue.parse(string: canonicalItem)
        #expect(value.serializedString() == canonicalItem)
    }

    @Test("a realistic item keeps its key order and number literals through a round trip")
    func realisticItemRoundTrip() throws {
        let value = try JSONValue.parse(string: canonicalItem)
        let properties = try #require(value["properties"]?.objectValue)
        #expect(
            properties.keys == [
                "datetime", "title", "eo:cloud_cover", "proj:epsg", "tiny", "negative_zero", "big", "one",
                "exponent", "flags", "path", "note", "url", "vendor:unknown",
            ])
        #expect(properties["tiny"]?.numberValue?.literal == "1e-7")
        #expect(properties["negative_zero"]?.numberValue?.literal == "-0")
        #expect(properties["big"]?.numberValue?.literal == "12345678901234567890")
        #expect(properties["eo:cloud_cover"]?.numberValue?.literal == "0.30000000000000004")
        #expect(properties["one"]?.numberValue?.literal == "1.0")
        #expect(properties["title"] == "Alpes – été ☀️ \"clear\" day")
        #expect(properties["path"] == "C:\\data\\tile.tif")

        let compact = value.serialized(compact: true)
        #expect(!compact.contains(UInt8(ascii: "\n")))
        let reparsed = try JSONValue.parse(bytes: compact)
        #expect(reparsed == value)
        #expect(reparsed.serializedString() == canonicalItem)
    }

    @Test("serialising is idempotent for non-canonical input")
    func serialisingIsIdempotent() throws {
        let messy = "\u{FEFF} {\"b\":[1 ,2.50,{ }],\r\n\t\"a\" : \"\\u00e9\\/\\ud83d\\ude00\", \"c\":{\"x\":-0.0E-0}}  "
        let value = try JSONValue.parse(string: messy)
        let once = value.serialized()
        let reparsed = try JSONValue.parse(bytes: once)
        #expect(reparsed == value)
        #expect(reparsed.serialized() == once)
        #expect(
            String(decoding: once, as: UTF8.self) == """
                {
                  "b": [
                    1,
                    2.50,
                    {}
                  ],
                  "a": "é/😀",
                  "c": {
                    "x": -0.0E-0
                  }
                }

                """)
    }

    @Test("canonical output has no trailing spaces and one final newline")
    func noTrailingSpaces() throws {
        let text = try JSONValue.parse(string: canonicalItem).serializedString()
        #expect(text.hasSuffix("}\n"))
        #expect(!text.hasSuffix("\n\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test("a value built in code survives a round trip")
    func builtValueRoundTrip() throws {
        var object = JSONObject()
        object["id"] = "x"
        object["count"] = .number(JSONNumber(3))
        object["ratio"] = .number(JSONNumber(0.1))
        object["large"] = .number(JSONNumber(1e300))
        object["whole"] = .number(JSONNumber(2.0))
        object["nothing"] = .null
        let value = JSONValue.object(object)
        #expect(try JSONValue.parse(bytes: value.serialized()) == value)
        #expect(object["whole"]?.numberValue?.literal == "2")
        #expect(object["nothing"]?.isNull == true)
    }
}
