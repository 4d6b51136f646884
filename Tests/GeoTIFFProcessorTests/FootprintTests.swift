import Foundation
import TestSupport
import Testing

@testable import GeoTIFFProcessor

/// Footprints checked against pyproj.
///
/// The reference numbers were computed once with pyproj 3.7.2 (PROJ 9.5.1), `pip install pyproj`,
/// by this script, which samples the same points as ``Footprint`` (10 per edge, starting at each
/// corner of the pixel grid, corners in the order upper-left, lower-left, lower-right,
/// upper-right) and transforms them with PROJ's own transverse Mercator / Mercator:
///
/// ```python
/// from pyproj import Transformer
/// def footprint(epsg, w, h, t):
///     a, b, c, d, e, f = t
///     tr = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
///     corners = [(0, 0), (0, h), (w, h), (w, 0)]
///     pts = []
///     for i, (c0, r0) in enumerate(corners):
///         c1, r1 = corners[(i + 1) % 4]
///         for k in range(10):
///             col, row = c0 + (c1 - c0) * k / 10, r0 + (r1 - r0) * k / 10
///             pts.append(tr.transform(a * col + b * row + c, d * col + e * row + f))
///     lons = [p[0] for p in pts]; lats = [p[1] for p in pts]
///     cs = [tr.transform(a * col + b * row + c, d * col + e * row + f) for col, row in corners]
///     return [min(lons), min(lats), max(lons), max(lats)], cs
/// footprint(32633, 20, 10, (300, 0, 600000, 0, -300, 5800000))          # utm33N
/// footprint(32633, 20, 10, (290, 50, 600000, 40, -295, 5800000))        # utm33NRotated
/// footprint(32760, 16, 16, (500, 0, 300000, 0, -500, 5100000))          # utm60S
/// footprint(3857, 10, 10, (1000, 0, 1000000, 0, -1000, 6000000))        # webMercator
/// footprint(32760, 60, 20, (1000, 0, 790000, 0, -1000, 8120000))        # antimeridian
/// ```
///
/// For the antimeridian case, pyproj's longitudes were unwrapped (negative ones + 360) before
/// taking min/max, and the east bound wrapped back (− 360).
@Suite("WGS84 footprints", .offPool, .offPool)
struct FootprintTests {
    struct Reference: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var tiff: TestTIFF
        var bbox: [Double]
        /// Upper-left, lower-left, lower-right, upper-right.
        var corners: [[Double]]
    }

    static let references: [Reference] = [
        Reference(
            testDescription: "UTM 33N", tiff: Fixtures.utm33N,
            bbox: [16.46698588771969, 52.313087194616536, 16.55591665200219, 52.34117534714299],
            corners: [
                [16.46787819947319, 52.34117534714299], [16.46698588771969, 52.314212832436546],
                [16.55497087345174, 52.313087194616536], [16.55591665200219, 52.34004862067181],
            ]),
        Reference(
            testDescription: "UTM 33N, rotated and sheared", tiff: Fixtures.utm33NRotated,
            bbox: [16.46787819947319, 52.314570906499675, 16.559638544791422, 52.34727693535369],
            corners: [
                [16.46787819947319, 52.34117534714299], [16.47433312410502, 52.314570906499675],
                [16.559638544791422, 52.320668261642325], [16.553234115697684, 52.34727693535369],
            ]),
        Reference(
            testDescription: "UTM 60S", tiff: Fixtures.utm60S,
            bbox: [174.49287820068162, -44.29989649127148, 174.59600948261914, -44.225784263498056],
            corners: [
                [174.49593622376798, -44.225784263498056], [174.49287820068162, -44.297740047776216],
                [174.5930733778852, -44.29989649127148], [174.59600948261914, -44.2279353316687],
            ]),
        Reference(
            testDescription: "Web Mercator", tiff: Fixtures.webMercator,
            bbox: [8.983152841195214, 47.29281139626775, 9.072984369607166, 47.353704702433106],
            corners: [
                [8.983152841195214, 47.353704702433106], [8.983152841195214, 47.29281139626775],
                [9.072984369607166, 47.29281139626775], [9.072984369607166, 47.353704702433106],
            ]),
    ]

    static let tolerance = 1e-6

    @Test("matches pyproj to 1e-6 degrees", arguments: references)
    func matchesPyproj(_ reference: Reference) async throws {
        let footprint = try await footprint(of: reference.tiff)
        try #require(footprint.bbox.count == 4)
        for (value, expected) in zip(footprint.bbox, reference.bbox) {
            #expect(abs(value - expected) < Self.tolerance, "bbox \(footprint.bbox) vs \(reference.bbox)")
        }
        let ring = try #require(footprint.polygons.first)
        #expect(footprint.polygons.count == 1)
        #expect(ring.count == 5)
        #expect(ring.first == ring.last)
        // The ring is counter-clockwise, so it starts at a corner and visits the others in order.
        for expected in reference.corners {
            #expect(
                ring.contains {
                    abs($0[0] - expected[0]) < Self.tolerance && abs($0[1] - expected[1]) < Self.tolerance
                },
                "corner \(expected) not in \(ring)")
        }
        #expect(signedArea(ring) > 0, "exterior ring must be counter-clockwise")
    }

    @Test("is exact for EPSG:4326, with longitude first")
    func geographicIsIdentity() async throws {
        let footprint = try await footprint(of: Fixtures.wgs84)
        let expected = [12.0, 44.9, 12.1, 45.0]
        for (value, reference) in zip(footprint.bbox, expected) { #expect(abs(value - reference) < 1e-12) }
        #expect(footprint.polygons == [[[12, 45], [12, 44.9], [12.1, 44.9], [12.1, 45], [12, 45]]])
    }

    @Test("splits a footprint across the antimeridian, with west > east in the bbox")
    func splitsAtTheAntimeridian() async throws {
        let footprint = try await footprint(of: Fixtures.antimeridian)
        // pyproj: west 179.7233953329974, east -179.7105959618231 (see the script above).
        #expect(abs(footprint.bbox[0] - 179.7233953329974) < Self.tolerance)
        #expect(abs(footprint.bbox[2] - -179.7105959618231) < Self.tolerance)
        #expect(abs(footprint.bbox[1] - -17.166395892953098) < Self.tolerance)
        #expect(abs(footprint.bbox[3] - -16.977507926670924) < Self.tolerance)
        #expect(footprint.polygons.count == 2)
        let west = footprint.polygons[0].map { $0[0] }, east = footprint.polygons[1].map { $0[0] }
        #expect(west.allSatisfy { $0 > 179 && $0 <= 180 })
        #expect(east.allSatisfy { $0 >= -180 && $0 < -179 })
        #expect(footprint.geometry["type"] as? String == "MultiPolygon")
    }

    @Test("maps the false origin of a UTM zone to its central meridian on the equator")
    func utmFalseOriginIsTheCentralMeridian() {
        let (lon, lat) = CoordinateConversion.utm(zone: 33, north: true).toWGS84(x: 500_000, y: 0)
        #expect(abs(lon - 15) < 1e-12)
        #expect(abs(lat) < 1e-12)
        let (lonS, latS) = CoordinateConversion.utm(zone: 60, north: false).toWGS84(x: 500_000, y: 10_000_000)
        #expect(abs(lonS - 177) < 1e-12)
        #expect(abs(latS) < 1e-12)
    }

    private func footprint(of tiff: TestTIFF) async throws -> Footprint {
        try await withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("image.tif")
            try tiff.write(to: url)
            let header = try GeoTIFFHeader(reading: url)
            guard case .epsg(let code) = header.crs, let conversion = CoordinateConversion(epsg: code),
                let transform = header.transform
            else {
                throw TIFFError("fixture has no supported CRS")
            }
            return Footprint(width: header.width, height: header.height, transform: transform, conversion: conversion)
        }
    }

    private func signedArea(_ ring: [[Double]]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + $1.0[0] * $1.1[1] - $1.1[0] * $1.0[1] }
    }
}
