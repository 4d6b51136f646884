import Parquet
import STAC

/// How STAC items become the columns of a stac-geoparquet 1.0 file (docs/format.md, "Item
/// exports"): the first pass widens one ``ColumnShape`` per column over every item
/// (``absorb(_:path:)``), then ``schema()`` fixes the Parquet schema and the second pass turns
/// each item into a row (``row(_:path:)``).
///
/// Columns, in order: `type`, `stac_version`, `stac_extensions` (list of strings, empty when
/// absent), `id`, `geometry` (WKB), `bbox` (struct `xmin, ymin, xmax, ymax`, or with `zmin`/
/// `zmax` when every bbox has six values), `links` (list of structs), `assets` (a struct with
/// one struct field per asset key), `collection`, then every property lifted to the top level
/// (and any other top-level member of an item), in order of first appearance.
struct GeoParquetLayout {
    /// Item members with a column of their own; a property may not have one of these names.
    static let reserved: Set<String> = [
        "type", "stac_version", "stac_extensions", "id", "geometry", "bbox", "links", "assets", "collection",
        "properties",
    ]
    /// Properties stored as TIMESTAMP(MICROS, UTC) while every value parses (stac-geoparquet's list).
    static let timestampKeys: Set<String> = [
        "datetime", "start_datetime", "end_datetime", "created", "updated", "expires", "published", "unpublished",
    ]
    static let projGeometry = "proj:geometry"

    private let type = ColumnShape(.string)
    private let stacVersion = ColumnShape(.string)
    private let extensions = ColumnShape.stringList()
    private let id = ColumnShape(.string)
    private let links = ColumnShape(.list)
    private let assets = ColumnShape(.object)
    private let collection = ColumnShape(.string)
    private var otherNames: [String] = []
    private var others: [String: ColumnShape] = [:]
    /// Whether each other column came from `properties` (true) or the item's top level.
    private var fromProperties: [String: Bool] = [:]
    private(set) var bboxValues: Int?
    private(set) var collectionIDs: Set<String> = []
    private var frozen = false

    init() {
        guard let element = links.elementShape else { return }
        element.absorb(.object(["rel": .string(""), "href": .string("")]))
    }

    /// Whether the file has a top-level `proj:geometry` column (named in the `geo` metadata).
    var hasProjGeometry: Bool { others[Self.projGeometry]?.kind == .wkb }

    // MARK: First pass

    /// Widens the columns to hold `item` (hrefs already rewritten).
    ///
    /// - Throws: ``StacRepositoryError`` `.invalidInput` naming the item when stac-geoparquet
    ///   cannot represent it (no geometry, a geometry that is not GeoJSON, a bbox that is not
    ///   4 or 6 numbers or differs in size from the others, a property named like a top-level field).
    mutating func absorb(_ item: STACObject, path: String) throws {
        let name = "Item \"\(item.id)\" (\(path))"
        var geometry = WKBEncoder(collects: false)
        _ = try encodeGeometry(item, name: name, &geometry)
        let n = try bbox(item, name: name)?.count ?? 4
        if let known = bboxValues, known != n {
            throw StacRepositoryError(
                .invalidInput,
                "\(name) has a \(n)-value bbox but the items before it have \(known) values; a stac-geoparquet file holds one bbox shape, so export these items separately or with --format ndjson."
            )
        }
        bboxValues = n
        for (key, value) in item.json {
            switch key {
            case "type": type.absorb(value)
            case "stac_version": stacVersion.absorb(value)
            case "stac_extensions": extensions.absorb(value)
            case "id": id.absorb(value)
            case "links": links.absorb(value)
            case "assets":
                if case .object(let o) = value {
                    for (assetKey, asset) in o {
                        if case .object(let a) = asset, let g = a[Self.projGeometry] {
                            try checkGeometry(g, name: "\(name) asset \"\(assetKey)\" proj:geometry")
                            _ = assets.field(assetKey, kind: .object).field(Self.projGeometry, kind: .wkb)
                        }
                    }
                }
                assets.absorb(value)
            case "collection":
                collection.absorb(value)
                if let c = value.stringValue { collectionIDs.insert(c) }
            case "geometry", "bbox": continue
            case "properties":
                guard case .object(let properties) = value else { continue }
                for (p, v) in properties {
                    if Self.reserved.contains(p) {
                        throw StacRepositoryError(
                            .invalidInput,
                            "\(name) has a property \"\(p)\" named like a top-level item field, which stac-geoparquet cannot represent; rename the property or export with --format ndjson."
                        )
                    }
                    if p == Self.projGeometry, v != .null {
                        try checkGeometry(v, name: "\(name) property proj:geometry")
                    }
                    try other(p, properties: true, name: name).absorb(v, timestamp: Self.timestampKeys.contains(p))
                }
            default:
                try other(key, properties: false, name: name).absorb(value)
            }
        }
    }

