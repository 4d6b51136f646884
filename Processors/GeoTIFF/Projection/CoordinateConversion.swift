import Foundation

/// Converts model coordinates of a supported CRS to WGS84 longitude/latitude in degrees.
///
/// Supported: EPSG:4326 (WGS84 geographic), EPSG:3857 (Web Mercator) and the WGS84 UTM zones
/// EPSG:32601–32660 (north) and EPSG:32701–32760 (south).
enum CoordinateConversion: Sendable, Equatable {
    case geographic
    case webMercator
    case utm(zone: Int, north: Bool)

    /// The conversion for an EPSG code, or `nil` if this processor cannot convert it.
    init?(epsg: Int) {
        switch epsg {
        case 4326: self = .geographic
        case 3857: self = .webMercator
        case 32601...32660: self = .utm(zone: epsg - 32600, north: true)
        case 32701...32760: self = .utm(zone: epsg - 32700, north: false)
        default: return nil
        }
    }

    /// Longitude and latitude in degrees. Longitudes are not wrapped into [-180, 180], so a
    /// footprint that crosses the antimeridian stays continuous.
    func toWGS84(x: Double, y: Double) -> (lon: Double, lat: Double) {
        switch self {
        case .geographic:
            return (x, y)
        case .webMercator:
            let radius = 6_378_137.0
            let lon = x / radius * 180 / .pi
            let lat = atan(sinh(y / radius)) * 180 / .pi
            return (lon, lat)
        case .utm(let zone, let north):
            let centralMeridian = Double(zone) * 6 - 183
            return TransverseMercator.utm.inverse(
                easting: x, northing: y, centralMeridian: centralMeridian, falseNorthing: north ? 0 : 10_000_000)
        }
    }
}

/// The inverse transverse Mercator projection on an ellipsoid, by Krüger's series to order n⁶
/// (Karney, "Transverse Mercator with an accuracy of a few nanometers", J. Geodesy 85, 2011, eqs.
/// 11–13 and 35), accurate to well under a millimetre within a UTM zone.
struct TransverseMercator: Sendable {
    /// Semi-major axis in metres.
    var semiMajorAxis: Double
    /// Flattening.
    var flattening: Double
    /// Scale on the central meridian.
    var scaleFactor: Double
    var falseEasting: Double

    /// UTM on the WGS84 ellipsoid.
    static let utm = TransverseMercator(
        semiMajorAxis: 6_378_137, flattening: 1 / 298.257_223_563, scaleFactor: 0.9996, falseEasting: 500_000)

    /// Longitude and latitude in degrees of a projected point.
    func inverse(easting: Double, northing: Double, centralMeridian: Double, falseNorthing: Double) -> (
        lon: Double, lat: Double
    ) {
        let n = flattening / (2 - flattening)
        let n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n
        let rectifyingRadius = semiMajorAxis / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256)
        let beta: [Double] = [
            n / 2 - 2 * n2 / 3 + 37 * n3 / 96 - n4 / 360 - 81 * n5 / 512 + 96199 * n6 / 604800,
            n2 / 48 + n3 / 15 - 437 * n4 / 1440 + 46 * n5 / 105 - 1_118_711 * n6 / 3_870_720,
            17 * n3 / 480 - 37 * n4 / 840 - 209 * n5 / 4480 + 5569 * n6 / 90720,
            4397 * n4 / 161_280 - 11 * n5 / 504 - 830_251 * n6 / 7_257_600,
            4583 * n5 / 161_280 - 108_847 * n6 / 3_991_680,
            20_648_693 * n6 / 638_668_800,
        ]
        let delta: [Double] = [
            2 * n - 2 * n2 / 3 - 2 * n3 + 116 * n4 / 45 + 26 * n5 / 45 - 2854 * n6 / 675,
            7 * n2 / 3 - 8 * n3 / 5 - 227 * n4 / 45 + 2704 * n5 / 315 + 2323 * n6 / 945,
            56 * n3 / 15 - 136 * n4 / 35 - 1262 * n5 / 105 + 73814 * n6 / 2835,
            4279 * n4 / 630 - 332 * n5 / 35 - 399_572 * n6 / 14175,
            4174 * n5 / 315 - 144_838 * n6 / 6237,
            601_676 * n6 / 22275,
        ]
        let xi = (northing - falseNorthing) / (scaleFactor * rectifyingRadius)
        let eta = (easting - falseEasting) / (scaleFactor * rectifyingRadius)
        var xiPrime = xi
        var etaPrime = eta
        for (index, coefficient) in beta.enumerated() {
            let j = Double(2 * (index + 1))
            xiPrime -= coefficient * sin(j * xi) * cosh(j * eta)
            etaPrime -= coefficient * cos(j * xi) * sinh(j * eta)
        }
        // Conformal latitude, then geodetic latitude by the δ series.
        let chi = asin(sin(xiPrime) / cosh(etaPrime))
        var phi = chi
        for (index, coefficient) in delta.enumerated() {
            phi += coefficient * sin(Double(2 * (index + 1)) * chi)
        }
        let lambda = atan2(sinh(etaPrime), cos(xiPrime))
        return (centralMeridian + lambda * 180 / .pi, phi * 180 / .pi)
    }
}
