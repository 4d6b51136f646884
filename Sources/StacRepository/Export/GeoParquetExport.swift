import Parquet
import STAC

/// Writes the items of a snapshot as a stac-geoparquet 1.0 file (GeoParquet 1.1 `geo`
/// metadata, WKB geometries, zstd pages): a first pass infers the columns, a second writes
/// the rows, one row group per `rowGroupSize` items.
enum GeoParquetExport {
    /// The zstd level of the pages (libzstd's default).
    static let zstdLevel: Int32 = 3

    /// Writes the file into `destination`; returns the number of row groups.
    static func write(
        _ items: ItemExportSource, to destination: ItemExportFile, rowGroupSize: Int, progress: ProgressHandler?
    ) throws -> Int {
        var layout = GeoParquetLayout()
        let scan = PhaseCounter("scan", total: items.count, unit: "items", handler: progress)
        try items.forEach { object, path in
            try layout.absorb(object, path: path)
            scan.step()
        }
        let schema = layout.schema()
        let writer: ParquetWriter
        do {
            writer = try ParquetWriter(
                schema: schema, compression: .zstd(level: zstdLevel), rowGroupSize: rowGroupSize,
                createdBy: "stac-repository version \(StacRepositoryVersion.current)",
                output: { try destination.write($0) })
        } catch let error as ParquetError {
            throw StacRepositoryError(.invalidInput, "The items cannot be written as Parquet: \(error.description).")
        }
        var geometry = WKBEncoder(collects: true)
        let rows = PhaseCounter("export", total: items.count, unit: "items", handler: progress)
        try items.forEach { object, path in
            let row = try layout.row(object, path: path, geometry: &geometry)
            do { try writer.append(row) } catch let error as ParquetError {
                throw StacRepositoryError(
                    .invalidInput,
                    "Item \"\(object.id)\" (\(path)) cannot be written as Parquet (\(error.description)); export it with --format ndjson."
                )
            }
            rows.step()
        }
        try writer.finish(keyValueMetadata: [
            ("geo", geoMetadata(geometry, layout: layout).serializedString(compact: true)),
            ("stac-geoparquet", try stacMetadata(items, layout: layout).serializedString(compact: true)),
        ])
        return writer.rowGroupCount
    }

    /// GeoParquet 1.1 file metadata: WKB `geometry` in OGC:CRS84 (the default, so no `crs`), its
    /// types and bounds, and the `bbox` struct as its covering.
    static func geoMetadata(_ geometry: WKBEncoder, layout: GeoParquetLayout) -> JSONValue {
        var column: JSONObject = [
            "encoding": "WKB",
            "geometry_types": .array(geometry.geometryTypes.sorted().map { .string($0) }),
        ]
        if let b = geometry.bounds {
            column["bbox"] = .array([b.0, b.1, b.2, b.3].map { .number(JSONNumber($0)) })
        }
        column["covering"] = [
            "bbox": [
                "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"], "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"],
            ]
        ]
        var columns: JSONObject = ["geometry": .object(column)]
        if layout.hasProjGeometry {
            // Projected geometries: each item has its own CRS, so the column's CRS is unknown (null).
            columns["proj:geometry"] = ["encoding": "WKB", "geometry_types": [], "crs": .null]
        }
        return ["version": "1.1.0", "primary_column": "geometry", "columns": .object(columns)]
    }

    /// The `stac-geoparquet` metadata: the spec version and the collections the items belong to
    /// (as stored, without their `item`/`child` links, which the file itself replaces).
    static func stacMetadata(_ items: ItemExportSource, layout: GeoParquetLayout) throws -> JSONValue {
        var collections = JSONObject()
        let stored = items.index.containers.values.filter { $0.type == .collection }.sorted { $0.path < $1.path }
        for id in layout.collectionIDs.sorted() {
            guard let container = stored.first(where: { $0.id == id }) else { continue }
            var object = try items.read(container.path)
            object.removeLinks { $0.rel == "item" || $0.rel == "child" }
            collections[id] = .object(items.hrefs.links(object.json, path: container.path))
        }
        var metadata: JSONObject = ["version": "1.0.0"]
        if !collections.isEmpty { metadata["collections"] = .object(collections) }
        return .object(metadata)
    }
}
