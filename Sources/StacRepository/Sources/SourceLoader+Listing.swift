import AssetTransfer
import Foundation
import STAC

/// Sources that are listed rather than read: `s3://bucket/prefix/` (ListObjectsV2) and http(s)
/// directory listings (autoindex HTML pages). The JSON files found (after `--include` /
/// `--exclude`) that are STAC are read once; those no other found document links to as `child`
/// or `item` are the roots, ingested as if each were named on the command line.
extension SourceLoader {
    /// Whether `source` names a bucket prefix to list: `s3://bucket/` or `s3://bucket/prefix/`.
    static func isS3Prefix(_ source: String) -> Bool {
        guard source.lowercased().hasPrefix("s3://"), let split = S3ListingNames.split(source) else { return false }
        return split.prefix.isEmpty || source.hasSuffix("/")
    }

    /// The objects under a listable source, filtered by `--include`/`--exclude`; nil when `source`
    /// is not an s3 prefix and `page` (when given) is not an HTML listing.
    func listObjects(_ source: String, page: Data? = nil) async throws -> [RemoteObject]? {
        let found: [RemoteObject]
        do {
            if Self.isS3Prefix(source) {
                found = try await engine.listObjects(under: source, pageSize: options.listPageSize)
            } else if let page, Href.scheme(of: source) == .http || Href.scheme(of: source) == .https,
                Self.withoutQuery(source).hasSuffix("/"), Self.looksLikeHTML(page)
            {
                found = try await engine.listDirectory(source)
            } else {
                return nil
            }
        } catch {
            throw StacRepositoryError(.transfer, withoutAssetErrorHint(error.message), underlying: error)
        }
        return found.filter { PathGlob.selected($0.relativePath, include: options.include, exclude: options.exclude) }
    }

    static func looksLikeHTML(_ data: Data) -> Bool {
        let head = String(decoding: data.prefix(512), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            .lowercased()
        return head.hasPrefix("<!doctype html") || head.hasPrefix("<html") || head.hasPrefix("<")
    }

    /// The STAC products under an s3 prefix; nil when `source` is not one.
    func loadListing(_ source: String) async throws -> [SourceProduct]? {
        guard Self.isS3Prefix(source), let objects = try await listObjects(source) else { return nil }
        return try await loadListed(objects, source: source)
    }

    /// The STAC products of an http(s) directory listing already read; nil when `page` is not HTML.
    func loadDirectoryListing(_ location: String, page: Data) async throws -> [SourceProduct]? {
        guard Href.scheme(of: location) == .http || Href.scheme(of: location) == .https,
            Self.withoutQuery(location).hasSuffix("/"), Self.looksLikeHTML(page),
            let objects = try await listObjects(location, page: page)
        else { return nil }
        return try await loadListed(objects, source: location)
    }

    private func loadListed(_ objects: [RemoteObject], source: String) async throws -> [SourceProduct] {
        let jsons = objects.filter { $0.relativePath.lowercased().hasSuffix(".json") }.map(\.href)
        let documents = try await readAll(jsons)
        var stac: [(href: String, object: JSONObject)] = []
        for (href, data) in zip(jsons, documents) {
            // Listed JSON that is not STAC (a config, a schema) is skipped, not an error.
            guard let value = try? JSONValue.parse(data, source: href), var object = value.objectValue else { continue }
            if let type = STACObject.inferredType(of: object) { object["type"] = .string(type.rawValue) }
            let type = object["type"]?.stringValue
            guard type == "Catalog" || type == "Collection" || type == "Feature" || type == "FeatureCollection"
            else { continue }
            notes.cache(href, data)
            stac.append((href, object))
        }
        guard !stac.isEmpty else {
            throw StacRepositoryError(
                .notFound,
                "\(displayName(source)) lists \(plural(objects.count, "object")) but no STAC JSON file\(options.include.isEmpty && options.exclude.isEmpty ? "" : " that --include/--exclude let through"); check the prefix, or use --processor to turn other files into STAC."
            )
        }
        var linked: Set<String> = []
        for (href, object) in stac {
            for link in object["links"]?.arrayValue ?? [] {
                guard let rel = link["rel"]?.stringValue, rel == "child" || rel == "item",
                    let target = link["href"]?.stringValue
                else { continue }
                linked.insert(Href.resolve(target, against: href))
            }
        }
        var products: [SourceProduct] = []
        for (href, _) in stac where !linked.contains(href) {
            products += try await load(href)
        }
        return products
    }
}

/// `s3://bucket/prefix` parsing shared with AssetTransfer's listing.
enum S3ListingNames {
    static func split(_ source: String) -> (bucket: String, prefix: String)? {
        guard source.lowercased().hasPrefix("s3://") else { return nil }
        let rest = source.dropFirst("s3://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let bucket = String(rest[..<slash])
        guard !bucket.isEmpty else { return nil }
        return (bucket, slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...]))
    }
}
