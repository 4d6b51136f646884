import Foundation
import STAC
import TestSupport
import Testing

@Suite("STAC documents", .offPool, .offPool)
struct STACDocumentTests {
    func item(_ id: String, collection: String = "c1") -> String {
        #"{"type": "Feature", "stac_version": "1.0.0", "id": "\#(id)", "properties": {"datetime": null}, "collection": "\#(collection)"}"#
    }

    @Test("a single STAC object is an object document")
    func singleObject() throws {
        let document = try STACDocument.parse(Data(canonicalItem.utf8), source: "item.json")
        guard case .object(let object) = document else {
            Issue.record("expected a single object, got \(document)")
            return
        }
        #expect(object.id == "S2B_MSIL2A_20230101T103339_N0509_R108_T32TNS")
        #expect(document.objects.count == 1)
    }

    @Test("an ItemCollection gives its items in order")
    func itemCollection() throws {
        let text = """
            {
              "type": "FeatureCollection",
              "features": [\(item("a")), \(item("b")), \(item("c"))],
              "links": []
            }
            """
        let document = try STACDocument.parse(Data(text.utf8), source: "search.json")
        guard case .itemCollection(let items) = document else {
            Issue.record("expected an item collection, got \(document)")
            return
        }
        #expect(items.map(\.id) == ["a", "b", "c"])
        #expect(items.allSatisfy { $0.type == .item && $0.collectionID == "c1" })
    }

    @Test("an empty ItemCollection has no items")
    func emptyItemCollection() throws {
        let document = try STACDocument.parse(Data(#"{"type": "FeatureCollection", "features": []}"#.utf8))
        #expect(document == .itemCollection([]))
    }

    @Test("newline-delimited items are parsed in order, skipping blank lines")
    func newlineDelimitedItems() throws {
        let text = item("a") + "\n" + item("b") + "\r\n\n" + item("c") + "\n"
        let document = try STACDocument.parse(Data(text.utf8), source: "items.ndjson")
        #expect(document.objects.map(\.id) == ["a", "b", "c"])
        guard case .itemCollection = document else {
            Issue.record("expected an item collection, got \(document)")
            return
        }
    }

    @Test("a JSON syntax error in newline-delimited JSON keeps its line and column")
    func newlineDelimitedSyntaxError() throws {
        let text = item("a") + "\n" + item("b") + "\n" + #"{"type": "Feature", "id": "c",}"# + "\n"
        do {
            _ = try STACDocument.parse(Data(text.utf8), source: "items.ndjson")
            Issue.record("expected a parse error")
        } catch let error as JSONParseError {
            #expect(error.source == "items.ndjson")
            #expect(error.line == 3)
            #expect(error.column == 30)
            #expect(error.reason == "trailing comma before '}' is not allowed")
        }
    }

    @Test("two values on one line are an error")
    func twoValuesOnOneLine() throws {
        let text = item("a") + " " + item("b")
        do {
            _ = try STACDocument.parse(Data(text.utf8), source: "items.ndjson")
            Issue.record("expected a parse error")
        } catch let error as JSONParseError {
            #expect(error.line == 1)
            #expect(error.column == item("a").count + 2)
            #expect(error.reason.hasPrefix("unexpected '{' after a JSON value; newline-delimited JSON needs one value"))
        }
    }

    @Test("a non-item in newline-delimited JSON is named by its line")
    func nonItemInNewlineDelimitedJSON() throws {
        let text = item("a") + "\n\n" + #"{"type": "Collection", "id": "c1"}"#
        #expect(
            throws: STACError(
                "items.ndjson (line 3) is a collection, but newline-delimited JSON may only hold items; "
                    + "put each catalog or collection in its own file.")
        ) {
            _ = try STACDocument.parse(Data(text.utf8), source: "items.ndjson")
        }
    }

    @Test("an unsafe id in newline-delimited JSON names the line")
    func unsafeIDInNewlineDelimitedJSON() throws {
        let text = item("a") + "\n" + item("a/b")
        do {
            _ = try STACDocument.parse(Data(text.utf8), source: "items.ndjson")
            Issue.record("expected an error")
        } catch let error as STACError {
            #expect(error.message.hasPrefix(#"Item id "a/b" in items.ndjson (line 2) is not a valid path component"#))
        }
    }

    @Test("a non-item feature in an ItemCollection is named by its position")
    func nonItemFeature() throws {
        let text = #"{"type": "FeatureCollection", "features": [\#(item("a")), {"type": "Catalog", "id": "x"}]}"#
        #expect(
            throws: STACError(
                "search.json (feature 2 of 2) is a catalog, but an ItemCollection may only hold items.")
        ) {
            _ = try STACDocument.parse(Data(text.utf8), source: "search.json")
        }
    }

    @Test("a FeatureCollection without features is an error")
    func featureCollectionWithoutFeatures() throws {
        #expect(
            throws: STACError(
                #"search.json is a FeatureCollection without a "features" array; add one (it may be empty)."#)
        ) {
            _ = try STACDocument.parse(Data(#"{"type": "FeatureCollection"}"#.utf8), source: "search.json")
        }
    }

    @Test("empty input is a parse error")
    func emptyInput() throws {
        #expect(
            throws: JSONParseError(
                source: "stdin", line: 2, column: 1, reason: "the input is empty; expected a JSON value")
        ) {
            _ = try STACDocument.parse(Data("\n".utf8), source: "stdin")
        }
    }

    @Test("a pretty-printed single object may span many lines")
    func prettyObject() throws {
        let text = try JSONValue.parse(string: item("x")).serializedString()
        #expect(try STACDocument.parse(Data(text.utf8)).objects.map(\.id) == ["x"])
    }
}
