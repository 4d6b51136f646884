import Parquet
import STAC
import TestSupport
import Testing

@testable import StacRepository

/// The STAC → stac-geoparquet mapping's pieces: RFC 3339 timestamps, WKB, and type inference.
@Suite("stac-geoparquet mapping", .offPool)
struct GeoParquetMappingTests {
    @Test("RFC 3339: Z and offsets, fractions truncated to microseconds, invalid text refused")
    func timestamps() {
        #expect(RFC3339.microseconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.microseconds("2023-10-05T18:31:21.6749510Z") == 1_696_530_681_674_951)
        #expect(RFC3339.microseconds("2023-10-05T20:31:21.6749519+02:00") == 1_696_530_681_674_951)
        #expect(RFC3339.microseconds("1969-12-31T23:59:59.5Z") == -500_000)
        #expect(RFC3339.microseconds("2024-02-29T12:00:00z") == 1_709_208_000_000_000)
        for bad in ["2024-01-01", "2024-13-01T00:00:00Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "yesterday"] {
            #expect(RFC3339.microseconds(bad) == nil, "\(bad)")
        }
    }

    func wkb(_ json: String) throws -> [UInt8]? {
        var encoder = WKBEncoder(collects: true)
        guard case .success(let bytes) = encoder.encode(try JSONValue.parse(bytes: Array(json.utf8))) else {
            return nil
        }
        return bytes
    }

    @Test("GeoJSON becomes ISO WKB: a point, a 3-D point, a polygon's rings, a multipoint's parts")
    func wkbEncoding() throws {
        let point = try #require(try wkb(#"{"type":"Point","coordinates":[1,2]}"#))
        #expect(point == [1, 1, 0, 0, 0] + le(1.0) + le(2.0))
        let pointZ = try #require(try wkb(#"{"type":"Point","coordinates":[1,2,3]}"#))
        #expect(pointZ == [1, 0xE9, 0x03, 0, 0] + le(1.0) + le(2.0) + le(3.0))
        let polygon = try #require(try wkb(#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,1],[0,0]]]}"#))
        #expect(polygon.count == 1 + 4 + 4 + 4 + 4 * 16)
        #expect(Array(polygon[5..<13]) == [1, 0, 0, 0, 4, 0, 0, 0])
        let multi = try #require(try wkb(#"{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}"#))
        #expect(
            multi == [1, 4, 0, 0, 0, 2, 0, 0, 0] + [1, 1, 0, 0, 0] + le(1.0) + le(2.0) + [1, 1, 0, 0, 0] + le(3.0)
                + le(4.0))
        #expect(try wkb(#"{"type":"Circle","coordinates":[1,2]}"#) == nil)
        #expect(try wkb(#"{"type":"Point","coordinates":["a",2]}"#) == nil)
    }

    func le(_ d: Double) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: d.bitPattern >> (8 * UInt64($0))) } }

    @Test("type inference: ints widen to double, mixed shapes become JSON, objects union their keys")
    func inference() throws {
        func shape(_ values: [String], timestamp: Bool = false) throws -> ColumnShape {
            let s = ColumnShape()
            for v in values { s.absorb(try JSONValue.parse(bytes: Array(v.utf8)), timestamp: timestamp) }
            s.finalize()
            return s
        }
        #expect(try shape(["1", "2"]).kind == .int)
        #expect(try shape(["1", "2.5", "3"]).kind == .double)
        #expect(try shape(["1e3"]).kind == .double)
        #expect(try shape(["1", "\"a\""]).kind == .json)
        #expect(try shape(["[1, 2]", "[3.5]"]).elementShape?.kind == .double)
        #expect(try shape(["[1, \"a\"]"]).kind == .json)
        #expect(try shape(["{}"]).kind == .json)
        #expect(try shape(["null", "true"]).kind == .bool)
        let object = try shape(["{\"a\": 1}", "{\"b\": \"x\", \"a\": 2.0}"])
        #expect(object.kind == .object && object.fieldNames == ["a", "b"])
        #expect(object.fields["a"]?.kind == .double)
        #expect(try shape(["\"2024-01-01T00:00:00Z\""], timestamp: true).kind == .timestamp)
        #expect(try shape(["\"2024-01-01T00:00:00Z\"", "\"soon\""], timestamp: true).kind == .string)
        #expect(try shape(["\"2024-01-01T00:00:00Z\""]).kind == .string)
        let json = try shape(["1", "{\"a\": [1]}"])
        #expect(json.value(try JSONValue.parse(bytes: Array("{\"a\": [1]}".utf8))) == .string("{\"a\":[1]}"))
    }
}
