/// The GeoTIFFs the tests write: a few pixels each, in the CRSs the processor converts and one it
/// does not.
enum Fixtures {
    /// Geographic WGS84, 10×10 pixels of 0.01°, upper-left corner at 12°E 45°N, with a DateTime.
    static var wgs84: TestTIFF {
        var tiff = TestTIFF(width: 10, height: 10)
        tiff.grid(x: 12, y: 45, size: 0.01)
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 2, geographic: 4326)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// Web Mercator, georeferenced by a ModelTransformation: 10×10 pixels of 1 km.
    static var webMercator: TestTIFF {
        var tiff = TestTIFF(width: 10, height: 10)
        tiff.transformation = [1000, 0, 0, 1_000_000, 0, -1000, 0, 6_000_000, 0, 0, 0, 0, 0, 0, 0, 1]
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 1, projected: 3857)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// UTM zone 33N (EPSG:32633), 20×10 pixels of 300 m east of the central meridian (Poland).
    static var utm33N: TestTIFF {
        var tiff = TestTIFF(width: 20, height: 10)
        tiff.grid(x: 600_000, y: 5_800_000, size: 300)
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 1, projected: 32633)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// UTM zone 33N with a rotated and sheared ModelTransformation.
    static var utm33NRotated: TestTIFF {
        var tiff = TestTIFF(width: 20, height: 10)
        tiff.transformation = [290, 50, 0, 600_000, 40, -295, 0, 5_800_000, 0, 0, 0, 0, 0, 0, 0, 1]
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 1, projected: 32633)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// UTM zone 60S (EPSG:32760), 16×16 pixels of 500 m west of the central meridian (New Zealand).
    static var utm60S: TestTIFF {
        var tiff = TestTIFF(width: 16, height: 16)
        tiff.grid(x: 300_000, y: 5_100_000, size: 500)
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 1, projected: 32760)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// UTM zone 60S, 60×20 pixels of 1 km that straddle the antimeridian (Fiji).
    static var antimeridian: TestTIFF {
        var tiff = TestTIFF(width: 60, height: 20)
        tiff.grid(x: 790_000, y: 8_120_000, size: 1000)
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 1, projected: 32760)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// RGF93 / Lambert-93 (EPSG:2154), which the processor does not convert.
    static var lambert93: TestTIFF {
        var tiff = TestTIFF(width: 8, height: 8)
        tiff.grid(x: 700_000, y: 6_600_000, size: 10)
        tiff.geoKeyDirectory = TestTIFF.geoKeys(model: 1, projected: 2154)
        tiff.dateTime = "2024:05:17 10:30:00"
        return tiff
    }

    /// Signed 16-bit samples with nodata -9999 (GDAL_NODATA), in EPSG:4326.
    static var withNoData: TestTIFF {
        var tiff = wgs84
        tiff.bitsPerSample = 16
        tiff.sampleFormat = 2
        tiff.noData = "-9999"
        return tiff
    }

    /// A Cloud-Optimized GeoTIFF: 32×32 pixels in 16×16 tiles, two overviews and a mask, EPSG:32633.
    static var cog: TestTIFF {
        var tiff = utm33N
        tiff.width = 32
        tiff.height = 32
        tiff.layout = .tiles(size: 16)
        tiff.overviews = 2
        tiff.mask = true
        return tiff
    }
}
