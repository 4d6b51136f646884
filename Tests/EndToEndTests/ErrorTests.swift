import Foundation
import TestSupport
import Testing

/// Bad input: exit code 1, one sentence naming the thing and the fix, and a repository that is
/// byte-for-byte unchanged.
@Suite("Bad input", .offPool, .offPool)
struct ErrorTests {
    enum Case: String, CaseIterable, CustomTestStringConvertible {
        case malformedJSON, missingID, missingType, dotDotID, slashID, emptyID, duplicateIDs, missingAsset,
            unknownParent, pruneUnknown, missingSource, itemOfUnknownCollection
        var testDescription: String { rawValue }
    }

    static let cases: [(String, Case)] = ["file", "git"].flatMap { b in Case.allCases.map { (b, $0) } }

    /// Writes the bad input for `c` and returns the arguments that use it, plus words the message must contain.
    func prepare(_ c: Case, in ws: Workspace) throws -> (args: [String], mentions: [String]) {
        let dir = ws.temp.sub("bad")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func item(_ id: String?, type: String? = "Feature", asset: String? = nil) -> String {
            var fields: [String] = []
            if let type { fields.append("\"type\": \"\(type)\"") }
            fields.append("\"stac_version\": \"1.1.0\"")
            if let id { fields.append("\"id\": \"\(id)\"") }
            fields.append("\"geometry\": null, \"properties\": {\"datetime\": \"2024-01-01T00:00:00Z\"}, \"links\": []")
            if let asset {
                fields.append("\"assets\": {\"data\": {\"href\": \"\(asset)\"}}")
            } else {
                fields.append("\"assets\": {}")
            }
            return "{" + fields.joined(separator: ", ") + "}"
        }
        func write(_ name: String, _ text: String) throws -> String {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        switch c {
        case .malformedJSON:
            return (
                [
                    "ingest",
                    try write("broken.json", "{\n  \"type\": \"Feature\",\n  \"id\": \"x\"\n  \"links\": []\n}"),
                ], ["broken.json", "4:3"]
            )
        case .missingID:
            return (["ingest", try write("noid.json", item(nil))], ["noid.json", "id"])
        case .missingType:
            return (["ingest", try write("notype.json", item("x", type: nil))], ["notype.json", "type"])
        case .dotDotID:
            return (["ingest", try write("dotdot.json", item("../x"))], ["../x"])
        case .slashID:
            return (["ingest", try write("slash.json", item("a/b"))], ["a/b"])
        case .emptyID:
            return (["ingest", try write("empty.json", item(""))], ["id"])
        case .duplicateIDs:
            let a = try write("one.json", item("same"))
            let b = try write("two.json", item("same"))
            return (["ingest", a, b], ["same"])
        case .missingAsset:
            return (["ingest", try write("asset.json", item("has-asset", asset: "./nope.tif"))], ["nope.tif"])
        case .unknownParent:
            return (
                ["ingest", try write("ok.json", item("fine")), "--parent", "no-such-collection"], ["no-such-collection"]
            )
        case .pruneUnknown:
            return (["prune", "no-such-item"], ["no-such-item"])
        case .missingSource:
            return (["ingest", dir.appendingPathComponent("does-not-exist.json").path], ["does-not-exist.json"])
        case .itemOfUnknownCollection:
            let text = item("orphan").replacingOccurrences(
                of: "\"links\": []", with: "\"collection\": \"ghost\", \"links\": []")
            return (["ingest", try write("orphan.json", text)], ["ghost"])
        }
    }

    @Test("bad input fails with one sentence and leaves the repository unchanged", arguments: cases)
    func badInput(backend: String, c: Case) async throws {
        let ws = Workspace("err")
        try await ws.initRepo(backend: backend)
        // Some content first, so that "unchanged" means something.
        let src = ws.temp.sub("src")
        try makeCatalog(at: src, items: 2)
        try await ws.ok(["ingest", src.appendingPathComponent("catalog.json").path])
        let before = treeState(ws.repo)
        let (args, mentions) = try await prepare(c, in: ws)
        let r = try await ws.tool(args)
        #expect(r.status == 1, "\(c): exit \(r.status), stderr: \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(c): expected one line, got: \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
        for m in mentions { #expect(r.stderr.contains(m), "\(c): message should name \(m): \(r.stderr)") }
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        #expect(treeState(ws.repo) == before, "\(c): the repository changed")
    }

    @Test("with --json a failure is also a JSON object on stdout")
    func jsonErrors() async throws {
        let ws = Workspace("jsonerr")
        try await ws.initRepo(backend: "file")
        let r = try await ws.tool(["prune", "no-such-item", "--json"])
        #expect(r.status == 1)
        let object = try #require(jsonObject(r.stdout) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["code"] as? String == "notFound")
        #expect((error["message"] as? String)?.contains("no-such-item") == true)
    }

    @Test("usage errors exit with 64")
    func usageErrors() async throws {
        let ws = Workspace("usage")
        try await ws.initRepo(backend: "file")
        for args in [
            ["ingest"], ["prune"], ["ingest", "x", "--jobs", "0"], ["no-such-command"], ["init", "--backend", "svn"],
        ] {
            let r = try await ws.tool(args)
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
        }
    }

    @Test("a command outside any repository says how to create one")
    func notARepository() async throws {
        let ws = Workspace("norepo")
        let r = try await ws.tool(["history"], repo: ws.temp.sub("nothing"))
        #expect(r.status == 1)
        #expect(r.stderr.contains("stac-repository init"))
    }

    @Test("init refuses a directory that already holds a repository", arguments: ["file", "git"])
    func initTwice(backend: String) async throws {
        let ws = Workspace("init2")
        try await ws.initRepo(backend: backend)
        let before = treeState(ws.repo)
        let r = try await ws.tool(["init", "--backend", backend])
        #expect(r.status == 1 && r.stderr.contains("already holds a repository"))
        #expect(treeState(ws.repo) == before)
    }
}
