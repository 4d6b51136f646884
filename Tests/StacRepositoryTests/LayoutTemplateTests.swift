import Foundation
import STAC
import TestSupport
import Testing

@testable import StacRepository

@Suite("Layout templates", .offPool)
struct LayoutTemplateTests {
    func item(_ properties: JSONObject) -> JSONObject { ["properties": .object(properties)] }

    @Test("date placeholders use datetime in UTC, then start_datetime; missing values go to _unknown")
    func dates() throws {
        let t = try LayoutTemplate(parsing: "${year}/${month}/${day}")
        #expect(t.depth == 3)
        #expect(t.segments(forItem: item(["datetime": "2024-05-07T10:00:00Z"]), id: "a") == ["2024", "05", "07"])
        // 2024-12-31T23:30-02:00 is 2025-01-01T01:30Z.
        #expect(
            t.segments(forItem: item(["datetime": "2024-12-31T23:30:00.123-02:00"]), id: "a") == ["2025", "01", "01"])
        #expect(
            t.segments(
                forItem: item(["datetime": .null, "start_datetime": "2019-02-03T00:00:00Z"]), id: "a")
                == ["2019", "02", "03"])
        #expect(t.segments(forItem: item([:]), id: "a") == ["_unknown", "_unknown", "_unknown"])
        #expect(t.segments(forItem: item(["datetime": "yesterday"]), id: "a") == ["_unknown", "_unknown", "_unknown"])
    }

    @Test("${id:hash:N} is the first N hex digits of the SHA-256 of the id")
    func hash() throws {
        let t = try LayoutTemplate(parsing: "${id:hash:2}")
        // printf item-1 | sha256sum: 59908df5…
        #expect(t.segments(forItem: item([:]), id: "item-1") == ["59"])
        let four = try LayoutTemplate(parsing: "${year}/${id:hash:4}")
        let s = four.segments(forItem: item(["datetime": "2024-01-01T00:00:00Z"]), id: "item-1")
        #expect(s == ["2024", "5990"])
    }

    @Test("property values are sanitized into one safe folder name")
    func properties() throws {
        let t = try LayoutTemplate(parsing: "${properties.grid:code}")
        #expect(t.segments(forItem: item(["grid:code": "MGRS-32TNT"]), id: "a") == ["MGRS-32TNT"])
        #expect(t.segments(forItem: item(["grid:code": 17]), id: "a") == ["17"])
        #expect(t.segments(forItem: item(["grid:code": "../../etc"]), id: "a") == ["__.._etc"])
        #expect(t.segments(forItem: item(["grid:code": ".git"]), id: "a") == ["_git"])
        #expect(t.segments(forItem: item(["grid:code": "catalog.json"]), id: "a") == ["_catalog.json"])
        #expect(t.segments(forItem: item(["grid:code": "a/b c"]), id: "a") == ["a_b_c"])
        #expect(t.segments(forItem: item(["grid:code": ""]), id: "a") == ["_unknown"])
        #expect(t.segments(forItem: item([:]), id: "a") == ["_unknown"])
        #expect(t.segments(forItem: item(["grid:code": ["x"]]), id: "a") == ["_unknown"])
        let mixed = try LayoutTemplate(parsing: "tile-${properties.grid:code}")
        #expect(mixed.segments(forItem: item(["grid:code": "X1"]), id: "a") == ["tile-X1"])
    }

    @Test(
        "bad templates are usage errors naming the bad part",
        arguments: [
            ("", "is empty"), ("${year}//${month}", "empty segment"), ("${yaer}", "\"${yaer}\""),
            ("${year", "no closing"), ("${id:hash:0}", "${id:hash:0}"), ("${id:hash:99}", "${id:hash:99}"),
            ("${properties.}", "names no property"), ("..", "\"..\""), (".git", "\".git\""),
            ("a/b/c/d/e/f/g/h/i", "9 segments"),
            ("x$y", "'$'"),
        ])
    func badTemplates(text: String, part: String) throws {
        do {
            _ = try LayoutTemplate(parsing: text)
            Issue.record("\"\(text)\" parsed")
        } catch let error as StacRepositoryError {
            #expect(error.code == .usage)
            #expect(error.message.contains(part), "\(error.message)")
        }
    }

    @Test("sub-catalog ids join the collection id and the segments")
    func catalogIDs() {
        #expect(LayoutTemplate.catalogID(collectionID: "s2", segments: ["2024", "05"]) == "s2-2024-05")
    }

    @Test(
        "an index whose sub-catalogs come from the layout cache marks the template's sub-catalogs as a whole read does"
    )
    func lazyIndexMarksAsAWholeRead() throws {
        func catalog(
            _ id: String, type: String = "Catalog", children: [String] = [], items: [String] = [], layout: String? = nil
        )
            -> [UInt8]
        {
            var links: [JSONValue] = children.map { .object(["rel": "child", "href": .string($0)]) }
            links += items.map { .object(["rel": "item", "href": .string($0)]) }
            var json: JSONObject = [
                "type": .string(type), "id": .string(id), "stac_version": "1.1.0", "description": "d",
                "links": .array(links),
            ]
            if let layout { json[LayoutTemplate.field] = .string(layout) }
            return JSONValue.object(json).serialized(compact: true)
        }
        // Marked: c/2020, c/2020/01, c/2021. Not marked: a folder whose id is not the template's
        // (c/extras, and c/extras/x below it although its id looks right), a wrong id (c/2020/02),
        // deeper than the template (c/2020/01/deep), a file not named catalog.json (c/2021/x.json).
        let documents: [String: [UInt8]] = [
            "catalog.json": catalog("root", children: ["./c/collection.json"]),
            "c/collection.json": catalog(
                "c", type: "Collection",
                children: ["./2020/catalog.json", "./extras/catalog.json", "./2021/catalog.json"],
                items: ["./top/top.json"], layout: "${year}/${month}"),
            "c/2020/catalog.json": catalog("c-2020", children: ["./01/catalog.json", "./02/catalog.json"]),
            "c/2020/01/catalog.json": catalog("c-2020-01", children: ["./deep/catalog.json"], items: ["./a/a.json"]),
            "c/2020/01/deep/catalog.json": catalog("c-2020-01-deep", items: ["./b/b.json"]),
            "c/2020/02/catalog.json": catalog("c-2020-2", items: ["./d/d.json"]),
            "c/extras/catalog.json": catalog("extras", children: ["./x/catalog.json"]),
            "c/extras/x/catalog.json": catalog("c-extras-x"),
            "c/2021/catalog.json": catalog("c-2021", children: ["./x.json"]),
            "c/2021/x.json": catalog("c-2021-x"),
        ]
        let read: (String) throws -> [UInt8]? = { documents[$0] }
        let whole = try CatalogIndex.load(read: read)
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("lazy-marks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        try whole.saveLayoutCaches(stateDirectory: state, key: "v1", previousKey: nil, changedPaths: [])
        let lazy = try CatalogIndex.load(read: read, lazy: LazyLayouts(stateDirectory: state, key: "v1"))
        #expect(lazy.hasDeferredContainers, "the cache was not used")
        #expect(Set(lazy.containers.keys) == Set(whole.containers.keys))
        for (path, container) in whole.containers {
            #expect(lazy.containers[path]?.layoutCollection == container.layoutCollection, "\(path)")
        }
        let marked = Set(whole.containers.values.filter { $0.layoutCollection != nil }.map(\.path))
        #expect(marked == ["c/2020/catalog.json", "c/2020/01/catalog.json", "c/2021/catalog.json"])
    }
}
