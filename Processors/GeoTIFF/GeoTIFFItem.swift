import Foundation
import StacRepository

/// The STAC item the geotiff processor writes for one file.
struct GeoTIFFItem {
    /// The processor options that shape an item.
    struct Options: Sendable, Equatable {
        /// An RFC 3339 datetime that overrides the TIFF DateTime tag.
        var datetime: String?
        /// Whether a file in an unsupported CRS gets an item without a WGS84 footprint.
        var allowUnprojected = false

        /// Parses the `--option` values that concern this processor; others are ignored.
        ///
        /// - Throws: ``StacRepositoryError`` (`.invalidInput`) for a malformed value.
        init(_ options: [String: String]) throws {
            if let value = options[GeoTIFFProcessor.datetimeOption] {
                guard GeoTIFFItem.isRFC3339(value) else {
                    throw StacRepositoryError(
                        .invalidInput,
                        "The option datetime=\"\(value)\" is not an RFC 3339 date-time; write it like datetime=2024-05-17T10:30:00Z."
                    )
                }
                datetime = value
            }
            if let value = options[GeoTIFFProcessor.allowUnprojectedOption] {
                switch value.lowercased() {
                case "true", "yes", "1": allowUnprojected = true
                case "false", "no", "0": allowUnprojected = false
                default:
                    throw StacRepositoryError(
                        .invalidInput, "The option allow-unprojected=\"\(value)\" must be true or false.")
                }
            }
        }

        init(datetime: String? = nil, allowUnprojected: Bool = false) {
            self.datetime = datetime
            self.allowUnprojected = allowUnprojected
        }
    }

