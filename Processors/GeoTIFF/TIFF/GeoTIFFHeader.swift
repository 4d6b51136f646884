import Foundation

/// What the processor needs to know about a GeoTIFF, read from its header and directories.
struct GeoTIFFHeader: Sendable, Equatable {
    /// How pixel values relate to the grid (GeoTIFF `GTRasterTypeGeoKey`).
    enum RasterType: Sendable, Equatable {
        /// A pixel covers an area; the transform refers to its upper-left corner (the default).
        case pixelIsArea
        /// A pixel is a point sample; the transform refers to the pixel's centre.
        case pixelIsPoint
    }

    /// The coordinate reference system the geokeys name.
    enum CRS: Sendable, Equatable {
        /// An EPSG code, from `ProjectedCSTypeGeoKey` or `GeographicTypeGeoKey`.
        case epsg(Int)
        /// The file defines its own CRS (code 32767) from individual geokeys.
        case userDefined
        /// The file has no geokeys naming a CRS.
        case missing
    }

    /// A band's nodata value (GDAL_NODATA tag).
    enum NoData: Sendable, Equatable {
        case number(Double)
        case nan
        case positiveInfinity
        case negativeInfinity
    }

    var width: Int
    var height: Int
    /// One STAC raster `data_type` per band (`uint8`, `int16`, `float32`, ...).
    var bandDataTypes: [String]
    var compression: Int
    var isTiled: Bool
    /// Reduced-resolution images after the first (masks excluded).
    var overviewCount: Int
    /// The TIFF `DateTime` tag, verbatim (`YYYY:MM:DD HH:MM:SS`), if present.
    var dateTime: String?
    var noData: NoData?
    var rasterType: RasterType
    /// Pixel (column, row) to model (x, y), with the upper-left pixel corner at (0, 0); `nil` when
    /// the file is not georeferenced by a transform.
    var transform: AffineTransform?
    var crs: CRS

    /// Tiled and with overviews: what a client needs to read it efficiently over HTTP.
    var isCloudOptimized: Bool { isTiled && overviewCount > 0 }
}

/// An affine map from pixel (column, row) to model (x, y):
/// `x = a·col + b·row + c`, `y = d·col + e·row + f` (the order of STAC's `proj:transform`).
struct AffineTransform: Sendable, Equatable {
    var a, b, c, d, e, f: Double

    func apply(column: Double, row: Double) -> (x: Double, y: Double) {
        (a * column + b * row + c, d * column + e * row + f)
    }

    var coefficients: [Double] { [a, b, c, d, e, f] }
}

extension GeoTIFFHeader {
    private enum GeoKey: UInt16 {
        case modelType = 1024
        case rasterType = 1025
        case geographicType = 2048
        case projectedCSType = 3072
    }

