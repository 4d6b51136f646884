import Foundation
import TestSupport
import Testing

/// Runs the example external processor (`Processors/examples/stac-processor-sensor-csv`) through
/// the four verbs of the external-processor contract.
@Suite("The example sensor-csv external processor", .offPool, .enabled(if: pythonAvailable, "needs python3 on PATH"))
struct SensorCSVExampleTests {
    let script = packageRoot.appendingPathComponent("Processors/examples/stac-processor-sensor-csv")
    let samples = packageRoot.appendingPathComponent("Processors/examples/sample-sensor-product")

    func call(_ arguments: String...) async throws -> ProgramResult {
        try await run("python3", [script.path] + arguments)
    }

    @Test("is executable and prints its version on one line")
    func version() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: script.path))
        let result = try await call("--version")
        #expect(result.status == 0)
        #expect(result.standardOutput == "1.0.0\n")
    }

    @Test("discovers the product folders under a source, or the source itself")
    func discover() async throws {
        let station = samples.appendingPathComponent("station-01").path
        let result = try await call("discover", samples.path)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "\(station)\n")
        #expect(try await call("discover", station).standardOutput == "\(station)\n")
    }

    @Test("gives the folder name as id and a version that follows the content")
    func idAndVersion() async throws {
        try await withTemporaryDirectory { directory in
            let product = directory.appendingPathComponent("station-07", isDirectory: true)
            try FileManager.default.createDirectory(at: product, withIntermediateDirectories: true)
            let readings = product.appendingPathComponent("readings.csv")
            try Data("timestamp,lon,lat,value\n2024-05-01T06:00:00Z,16.37,48.21,11.2\n".utf8).write(to: readings)

            #expect(try await call("id", product.path).standardOutput == "station-07\n")
            let first = try await call("version", product.path)
            #expect(first.status == 0)
            #expect(first.standardOutput.count == 65)
            #expect(try await call("version", product.path).standardOutput == first.standardOutput)

            try Data([0xFF, 0xD8, 0xFF, 0xD9]).write(to: product.appendingPathComponent("photo.jpg"))
            let withPhoto = try await call("version", product.path).standardOutput
            #expect(withPhoto != first.standardOutput)
        }
    }

    @Test("writes an item with its assets under the output folder and prints its path")
    func process() async throws {
        try await withTemporaryDirectory { directory in
            let product = directory.appendingPathComponent("buoy-3", isDirectory: true)
            try FileManager.default.createDirectory(at: product, withIntermediateDirectories: true)
            let csv = """
                timestamp,lon,lat,value
                2024-05-02T12:00:00Z,13.5,54.2,7.5
                2024-05-01T12:00:00+02:00,13.4,54.1,6.0
                2024-05-03T12:00:00Z,13.5,54.2,8.25
                """
            try Data(csv.utf8).write(to: product.appendingPathComponent("readings.csv"))
            try Data([0xFF, 0xD8, 0xFF, 0xD9]).write(to: product.appendingPathComponent("photo.jpg"))
            let output = directory.appendingPathComponent("out", isDirectory: true)

            let result = try await call("process", product.path, "--output", output.path)
            #expect(result.status == 0, "\(result.standardError)")
            let itemPath = result.standardOutput.trimmingCharacters(in: .newlines)
            #expect(itemPath == output.appendingPathComponent("buoy-3/buoy-3.json").path)

            let item = try readJSONObject(URL(fileURLWithPath: itemPath))
            #expect(item["id"] as? String == "buoy-3")
            #expect(item["stac_version"] as? String == "1.1.0")
            #expect(item["bbox"] as? [Double] == [13.4, 54.1, 13.5, 54.2])
            #expect((item["geometry"] as? [String: Any])?["type"] as? String == "MultiPoint")
            let properties = try #require(item["properties"] as? [String: Any])
            #expect(properties["datetime"] as? String == "2024-05-01T10:00:00Z")
            #expect(properties["start_datetime"] as? String == "2024-05-01T10:00:00Z")
            #expect(properties["end_datetime"] as? String == "2024-05-03T12:00:00Z")
            #expect(properties["processing:software"] as? [String: String] == ["sensor-csv": "1.0.0"])
            let assets = try #require(item["assets"] as? [String: [String: Any]])
            #expect(assets["data"]?["href"] as? String == "./readings.csv")
            #expect(assets["data"]?["type"] as? String == "text/csv")
            #expect(assets["photo"]?["href"] as? String == "./photo.jpg")
            #expect(assets["photo"]?["roles"] as? [String] == ["overview"])
            let folder = output.appendingPathComponent("buoy-3")
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("readings.csv").path))
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("photo.jpg").path))
        }
    }

    @Test(
        "writes an item the offline STAC validator accepts",
        .enabled(if: validatorAvailable, "needs ../shared/tools/validate_stac.py and python3 with jsonschema"))
    func processedSampleValidates() async throws {
        try await withTemporaryDirectory { directory in
            let result = try await call(
                "process", samples.appendingPathComponent("station-01").path, "--output", directory.path)
            #expect(result.status == 0, "\(result.standardError)")
            let validator = try #require(stacValidator)
            let check = try await run(
                "python3", [validator.path, result.standardOutput.trimmingCharacters(in: .newlines)])
            #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        }
    }

    @Test("fails with exit status 1 and a sentence on stderr for a bad product")
    func failsClearly() async throws {
        try await withTemporaryDirectory { directory in
            let empty = directory.appendingPathComponent("empty", isDirectory: true)
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            let missing = try await call(
                "process", empty.path, "--output", directory.appendingPathComponent("out").path)
            #expect(missing.status == 1)
            #expect(missing.standardOutput.isEmpty)
            #expect(missing.standardError.contains("readings.csv"))

            try Data("timestamp,lon,lat,value\nsoon,1,2,3\n".utf8).write(
                to: empty.appendingPathComponent("readings.csv"))
            let malformed = try await call(
                "process", empty.path, "--output", directory.appendingPathComponent("out").path)
            #expect(malformed.status == 1)
            #expect(malformed.standardError.contains("\"soon\""))
        }
    }
}