    static let stacExtensions = [
        "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    ]

    static let geoTIFFMediaType = "image/tiff; application=geotiff"
    static let cogMediaType = "image/tiff; application=geotiff; profile=cloud-optimized"

    /// The item as a JSON object.
    var json: [String: Any]

    /// Builds the item for the file at `source`.
    ///
    /// - Throws: ``StacRepositoryError`` (`.invalidInput`) when the file's CRS cannot be converted
    ///   and `allowUnprojected` is off, or when no datetime is known.
    init(
        id: String, source: URL, header: GeoTIFFHeader, options: Options, software: [String: String],
        thumbnail: URL?
    ) throws {
        let datetime = try Self.datetime(header: header, options: options, file: source.path)
        var properties: [String: Any] = [
            "datetime": datetime,
            "proj:shape": [header.height, header.width],
            "processing:software": software,
        ]
        if case .epsg(let code) = header.crs { properties["proj:code"] = "EPSG:\(code)" }
        if header.crs == .userDefined { properties["proj:code"] = NSNull() }
        if let transform = header.transform {
            properties["proj:transform"] = transform.coefficients
            properties["proj:bbox"] = Self.nativeBounds(
                width: header.width, height: header.height, transform: transform)
        }

        var item: [String: Any] = [
            "type": "Feature",
            "stac_version": "1.1.0",
            "stac_extensions": Self.stacExtensions,
            "id": id,
            "links": [Any](),
        ]
        if let (transform, conversion) = try Self.conversion(
            header: header, file: source.path, allowUnprojected: options.allowUnprojected)
        {
            let footprint = Footprint(
                width: header.width, height: header.height, transform: transform, conversion: conversion)
            item["bbox"] = footprint.bbox
            item["geometry"] = footprint.geometry
        } else {
            item["geometry"] = NSNull()
        }
        item["properties"] = properties

        var bands: [[String: Any]] = header.bandDataTypes.map { ["data_type": $0] }
        if let noData = header.noData {
            for i in bands.indices { bands[i]["nodata"] = Self.json(noData) }
        }
        var assets: [String: Any] = [
            "data": [
                "href": source.path,
                "type": header.isCloudOptimized ? Self.cogMediaType : Self.geoTIFFMediaType,
                "roles": ["data"],
                "raster:bands": bands,
            ] as [String: Any]
        ]
        if let thumbnail {
            let isPNG = thumbnail.pathExtension.lowercased() == "png"
            assets["thumbnail"] =
                [
                    "href": thumbnail.standardizedFileURL.path,
                    "type": isPNG ? "image/png" : "image/jpeg",
                    "roles": ["thumbnail"],
                ] as [String: Any]
        }
        item["assets"] = assets
        json = item
    }

    /// Pretty, key-sorted JSON with a final newline: the same input gives the same bytes.
    func jsonData() throws -> Data {
        var data = try JSONSerialization.data(
            withJSONObject: json, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        data.append(0x0A)
        return data
    }

    // MARK: Pieces

    /// The transform and conversion to WGS84, or `nil` when the item is to have no footprint.
    private static func conversion(
        header: GeoTIFFHeader, file: String, allowUnprojected: Bool
    ) throws -> (AffineTransform, CoordinateConversion)? {
        let escape =
            "; or pass --option allow-unprojected=true to emit the item with a null geometry and no bbox, keeping the native footprint in proj:bbox."
        guard let transform = header.transform else {
            if allowUnprojected { return nil }
            throw StacRepositoryError(
                .invalidInput,
                "The file \"\(file)\" is not georeferenced (it has no ModelTransformation or ModelTiepoint/ModelPixelScale tags): georeference it first\(escape)"
            )
        }
        let supported =
            "the geotiff processor converts only EPSG:4326, EPSG:3857 and the WGS84 UTM zones EPSG:32601–32660 and EPSG:32701–32760"
        switch header.crs {
        case .epsg(let code):
            if let conversion = CoordinateConversion(epsg: code) { return (transform, conversion) }
            if allowUnprojected { return nil }
            throw StacRepositoryError(
                .invalidInput,
                "The file \"\(file)\" uses EPSG:\(code), which \(supported): reproject it (e.g. gdalwarp -t_srs EPSG:4326)\(escape)"
            )
        case .userDefined:
            if allowUnprojected { return nil }
            throw StacRepositoryError(
                .invalidInput,
                "The file \"\(file)\" uses a user-defined CRS (geokey code 32767), which \(supported): reproject it (e.g. gdalwarp -t_srs EPSG:4326)\(escape)"
            )
        case .missing:
            if allowUnprojected { return nil }
            throw StacRepositoryError(
                .invalidInput,
                "The file \"\(file)\" has no GeoKeyDirectory naming its CRS, so its footprint cannot be placed on the map: add the CRS (e.g. gdal_edit.py -a_srs EPSG:32633)\(escape)"
            )
        }
    }

    /// `[xmin, ymin, xmax, ymax]` of the image corners in the file's own CRS.
    static func nativeBounds(width: Int, height: Int, transform: AffineTransform) -> [Double] {
        let w = Double(width), h = Double(height)
        let corners = [(0.0, 0.0), (0, h), (w, h), (w, 0)].map { transform.apply(column: $0.0, row: $0.1) }
        let xs = corners.map(\.x), ys = corners.map(\.y)
        return [xs.min() ?? 0, ys.min() ?? 0, xs.max() ?? 0, ys.max() ?? 0]
    }

    /// The datetime option, else the TIFF DateTime tag read as UTC.
    static func datetime(header: GeoTIFFHeader, options: Options, file: String) throws -> String {
        if let datetime = options.datetime { return datetime }
        guard let tag = header.dateTime else {
            throw StacRepositoryError(
                .invalidInput,
                "The file \"\(file)\" has no DateTime tag, so the item has no datetime: pass one with --option datetime=2024-05-17T10:30:00Z."
            )
        }
        guard let converted = tiffDateTimeToRFC3339(tag) else {
            throw StacRepositoryError(
                .invalidInput,
                "The file \"\(file)\" has a DateTime tag \"\(tag)\" that is not of the form YYYY:MM:DD HH:MM:SS: pass the datetime with --option datetime=2024-05-17T10:30:00Z."
            )
        }
        return converted
    }

    /// `2024:05:17 10:30:00` → `2024-05-17T10:30:00Z`, or `nil` if malformed.
    static func tiffDateTimeToRFC3339(_ text: String) -> String? {
        let parts = text.split(whereSeparator: { $0 == ":" || $0 == " " }).map(String.init)
        let widths = [4, 2, 2, 2, 2, 2]
        guard parts.count == 6, zip(parts, widths).allSatisfy({ $0.count == $1 && $0.allSatisfy(\.isASCIIDigit) })
        else {
            return nil
        }
        let numbers = parts.compactMap { Int($0) }
        guard numbers.count == 6, (1...12).contains(numbers[1]), (1...31).contains(numbers[2]), numbers[3] < 24,
            numbers[4] < 60, numbers[5] < 61
        else { return nil }
        return "\(parts[0])-\(parts[1])-\(parts[2])T\(parts[3]):\(parts[4]):\(parts[5])Z"
    }

    static func isRFC3339(_ text: String) -> Bool {
        let pattern =
            #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"#
        guard text.range(of: pattern, options: .regularExpression) != nil else { return false }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let plain = ISO8601DateFormatter()
        return plain.date(from: text.uppercased()) != nil || formatter.date(from: text.uppercased()) != nil
    }

    private static func json(_ noData: GeoTIFFHeader.NoData) -> Any {
        switch noData {
        case .nan: return "nan"
        case .positiveInfinity: return "inf"
        case .negativeInfinity: return "-inf"
        case .number(let value):
            if value == value.rounded(), abs(value) < 9e15 { return Int64(value) }
            return value
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
