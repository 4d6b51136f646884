public import Foundation
import STAC

/// The built-in `stac` processor: products are STAC JSON files, taken as they are.
/// `ingest` uses it by default (and reads catalogs, collections, ItemCollections and NDJSON).
public struct StacProcessor: Processor {
    public let name = "stac"
    public let version = StacRepositoryVersion.current

    public init() {}

    public func discover(_ source: String, context: ProcessingContext) async throws -> [String] {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDir), isDir.boolValue {
            for name in ["catalog.json", "collection.json"] where FS.isRegularFile(source + "/" + name) {
                return [source + "/" + name]
            }
            return FS.listFiles(under: source, skipHidden: true).filter { $0.hasSuffix(".json") }.map {
                source + "/" + $0
            }
        }
        return [source]
    }

    private func object(_ product: String) throws -> (STACObject, [UInt8]) {
        guard let bytes = try FS.read(product) else {
            throw StacRepositoryError(.notFound, "The product \(product) does not exist; check the path.")
        }
        do {
            return (try STACObject(JSONValue.parse(bytes: bytes, source: product), source: product), bytes)
        } catch {
            throw StacRepositoryError(.invalidInput, "\(error)")
        }
    }

    public func productID(_ product: String, context: ProcessingContext) async throws -> String {
        try object(product).0.id
    }

    public func productVersion(_ product: String, context: ProcessingContext) async throws -> String {
        let (o, bytes) = try object(product)
        if let v = o.json["properties"]?["version"]?.stringValue ?? o.json["version"]?.stringValue { return v }
        return sha256OfBytes(bytes)
    }

    public func process(_ product: String, context: ProcessingContext) async throws -> URL {
        let (o, _) = try object(product)
        let out = context.workDirectory.appendingPathComponent(o.id + ".json")
        var json = o.json
        // Relative hrefs would break once the file moves: make them absolute.
        if var assets = json["assets"]?.objectValue {
            for (k, v) in assets {
                guard var a = v.objectValue, let href = a["href"]?.stringValue else { continue }
                a["href"] = .string(Href.resolve(href, against: product))
                assets[k] = .object(a)
            }
            json["assets"] = .object(assets)
        }
        try FS.writeAtomically(JSONValue.object(json).serialized(), to: out.path)
        return out
    }
}

/// The tool's version.
public enum StacRepositoryVersion {
    public static let current = "0.1.0"
}
