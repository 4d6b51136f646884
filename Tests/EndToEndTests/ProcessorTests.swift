import Foundation
import TestSupport
import Testing

/// Processors through the CLI: the geotiff processor, external processors in any language, and
/// processors that misbehave.
@Suite("Processors", .offPool, .offPool)
struct ProcessorTests {
    /// Writes an executable `stac-processor-NAME` shell script into `bin`.
    func writeProcessor(_ name: String, in bin: URL, body: String) throws {
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let url = bin.appendingPathComponent("stac-processor-\(name)")
        try ("#!/bin/sh\n" + body).write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }

    @Test("ingest --processor geotiff turns raw GeoTIFFs into items, and skips them when unchanged")
    func geotiffIngest() async throws {
        let ws = Workspace("geotiff")
        try await ws.initRepo(backend: "git")
        let products = Env.packageRoot.appendingPathComponent("docs/sample-products")
        try #require(FileManager.default.fileExists(atPath: products.path), "docs/sample-products is shipped")
        let first = try await ws.ok([
            "ingest", "--processor", "geotiff", products.path, "--option", "datetime=2024-05-01T00:00:00Z", "--json",
        ])
        let report = try #require(jsonObject(first.stdout) as? [String: Any])
        let added = (report["added"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(added.count >= 2, "\(first.stdout)")
        let id = try #require(added.first)
        let item = try #require(readJSON(ws.repo.appendingPathComponent("\(id)/\(id).json")))
        let props = item["properties"] as? [String: Any] ?? [:]
        #expect((props["processing:software"] as? [String: Any])?["geotiff"] != nil)
        #expect(props["proj:code"] != nil)
        #expect((item["bbox"] as? [Double])?.count == 4)
        // The data asset points back at the product file it was made from.
        let data = (item["assets"] as? [String: Any])?["data"] as? [String: Any]
        let original = (data?["alternate"] as? [String: Any])?["original"] as? [String: Any]
        #expect(
            (original?["href"] as? String)?.hasPrefix(products.path + "/") == true, "\(String(describing: original))")
        let log = try await ws.git(["log", "-1", "--format=%B"])
        #expect(log.stdout.contains("Stac-Repository-Processor: geotiff"))
        let again = try await ws.ok([
            "ingest", "--processor", "geotiff", products.path, "--option", "datetime=2024-05-01T00:00:00Z", "--json",
        ])
        let report2 = try #require(jsonObject(again.stdout) as? [String: Any])
        #expect((report2["added"] as? [Any])?.isEmpty == true)
        #expect((report2["unchanged"] as? [Any])?.count == added.count)
    }

    @Test("the Python example processor works through PATH: show-processors, process and ingest")
    func pythonExample() async throws {
        let ws = Workspace("pyproc")
        let examples = Env.packageRoot.appendingPathComponent("Processors/examples")
        let script = examples.appendingPathComponent("stac-processor-sensor-csv")
        try #require(FileManager.default.isExecutableFile(atPath: script.path))
        let path = examples.path + ":" + (ws.env["PATH"] ?? "")
        let env = ["PATH": path]
        let shown = try await ws.tool(["show-processors"], env: env)
        #expect(
            shown.status == 0 && shown.stdout.contains("sensor-csv") && shown.stdout.contains("geotiff"),
            "\(shown.stdout)")
        let product = examples.appendingPathComponent("sample-sensor-product")
        let out = ws.temp.sub("out")
        let processed = try await ws.tool(
            ["process", "--processor", "sensor-csv", product.path, "--output", out.path], env: env)
        #expect(processed.status == 0, "\(processed.stderr)")
        try await ws.initRepo(backend: "file")
        let ingested = try await ws.tool(["ingest", "--processor", "sensor-csv", product.path], env: env)
        #expect(ingested.status == 0, "\(ingested.stderr)")
        #expect(ingested.stdout.contains("1 added"), "\(ingested.stdout)")
        // readings.csv was written by the processor into its scratch folder: copied with a
        // checksum, but with no `alternate.original` pointing at a folder that is gone.
        let item = try #require(readJSON(ws.repo.appendingPathComponent("station-01/station-01.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect((data["file:checksum"] as? String)?.hasPrefix("1220") == true)
        #expect(data["alternate"] == nil)
    }

