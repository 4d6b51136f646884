public import Foundation
import Parquet
import STAC

#if canImport(Glibc)
    import Glibc
#endif

/// What `export` writes.
public enum ExportFormat: String, Sendable, CaseIterable, Codable {
    /// A static STAC catalog in a directory (``Repository/export(to:ref:assets:force:progress:)``).
    case stac
    /// Every item, one compact JSON document per line, in one file.
    case ndjson
    /// Every item as one row of a stac-geoparquet 1.0 file (GeoParquet 1.1, zstd-compressed).
    case geoparquet
}

/// What an item export (`--format ndjson|geoparquet`) wrote.
public struct ItemExportReport: Sendable, Codable {
    public var file: String
    public var format: ExportFormat
    public var version: String?
    public var items = 0
    public var bytes: Int64 = 0
    /// Parquet row groups (geoparquet only).
    public var rowGroups: Int?
}

extension Repository {
    /// Writes every item of the catalog at `ref` into one file: NDJSON or stac-geoparquet.
    ///
    /// Items are written in the order of their stored paths (collection, then item), each with
    /// its hrefs rewritten as ``ItemHrefs`` says. The file is written to a temporary sibling
    /// (`.NAME.stac-export-…`), fsynced and renamed into place: a reader sees the old file or
    /// the complete new one. stac-geoparquet takes two passes over the snapshot (the column
    /// types, then the rows) and holds at most one row group in memory.
    ///
    /// - Parameters:
    ///   - file: the destination file (absent or empty, or any file with `force`).
    ///   - format: `.ndjson` or `.geoparquet`.
    ///   - ref: the version to export (git backend); nil for the current one.
    ///   - hrefBase: a URL under which the catalog is published: every relative href (assets and
    ///     links) becomes absolute under it. Without it, stored asset hrefs become their original
    ///     location (`alternate.original.href`) and links stay as stored.
    ///   - rowGroupSize: items per Parquet row group.
    ///   - progress: told how many items were scanned and written.
    /// - Throws: ``StacRepositoryError`` `.alreadyExists` for a non-empty file without `force`,
    ///   `.invalidInput` for a bad destination or an item stac-geoparquet cannot represent
    ///   (nothing is written then), `.integrity` when a stored item does not parse.
    public func exportItems(
        to file: URL, format: ExportFormat, ref: String? = nil, hrefBase: String? = nil, rowGroupSize: Int = 10_000,
        force: Bool = false, progress: ProgressHandler? = nil
    ) throws -> ItemExportReport {
        guard format != .stac else {
            throw StacRepositoryError(
                .invalidInput, "exportItems writes ndjson or geoparquet; use export(to:) for stac.")
        }
        try recoverIfIdle()
        let path = try ItemExportFile.checkedPath(file, repositoryRoot: root, force: force)
        let hrefs = try ItemHrefs(base: hrefBase)
        let destination = try ItemExportFile(path: path)
        var report = try backend.readConsistently(at: ref) { snapshot in
            try destination.reset()
            let items = try ItemExportSource(snapshot: snapshot, hrefs: hrefs)
            var report = ItemExportReport(file: path, format: format, version: snapshot.version)
            switch format {
            case .ndjson:
                let counter = PhaseCounter("export", total: items.count, unit: "items", handler: progress)
                try items.forEach { object, _ in
                    try destination.write(object.jsonValue.serialized(compact: true) + [0x0A])
                    counter.step()
                }
                report.items = items.count
            case .geoparquet:
                report.rowGroups = try GeoParquetExport.write(
                    items, to: destination, rowGroupSize: rowGroupSize, progress: progress)
                report.items = items.count
            case .stac: break
            }
            return report
        }
        report.bytes = try destination.commit(force: force)
        return report
    }
}

/// The items of one snapshot, read one at a time in stored-path order, hrefs rewritten.
struct ItemExportSource {
    let snapshot: any CatalogSnapshot
    let hrefs: ItemHrefs
    let paths: [String]
    let index: CatalogIndex

    init(snapshot: any CatalogSnapshot, hrefs: ItemHrefs) throws {
        self.snapshot = snapshot
        self.hrefs = hrefs
        do { index = try snapshot.index() } catch let error as StacRepositoryError {
            throw StacRepositoryError(.integrity, "Nothing was exported: \(error.message)", underlying: error)
        }
        paths = index.items.keys.sorted()
    }

    var count: Int { paths.count }

    /// Calls `body` with every item (rewritten) and its stored path.
    func forEach(_ body: (STACObject, String) throws -> Void) throws {
        for path in paths { try body(hrefs.item(try read(path), path: path), path) }
    }

    func read(_ path: String) throws -> STACObject {
        guard let bytes = try snapshot.read(path) else {
            throw StacRepositoryError(
                .integrity,
                "The catalog links to \(path), which is missing from the repository; nothing was exported. Restore it (`verify`, `rollback` or a backup) and export again."
            )
        }
        do {
            return try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
        } catch {
            throw StacRepositoryError(
                .integrity,
                "The stored file \(path) is not a valid STAC document (\(error)); nothing was exported. Restore it (`verify`, `rollback` or a backup) and export again."
            )
        }
    }
}

/// How an item export writes hrefs (docs/format.md, "Item exports").
///
/// - With a base URL, every href that points inside the repository (assets, links) becomes
///   `BASE/<repository path>`, each path segment percent-encoded: the hrefs of the catalog as
///   published under BASE (a folder export uploaded there).
/// - Without one, an asset stored in the repository gets its original location
///   (`alternate.original.href`, like `export --assets none`); other hrefs stay as stored.
/// Absolute hrefs are never changed.
struct ItemHrefs {
    let base: String?