    /// Reads the header of the TIFF or BigTIFF file at `url`.
    ///
    /// - Throws: ``TIFFError`` when the file is not a readable TIFF or its georeferencing is malformed.
    init(reading url: URL) throws(TIFFError) {
        let reader = try TIFFReader(url: url)
        guard let main = reader.directories.first else { throw TIFFError("has no image directory") }

        func integer(_ tag: TIFFTag, default value: Int? = nil) throws(TIFFError) -> Int {
            guard let entry = main[tag] else {
                if let value { return value }
                throw TIFFError("is not a valid TIFF image: it lacks the \(tag) tag (\(tag.rawValue))")
            }
            guard let first = try reader.integers(of: entry, name: "\(tag)").first, first <= UInt64(Int32.max) else {
                throw TIFFError("is corrupt: tag \(tag) (\(tag.rawValue)) has no usable value")
            }
            return Int(first)
        }
        func integers(_ tag: TIFFTag, count: Int, default value: Int) throws(TIFFError) -> [Int] {
            guard let entry = main[tag] else { return Array(repeating: value, count: count) }
            let values = try reader.integers(of: entry, name: "\(tag)").map { Int(clamping: $0) }
            guard let first = values.first else { return Array(repeating: value, count: count) }
            // Writers may store one value for all samples.
            return (0..<count).map { $0 < values.count ? values[$0] : first }
        }

        width = try integer(.imageWidth)
        height = try integer(.imageLength)
        guard width > 0, height > 0 else {
            throw TIFFError("is not a valid TIFF image: its size is \(width)×\(height) pixels")
        }
        let samples = try integer(.samplesPerPixel, default: 1)
        guard (1...65535).contains(samples) else {
            throw TIFFError("is corrupt: SamplesPerPixel is \(samples)")
        }
        let bits = try integers(.bitsPerSample, count: samples, default: 1)
        let formats = try integers(.sampleFormat, count: samples, default: 1)
        bandDataTypes = zip(bits, formats).map { Self.dataType(bits: $0, format: $1) }
        compression = try integer(.compression, default: 1)
        isTiled = main[.tileWidth] != nil && main[.tileLength] != nil
        try Self.checkImageData(of: main, tiled: isTiled, reader: reader)

        var overviews = 0
        for directory in reader.directories.dropFirst() {
            let subfileType =
                try directory[.newSubfileType].map { entry throws(TIFFError) in
                    try reader.integers(of: entry, name: "NewSubfileType").first ?? 0
                } ?? 0
            // Bit 0: reduced-resolution version of the image; bit 2: transparency mask.
            if subfileType & 1 != 0, subfileType & 4 == 0 { overviews += 1 }
        }
        overviewCount = overviews

        dateTime = try main[.dateTime].map { entry throws(TIFFError) in try reader.text(of: entry, name: "DateTime") }
        noData = try main[.gdalNoData].map { entry throws(TIFFError) in
            try Self.parseNoData(reader.text(of: entry, name: "GDAL_NODATA"))
        }

        var keys: [UInt16: Int] = [:]
        if let entry = main[.geoKeyDirectory] {
            keys = try Self.geoKeys(reader.integers(of: entry, name: "GeoKeyDirectory"))
        }
        rasterType = keys[GeoKey.rasterType.rawValue] == 2 ? .pixelIsPoint : .pixelIsArea
        let projected = keys[GeoKey.projectedCSType.rawValue]
        let geographic = keys[GeoKey.geographicType.rawValue]
        let code = keys[GeoKey.modelType.rawValue] == 2 ? (geographic ?? projected) : (projected ?? geographic)
        switch code {
        case nil: crs = .missing
        case 32767?: crs = .userDefined
        case let code?: crs = .epsg(code)
        }

        transform = try Self.transform(of: main, reader: reader, rasterType: rasterType)
    }

    /// The STAC raster `data_type` for a TIFF BitsPerSample/SampleFormat pair.
    static func dataType(bits: Int, format: Int) -> String {
        switch (format, bits) {
        case (1, 8), (4, 8): "uint8"
        case (1, 16), (4, 16): "uint16"
        case (1, 32), (4, 32): "uint32"
        case (1, 64), (4, 64): "uint64"
        case (2, 8): "int8"
        case (2, 16): "int16"
        case (2, 32): "int32"
        case (2, 64): "int64"
        case (3, 16): "float16"
        case (3, 32): "float32"
        case (3, 64): "float64"
        case (5, 32): "cint16"
        case (5, 64): "cint32"
        case (6, 64): "cfloat32"
        case (6, 128): "cfloat64"
        default: "other"
        }
    }

    /// Parses GDAL's nodata text: a number, `nan`, `inf` or `-inf`.
    static func parseNoData(_ text: String) throws(TIFFError) -> NoData {
        switch text.lowercased() {
        case "nan", "-nan", "+nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .positiveInfinity
        case "-inf", "-infinity": return .negativeInfinity
        default:
            guard let value = Double(text), value.isFinite else {
                throw TIFFError("has a GDAL_NODATA tag that is not a number: \"\(text)\"")
            }
            return .number(value)
        }
    }

