import AssetTransfer
import Foundation
import STAC

/// A STAC object read from a source, with where it came from and what it links to.
final class SourceProduct {
    var object: STACObject
    /// Absolute location (path or URL) of the JSON file, against which its hrefs resolve.
    let location: String
    var children: [SourceProduct] = []
    /// Set when a processor produced the product.
    var processorVersion: String?
    /// The processor's scratch directory: files there have no origin worth recording.
    var scratchDirectory: String?
    /// Real paths of the folders its local references must stay in (empty for a remote document).
    var roots: [String] = []
    /// Asset key -> location to fetch, when it differs from the recorded href (userinfo allowed).
    var fetchSources: [String: String] = [:]

    init(object: STACObject, location: String) {
        self.object = object
        self.location = location
    }

    var kindName: String { object.type.kindName }

    /// The product and everything below it, depth first.
    var flattened: [SourceProduct] { [self] + children.flatMap(\.flattened) }
}

extension STACType {
    /// "item", "collection" or "catalog".
    var kindName: String {
        switch self {
        case .item: "item"
        case .collection: "collection"
        case .catalog: "catalog"
        }
    }

    var displayName: String {
        switch self {
        case .item: "Item"
        case .collection: "Collection"
        case .catalog: "Catalog"
        }
    }
}

/// Reads STAC sources: local files and folders, http(s) and s3 URLs, and stdin.
struct SourceLoader: Sendable {
    let engine: AssetTransferEngine
    let workingDirectory: String
    var readStandardInput: @Sendable () -> Data = { FileHandle.standardInput.readDataToEndOfFile() }
    /// How many linked documents are read at once (they may be URLs).
    var concurrency = 16
    /// What documents may reference (links and asset hrefs).
    var confinement = SourceConfinement.unconfined
    /// Told after each document read (phase "crawl", unit "documents").
    var progress: ProgressHandler?
    private let documentsRead = SharedCounter()
    /// Search pages, listings and collections (Sources/SourceLoader+API.swift, +Listing.swift).
    var options = SourceOptions()
    /// What the loader noticed on the way (objects typed without `type`), for the report.
    let notes = SourceNotes()

    /// The products a source names. A root catalog is not itself a product: its children are.
    func load(_ source: String) async throws -> [SourceProduct] {
        if source == "-" { return try await standardInputProducts(readStandardInput()) }
        if let listed = try await loadListing(source) { return listed }
        var location = try locate(source)
        if !confinement.allowUserinfo { location = Href.withoutUserinfo(location) }
        let roots = Href.scheme(of: location) == .file ? [SourceConfinement.root(ofDocument: location)] : []
        if let searched = try await loadSearchBody(location) { return searched }
        let data = try await readDocument(location, displayName: Href.withoutUserinfo(source))
        if let listed = try await loadDirectoryListing(location, page: data) { return listed }
        if let fromAPI = try await loadAPI(location, page: data) { return fromAPI }
        let products = try documentProducts(
            data: data, location: location, source: Href.withoutUserinfo(source), followLinks: true, roots: roots)
        for p in products { try confinement.confineAssets(of: p) }
        if products.count == 1, products[0].object.type == .catalog {
            var visited: Set<String> = [location]
            try await loadChildren(of: products[0], visited: &visited)
            return products[0].children
        }
        var visited: Set<String> = [location]
        for p in products { try await loadChildren(of: p, visited: &visited) }
        return products
    }

    /// The products of documents read from standard input (`firstLine`: the number of the
    /// first line of `data`, for messages).
    func standardInputProducts(_ data: Data, firstLine: Int = 1) async throws -> [SourceProduct] {
        try await confinedStandardInput(
            documentProducts(
                data: data, location: workingDirectory + "/-", source: "standard input", followLinks: false,
                roots: [SourceConfinement.realPath(workingDirectory)], firstLine: firstLine))
    }

    private func confinedStandardInput(_ products: [SourceProduct]) async throws -> [SourceProduct] {
        for p in products { try confinement.confineAssets(of: p) }
        if options.withCollections ?? true { return try await withCollections(products, apiRoot: nil) }
        return products
    }

    /// Standard input as `ingest - --batch-size N` reads it.
    enum StandardInput {
        /// The whole input, read at once: a single document, or input that does not start with
        /// one item per line.
        case whole([SourceProduct])
        /// Newline-delimited items, `lines` at a time: the first chunk, and what gives the next
        /// one (nil at the end of the input).
        case stream(first: [SourceProduct], more: @Sendable () async throws -> [SourceProduct]?)
    }

