public import Foundation
import Logging
public import StacRepository

/// Turns GeoTIFF and Cloud-Optimized GeoTIFF files into STAC items, without GDAL.
///
/// One item per file: the id is the file's stem; `bbox` and `geometry` are the image footprint in
/// WGS84; the projection extension gives the native grid (`proj:code`, `proj:shape`,
/// `proj:transform`, `proj:bbox`), the raster extension each band's `data_type` and `nodata`, and
/// `processing:software` names this processor. The file itself is the `data` asset (by absolute
/// path, for the repository to copy); a sibling `<stem>.png`, `.jpg` or `.jpeg` becomes the
/// `thumbnail` asset.
///
/// Options (`--option key=value`):
/// - `datetime=2024-05-17T10:30:00Z`: the item's datetime, overriding the TIFF `DateTime` tag;
///   required when the file has no such tag.
/// - `allow-unprojected=true`: for a CRS this processor cannot convert to WGS84 (anything but
///   EPSG:4326, EPSG:3857 and the WGS84 UTM zones), emit the item with a `null` geometry and no
///   `bbox`, keeping the native footprint in `proj:bbox`, instead of failing.
public struct GeoTIFFProcessor: Processor {
    /// The option that sets the item datetime.
    public static let datetimeOption = "datetime"
    /// The option that lets files in unsupported CRSs through without a WGS84 footprint.
    public static let allowUnprojectedOption = "allow-unprojected"

    /// `geotiff`, the name given to `--processor`.
    public let name = "geotiff"
    /// The processor's version, recorded in commits and in `processing:software`.
    public let version = "1.0.0"

    /// A GeoTIFF processor.
    public init() {}

    /// The `.tif`/`.tiff` files at `source`: the file itself, or every one inside a folder and its
    /// subfolders (hidden ones skipped), sorted by path.
    ///
    /// - Throws: ``StacRepositoryError`` (`.notFound`) when `source` does not exist, or
    ///   (`.invalidInput`) when it is a file that is not a TIFF.
    public func discover(_ source: String, context: ProcessingContext) async throws -> [String] {
        let url = URL(fileURLWithPath: source).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw StacRepositoryError(
                .notFound, "The geotiff processor found nothing at \"\(source)\": give a .tif/.tiff file or a folder.")
        }
        guard isDirectory.boolValue else {
            guard Self.isTIFFName(url) else {
                throw StacRepositoryError(
                    .invalidInput,
                    "\"\(source)\" is not a GeoTIFF: the geotiff processor takes .tif/.tiff files or folders holding them."
                )
            }
            return [url.path]
        }
        guard
            let enumerator = FileManager.default.enumerator(
                at: url, includingPropertiesForKeys: [.isDirectoryKey], options: [.skipsHiddenFiles])
        else {
            throw StacRepositoryError(
                .invalidInput, "The folder \"\(source)\" cannot be listed; check its permissions.")
        }
        var found: [String] = []
        for case let file as URL in enumerator where Self.isTIFFName(file) {
            // fileExists follows symbolic links, so a link to a GeoTIFF counts as one.
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder), !isFolder.boolValue {
                found.append(file.standardizedFileURL.path)
            }
        }
        context.logger.debug("geotiff: \(found.count) file(s) under \(url.path)")
        return found.sorted()
    }

    /// The file's stem (`S2A_2024.tif` → `S2A_2024`).
    ///
    /// - Throws: ``StacRepositoryError`` (`.invalidInput`) when the stem is not a safe STAC id.
    public func productID(_ product: String, context: ProcessingContext) async throws -> String {
        // Cut the extension by hand: Foundation keeps names like "...tif" whole.
        let name = URL(fileURLWithPath: product).lastPathComponent
        let stem = name.lastIndex(of: ".").map { String(name[..<$0]) } ?? name
        guard !stem.isEmpty, stem != ".", stem != "..", !stem.contains("/"), !stem.contains("\\") else {
            throw StacRepositoryError(
                .invalidInput,
                "The file name of \"\(product)\" does not give a valid item id (\"\(stem)\"): ids may not be empty, contain '/' or be '.' or '..'; rename the file."
            )
        }
        return stem
    }

    /// The SHA-256 of the file's bytes, as 64 hex digits: it changes whenever the content does.
    ///
    /// - Throws: ``StacRepositoryError`` (`.invalidInput`) when the file cannot be read.
    public func productVersion(_ product: String, context: ProcessingContext) async throws -> String {
        do {
            return try FileDigest.sha256(ofFileAt: product)
        } catch {
            throw StacRepositoryError(
                .invalidInput, "The GeoTIFF \"\(product)\" cannot be read: \(error.localizedDescription).",
                underlying: error)
        }
    }

    /// Reads the file's header and writes `<workDirectory>/<id>/<id>.json`, a STAC 1.1.0 item.
    ///
    /// - Throws: ``StacRepositoryError`` (`.invalidInput`) when the file is not a readable
    ///   GeoTIFF, uses a CRS this processor cannot convert (without `allow-unprojected=true`),
    ///   or has no datetime (without `datetime=`); (`.processor`) when the item cannot be written.
    public func process(_ product: String, context: ProcessingContext) async throws -> URL {
        let source = URL(fileURLWithPath: product).standardizedFileURL
        let id = try await productID(product, context: context)
        let header: GeoTIFFHeader
        do {
            header = try GeoTIFFHeader(reading: source)
        } catch {
            throw StacRepositoryError(.invalidInput, "The file \"\(source.path)\" \(error.reason).", underlying: error)
        }
        let options = try GeoTIFFItem.Options(context.options)
        let item = try GeoTIFFItem(
            id: id, source: source, header: header, options: options, software: [name: version],
            thumbnail: Self.thumbnail(besides: source))
        let folder = context.workDirectory.appendingPathComponent(id, isDirectory: true)
        let output = folder.appendingPathComponent("\(id).json")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try item.jsonData().write(to: output, options: .atomic)
        } catch {
            throw StacRepositoryError(
                .processor, "The geotiff processor could not write \"\(output.path)\": \(error.localizedDescription).",
                underlying: error)
        }
        context.logger.debug("geotiff: wrote \(output.path)")
        return output
    }

    /// `.tif` and `.tiff` files (any case) of a remote prefix are products.
    public func accepts(fileName: String) -> Bool {
        Self.isTIFFName(URL(fileURLWithPath: fileName))
    }

    static func isTIFFName(_ url: URL) -> Bool {
        ["tif", "tiff"].contains(url.pathExtension.lowercased())
    }

    /// A sibling image with the same stem, preferring PNG.
    static func thumbnail(besides source: URL) -> URL? {
        let stem = source.deletingPathExtension()
        for ext in ["png", "jpg", "jpeg"] {
            let candidate = stem.appendingPathExtension(ext)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}