    /// The short-valued keys of a GeoKeyDirectory (values stored in other tags are skipped).
    private static func geoKeys(_ directory: [UInt64]) throws(TIFFError) -> [UInt16: Int] {
        guard directory.count >= 4 else {
            throw TIFFError(
                "is corrupt: its GeoKeyDirectory has \(directory.count) values, fewer than its 4-value header")
        }
        let count = Int(clamping: directory[3])
        guard directory.count >= 4 + 4 * count else {
            throw TIFFError(
                "is corrupt: its GeoKeyDirectory declares \(count) keys but holds only \(directory.count) values")
        }
        var keys: [UInt16: Int] = [:]
        for i in 0..<count {
            let base = 4 + 4 * i
            guard directory[base + 1] == 0 else { continue }  // stored in GeoDoubleParams/GeoAsciiParams
            keys[UInt16(truncatingIfNeeded: directory[base])] = Int(clamping: directory[base + 3])
        }
        return keys
    }

    /// Checks that the first image's strips or tiles lie inside the file, which catches a file cut
    /// short by an interrupted copy even when its header is intact.
    private static func checkImageData(of directory: TIFFDirectory, tiled: Bool, reader: TIFFReader) throws(TIFFError) {
        let (offsetsTag, countsTag): (TIFFTag, TIFFTag) =
            tiled ? (.tileOffsets, .tileByteCounts) : (.stripOffsets, .stripByteCounts)
        guard let offsetsEntry = directory[offsetsTag] else {
            throw TIFFError("is not a valid TIFF image: it lacks the \(offsetsTag) tag (\(offsetsTag.rawValue))")
        }
        // Skip the check for files with millions of blocks rather than read megabytes of offsets.
        guard let countsEntry = directory[countsTag], offsetsEntry.count <= 1 << 20, countsEntry.count <= 1 << 20
        else { return }
        let offsets = try reader.integers(of: offsetsEntry, name: "\(offsetsTag)")
        let counts = try reader.integers(of: countsEntry, name: "\(countsTag)")
        for (offset, count) in zip(offsets, counts) where count > 0 {
            let (end, overflow) = offset.addingReportingOverflow(count)
            guard !overflow, end <= reader.source.size else {
                throw TIFFError(
                    "is truncated: image data at byte \(offset) (\(count) bytes) lies past the end of the file (\(reader.source.size) bytes)"
                )
            }
        }
    }

    private static func transform(
        of directory: TIFFDirectory, reader: TIFFReader, rasterType: RasterType
    ) throws(TIFFError) -> AffineTransform? {
        var result: AffineTransform
        if let entry = directory[.modelTransformation] {
            let m = try reader.doubles(of: entry, name: "ModelTransformation")
            guard m.count == 16 else {
                throw TIFFError("is corrupt: its ModelTransformation tag has \(m.count) values instead of 16")
            }
            result = AffineTransform(a: m[0], b: m[1], c: m[3], d: m[4], e: m[5], f: m[7])
        } else if let tiepointEntry = directory[.modelTiepoint] {
            let tiepoints = try reader.doubles(of: tiepointEntry, name: "ModelTiepoint")
            guard tiepoints.count >= 6, tiepoints.count % 6 == 0 else {
                throw TIFFError("is corrupt: its ModelTiepoint tag has \(tiepoints.count) values, not a multiple of 6")
            }
            guard let scaleEntry = directory[.modelPixelScale] else {
                throw TIFFError(
                    "is georeferenced by \(tiepoints.count / 6) ground control points without a pixel scale, which this processor does not support; warp it to a regular grid first (e.g. with gdalwarp)"
                )
            }
            let scale = try reader.doubles(of: scaleEntry, name: "ModelPixelScale")
            guard scale.count >= 2 else {
                throw TIFFError("is corrupt: its ModelPixelScale tag has \(scale.count) values instead of 3")
            }
            let (i, j, x, y) = (tiepoints[0], tiepoints[1], tiepoints[3], tiepoints[4])
            result = AffineTransform(a: scale[0], b: 0, c: x - i * scale[0], d: 0, e: -scale[1], f: y + j * scale[1])
        } else {
            return nil
        }
        guard result.coefficients.allSatisfy(\.isFinite), result.a * result.e - result.b * result.d != 0 else {
            throw TIFFError("has a degenerate georeferencing transform \(result.coefficients)")
        }
        if rasterType == .pixelIsPoint {
            // The transform maps pixel centres; move it to pixel corners, as GDAL does.
            result.c -= 0.5 * result.a + 0.5 * result.b
            result.f -= 0.5 * result.d + 0.5 * result.e
        }
        return result
    }
}
