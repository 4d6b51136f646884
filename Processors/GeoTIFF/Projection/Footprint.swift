import Foundation

/// An image's footprint in WGS84: the `bbox` and `geometry` of its STAC item.
struct Footprint: Sendable, Equatable {
    /// `[west, south, east, north]`; `west > east` when the footprint crosses the antimeridian.
    var bbox: [Double]
    /// Exterior rings, counter-clockwise, in `[lon, lat]`: one for a Polygon, two for a footprint
    /// split at the antimeridian (a MultiPolygon).
    var polygons: [[[Double]]]

    /// Points sampled along each edge of the image when computing the bounding box, so that edges
    /// that curve in longitude/latitude (UTM) are covered.
    static let pointsPerEdge = 10

    /// Decimal places kept for longitudes and latitudes (1e-9° is about 0.1 mm).
    static let decimalPlaces = 9.0

    /// The footprint of a `width`×`height` image whose pixel corners map to model coordinates
    /// through `transform`, in a CRS that `conversion` turns into WGS84.
    init(width: Int, height: Int, transform: AffineTransform, conversion: CoordinateConversion) {
        func lonLat(_ column: Double, _ row: Double) -> [Double] {
            let model = transform.apply(column: column, row: row)
            let geographic = conversion.toWGS84(x: model.x, y: model.y)
            return [geographic.lon, geographic.lat]
        }
        let w = Double(width), h = Double(height)
        let corners: [(Double, Double)] = [(0, 0), (0, h), (w, h), (w, 0)]
        var ring = corners.map { lonLat($0.0, $0.1) }
        var samples: [[Double]] = []
        for (index, start) in corners.enumerated() {
            let end = corners[(index + 1) % corners.count]
            for k in 0..<Self.pointsPerEdge {
                let t = Double(k) / Double(Self.pointsPerEdge)
                samples.append(lonLat(start.0 + (end.0 - start.0) * t, start.1 + (end.1 - start.1) * t))
            }
        }

        // Bring the footprint to where it starts in [-180, 180); it may still run past +180.
        let lons = samples.map { $0[0] }
        let minimum = lons.min() ?? 0
        let shift = ((minimum + 180) / 360).rounded(.down) * -360
        if shift != 0 {
            for i in samples.indices { samples[i][0] += shift }
            for i in ring.indices { ring[i][0] += shift }
        }
        let west = (lons.min() ?? 0) + shift
        let east = (lons.max() ?? 0) + shift
        let south = samples.map { $0[1] }.min() ?? 0
        let north = samples.map { $0[1] }.max() ?? 0

        if Self.signedArea(ring) < 0 { ring.reverse() }
        if east > 180 {
            let western = Self.clip(ring, keepEastOf: nil, keepWestOf: 180)
            let eastern = Self.clip(ring, keepEastOf: 180, keepWestOf: nil).map { [$0[0] - 360, $0[1]] }
            polygons = [western, eastern].filter { $0.count >= 3 }.map(Self.closed)
            bbox = [west, south, east - 360, north]
        } else {
            polygons = [Self.closed(ring)]
            bbox = [west, south, east, north]
        }
        bbox = bbox.map(Self.round)
        polygons = polygons.map { $0.map { $0.map(Self.round) } }
    }

    /// The GeoJSON geometry object.
    var geometry: [String: Any] {
        if polygons.count == 1 {
            return ["type": "Polygon", "coordinates": [polygons[0]]]
        }
        return ["type": "MultiPolygon", "coordinates": polygons.map { [$0] }]
    }

    private static func round(_ value: Double) -> Double {
        let scale = pow(10, decimalPlaces)
        return (value * scale).rounded() / scale
    }

    private static func closed(_ ring: [[Double]]) -> [[Double]] {
        guard let first = ring.first, ring.last != first else { return ring }
        return ring + [first]
    }

    /// Twice the signed area (shoelace formula): positive for a counter-clockwise ring.
    private static func signedArea(_ ring: [[Double]]) -> Double {
        var sum = 0.0
        for i in ring.indices {
            let p = ring[i], q = ring[(i + 1) % ring.count]
            sum += p[0] * q[1] - q[0] * p[1]
        }
        return sum
    }

    /// Sutherland–Hodgman clipping of a ring against one vertical line.
    private static func clip(_ ring: [[Double]], keepEastOf: Double?, keepWestOf: Double?) -> [[Double]] {
        let line = keepEastOf ?? keepWestOf ?? 0
        func inside(_ p: [Double]) -> Bool { keepEastOf != nil ? p[0] >= line : p[0] <= line }
        var output: [[Double]] = []
        for i in ring.indices {
            let current = ring[i], next = ring[(i + 1) % ring.count]
            if inside(current) { output.append(current) }
            if inside(current) != inside(next) {
                let t = (line - current[0]) / (next[0] - current[0])
                output.append([line, current[1] + (next[1] - current[1]) * t])
            }
        }
        return output
    }
}
