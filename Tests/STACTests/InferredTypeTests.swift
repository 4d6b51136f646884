import Foundation
import TestSupport
import Testing

@testable import STAC

/// Pre-1.0 objects without `type` are typed the way pystac's `identify_stac_object_type` does it.
@Suite("Inferred STAC types", .offPool)
struct InferredTypeTests {
    func object(_ text: String) throws -> JSONObject {
        try #require(try JSONValue.parse(Data(text.utf8)).objectValue)
    }

    @Test(
        "a pre-1.0 object is typed by its shape",
        arguments: [
            (#"{"stac_version": "0.9.0", "id": "c", "extent": {}, "links": []}"#, STACType.collection),
            (#"{"stac_version": "0.8.1", "id": "c", "license": "MIT", "links": []}"#, .collection),
            (#"{"stac_version": "1.0.0-beta.2", "id": "i", "geometry": null, "properties": {}}"#, .item),
            (#"{"stac_version": "0.9.0", "id": "cat", "description": "d", "links": []}"#, .catalog),
        ])
    func typedByShape(text: String, type: STACType) throws {
        #expect(STACObject.inferredType(of: try object(text)) == type)
    }

    @Test(
        "objects of 1.0.0-rc.1 or later, without a version, or with a type are not typed",
        arguments: [
            #"{"stac_version": "1.0.0", "id": "c", "extent": {}, "links": []}"#,
            #"{"stac_version": "1.0.0-rc.1", "id": "c", "extent": {}, "links": []}"#,
            #"{"id": "c", "extent": {}, "links": []}"#,
            #"{"type": "Collection", "stac_version": "0.9.0", "id": "c", "extent": {}, "links": []}"#,
            #"{"stac_version": "0.9.0", "id": "x"}"#,
        ])
    func notTyped(text: String) throws {
        #expect(STACObject.inferredType(of: try object(text)) == nil)
    }

    @Test("parsing with inference adds type first and reports it; without, the object is refused")
    func parseReportsInference() throws {
        let data = Data(#"{"stac_version": "0.9.0", "id": "old", "license": "MIT", "extent": {}, "links": []}"#.utf8)
        var inferred: [STACType] = []
        let document = try STACDocument.parse(data, source: "old.json") { inferred.append($0) }
        #expect(inferred == [.collection])
        let only = try #require(document.objects.first)
        #expect(only.type == .collection)
        #expect(only.json.keys.first == "type")
        #expect(throws: STACError.self) { try STACDocument.parse(data, source: "old.json") }
    }
}
