import Foundation
import StacRepository
import TestSupport
import Testing

@testable import GeoTIFFProcessor

@Suite("Reading TIFF and BigTIFF headers", .offPool, .offPool)
struct GeoTIFFHeaderTests {
    struct Encoding: Sendable, CustomTestStringConvertible {
        var littleEndian: Bool
        var bigTIFF: Bool
        var tiled: Bool
        var testDescription: String {
            "\(littleEndian ? "little" : "big")-endian \(bigTIFF ? "BigTIFF" : "classic TIFF"), \(tiled ? "tiles" : "strips")"
        }
    }

    static let encodings = [false, true].flatMap { little in
        [false, true].flatMap { big in [false, true].map { Encoding(littleEndian: little, bigTIFF: big, tiled: $0) } }
    }

    @Test("reads the same header in every byte order and file format", arguments: encodings)
    func readsTheSameHeaderInEveryEncoding(_ encoding: Encoding) async throws {
        try await withTemporaryDirectory { directory in
            var tiff = Fixtures.withNoData
            tiff.littleEndian = encoding.littleEndian
            tiff.bigTIFF = encoding.bigTIFF
            if encoding.tiled { tiff.layout = .tiles(size: 16) }
            let url = directory.appendingPathComponent("image.tif")
            try tiff.write(to: url)

            let header = try GeoTIFFHeader(reading: url)
            #expect(header.width == 10)
            #expect(header.height == 10)
            #expect(header.bandDataTypes == ["int16"])
            #expect(header.compression == 1)
            #expect(header.isTiled == encoding.tiled)
            #expect(header.overviewCount == 0)
            #expect(header.dateTime == "2024:05:17 10:30:00")
            #expect(header.noData == .number(-9999))
            #expect(header.rasterType == .pixelIsArea)
            #expect(header.crs == .epsg(4326))
            #expect(header.transform == AffineTransform(a: 0.01, b: 0, c: 12, d: 0, e: -0.01, f: 45))
        }
    }

    @Test("maps sample formats and sizes to STAC raster data types")
    func mapsDataTypes() async throws {
        try await withTemporaryDirectory { directory in
            var tiff = Fixtures.wgs84
            tiff.bitsPerSample = 32
            tiff.sampleFormat = 3
            tiff.samplesPerPixel = 3
            let url = directory.appendingPathComponent("float.tif")
            try tiff.write(to: url)
            #expect(try GeoTIFFHeader(reading: url).bandDataTypes == ["float32", "float32", "float32"])
        }
        #expect(GeoTIFFHeader.dataType(bits: 8, format: 1) == "uint8")
        #expect(GeoTIFFHeader.dataType(bits: 16, format: 1) == "uint16")
        #expect(GeoTIFFHeader.dataType(bits: 8, format: 2) == "int8")
        #expect(GeoTIFFHeader.dataType(bits: 64, format: 3) == "float64")
        #expect(GeoTIFFHeader.dataType(bits: 12, format: 1) == "other")
    }

    @Test("recognises a tiled file with overviews as cloud-optimized, not counting its mask")
    func detectsCloudOptimizedLayout() async throws {
        try await withTemporaryDirectory { directory in
            let cog = directory.appendingPathComponent("cog.tif")
            try Fixtures.cog.write(to: cog)
            let header = try GeoTIFFHeader(reading: cog)
            #expect(header.isTiled)
            #expect(header.overviewCount == 2)
            #expect(header.isCloudOptimized)

            var stripped = Fixtures.cog
            stripped.layout = .strips
            let strips = directory.appendingPathComponent("strips.tif")
            try stripped.write(to: strips)
            #expect(try !GeoTIFFHeader(reading: strips).isCloudOptimized)

            var flat = Fixtures.cog
            flat.overviews = 0
            let tiledOnly = directory.appendingPathComponent("tiled.tif")
            try flat.write(to: tiledOnly)
            let tiledHeader = try GeoTIFFHeader(reading: tiledOnly)
            #expect(tiledHeader.isTiled)
            #expect(!tiledHeader.isCloudOptimized)
        }
    }