    /// Reads standard input `lines` lines at a time when it is newline-delimited items (the
    /// first chunk parses as items), so that a stream of any length is ingested holding one
    /// chunk of documents; anything else is read whole, as without `--batch-size`.
    func standardInputInChunks(lines: Int) async throws -> StandardInput {
        let chunks = StandardInputChunks()
        let loader = self
        @Sendable func read() async throws -> (data: Data, firstLine: Int)? {
            try await DedicatedThread.run("stac-repository stdin") { try chunks.next(lines: lines) }
        }
        guard let first = try await read() else {
            return .whole(try await standardInputProducts(Data()))
        }
        let parsed = try? documentProducts(
            data: first.data, location: workingDirectory + "/-", source: "standard input", followLinks: false,
            roots: [SourceConfinement.realPath(workingDirectory)])
        guard let parsed, parsed.allSatisfy({ $0.object.type == .item }) else {
            let rest = try await DedicatedThread.run("stac-repository stdin") { try chunks.rest() }
            return .whole(try await standardInputProducts(first.data + rest))
        }
        let firstProducts = try await confinedStandardInput(parsed)
        return .stream(
            first: firstProducts,
            more: {
                guard var chunk = try await read() else { return nil }
                // A document split across chunks (pretty-printed input): take more lines.
                while true {
                    do {
                        return try await loader.standardInputProducts(chunk.data, firstLine: chunk.firstLine)
                    } catch let error as StacRepositoryError where error.code == .invalidInput {
                        // Only JSON cut short is completed; a document that is not an item fails here.
                        guard (try? JSONValue.parseLines(chunk.data)) == nil, let extra = try await read() else {
                            throw error
                        }
                        chunk.data += extra.data
                    }
                }
            })
    }

    /// Loads a single JSON file produced by a processor; its references must stay in `roots`.
    func loadFile(_ path: String, displayName: String, roots: [String]) async throws -> [SourceProduct] {
        let data = try await readDocument(path, displayName: displayName)
        let products = try documentProducts(
            data: data, location: path, source: displayName, followLinks: true, roots: roots)
        for p in products { try confinement.confineAssets(of: p) }
        var visited: Set<String> = [path]
        for p in products { try await loadChildren(of: p, visited: &visited) }
        return products
    }

    /// Turns a command-line source into an absolute location of a JSON file.
    func locate(_ source: String) throws -> String {
        switch Href.scheme(of: source) {
        case .http, .https, .s3:
            return source
        case .other(let s):
            throw StacRepositoryError(
                .invalidInput,
                "The source \(source) uses the unsupported scheme \"\(s)\"; use a path, file://, http(s):// or s3:// location."
            )
        case .file:
            break
        }
        let path = Href.resolve(source, against: workingDirectory + "/.")
        if FS.isDirectory(path) {
            for name in ["catalog.json", "collection.json"] where FS.isRegularFile(path + "/" + name) {
                return path + "/" + name
            }
            let jsons = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            if jsons.count == 1 { return path + "/" + jsons[0] }
            throw StacRepositoryError(
                .invalidInput,
                "The folder \(source) holds no catalog.json or collection.json\(jsons.isEmpty ? " and no JSON file" : " and several JSON files"); name the STAC file to ingest."
            )
        }
        guard FS.exists(path) else {
            throw StacRepositoryError(.notFound, "The source \(source) does not exist; check the path.")
        }
        return path
    }

    func readDocument(_ location: String, displayName: String) async throws -> Data {
        defer { progress?(OperationProgress(phase: "crawl", completed: documentsRead.increment(), unit: "documents")) }
        if let cached = notes.cachedDocument(location) { return cached }
        if case .file = Href.scheme(of: location) {
            guard let bytes = try? FS.read(location) else {
                throw StacRepositoryError(
                    .notFound, "Could not read \(displayName); check that the file exists and is readable.")
            }
            return Data(bytes)
        }
        do {
            return try await engine.readDocument(location)
        } catch {
            throw StacRepositoryError(.transfer, withoutAssetErrorHint(error.message), underlying: error)
        }
    }

