import Foundation
import STAC
import TestSupport
import Testing

/// The STACError thrown when wrapping `text` as a STAC object, or `nil` if it is accepted.
func stacError(_ text: String, source: String? = "a.json") throws -> STACError? {
    let value = try JSONValue.parse(string: text)
    do {
        _ = try STACObject(value, source: source)
        return nil
    } catch {
        return error
    }
}

@Suite("STAC objects", .offPool, .offPool)
struct STACObjectTests {
    func item() throws -> STACObject {
        try STACObject(JSONValue.parse(string: canonicalItem), source: "item.json")
    }

    @Test("an item exposes its fields")
    func itemFields() throws {
        let item = try item()
        #expect(item.type == .item)
        #expect(item.id == "S2B_MSIL2A_20230101T103339_N0509_R108_T32TNS")
        #expect(item.stacVersion == "1.0.0")
        #expect(item.collectionID == "sentinel-2-l2a")
        #expect(item.title == "Alpes – été ☀️ \"clear\" day")
        #expect(item.description == nil)
        #expect(item.properties?["proj:epsg"] == 32632)
        #expect(
            item.stacExtensions == [
                "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            ])
        #expect(item.links.map(\.rel) == ["collection", "license"])
        #expect(item.links(rel: "collection").map(\.href) == ["../collection.json"])
        #expect(item.links(rel: "license").first?.json["method"] == "GET")
        #expect(item.assets.map(\.key) == ["visual", "thumbnail"])
        let visual = try #require(item.asset(forKey: "visual"))
        #expect(visual.href == "./visual.tif")
        #expect(visual.type == "image/tiff; application=geotiff; profile=cloud-optimized")
        #expect(visual.title == "True color image")
        #expect(visual.roles == ["visual"])
        #expect(visual["proj:shape"] == [10980, 10980])
        #expect(item.asset(forKey: "missing") == nil)
    }

    @Test("an unmodified object serialises to its canonical input")
    func unmodifiedObjectIsUnchanged() throws {
        #expect(String(decoding: try item().serialized(), as: UTF8.self) == canonicalItem)
    }

    @Test("a catalog and a collection keep title and description at the top level")
    func catalogAndCollectionMetadata() throws {
        var catalog = try STACObject(["type": "Catalog", "id": "root", "description": "All data", "links": []])
        #expect(catalog.type == .catalog)
        #expect(catalog.description == "All data")
        catalog.title = "Root"
        catalog.description = nil
        #expect(catalog.json.keys == ["type", "id", "links", "title"])
        #expect(catalog.title == "Root")
        let collection = try STACObject(["type": "Collection", "id": "c1", "title": "C"])
        #expect(collection.type == .collection)
        #expect(collection.title == "C")
    }

    @Test("an item's title is written into its properties")
    func itemTitleIsInProperties() throws {
        var item = try STACObject(["type": "Feature", "id": "i", "properties": ["datetime": nil]])
        item.title = "T"
        #expect(item.json["title"] == nil)
        #expect(item.properties?.keys == ["datetime", "title"])
        #expect(item.title == "T")
    }

    @Test("adding an extension appends it once, creating the array after stac_version")
    func addExtension() throws {
        var item = try STACObject(["type": "Feature", "stac_version": "1.0.0", "id": "i", "properties": [:]])
        item.addExtension("https://stac-extensions.github.io/file/v2.1.0/schema.json")
        item.addExtension("https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json")
        item.addExtension("https://stac-extensions.github.io/file/v2.1.0/schema.json")
        #expect(item.json.keys == ["type", "stac_version", "stac_extensions", "id", "properties"])
        #expect(
            item.stacExtensions == [
                "https://stac-extensions.github.io/file/v2.1.0/schema.json",
                "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json",
            ])

        var existing = try self.item()
        existing.addExtension("https://stac-extensions.github.io/eo/v1.1.0/schema.json")
        #expect(existing.stacExtensions.count == 2)
        existing.addExtension("x")
        #expect(existing.stacExtensions.last == "x")
        #expect(existing.json.keys.firstIndex(of: "stac_extensions") == 2)
    }

    @Test("without stac_version a new extension array goes after type")
    func addExtensionWithoutVersion() throws {
        var catalog = try STACObject(["type": "Catalog", "id": "c"])
        catalog.addExtension("x")
        #expect(catalog.json.keys == ["type", "stac_extensions", "id"])
    }

    @Test("setting extensions to an empty list keeps an absent array absent")
    func emptyExtensionsStayAbsent() throws {
        var catalog = try STACObject(["type": "Catalog", "id": "c"])
        catalog.stacExtensions = []
        #expect(catalog.json["stac_extensions"] == nil)
        catalog.stacExtensions = ["a"]
        catalog.stacExtensions = []
        #expect(catalog.json["stac_extensions"] == [])
    }