    private mutating func other(_ key: String, properties: Bool, name: String) throws -> ColumnShape {
        if let shape = others[key] {
            if fromProperties[key] != properties {
                throw StacRepositoryError(
                    .invalidInput,
                    "\(name) has \"\(key)\" both as a property and as a top-level field across the export, which stac-geoparquet cannot tell apart; rename one of them or export with --format ndjson."
                )
            }
            return shape
        }
        let shape = ColumnShape(key == Self.projGeometry && properties ? .wkb : .unknown)
        otherNames.append(key)
        others[key] = shape
        fromProperties[key] = properties
        return shape
    }

    private func checkGeometry(_ value: JSONValue, name: String) throws {
        var encoder = WKBEncoder(collects: false)
        if case .failure(let problem) = encoder.encode(value) {
            throw StacRepositoryError(
                .invalidInput,
                "The \(name) cannot be written as WKB (\(problem.reason)); fix the item or export it with --format ndjson."
            )
        }
    }

    /// The item's geometry as WKB.
    private func encodeGeometry(_ item: STACObject, name: String, _ encoder: inout WKBEncoder) throws -> [UInt8] {
        guard let g = item.json["geometry"], g != .null else {
            throw StacRepositoryError(
                .invalidInput,
                "\(name) has no geometry, which stac-geoparquet requires; give it a geometry or export with --format ndjson."
            )
        }
        switch encoder.encode(g) {
        case .success(let bytes): return bytes
        case .failure(let problem):
            throw StacRepositoryError(
                .invalidInput,
                "\(name) has a geometry that cannot be written as WKB (\(problem.reason)); fix the item or export it with --format ndjson."
            )
        }
    }

    /// The item's bbox numbers; nil when it has none.
    private func bbox(_ item: STACObject, name: String) throws -> [Double]? {
        guard let value = item.json["bbox"], value != .null else { return nil }
        guard case .array(let a) = value, a.count == 4 || a.count == 6 else {
            throw StacRepositoryError(
                .invalidInput,
                "\(name) has a bbox that is not 4 or 6 numbers; fix the item or export it with --format ndjson.")
        }
        let numbers = a.compactMap { $0.numberValue?.doubleValue }
        guard numbers.count == a.count else {
            throw StacRepositoryError(
                .invalidInput,
                "\(name) has a bbox that is not 4 or 6 numbers; fix the item or export it with --format ndjson.")
        }
        return numbers
    }

    // MARK: Schema

    /// Ends the first pass and returns the Parquet schema.
    mutating func schema() -> [ParquetField] {
        if !frozen {
            for s in [type, stacVersion, extensions, id, links, assets, collection] + others.values { s.finalize() }
            frozen = true
        }
        let names =
            (bboxValues ?? 4) == 6
            ? ["xmin", "ymin", "zmin", "xmax", "ymax", "zmax"] : ["xmin", "ymin", "xmax", "ymax"]
        return [
            type.parquetField("type"),
            stacVersion.parquetField("stac_version"),
            extensions.parquetField("stac_extensions"),
            id.parquetField("id"),
            ParquetField("geometry", .primitive(.binary)),
            ParquetField("bbox", .group(names.map { ParquetField($0, .primitive(.double)) })),
            links.parquetField("links"),
            assets.parquetField("assets"),
            collection.parquetField("collection"),
        ] + otherNames.map { others[$0, default: ColumnShape()].parquetField($0) }
    }

    // MARK: Second pass

    /// The row of `item`; `geometry` collects the file's geometry types and bounds.
    func row(_ item: STACObject, path: String, geometry: inout WKBEncoder) throws -> [ParquetValue] {
        let name = "Item \"\(item.id)\" (\(path))"
        let json = item.json
        let wkb = try encodeGeometry(item, name: name, &geometry)
        var box = try bbox(item, name: name)
        if box == nil, let b = geometry.lastBounds { box = [b.0, b.1, b.2, b.3] }
        let properties = json["properties"]?.objectValue ?? JSONObject()
        func cell(_ shape: ColumnShape, _ value: JSONValue?) throws -> ParquetValue {
            guard let v = shape.value(value) else {
                throw StacRepositoryError(
                    .storage, "\(name) changed while it was being exported; run the export again.")
            }
            return v
        }
        var row: [ParquetValue] = [
            try cell(type, json["type"]),
            try cell(stacVersion, json["stac_version"]),
            json["stac_extensions"] == nil && extensions.kind == .list
                ? .list([]) : try cell(extensions, json["stac_extensions"]),
            try cell(id, json["id"]),
            .bytes(wkb),
            box.map { b in .group(b.map { .double($0) }) } ?? .null,
            json["links"] == nil && links.kind == .list ? .list([]) : try cell(links, json["links"]),
            try cell(assets, json["assets"]),
            try cell(collection, json["collection"]),
        ]
        row.reserveCapacity(row.count + otherNames.count)
        for key in otherNames {
            guard let shape = others[key] else { continue }
            try row.append(cell(shape, fromProperties[key] == true ? properties[key] : json[key]))
        }
        return row
    }
}

extension ColumnShape {
    /// The element shape of a list.
    var elementShape: ColumnShape? { element }
}