    init(base: String?) throws {
        guard let base else {
            self.base = nil
            return
        }
        guard let scheme = base.range(of: "://"), !base[..<scheme.lowerBound].isEmpty else {
            throw StacRepositoryError(
                .invalidInput,
                "--href-base \(base) is not an absolute URL; give one such as https://cdn.example.org/catalog/.")
        }
        self.base = base.hasSuffix("/") ? base : base + "/"
    }

    func item(_ object: STACObject, path: String) -> STACObject {
        var object = object
        var changed = false
        let rewritten = object.assets.map { entry -> (key: String, asset: Asset) in
            var asset = entry.asset
            if let target = CatalogIndex.resolveInside(asset.href, from: path) {
                if let base {
                    asset.href = base + Self.encode(target)
                    changed = true
                } else if let original = asset["alternate"]?["original"]?["href"]?.stringValue {
                    asset.href = original
                    changed = true
                }
            }
            return (entry.key, asset)
        }
        if changed { object.assets = rewritten }
        if base != nil { object.json = links(object.json, path: path) }
        return object
    }

    /// `json` with the hrefs of its `links` made absolute under the base.
    func links(_ json: JSONObject, path: String) -> JSONObject {
        guard let base, case .array(let entries)? = json["links"] else { return json }
        var json = json
        json["links"] = .array(
            entries.map { entry in
                guard case .object(var link) = entry, let href = link["href"]?.stringValue,
                    let target = CatalogIndex.resolveInside(href, from: path)
                else { return entry }
                link["href"] = .string(base + Self.encode(target))
                return .object(link)
            })
        return json
    }

    static func encode(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ";=")
        return path.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0)
        }.joined(separator: "/")
    }
}

/// The destination file of an item export: a temporary sibling `.NAME.stac-export-XXXXXXXX`
/// (locked with `flock` while written, so a later export removes one left by a killed export),
/// written through a buffer, fsynced and renamed onto NAME.
final class ItemExportFile {
    let path: String
    let temporary: String
    private var descriptor: Int32 = -1
    private var buffer: [UInt8] = []
    private var written: Int64 = 0
    private var committed = false
    private static let bufferSize = 1 << 20

    /// The destination as a path, refused when it is inside the repository, a directory, or a
    /// non-empty file without `force`.
    static func checkedPath(_ file: URL, repositoryRoot root: URL, force: Bool) throws -> String {
        let path = file.standardizedFileURL.path
        let parent = URL(fileURLWithPath: (path as NSString).deletingLastPathComponent)
            .resolvingSymlinksInPath().standardizedFileURL.path
        let resolved = parent + "/" + (path as NSString).lastPathComponent
        let roots = [root.standardizedFileURL.path, root.resolvingSymlinksInPath().standardizedFileURL.path]
        for r in roots where [path, resolved].contains(where: { $0 == r || $0.hasPrefix(r + "/") }) {
            throw StacRepositoryError(
                .invalidInput, "Cannot export into the repository itself (\(path)); choose a file outside it.")
        }
        if FS.isDirectory(path) {
            throw StacRepositoryError(
                .invalidInput,
                "\(path) is a directory, and --format ndjson|geoparquet writes one file; name a file such as \(path)/items.parquet."
            )
        }
        if FS.exists(path), (FS.fileSize(path) ?? 0) > 0, !force {
            throw StacRepositoryError(
                .alreadyExists, "\(path) exists and is not empty; choose another file or pass --force to replace it.")
        }
        return path
    }

    init(path: String) throws {
        self.path = path
        let parent = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + ".stac-export-"
        try FS.makeDirectories(parent)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix)
        {
            let stale = parent + "/" + entry
            let fd = open(stale, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw StacRepositoryError(
                    .locked,
                    "Another process is writing \(path) (it is writing \(stale)); wait for it to finish, or choose another file."
                )
            }
            unlink(stale)
        }
        temporary = parent + "/" + prefix + String(UUID().uuidString.prefix(8)).lowercased()
        descriptor = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if descriptor < 0 { throw FS.storageError("create", temporary) }
        flock(descriptor, LOCK_EX | LOCK_NB)
        buffer.reserveCapacity(Self.bufferSize)
    }

    /// Empties the file (a snapshot read that is retried starts again).
    func reset() throws {
        buffer.removeAll(keepingCapacity: true)
        written = 0
        if ftruncate(descriptor, 0) != 0 || lseek(descriptor, 0, SEEK_SET) < 0 {
            throw FS.storageError("truncate", temporary)
        }
    }

    func write(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.bufferSize { try flush() }
    }

    private func flush() throws {
        var off = 0
        try buffer.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while off < raw.count {
                let n = Glibc.write(descriptor, base + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FS.storageError("write", temporary)
                }
                off += n
            }
        }
        written += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and renames the file into place; returns its size.
    func commit(force: Bool) throws -> Int64 {
        try flush()
        if fsync(descriptor) != 0 { throw FS.storageError("sync", temporary) }
        if !force, FS.exists(path), (FS.fileSize(path) ?? 0) > 0 {
            throw StacRepositoryError(
                .alreadyExists, "\(path) exists and is not empty; choose another file or pass --force to replace it.")
        }
        TestHooks.crashPoint("item-export-before-rename")
        try FS.rename(temporary, path)
        committed = true
        FS.syncDirectory((path as NSString).deletingLastPathComponent)
        return written
    }

    deinit {
        if !committed { unlink(temporary) }
        if descriptor >= 0 { close(descriptor) }
    }
}
