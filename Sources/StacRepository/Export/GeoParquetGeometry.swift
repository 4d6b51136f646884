import STAC

/// GeoJSON geometries as ISO WKB (little endian), the GeoParquet `WKB` encoding, with what the
/// file's `geo` metadata needs: the geometry type names and the bounding box of all coordinates.
struct WKBEncoder {
    /// GeoParquet geometry type names seen (`"Polygon"`, `"Point Z"`).
    private(set) var geometryTypes: Set<String> = []
    /// xmin, ymin, xmax, ymax of every coordinate encoded.
    private(set) var bounds: (Double, Double, Double, Double)?
    /// The same for the last geometry encoded.
    private(set) var lastBounds: (Double, Double, Double, Double)?
    /// Whether the bounds and types are collected (the primary column only).
    let collects: Bool

    init(collects: Bool) { self.collects = collects }

    private static let codes: [String: UInt32] = [
        "Point": 1, "LineString": 2, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6,
        "GeometryCollection": 7,
    ]

    /// The WKB of a GeoJSON geometry object; nil (with the reason) when it is not one.
    mutating func encode(_ value: JSONValue) -> Result<[UInt8], GeometryProblem> {
        var out: [UInt8] = []
        lastBounds = nil
        let hasZ = Self.allPositionsHaveZ(value)
        if let problem = write(value, into: &out, hasZ: hasZ, top: true) { return .failure(problem) }
        return .success(out)
    }

    struct GeometryProblem: Error {
        var reason: String
    }

    private mutating func write(_ value: JSONValue, into out: inout [UInt8], hasZ: Bool, top: Bool)
        -> GeometryProblem?
    {
        guard case .object(let o) = value, let type = o["type"]?.stringValue, let code = Self.codes[type] else {
            return GeometryProblem(reason: "it is not a GeoJSON geometry (a \"type\" of Point … GeometryCollection)")
        }
        if collects && top { geometryTypes.insert(hasZ ? type + " Z" : type) }
        out.append(1)
        appendUInt32(&out, code + (hasZ ? 1000 : 0))
        if type == "GeometryCollection" {
            guard case .array(let parts)? = o["geometries"] else {
                return GeometryProblem(reason: "its GeometryCollection has no \"geometries\" array")
            }
            appendUInt32(&out, UInt32(parts.count))
            for p in parts {
                if let problem = write(p, into: &out, hasZ: hasZ, top: false) { return problem }
            }
            return nil
        }
        guard let coordinates = o["coordinates"] else {
            return GeometryProblem(reason: "its \(type) has no \"coordinates\"")
        }
        let depth: Int
        switch type {
        case "Point": depth = 0
        case "LineString", "MultiPoint": depth = 1
        case "Polygon", "MultiLineString": depth = 2
        default: depth = 3
        }
        let multi = type.hasPrefix("Multi")
        return writeCoordinates(coordinates, depth: depth, multi: multi, partType: type, into: &out, hasZ: hasZ)
    }

    /// Writes nested coordinate arrays: `depth` 0 is one position; the parts of a Multi* type
    /// are whole WKB geometries of their own.
    private mutating func writeCoordinates(
        _ value: JSONValue, depth: Int, multi: Bool, partType: String, into out: inout [UInt8], hasZ: Bool
    ) -> GeometryProblem? {
        if depth == 0 {
            guard case .array(let position) = value else {
                return GeometryProblem(reason: "a position of its \(partType) is not an array")
            }
            if position.isEmpty {  // an empty point: NaN coordinates, as WKB writers do
                for _ in 0..<(hasZ ? 3 : 2) { appendUInt64(&out, Double.nan.bitPattern) }
                return nil
            }
            let numbers = position.compactMap { $0.numberValue?.doubleValue }
            guard numbers.count == position.count, numbers.count >= 2 else {
                return GeometryProblem(reason: "a position of its \(partType) is not two or three numbers")
            }
            for d in numbers.prefix(hasZ ? 3 : 2) { appendUInt64(&out, d.bitPattern) }
            let (x, y) = (numbers[0], numbers[1])
            lastBounds = lastBounds.map { (min($0.0, x), min($0.1, y), max($0.2, x), max($0.3, y)) } ?? (x, y, x, y)
            if collects {
                bounds = bounds.map { (min($0.0, x), min($0.1, y), max($0.2, x), max($0.3, y)) } ?? (x, y, x, y)
            }
            return nil
        }
        guard case .array(let items) = value else {
            return GeometryProblem(reason: "the coordinates of its \(partType) are not nested arrays")
        }
        appendUInt32(&out, UInt32(items.count))
        for item in items {
            if multi {
                // Each part: its own header (Point/LineString/Polygon), then its coordinates.
                let part = String(partType.dropFirst(5))
                out.append(1)
                appendUInt32(&out, (Self.codes[part] ?? 0) + (hasZ ? 1000 : 0))
                let problem = writeCoordinates(
                    item, depth: depth - 1, multi: false, partType: part, into: &out, hasZ: hasZ)
                if let problem { return problem }
                continue
            }
            let problem = writeCoordinates(
                item, depth: depth - 1, multi: false, partType: partType, into: &out, hasZ: hasZ)
            if let problem { return problem }
        }
        return nil
    }

    /// Whether every position of the geometry has a third (Z) coordinate: then it is written as
    /// an ISO WKB "Z" type, else in two dimensions.
    static func allPositionsHaveZ(_ value: JSONValue) -> Bool {
        var sawPosition = false
        var allZ = true
        func visit(_ v: JSONValue) {
            guard case .array(let a) = v else { return }
            if let first = a.first, case .number = first {
                sawPosition = true
                if a.count < 3 { allZ = false }
                return
            }
            for x in a { visit(x) }
        }
        func geometry(_ v: JSONValue) {
            guard case .object(let o) = v else { return }
            if case .array(let parts)? = o["geometries"] { parts.forEach(geometry) }
            if let c = o["coordinates"] { visit(c) }
        }
        geometry(value)
        return sawPosition && allZ
    }

    private func appendUInt32(_ out: inout [UInt8], _ v: UInt32) {
        for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }

    private func appendUInt64(_ out: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}

/// RFC 3339 date-times as microseconds since the Unix epoch (UTC), the value of a Parquet
/// TIMESTAMP(MICROS, UTC): `2023-10-05T18:31:21.6749510Z` → …674951 (digits past the sixth
/// are truncated); an offset (`+02:00`) is applied. Nil for anything else.
enum RFC3339 {
    static func microseconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
            let day = digits(8, 2), [84, 116, 32].contains(b[10]), let hour = digits(11, 2), b[13] == 58,
            let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var i = 19
        var micros = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var n = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if n < 6 { micros = micros * 10 + Int(b[i] - 48) }
                n += 1
                i += 1
            }
            guard n > 0 else { return nil }
            for _ in n..<max(n, 6) { micros *= 10 }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {  // Z z
            i += 1
        } else if b[i] == 43 || b[i] == 45, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58,
            let om = digits(i + 4, 2)
        {
            offset = (oh * 60 + om) * 60 * (b[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second - offset)
        return seconds * 1_000_000 + Int64(micros)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
