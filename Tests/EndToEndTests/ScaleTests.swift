import Foundation
import TestSupport
import Testing

/// A large templated collection end to end: the paths that used to be quadratic (the index
/// insert) or O(N) per commit (a reload per batch) would not finish in the time limit.
@Suite("Scale", .offPool)
struct ScaleTests {
    static func item(_ i: Int) -> String {
        // One item per hour from 2020 on (so about 24 per day sub-catalog), two http assets that
        // are never read (--assets reference --no-checksum), a JSON-named one among them.
        let date = Date(timeIntervalSince1970: 1_577_836_800 + Double(i % 43_824) * 3600)
        let text = ISO8601DateFormatter().string(from: date)
        let lon = Double((i * 7919) % 360 - 180) + 0.25
        let lat = Double((i * 104_729) % 170 - 85) + 0.25
        return """
            {"type": "Feature", "stac_version": "1.1.0", "id": "S2_\(String(format: "%07d", i))", "collection": "scale", \
            "geometry": {"type": "Point", "coordinates": [\(lon), \(lat)]}, "bbox": [\(lon), \(lat), \(lon), \(lat)], \
            "properties": {"datetime": "\(text)"}, "links": [], "assets": {\
            "data": {"href": "https://example.com/s/\(i)/B04.tif", "roles": ["data"]}, \
            "tilejson": {"href": "https://example.com/s/\(i)/tilejson.json", "type": "application/json"}}}

            """
    }

    @Test(
        "50,000 items in a ${year}/${month}/${day} collection, then 50 one-item commits, a prune and verify",
        .enabled(
            if: ProcessInfo.processInfo.environment["STAC_REPOSITORY_LARGE_TESTS"] == "1",
            "set STAC_REPOSITORY_LARGE_TESTS=1 to run it (50,000 items, minutes on 2 cores)"),
        .timeLimit(.minutes(20)))
    func fiftyThousandItems() async throws {
        let ws = Workspace("scale-50k")
        try await ws.initRepo(backend: "git")
        let collection = ws.temp.sub("scale.json")
        try Data(
            """
            {"type": "Collection", "stac_version": "1.1.0", "id": "scale", "description": "d", "license": "CC-BY-4.0",
             "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[null, null]]}}, "links": []}
            """.utf8
        ).write(to: collection)
        try await ws.ok(["ingest", collection.path, "--layout", "${year}/${month}/${day}"])
        let common = ["--assets", "reference", "--no-checksum", "--no-with-collections"]
        var lines = ""
        lines.reserveCapacity(50_000 * 420)
        for i in 0..<50_000 { lines += Self.item(i) }
        let big = try await ws.ok(["ingest", "-", "--json", "--batch-size", "10000"] + common, stdin: Data(lines.utf8))
        let report = try #require(jsonObject(big.stdout) as? [String: Any])
        #expect((report["added"] as? [Any])?.count == 50_000)

        var more = ""
        for i in 50_000..<50_050 { more += Self.item(i) }
        let single = try await ws.ok(
            ["ingest", "-", "--json", "--batch-size", "1"] + common, stdin: Data(more.utf8))
        #expect((try #require(jsonObject(single.stdout) as? [String: Any])["added"] as? [Any])?.count == 50)
        try await ws.ok(["prune", "S2_0000123"])

        let verify = try #require(jsonObject(try await ws.ok(["verify", "--json"]).stdout) as? [String: Any])
        #expect((verify["problems"] as? [Any])?.isEmpty == true, "\(verify)")
        // 50,049 items, the day, month and year sub-catalogs, the collection and the root.
        let jsonFiles = try #require(verify["jsonFiles"] as? Int)
        #expect(jsonFiles > 50_049 + 1_826 && jsonFiles < 50_049 + 2_000, "\(jsonFiles) JSON files")
        let history = try await ws.ok(["history", "--json"])
        let operations = try #require(jsonObject(history.stdout) as? [Any])
        // init, the collection, 5 batches, 50 one-item commits, the prune.
        #expect(operations.count == 58, "\(operations.count) operations")
        let day = ws.repo.appendingPathComponent("scale/2020/01/01/catalog.json")
        let links = (readJSON(day)?["links"] as? [[String: Any]] ?? []).filter { $0["rel"] as? String == "item" }
        #expect(links.count >= 24, "\(links.count) item links in 2020/01/01")
    }
}
