import STAC
import TestSupport
import Testing

/// The STACError thrown when validating `id`, or `nil` if it is valid.
func idError(_ id: String, kind: STACType? = .item, source: String? = nil) -> STACError? {
    do {
        try Identifier.validate(id, kind: kind, source: source)
        return nil
    } catch {
        return error
    }
}

@Suite("Identifiers", .offPool, .offPool)
struct IdentifierTests {
    @Test(
        "safe ids are accepted",
        arguments: [
            "S2A_MSIL2A_20230101", "a b", "été", "item-1.2", "x", "...", ".hidden", "a:b", "日本",
            String(repeating: "x", count: 250),
        ])
    func safeIDs(id: String) {
        #expect(idError(id) == nil)
        #expect(idError(id, kind: .collection) == nil)
    }

    @Test(
        "unsafe ids are rejected",
        arguments: [
            "", ".", "..", "a/b", "../x", "/", "a\\b", "a\u{0}b", "a\nb", "tab\there", "del\u{7F}", ".git", ".GIT",
            String(repeating: "x", count: 256), String(repeating: "é", count: 128),
        ])
    func unsafeIDs(id: String) {
        #expect(idError(id, kind: .catalog) != nil)
        #expect(idError(id, kind: .item) != nil)
        #expect(idError(id, kind: nil) != nil)
    }

    @Test("item ids leave room for the .json suffix in the file name")
    func itemIDLength() throws {
        let id = String(repeating: "x", count: 251)
        #expect(idError(id, kind: .collection) == nil)
        let error = try #require(idError(id, kind: .item, source: "a.json"))
        #expect(
            error.message
                == "Item id \"\(String(repeating: "x", count: 80))…\" in a.json is 251 bytes long: item ids may be at most "
                + "250 UTF-8 bytes, so that the file name '<id>.json' fits in 255; shorten the id.")
    }

    @Test("the message names the kind, the id and the source")
    func messages() throws {
        #expect(
            idError("../x", kind: .item)?.message
                == #"Item id "../x" is not a valid path component: ids may not contain '/' or '\', control characters, or be '.' or '..'; rename the item."#
        )
        #expect(
            idError("a\nb", kind: .collection, source: "c/collection.json")?.message
                == #"Collection id "a\nb" in c/collection.json is not a valid path component: ids may not contain '/' or '\', control characters, or be '.' or '..'; rename the collection."#
        )
        #expect(
            idError("", kind: .catalog, source: "catalog.json")?.message
                == "Catalog id \"\" in catalog.json is empty; give the catalog a non-empty id.")
        #expect(
            idError("x\u{1}", kind: nil)?.message
                == #"STAC id "x\u0001" is not a valid path component: ids may not contain '/' or '\', control characters, or be '.' or '..'; rename the object."#
        )
        #expect(
            idError(".Git", kind: .collection)?.message
                == #"Collection id ".Git" is reserved: '.git' is a file git or Git LFS reads (in any letter case); rename the collection."#
        )
        #expect(
            idError(String(repeating: "é", count: 128), kind: .catalog)?.message.contains(
                "is 256 bytes long: ids may be at most 255 UTF-8 bytes") == true)
    }
}