    func documentProducts(
        data: Data, location: String, source: String, followLinks: Bool, roots: [String], firstLine: Int = 1
    ) throws -> [SourceProduct] {
        let document: STACDocument
        do {
            document = try STACDocument.parse(data, source: source, firstLine: firstLine) { _ in
                notes.typedWithoutType()
            }
        } catch let error as JSONParseError {
            throw StacRepositoryError(
                .invalidInput,
                "\(error.description.hasSuffix(".") ? String(error.description.dropLast()) : error.description); fix the JSON and ingest again."
            )
        } catch {
            throw StacRepositoryError(.invalidInput, "\(error)")
        }
        let products: [SourceProduct]
        switch document {
        case .object(let o):
            products = [SourceProduct(object: o, location: location)]
        case .itemCollection(let items):
            products = items.map { SourceProduct(object: $0, location: location) }
        }
        for p in products { p.roots = roots }
        return products
    }

    /// Follows `child` and `item` links breadth-first, reading each level's documents
    /// concurrently (bounded), and keeps every parent's children in link order.
    func loadChildren(of product: SourceProduct, visited: inout Set<String>) async throws {
        var level = [product]
        while !level.isEmpty {
            var requests: [(parent: SourceProduct, rel: String, target: String)] = []
            for parent in level where parent.object.type != .item {
                for link in parent.object.links where link.rel == "child" || link.rel == "item" {
                    let resolved = Href.resolve(link.href, against: parent.location)
                    let reference = try confinement.check(
                        resolved, href: link.href, document: parent.location, roots: parent.roots,
                        subject:
                            "The \(link.rel) link of \(parent.object.type.kindName) \"\(parent.object.id)\" in \(displayName(parent.location))"
                    )
                    let target = reference.fetch
                    guard visited.insert(target).inserted else { continue }
                    requests.append((parent, link.rel, target))
                }
            }
            let documents = try await readAll(requests.map(\.target))
            var next: [SourceProduct] = []
            for (request, data) in zip(requests, documents) {
                let object = try parseObject(data, target: request.target)
                if request.rel == "item", object.type != .item {
                    throw StacRepositoryError(
                        .invalidInput,
                        "\(displayName(request.target)) is linked as an item from \(displayName(request.parent.location)) but is a \(object.type.rawValue); fix the link's rel."
                    )
                }
                if request.rel == "child", object.type == .item {
                    throw StacRepositoryError(
                        .invalidInput,
                        "\(displayName(request.target)) is linked as a child from \(displayName(request.parent.location)) but is an Item; use rel \"item\"."
                    )
                }
                let child = SourceProduct(object: object, location: request.target)
                child.roots = request.parent.roots
                try confinement.confineAssets(of: child)
                request.parent.children.append(child)
                next.append(child)
            }
            level = next
        }
    }

    /// Reads documents with at most `concurrency` in flight; results in request order.
    func readAll(_ targets: [String]) async throws -> [Data] {
        var results = [Data?](repeating: nil, count: targets.count)
        try await withThrowingTaskGroup(of: (Int, Data).self) { group in
            var next = 0
            func add() {
                let i = next
                let target = targets[i]
                group.addTask { (i, try await readDocument(target, displayName: displayName(target))) }
                next += 1
            }
            while next < targets.count && next < concurrency { add() }
            while let (i, data) = try await group.next() {
                results[i] = data
                if next < targets.count { add() }
            }
        }
        return results.map { $0 ?? Data() }
    }

    func parseObject(_ data: Data, target: String) throws -> STACObject {
        let value: JSONValue
        do {
            value = try JSONValue.parse(data, source: displayName(target))
        } catch {
            throw StacRepositoryError(
                .invalidInput,
                "\(error.description.hasSuffix(".") ? String(error.description.dropLast()) : error.description); fix the JSON and ingest again."
            )
        }
        let (typed, inferred) = STACObject.addingInferredType(to: value)
        if inferred != nil { notes.typedWithoutType() }
        do {
            return try STACObject(typed, source: displayName(target))
        } catch {
            throw StacRepositoryError(.invalidInput, "\(error)")
        }
    }

    func displayName(_ location: String) -> String {
        let location = Href.withoutUserinfo(location)
        if location.hasPrefix(workingDirectory + "/") { return String(location.dropFirst(workingDirectory.count + 1)) }
        return location
    }
}

/// Transfer errors end with "…, or use --on-asset-error reference", which helps for an asset
/// of an ingest but not for a STAC document or an origin check.
func withoutAssetErrorHint(_ message: String) -> String {
    var m = message
    for hint in [", or use --on-asset-error reference", " or use --on-asset-error reference"] {
        m = m.replacingOccurrences(of: hint, with: "")
    }
    return m.replacingOccurrences(of: "check the href.", with: "check the URL.")
}