    @Test("shifts a pixel-is-point grid by half a pixel, as GDAL does")
    func pixelIsPointMovesTheTransformToCorners() async throws {
        try await withTemporaryDirectory { directory in
            var tiff = Fixtures.wgs84
            tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 2, raster: 2, geographic: 4326)
            let url = directory.appendingPathComponent("point.tif")
            try tiff.write(to: url)
            let header = try GeoTIFFHeader(reading: url)
            #expect(header.rasterType == .pixelIsPoint)
            let transform = try #require(header.transform)
            #expect(abs(transform.c - 11.995) < 1e-12)
            #expect(abs(transform.f - 45.005) < 1e-12)
        }
    }

    @Test("parses GDAL nodata text")
    func parsesNoData() throws {
        #expect(try GeoTIFFHeader.parseNoData("0") == .number(0))
        #expect(try GeoTIFFHeader.parseNoData("-3.5e2") == .number(-350))
        #expect(try GeoTIFFHeader.parseNoData("nan") == .nan)
        #expect(try GeoTIFFHeader.parseNoData("-inf") == .negativeInfinity)
        #expect(throws: TIFFError.self) { try GeoTIFFHeader.parseNoData("none") }
    }

    /// A way to break a valid little-endian classic TIFF.
    struct Corruption: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var expectedWords: String
        var apply: @Sendable ([UInt8]) -> [UInt8]
    }

    static let corruptions: [Corruption] = [
        Corruption(testDescription: "an empty file", expectedWords: "only 0 bytes") { _ in [] },
        Corruption(testDescription: "a PNG", expectedWords: "does not start with") { _ in
            [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]
        },
        Corruption(testDescription: "a wrong version number", expectedWords: "version number") { bytes in
            var b = bytes
            b[2] = 41
            return b
        },
        Corruption(testDescription: "a file cut inside its first directory", expectedWords: "past the end") { bytes in
            Array(bytes.prefix(Int(firstDirectory(bytes)) + 20))
        },
        Corruption(testDescription: "a file cut inside its pixel data", expectedWords: "is truncated: image data") {
            bytes in
            // StripByteCounts claims more bytes than the file holds, as after an interrupted copy.
            patchEntryValue(bytes, tag: 279, value: 0x00FF_FFFF)
        },
        Corruption(testDescription: "a first directory offset past the end", expectedWords: "past the end") { bytes in
            var b = bytes
            b.replaceSubrange(4..<8, with: le32(0x7FFF_FFF0))
            return b
        },
        Corruption(testDescription: "a directory chain that loops", expectedWords: "loops") { bytes in
            var b = bytes
            let directory = Int(firstDirectory(bytes))
            let next = directory + 2 + 12 * entryCount(bytes)
            b.replaceSubrange(next..<next + 4, with: le32(UInt32(directory)))
            return b
        },
        Corruption(testDescription: "a directory claiming 65535 entries", expectedWords: "65535 entries") { bytes in
            var b = bytes
            let directory = Int(firstDirectory(bytes))
            b.replaceSubrange(directory..<directory + 2, with: [0xFF, 0xFF])
            return b
        },
        Corruption(testDescription: "a tag value offset past the end", expectedWords: "ModelTiepoint") { bytes in
            patchEntryValue(bytes, tag: 33922, value: 0xFFFF_FF00)
        },
        Corruption(testDescription: "a tag with an absurd count", expectedWords: "claims") { bytes in
            patchEntryCount(bytes, tag: 33922, count: 0xFFFF_FFFF)
        },
        Corruption(
            testDescription: "a GeoKeyDirectory claiming more keys than it holds", expectedWords: "GeoKeyDirectory"
        ) { bytes in
            guard let entry = entryPosition(bytes, tag: 34735) else { return bytes }
            var b = bytes
            let offset = Int(readLE32(b, entry + 8))
            b.replaceSubrange(offset + 6..<offset + 8, with: [200, 0])
            return b
        },
    ]

    @Test("rejects a malformed file with a sentence naming it", arguments: corruptions)
    func rejectsMalformedFiles(_ corruption: Corruption) async throws {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("broken.tif")
            try Data(corruption.apply(Fixtures.wgs84.bytes())).write(to: url)
            let error = try #require(throws: TIFFError.self) { try GeoTIFFHeader(reading: url) }
            #expect(error.reason.contains(corruption.expectedWords), "\(error.reason)")

            let context = try makeContext(in: directory)
            let failure = try await #require(throws: StacRepositoryError.self) {
                try await GeoTIFFProcessor().process(url.path, context: context)
            }
            #expect(failure.code == .invalidInput)
            #expect(failure.message.contains("\"\(url.path)\""), "\(failure.message)")
            #expect(failure.message.hasSuffix("."), "\(failure.message)")
        }
    }

    @Test("a valid fixture passes the corruption helpers' assumptions")
    func fixtureHasTheEntriesTheCorruptionsPatch() throws {
        let bytes = Fixtures.wgs84.bytes()
        #expect(entryPosition(bytes, tag: 279) != nil)
        #expect(entryPosition(bytes, tag: 33922) != nil)
        #expect(entryPosition(bytes, tag: 34735) != nil)
    }
}

private func readLE32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
}

private func firstDirectory(_ bytes: [UInt8]) -> UInt32 { readLE32(bytes, 4) }

private func entryCount(_ bytes: [UInt8]) -> Int {
    let directory = Int(firstDirectory(bytes))
    return Int(bytes[directory]) | Int(bytes[directory + 1]) << 8
}

/// Where the first directory's entry for `tag` starts.
private func entryPosition(_ bytes: [UInt8], tag: UInt16) -> Int? {
    let directory = Int(firstDirectory(bytes))
    return (0..<entryCount(bytes)).map { directory + 2 + 12 * $0 }.first {
        UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 == tag
    }
}

private func patchEntryValue(_ bytes: [UInt8], tag: UInt16, value: UInt32) -> [UInt8] {
    guard let entry = entryPosition(bytes, tag: tag) else { return bytes }
    var b = bytes
    b.replaceSubrange(entry + 8..<entry + 12, with: le32(value))
    return b
}

private func patchEntryCount(_ bytes: [UInt8], tag: UInt16, count: UInt32) -> [UInt8] {
    guard let entry = entryPosition(bytes, tag: tag) else { return bytes }
    var b = bytes
    b.replaceSubrange(entry + 4..<entry + 8, with: le32(count))
    return b
}

private func le32(_ value: UInt32) -> [UInt8] {
    (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
