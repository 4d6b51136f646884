import STAC
import TestSupport
import Testing

/// The one rule for names that become paths.
@Suite(.offPool) struct ReservedNamesTests {
    @Test(
        "reserved ids are refused in every spelling",
        arguments: [
            ".stac-repository", ".STAC-Repository", ".git", ".GIT", ".Git.", ".git ", ".g\u{200C}it", ".gitattributes",
            ".GITATTRIBUTES", ".gitignore", ".gitmodules", ".lfsconfig", "catalog.json", "Collection.JSON",
        ])
    func reservedIDs(id: String) {
        for kind in STACType.allCases {
            #expect(throws: STACError.self) { try Identifier.validate(id, kind: kind, source: "x.json") }
        }
    }

    @Test("ordinary ids that look similar are accepted", arguments: ["git", "_git", ".github", "catalog", "a.git"])
    func similarIDs(id: String) throws {
        try Identifier.validate(id, kind: .item, source: nil)
    }

    @Test("an NFD id is stored in NFC, so both forms are one product")
    func nfcIDs() throws {
        let nfd = "cafe\u{301}"
        let nfc = "caf\u{E9}"
        let value = try JSONValue.parse(
            bytes: Array(
                #"{"type": "Feature", "stac_version": "1.1.0", "id": "\#(nfd)", "geometry": null, "properties": {}, "links": [], "assets": {}}"#
                    .utf8))
        let object = try STACObject(value)
        #expect(object.id.utf8.elementsEqual(nfc.utf8))
        #expect(ReservedNames.folded(nfd) == ReservedNames.folded(nfc))
    }

    @Test(
        "asset file names that are reserved or taken get a safe, deterministic substitute",
        arguments: [
            (".gitattributes", "attrs", "_gitattributes"),
            (".GIT", "g", "_GIT"),
            (".stac-repository", "state", "_stac-repository"),
            ("item-1.json", "meta", "_item-1.json"),
            ("ITEM-1.JSON", "meta", "_ITEM-1.JSON"),
            ("collection.json", "c", "_collection.json"),
            ("..", "up", "up"),
            ("", ".git", "asset-git"),
            ("data.tif", "data", "data.tif"),
            ("a/b\u{1}", "k", "a_b_"),
        ])
    func assetNames(proposed: String, key: String, expected: String) {
        var used = ReservedNames.namesTaken(byItem: "item-1")
        #expect(ReservedNames.assetFileName(proposed, key: key, itemID: "item-1", used: &used) == expected)
    }

    @Test("two assets with the same name in different case or Unicode form get distinct names")
    func collisions() {
        var used = ReservedNames.namesTaken(byItem: "i")
        let a = ReservedNames.assetFileName("caf\u{E9}.tif", key: "a", itemID: "i", used: &used)
        let b = ReservedNames.assetFileName("cafe\u{301}.tif", key: "b", itemID: "i", used: &used)
        let c = ReservedNames.assetFileName("CAF\u{C9}.TIF", key: "b", itemID: "i", used: &used)
        #expect(a == "caf\u{E9}.tif")
        #expect(b.utf8.elementsEqual("b-caf\u{E9}.tif".utf8))
        #expect(c == "b-CAF\u{C9}.TIF" || c.hasPrefix("2-"))
        #expect(Set([a, b, c].map(ReservedNames.folded)).count == 3)
    }

    @Test("a combining mark after '/' does not hide the separator (fuzz finding)")
    func combiningMarkAfterSlash() {
        let resolved = Href.resolve("\u{031B}x/../../etc/passwd", against: "/src/item.json")
        #expect(Array(resolved.utf8) == Array("/etc/passwd".utf8))
        let kept = Href.resolve("./a\u{0301}/b.tif", against: "/src/item.json")
        #expect(Array(kept.utf8) == Array("/src/a\u{0301}/b.tif".utf8))
    }

    @Test("userinfo is removed from URLs and only from URLs")
    func userinfo() {
        #expect(Href.withoutUserinfo("https://u:p@h.example:8080/x?y#z") == "https://h.example:8080/x?y#z")
        #expect(Href.userinfo(of: "https://u:p@h/x") == "u:p")
        #expect(Href.withoutUserinfo("/data/a@b.tif") == "/data/a@b.tif")
        #expect(Href.withoutUserinfo("https://h/a@b.tif") == "https://h/a@b.tif")
        #expect(Href.userinfo(of: "s3://bucket/key@x") == nil)
    }

    @Test("NFC: ASCII stays as it is, a decomposed accent is composed, a composed one kept")
    func nfc() {
        #expect(
            ReservedNames.sameBytes(
                ReservedNames.nfc("S2B_MSIL2A_20240501T103629_N0510"), "S2B_MSIL2A_20240501T103629_N0510"))
        #expect(ReservedNames.sameBytes(ReservedNames.nfc("Ame\u{301}lie"), "Am\u{E9}lie"))
        #expect(ReservedNames.sameBytes(ReservedNames.nfc("Am\u{E9}lie"), "Am\u{E9}lie"))
        #expect(!ReservedNames.sameBytes("Ame\u{301}lie", "Am\u{E9}lie"))
    }
}