    enum Bad: String, CaseIterable, CustomTestStringConvertible {
        case crashes, printsNothing, pathOutside, invalidSTAC, unsafeID, failsWithMessage
        var testDescription: String { rawValue }
    }

    @Test(
        "a misbehaving processor fails the ingest with a sentence naming it, and changes nothing",
        arguments: Bad.allCases)
    func badProcessor(_ bad: Bad) async throws {
        let ws = Workspace("badproc")
        try await ws.initRepo(backend: "git")
        let bin = ws.temp.sub("bin")
        let product = ws.temp.sub("product.dat")
        try "x".write(to: product, atomically: true, encoding: .utf8)
        let common = """
            case "$1" in
              --version) echo 0.1 ;;
              discover) echo "$2" ;;
              id) echo \(bad == .unsafeID ? "../evil" : "good-id") ;;
              version) echo v1 ;;
              process)
            """
        let process: String
        switch bad {
        case .crashes: process = "kill -SEGV $$ ;;"
        case .printsNothing: process = "true ;;"
        case .pathOutside: process = "echo /etc/passwd ;;"
        case .invalidSTAC: process = "echo '{\"type\": \"Feature\"' > \"$4/x.json\"; echo \"$4/x.json\" ;;"
        case .unsafeID, .failsWithMessage:
            process =
                bad == .failsWithMessage ? "echo 'cannot read the product header' >&2; exit 3 ;;" : "echo nothing ;;"
        }
        try writeProcessor("bad", in: bin, body: common + "\n    " + process + "\nesac\n")
        let before = treeState(ws.repo)
        let r = try await ws.tool(
            ["ingest", "--processor", "bad", product.path], env: ["PATH": bin.path + ":" + (ws.env["PATH"] ?? "")])
        #expect(r.status == 1, "\(bad): \(r.status) \(r.stderr)")
        #expect(r.stderr.contains("\"bad\""), "\(bad): names the processor: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 || bad == .failsWithMessage, "\(bad): \(r.stderr)")
        if bad == .failsWithMessage { #expect(r.stderr.contains("cannot read the product header")) }
        #expect(treeState(ws.repo) == before, "\(bad): the repository changed")
    }

    @Test("a processor that hangs is killed at processors.NAME.timeout, with a sentence naming it and the product")
    func hangingProcessorTimesOut() async throws {
        let ws = Workspace("hangproc")
        try await ws.initRepo(backend: "git")
        let bin = ws.temp.sub("bin")
        let product = ws.temp.sub("product.dat")
        try "x".write(to: product, atomically: true, encoding: .utf8)
        // `process` starts a child that holds the output pipe for 120 s: unless the kill reaches
        // it too, the ingest would wait for it.
        try writeProcessor(
            "hang", in: bin,
            body: """
                case "$1" in
                  --version) echo 0.1 ;;
                  discover) echo "$2" ;;
                  id) echo hang-id ;;
                  version) echo v1 ;;
                  process) sleep 120 & sleep 600 ;;
                esac

                """)
        let env = ["PATH": bin.path + ":" + (ws.env["PATH"] ?? "")]
        let rejected = try await ws.tool(["config", "set", "processors.hang.timeout", "soon"])
        #expect(rejected.status == 1 && rejected.stderr.contains("not a number of seconds"), "\(rejected.stderr)")
        try await ws.ok(["config", "set", "processors.hang.timeout", "2"])
        let before = treeState(ws.repo)
        let started = Date()
        let r = try await ws.tool(["ingest", "--processor", "hang", product.path], env: env)
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 1, "\(r.status) \(r.stderr)")
        #expect(elapsed < 90, "the ingest took \(elapsed) s: the timeout did not stop the processor")
        #expect(
            r.stderr.contains("\"hang\"") && r.stderr.contains(product.path) && r.stderr.contains("2 seconds")
                && r.stderr.contains("processors.hang.timeout"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(treeState(ws.repo) == before, "the repository changed")
    }

    @Test("an unknown processor name lists the available ones")
    func unknownProcessor() async throws {
        let ws = Workspace("noproc")
        try await ws.initRepo(backend: "file")
        let r = try await ws.tool(["ingest", "--processor", "nope", "x"])
        #expect(r.status == 64 || r.status == 1)
        #expect(r.stderr.contains("geotiff") && r.stderr.contains("stac"), "\(r.stderr)")
    }
}
