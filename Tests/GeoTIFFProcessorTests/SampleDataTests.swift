import Foundation
import StacRepository
import TestSupport
import Testing

@testable import GeoTIFFProcessor

/// The sample catalog and sample products shipped in docs/, written by scripts/make-sample-catalog.py.
@Suite("The shipped sample data", .offPool, .offPool)
struct SampleDataTests {
    let catalog = packageRoot.appendingPathComponent("docs/sample-catalog")
    let products = packageRoot.appendingPathComponent("docs/sample-products")

    @Test(
        "is exactly what scripts/make-sample-catalog.py writes",
        .enabled(if: pythonAvailable, "needs python3 on PATH"))
    func matchesTheScript() async throws {
        try await withTemporaryDirectory { directory in
            let script = packageRoot.appendingPathComponent("scripts/make-sample-catalog.py")
            let result = try await run("python3", [script.path, directory.path])
            #expect(result.status == 0, "\(result.standardError)")
            for folder in ["docs/sample-catalog", "docs/sample-products"] {
                let written = try files(under: directory.appendingPathComponent(folder))
                let committed = try files(under: packageRoot.appendingPathComponent(folder))
                #expect(written.keys.sorted() == committed.keys.sorted(), "\(folder)")
                for (path, bytes) in written {
                    #expect(committed[path] == bytes, "\(folder)/\(path) differs from what the script writes")
                }
            }
        }
    }

    @Test(
        "passes the offline STAC validator, links and checksums included",
        .enabled(if: validatorAvailable, "needs ../shared/tools/validate_stac.py and python3 with jsonschema"))
    func catalogValidates() async throws {
        let validator = try #require(stacValidator)
        let result = try await run("python3", [validator.path, catalog.path, "--recursive"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("5 passed, 0 failed"))
    }

    @Test("holds small GeoTIFFs the processor reads")
    func catalogAssetsAreReadable() throws {
        for id in ["S-001", "S-002", "S-003"] {
            let url = catalog.appendingPathComponent("sample-orthophotos/\(id)/\(id).tif")
            let header = try GeoTIFFHeader(reading: url)
            #expect(header.width == 16 && header.height == 16)
            #expect(header.crs == .epsg(4326))
            let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
            #expect(size < 2048)
        }
    }

    /// Reference bboxes from GDAL 3.10.3 through rasterio 1.4.4 (`pip install rasterio`), computed once:
    /// `rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)`.
    @Test("processes the sample products to the footprints GDAL computes")
    func sampleProductsMatchGDAL() async throws {
        try await withTemporaryDirectory { directory in
            let processor = GeoTIFFProcessor()
            let context = try makeContext(in: directory)
            let found = try await processor.discover(products.path, context: context)
            #expect(found.map { URL(fileURLWithPath: $0).lastPathComponent } == ["P-001.tif", "P-002.tif"])
            let expected: [String: [Double]] = [
                "P-001": [16.480433657904392, 48.20222742539224, 16.482627804249503, 48.20369418870761],
                "P-002": [16.36730447665768, 48.20100327049375, 16.373053694476045, 48.20483509247683],
            ]
            for product in found {
                let item = try readJSONObject(try await processor.process(product, context: context))
                let id = try #require(item["id"] as? String)
                let bbox = try #require(item["bbox"] as? [Double])
                let reference = try #require(expected[id])
                for (value, wanted) in zip(bbox, reference) {
                    #expect(abs(value - wanted) < 1e-6, "\(id): \(bbox) vs GDAL \(reference)")
                }
                let assets = try #require(item["assets"] as? [String: [String: Any]])
                if id == "P-002" {
                    #expect(assets["data"]?["type"] as? String == GeoTIFFItem.cogMediaType)
                    #expect(assets["thumbnail"] != nil)
                } else {
                    #expect(assets["data"]?["type"] as? String == GeoTIFFItem.geoTIFFMediaType)
                    #expect(assets["thumbnail"] == nil)
                }
            }
        }
    }

    /// Every regular file under `folder`, by path relative to it.
    private func files(under folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let root = folder.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            return result
        }
        for case let url as URL in enumerator {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else {
                continue
            }
            let path = url.standardizedFileURL.path
            result[String(path.dropFirst(root.count + 1))] = try Data(contentsOf: url)
        }
        return result
    }
}
