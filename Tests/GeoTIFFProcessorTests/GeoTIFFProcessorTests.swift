import Foundation
import StacRepository
import TestSupport
import Testing

@testable import GeoTIFFProcessor

@Suite("The geotiff processor", .offPool, .offPool)
struct GeoTIFFProcessorTests {
    let processor = GeoTIFFProcessor()

    @Test("is named geotiff, version 1.0.0")
    func nameAndVersion() {
        #expect(processor.name == "geotiff")
        #expect(processor.version == "1.0.0")
    }

    @Test("discovers every .tif/.tiff in a folder, recursively and sorted, skipping hidden folders")
    func discoversRecursively() async throws {
        try await withTemporaryDirectory { directory in
            let source = directory.appendingPathComponent("products", isDirectory: true)
            let files = ["b.tif", "a.TIFF", "sub/c.tif", "sub/deeper/d.tiff", ".hidden/e.tif", "notes.txt", "f.png"]
            for file in files {
                let url = source.appendingPathComponent(file)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data([0]).write(to: url)
            }
            let context = try makeContext(in: directory)
            let found = try await processor.discover(source.path, context: context)
            let root = source.standardizedFileURL.path
            #expect(found == ["a.TIFF", "b.tif", "sub/c.tif", "sub/deeper/d.tiff"].map { "\(root)/\($0)" })

            let single = try await processor.discover(source.appendingPathComponent("b.tif").path, context: context)
            #expect(single == ["\(root)/b.tif"])
        }
    }