    @Test("links can be filtered, removed and appended in order")
    func linkEditing() throws {
        var item = try item()
        item.removeLinks { $0.rel == "collection" }
        item.appendLink(Link(rel: "parent", href: "../collection.json", type: "application/json"))
        item.appendLink(Link(rel: "root", href: "../../catalog.json", title: "Root"))
        #expect(item.links.map(\.rel) == ["license", "parent", "root"])
        #expect(item.links(rel: "root").first?.json.keys == ["rel", "href", "title"])
        #expect(item.json.keys.firstIndex(of: "links") == 7)

        var catalog = try STACObject(["type": "Catalog", "id": "c", "links": [1, ["rel": "child", "href": "x"]]])
        catalog.removeLinks { $0.rel == "child" }
        #expect(catalog.json["links"] == [1])

        var bare = try STACObject(["type": "Catalog", "id": "c"])
        bare.appendLink(Link(rel: "child", href: "./c1/collection.json"))
        #expect(bare.json["links"] == [["rel": "child", "href": "./c1/collection.json"]])
        bare.links = []
        #expect(bare.json["links"] == [])
    }

    @Test("a link's optional fields are removed when set to nil")
    func linkOptionalFields() {
        var link = Link(rel: "item", href: "./a/a.json", type: "application/geo+json", title: "A")
        #expect(link.json.keys == ["rel", "href", "type", "title"])
        link.type = nil
        link.title = nil
        link.href = "./b/b.json"
        #expect(link.json == ["rel": "item", "href": "./b/b.json"])
        #expect(Link(json: [:]).rel == "")
    }

    @Test("assets can be replaced, added and removed in order")
    func assetEditing() throws {
        var item = try item()
        var visual = try #require(item.asset(forKey: "visual"))
        visual.href = "./B04.tif"
        visual["file:checksum"] = "1220abcd"
        visual["title"] = nil
        item.setAsset(visual, forKey: "visual")
        item.setAsset(Asset(href: "./meta.xml", type: "application/xml", roles: ["metadata"]), forKey: "metadata")
        item.setAsset(nil, forKey: "thumbnail")
        #expect(item.assets.map(\.key) == ["visual", "metadata"])
        let stored = try #require(item.asset(forKey: "visual"))
        #expect(stored.json.keys == ["href", "type", "roles", "eo:bands", "proj:shape", "file:checksum"])
        #expect(item.asset(forKey: "metadata")?.json.keys == ["href", "type", "roles"])

        var reordered = item.assets
        reordered.reverse()
        item.assets = reordered
        #expect(item.json["assets"]?.objectValue?.keys == ["metadata", "visual"])
    }

    @Test("setting no assets keeps an empty assets object only if one was present")
    func emptyAssets() throws {
        var item = try item()
        item.assets = []
        #expect(item.json["assets"] == [:])
        var catalog = try STACObject(["type": "Catalog", "id": "c"])
        catalog.assets = []
        #expect(catalog.json["assets"] == nil)
        #expect(catalog.assets.isEmpty)
    }

    @Test("an asset's roles and fields can be edited")
    func assetFields() {
        var asset = Asset(href: "x.tif")
        #expect(asset.roles.isEmpty)
        asset.roles = ["data"]
        asset.type = "image/tiff"
        asset["file:size"] = 42
        #expect(asset.json.keys == ["href", "roles", "type", "file:size"])
        asset.roles = []
        #expect(asset.json["roles"] == nil)
        #expect(asset["file:size"] == 42)
    }

    @Test("id, collection and version can be changed in place")
    func scalarSetters() throws {
        var item = try item()
        item.id = "renamed"
        item.collectionID = nil
        item.stacVersion = "1.1.0"
        #expect(item.json["id"] == "renamed")
        #expect(item.json["collection"] == nil)
        #expect(item.json.keys.first == "type")
        #expect(item.json["stac_version"] == "1.1.0")
        #expect(item.json.keys.firstIndex(of: "id") == 3)
    }

    @Test(
        "objects that are not STAC are rejected with a sentence naming the file",
        arguments: [
            ("[]", "a.json is not a STAC object: it is a JSON array, not a JSON object."),
            (
                #"{"id": "x"}"#,
                #"a.json is not a STAC object: it has no "type"; a STAC object has "type": "Catalog", "Collection" or "Feature"."#
            ),
            (#"{"type": 1, "id": "x"}"#, #"a.json is not a STAC object: its "type" is the number 1, not a string."#),
            (
                #"{"type": "Point", "id": "x"}"#,
                #"a.json is not a STAC object: its "type" is "Point", but a STAC object has "type": "Catalog", "Collection" or "Feature"."#
            ),
            (
                #"{"type": "FeatureCollection", "features": []}"#,
                "a.json is not a STAC object: it is an ItemCollection (a GeoJSON FeatureCollection) of items, not a single object."
            ),
            (#"{"type": "Feature"}"#, #"a.json is not a STAC item: it has no string "id"; give it one."#),
            (#"{"type": "Catalog", "id": 7}"#, #"a.json is not a STAC catalog: it has no string "id"; give it one."#),
            (
                #"{"type": "Collection", "id": "../x"}"#,
                #"Collection id "../x" in a.json is not a valid path component: ids may not contain '/' or '\', control characters, or be '.' or '..'; rename the collection."#
            ),
        ] as [(String, String)])
    func rejectedObjects(text: String, message: String) throws {
        let error = try #require(try stacError(text))
        #expect(error.message == message)
        #expect(error.description == message)
    }

    @Test("without a source the message speaks of the JSON value")
    func rejectionWithoutSource() throws {
        let error = try #require(try stacError("null", source: nil))
        #expect(error.message == "The JSON value is not a STAC object: it is null, not a JSON object.")
    }
}