    @Test("refuses a missing source and a file that is not a TIFF")
    func discoverRejectsOtherSources() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            let missing = directory.appendingPathComponent("nothing-here").path
            let notFound = try await #require(throws: StacRepositoryError.self) {
                try await processor.discover(missing, context: context)
            }
            #expect(notFound.code == .notFound)
            #expect(notFound.message.contains(missing))

            let text = directory.appendingPathComponent("readme.txt")
            try Data("hi".utf8).write(to: text)
            let wrongKind = try await #require(throws: StacRepositoryError.self) {
                try await processor.discover(text.path, context: context)
            }
            #expect(wrongKind.code == .invalidInput)
            #expect(wrongKind.message.contains("readme.txt"))
        }
    }

    @Test("uses the file stem as the id and rejects unsafe ones")
    func productIDIsTheStem() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            #expect(try await processor.productID("/data/S2A_2024-05-17.tif", context: context) == "S2A_2024-05-17")
            #expect(try await processor.productID("relative/x.y.tiff", context: context) == "x.y")
            for unsafe in ["/data/...tif", "/data/..tif", "/data/.tif"] {
                let error = try await #require(throws: StacRepositoryError.self) {
                    try await processor.productID(unsafe, context: context)
                }
                #expect(error.message.contains(unsafe))
            }
        }
    }

    @Test("gives a version that changes when the file's bytes change, and only then")
    func productVersionFollowsTheBytes() async throws {
        try await withTemporaryDirectory { directory in
            let context = try makeContext(in: directory)
            let url = directory.appendingPathComponent("image.tif")
            var tiff = Fixtures.utm33N
            try tiff.write(to: url)
            let first = try await processor.productVersion(url.path, context: context)
            #expect(first.count == 64)
            let reference = await sha256Reference(of: url)
            #expect(first == reference)

            // Same bytes, new modification time: same version.
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: url.path)
            #expect(try await processor.productVersion(url.path, context: context) == first)

            // One pixel value differs, same size: new version.
            tiff.dateTime = "2024:05:17 10:30:01"
            try tiff.write(to: url)
            #expect(try await processor.productVersion(url.path, context: context) != first)
        }
    }

    @Test("writes a STAC 1.1.0 item with WGS84 footprint, projection, raster and processing fields")
    func processWritesTheItem() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("utm-scene.tif")
            try Fixtures.utm33N.write(to: url)
            let context = try makeContext(in: directory)
            let output = try await processor.process(url.path, context: context)
            #expect(output == context.workDirectory.appendingPathComponent("utm-scene/utm-scene.json"))

            let item = try readJSONObject(output)
            #expect(item["type"] as? String == "Feature")
            #expect(item["stac_version"] as? String == "1.1.0")
            #expect(item["id"] as? String == "utm-scene")
            #expect(
                item["stac_extensions"] as? [String] == [
                    "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
                    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
                    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
                ])
            let bbox = try #require(item["bbox"] as? [Double])
            let expected = FootprintTests.references[0].bbox
            for (value, reference) in zip(bbox, expected) { #expect(abs(value - reference) < 1e-6) }
            let geometry = try #require(item["geometry"] as? [String: Any])
            #expect(geometry["type"] as? String == "Polygon")

            let properties = try #require(item["properties"] as? [String: Any])
            #expect(properties["datetime"] as? String == "2024-05-17T10:30:00Z")
            #expect(properties["proj:code"] as? String == "EPSG:32633")
            #expect(properties["proj:shape"] as? [Int] == [10, 20])
            #expect(properties["proj:transform"] as? [Double] == [300, 0, 600_000, 0, -300, 5_800_000])
            #expect(properties["proj:bbox"] as? [Double] == [600_000, 5_797_000, 606_000, 5_800_000])
            #expect(properties["processing:software"] as? [String: String] == ["geotiff": "1.0.0"])

            let assets = try #require(item["assets"] as? [String: Any])
            let data = try #require(assets["data"] as? [String: Any])
            #expect(data["href"] as? String == url.standardizedFileURL.path)
            #expect(data["type"] as? String == "image/tiff; application=geotiff")
            #expect(data["roles"] as? [String] == ["data"])
            let bands = try #require(data["raster:bands"] as? [[String: Any]])
            #expect(bands.count == 1)
            #expect(bands.first?["data_type"] as? String == "uint8")
            #expect(bands.first?["nodata"] == nil)
            #expect(assets["thumbnail"] == nil)
        }
    }

    @Test("gives the same bytes for the same input")
    func processIsDeterministic() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("scene.tif")
            try Fixtures.utm60S.write(to: url)
            let first = try await processor.process(
                url.path, context: makeContext(in: directory.appendingPathComponent("1")))
            let second = try await processor.process(
                url.path, context: makeContext(in: directory.appendingPathComponent("2")))
            #expect(try Data(contentsOf: first) == Data(contentsOf: second))
        }
    }

    @Test("records nodata in raster:bands")
    func recordsNoData() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("dem.tif")
            try Fixtures.withNoData.write(to: url)
            let item = try readJSONObject(try await processor.process(url.path, context: makeContext(in: directory)))
            let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
            let band = try #require((data["raster:bands"] as? [[String: Any]])?.first)
            #expect(band["data_type"] as? String == "int16")
            #expect(band["nodata"] as? Int == -9999)
        }
    }

    @Test("gives a COG the cloud-optimized media type")
    func marksCloudOptimizedGeoTIFFs() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("cog.tif")
            try Fixtures.cog.write(to: url)
            let item = try readJSONObject(try await processor.process(url.path, context: makeContext(in: directory)))
            let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
            #expect(data["type"] as? String == "image/tiff; application=geotiff; profile=cloud-optimized")
        }
    }

    @Test("picks up a sibling PNG or JPEG of the same stem as the thumbnail")
    func picksUpThumbnails() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("scene.tif")
            try Fixtures.wgs84.write(to: url)
            let jpeg = directory.appendingPathComponent("scene.jpg")
            try Data([0xFF, 0xD8, 0xFF]).write(to: jpeg)
            try Data([0]).write(to: directory.appendingPathComponent("other.png"))

            var item = try readJSONObject(try await processor.process(url.path, context: makeContext(in: directory)))
            var thumbnail = try #require((item["assets"] as? [String: Any])?["thumbnail"] as? [String: Any])
            #expect(thumbnail["href"] as? String == jpeg.standardizedFileURL.path)
            #expect(thumbnail["type"] as? String == "image/jpeg")
            #expect(thumbnail["roles"] as? [String] == ["thumbnail"])

            let png = directory.appendingPathComponent("scene.png")
            try Data([0x89, 0x50]).write(to: png)
            item = try readJSONObject(try await processor.process(url.path, context: makeContext(in: directory)))
            thumbnail = try #require((item["assets"] as? [String: Any])?["thumbnail"] as? [String: Any])
            #expect(thumbnail["href"] as? String == png.standardizedFileURL.path)
            #expect(thumbnail["type"] as? String == "image/png")
        }
    }

    @Test("refuses an unsupported CRS, naming the EPSG code and the option that lets it through")
    func unsupportedCRSIsAnError() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("lambert.tif")
            try Fixtures.lambert93.write(to: url)
            let error = try await #require(throws: StacRepositoryError.self) {
                try await processor.process(url.path, context: makeContext(in: directory))
            }
            #expect(error.code == .invalidInput)
            #expect(error.message.contains("EPSG:2154"))
            #expect(error.message.contains("--option allow-unprojected=true"))
            #expect(error.message.contains(url.path))
        }
    }

    @Test("with allow-unprojected, keeps an unsupported CRS's footprint in proj:bbox only")
    func allowUnprojectedEmitsNullGeometry() async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("lambert.tif")
            try Fixtures.lambert93.write(to: url)
            let context = try makeContext(in: directory, options: ["allow-unprojected": "true"])
            let item = try readJSONObject(try await processor.process(url.path, context: context))
            #expect(item["geometry"] is NSNull)
            #expect(item["bbox"] == nil)
            let properties = try #require(item["properties"] as? [String: Any])
            #expect(properties["proj:code"] as? String == "EPSG:2154")
            #expect(properties["proj:bbox"] as? [Double] == [700_000, 6_599_920, 700_080, 6_600_000])

            let bad = try makeContext(in: directory, options: ["allow-unprojected": "maybe"])
            await #expect(throws: StacRepositoryError.self) { try await processor.process(url.path, context: bad) }
        }
    }

    @Test("needs a datetime: from the option, else the DateTime tag, else an error saying what to pass")
    func datetimeSources() async throws {
        try await withTemporaryDirectory { directory in
            var tiff = Fixtures.wgs84
            tiff.dateTime = nil
            let url = directory.appendingPathComponent("undated.tif")
            try tiff.write(to: url)
            let error = try await #require(throws: StacRepositoryError.self) {
                try await processor.process(url.path, context: makeContext(in: directory))
            }
            #expect(error.message.contains("--option datetime="))
            #expect(error.message.contains(url.path))

            let given = try makeContext(in: directory, options: ["datetime": "2023-01-02T03:04:05.5+01:00"])
            let item = try readJSONObject(try await processor.process(url.path, context: given))
            #expect((item["properties"] as? [String: Any])?["datetime"] as? String == "2023-01-02T03:04:05.5+01:00")

            // The option overrides the tag.
            let dated = directory.appendingPathComponent("dated.tif")
            try Fixtures.wgs84.write(to: dated)
            let overridden = try makeContext(in: directory, options: ["datetime": "2020-02-29T00:00:00Z"])
            let other = try readJSONObject(try await processor.process(dated.path, context: overridden))
            #expect((other["properties"] as? [String: Any])?["datetime"] as? String == "2020-02-29T00:00:00Z")

            let malformed = try makeContext(in: directory, options: ["datetime": "yesterday"])
            let optionError = try await #require(throws: StacRepositoryError.self) {
                try await processor.process(dated.path, context: malformed)
            }
            #expect(optionError.message.contains("\"yesterday\""))
        }
    }

    @Test("converts the TIFF DateTime tag to RFC 3339 and rejects malformed ones")
    func convertsTIFFDateTime() {
        #expect(GeoTIFFItem.tiffDateTimeToRFC3339("2024:05:17 10:30:00") == "2024-05-17T10:30:00Z")
        #expect(GeoTIFFItem.tiffDateTimeToRFC3339("2024-05-17 10:30:00") == nil)
        #expect(GeoTIFFItem.tiffDateTimeToRFC3339("2024:13:17 10:30:00") == nil)
        #expect(GeoTIFFItem.tiffDateTimeToRFC3339("    :  :     :  :  ") == nil)
    }

    @Test(
        "writes items the offline STAC validator accepts",
        .enabled(if: validatorAvailable, "needs ../shared/tools/validate_stac.py and python3 with jsonschema"))
    func outputValidates() async throws {
        try await withTemporaryDirectory { directory in
            let fixtures: [(String, TestTIFF, [String: String])] = [
                ("utm", Fixtures.utm33N, [:]), ("cog", Fixtures.cog, [:]), ("nodata", Fixtures.withNoData, [:]),
                ("fiji", Fixtures.antimeridian, [:]), ("lambert", Fixtures.lambert93, ["allow-unprojected": "true"]),
            ]
            for (name, tiff, options) in fixtures {
                let url = directory.appendingPathComponent("\(name).tif")
                try tiff.write(to: url)
                try Data([0x89, 0x50, 0x4E, 0x47]).write(to: directory.appendingPathComponent("\(name).png"))
                let output = try await processor.process(
                    url.path, context: makeContext(in: directory, options: options))
                let stacValidator = try #require(stacValidator)
                let result = try await run("python3", [stacValidator.path, output.path])
                #expect(result.status == 0, "\(name): \(result.standardOutput) \(result.standardError)")
            }
        }
    }
}

/// SHA-256 by the system's `sha256sum`, as an independent reference (nil if it is missing).
private func sha256Reference(of url: URL) async -> String? {
    guard let result = try? await run("sha256sum", [url.path]), result.status == 0 else { return nil }
    return result.standardOutput.split(separator: " ").first.map(String.init)
}
