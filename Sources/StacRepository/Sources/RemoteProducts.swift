import AssetTransfer
import Foundation
import Logging
import STAC

/// Processors on remote products: `ingest --processor geotiff s3://bucket/prefix/` (or an http(s)
/// listing, or one remote file).
///
/// The objects under the source (after `--include`/`--exclude` and the processor's
/// ``Processor/accepts(fileName:)``) are streamed into the scratch folder (at most `--jobs` at
/// once, hashed on the way) under their path below the prefix; the processor runs on that local
/// copy; the item's asset that is the copy gets the **remote** href back, so the repository
/// copies the local bytes and records the remote href as `alternate.original` with its checksum.
///
/// Ids: the processor's id, or `--option id-template=…` with `${dir}` (the folder below the
/// prefix, `/` as `-`), `${stem}`, `${name}` and `${id}`. Two products with one id are an error
/// naming both hrefs. Processor errors name the remote href, never the scratch path.
///
/// A re-run downloads nothing that did not change: `cache/remote-products` in the state directory
/// keeps, per href, the listing's stamp (size, ETag or Last-Modified; a `HEAD` when the listing has
/// none), the id and the product version; an object whose stamp agrees and whose stored item has
/// that version is unchanged without being fetched.
///
/// A killed run keeps its completed downloads: each is journaled as it completes (the
/// ``TransferJournal``, with the same rules: the source must still name the same version, by the
/// listing's or a `HEAD`'s stamp, and the bytes are hashed again before reuse), so the re-run fetches
/// only the rest. The commit that stores a product's bytes consumes its entry; a product found
/// unchanged drops its entry at once.
enum RemoteProducts {
    /// The option that names the id template.
    static let idTemplateOption = "id-template"

    /// Whether a processor source is remote (s3 or http(s)).
    static func isRemote(_ source: String) -> Bool {
        let lower = source.lowercased()
        return lower.hasPrefix("s3://") || lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// The id `template` gives an object (`${dir}`, `${stem}`, `${name}`, `${id}`).
    static func id(template: String, relativePath: String, processorID: String) -> String {
        let parts = relativePath.split(separator: "/").map(String.init)
        let name = parts.last ?? relativePath
        let dir = parts.dropLast().joined(separator: "-")
        let stem = name.lastIndex(of: ".").map { String(name[..<$0]) } ?? name
        var out = template
        for (key, value) in [("dir", dir), ("stem", stem), ("name", name), ("id", processorID)] {
            out = out.replacingOccurrences(of: "${\(key)}", with: value)
        }
        // An object at the top of the prefix has no folder: no leading or doubled separator.
        while out.hasPrefix("-") { out.removeFirst() }
        return out
    }
}

/// Per remote href: the stamp the product had, its id and version (see ``RemoteProducts``).
final class RemoteProductCache: @unchecked Sendable {
    struct Entry: Equatable {
        var stamp: RemoteStamp
        var processor: String
        var id: String
        var version: String
    }

    static let header = "stac-repository remote-product cache v1"
    let file: String
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    init(stateDirectory: URL) {
        file = stateDirectory.appendingPathComponent("cache/remote-products").path
        guard let bytes = (try? FS.read(file)) ?? nil else { return }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == Substring(Self.header) else { return }
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 7 else { continue }
            func opt(_ s: String) -> String? { s == "-" ? nil : s }
            entries[f[6]] = Entry(
                stamp: RemoteStamp(size: Int64(f[0]), etag: opt(f[1]), lastModified: opt(f[2])), processor: f[3],
                id: f[4], version: f[5])
        }
    }

    func entry(_ href: String) -> Entry? { lock.withLock { entries[href] } }

    func record(_ href: String, _ entry: Entry) {
        let fields = [entry.stamp.etag, entry.stamp.lastModified, entry.processor, entry.id, entry.version, href]
        guard entry.stamp.identifiesVersion,
            !fields.contains(where: { ($0 ?? "").contains("\t") || ($0 ?? "").contains("\n") })
        else { return }
        lock.withLock { entries[href] = entry }
    }

    /// Writes the cache (atomically; losing it only costs downloads).
    func save() {
        let text = lock.withLock {
            var text = Self.header + "\n"
            for (href, e) in entries.sorted(by: { $0.key < $1.key }) {
                let s = e.stamp
                text +=
                    "\(s.size.map(String.init) ?? "-")\t\(s.etag ?? "-")\t\(s.lastModified ?? "-")\t\(e.processor)\t\(e.id)\t\(e.version)\t\(href)\n"
            }
            return text
        }
        try? FS.makeDirectories((file as NSString).deletingLastPathComponent)
        try? FS.writeAtomically(Array(text.utf8), to: file)
    }
}

extension Repository {
    /// The products a processor makes of remote sources, and those unchanged since the last ingest.
    func remoteProcessorProducts(
        _ sources: [String], processor: any Processor, context: ProcessingContext, options: IngestOptions,
        engine: AssetTransferEngine, loader: SourceLoader, scratch: URL
    ) async throws -> (roots: [SourceProduct], unchanged: [ProductChange], reused: Int) {
        let cache = RemoteProductCache(stateDirectory: backend.stateDirectory)
        // Saved before the ingest's transaction opens its own copy, so neither loses the other's entries.
        let remoteStamps = RemoteStampCache(stateDirectory: backend.stateDirectory)
        let template = options.processorOptions[RemoteProducts.idTemplateOption]
        // A cached id holds for the same processor and template only.
        let processorName = "\(processor.name) \(processor.version) \(template ?? "")"
        // 1. List.
        var objects: [RemoteObject] = []
        for source in sources {
            let listed = try await remoteObjects(source, loader: loader, engine: engine)
            objects += listed.filter { processor.accepts(fileName: ($0.relativePath as NSString).lastPathComponent) }
        }
        if objects.isEmpty {
            throw StacRepositoryError(
                .notFound,
                "\(sources.joined(separator: ", ")) holds no file that processor \"\(processor.name)\" takes\(options.sources.include.isEmpty && options.sources.exclude.isEmpty ? "" : " and --include/--exclude let through"); check the prefix."
            )
        }
        // 2. Stamps: the listing's, else a HEAD (an http listing says nothing about versions).
        let stamps = await Self.stamps(of: objects, engine: engine)
        let index = try self.index()
        var unchanged: [ProductChange] = []
        var toFetch: [Int] = []
        var ids: [String: String] = [:]  // id -> href
        func claim(_ id: String, _ href: String) throws {
            if let other = ids[id], other != href {
                throw StacRepositoryError(
                    .conflict,
                    "Two products would get the id \"\(id)\": \(other) and \(href); give them distinct ids with --option id-template='${dir}-${stem}' (also ${name}, ${id})."
                )
            }
            ids[id] = href
        }
        for (i, object) in objects.enumerated() {
            if let stamp = stamps[i], let entry = cache.entry(object.href), entry.processor == processorName,
                entry.stamp.sameVersion(as: stamp),
                storedVersion(id: entry.id, index: index, parentID: options.parentID) == entry.version
            {
                try claim(entry.id, object.href)
                unchanged.append(ProductChange(id: entry.id, kind: "item", change: .unchanged))
                continue
            }
            toFetch.append(i)
        }
        // Downloads an interrupted run journaled for products now unchanged are not needed any more.
        let journal = TransferJournal(stateDirectory: backend.stateDirectory)
        let unchangedHrefs = Set(objects.indices.filter { !toFetch.contains($0) }.map { objects[$0].href })
        journal.forget(sources: unchangedHrefs)
        guard !toFetch.isEmpty else { return ([], unchanged, 0) }
        // 3. Stream the rest into the scratch folder, hashed on the way; each completed download
        // is journaled (TransferJournal), so a killed ingest's re-run fetches only the rest.
        let downloads = scratch.appendingPathComponent("remote-downloads")
        try FS.makeDirectories(downloads.path)
        let requests = toFetch.map { i in
            AssetRequest(name: "product \(objects[i].relativePath)", source: objects[i].href, expectedSize: nil)
        }
        let known = Dictionary(
            toFetch.enumerated().compactMap { n, i in stamps[i].map { (n, $0) } }, uniquingKeysWith: { a, _ in a })
        let reused = await journal.reuse(requests, staging: downloads, engine: engine, known: known)
        let missing = requests.indices.filter { reused[$0] == nil }
        let fetchedNow = await engine.fetch(
            missing.map { requests[$0] }, into: downloads,
            events: { event in
                if case .finished(let asset) = event { journal.record(asset) }
            })
        await journal.drain()
        var results = requests.indices.map { n -> Result<TransferredAsset, TransferError> in
            reused[n].map { .success($0) }
                ?? .failure(TransferError(kind: .cancelled, message: "The transfer was cancelled.", source: ""))
        }
        for (n, result) in zip(missing, fetchedNow) { results[n] = result }
        if !reused.isEmpty {
            options.logger.debug("ingest: reused \(reused.count) product downloads of an interrupted ingest")
        }
        var roots: [SourceProduct] = []
        var unchangedAfterDownload: Set<String> = []
        for (n, (i, result)) in zip(toFetch, results).enumerated() {
            let object = objects[i]
            let fetched: TransferredAsset
            switch result {
            case .success(let t): fetched = t
            case .failure(let error):
                throw StacRepositoryError(.transfer, withoutAssetErrorHint(error.message), underlying: error)
            }
            // The copy keeps the object's name (processors derive ids from it), one folder per product.
            let folder = scratch.appendingPathComponent("remote/\(n)")
            let local = folder.appendingPathComponent((object.relativePath as NSString).lastPathComponent)
            try FS.makeDirectories(folder.path)
            guard let file = fetched.file else { continue }
            do { try FileManager.default.moveItem(at: file, to: local) } catch {
                throw StacRepositoryError(
                    .internal, "Could not move the download of \(object.href) into the scratch folder: \(error).")
            }
            let product = local.path
            func run<T>(_ step: String, _ body: () async throws -> T) async throws -> T {
                do {
                    return try await body()
                } catch let error as StacRepositoryError {
                    throw StacRepositoryError(
                        error.code, error.message.replacingOccurrences(of: product, with: object.href),
                        underlying: error.underlyingError)
                } catch {
                    throw StacRepositoryError(
                        .processor,
                        "Processor \"\(processor.name)\" failed in \(step) for \(object.href): \("\(error)".replacingOccurrences(of: product, with: object.href))",
                        underlying: error)
                }
            }
            let processorID = try await run("id") { try await processor.productID(product, context: context) }
            let id =
                template.map {
                    RemoteProducts.id(template: $0, relativePath: object.relativePath, processorID: processorID)
                }
                ?? processorID
            do { try Identifier.validate(id, kind: .item, source: "processor \(processor.name)") } catch {
                throw StacRepositoryError(
                    .processor, "Processor \"\(processor.name)\" gives \(object.href) an unsafe id: \(error)")
            }
            try claim(id, object.href)
            let version = try await run("version") { try await processor.productVersion(product, context: context) }
            if let stamp = stamps[i] ?? fetched.remoteStamp {
                cache.record(object.href, .init(stamp: stamp, processor: processorName, id: id, version: version))
                // What `verify --origin --quick` compares the original's server with later.
                remoteStamps.record(object.href, stamp: stamp, sha256: fetched.sha256)
            }
            if storedVersion(id: id, index: index, parentID: options.parentID) == version {
                unchanged.append(ProductChange(id: id, kind: "item", change: .unchanged))
                unchangedAfterDownload.insert(object.href)
                continue
            }
            let output = scratch.appendingPathComponent("remote-output/\(n)")
            try FS.makeDirectories(output.path)
            // The same checks as every processor run (ProcessorStage); `run` names the remote href.
            let stage = ProcessorStage(processor: processor, context: context)
            let resolved = try await run("process") {
                try await stage.process(
                    DiscoveredProduct(product: product, id: id, version: version), into: output
                ).path
            }
            let allowed = [output.path, folder.path].map(SourceConfinement.realPath)
            let produced: [SourceProduct]
            do {
                produced = try await loader.loadFile(
                    resolved, displayName: "the output of processor \"\(processor.name)\" for \(object.href)",
                    roots: allowed)
            } catch let error as StacRepositoryError {
                throw StacRepositoryError(
                    .processor,
                    "Processor \"\(processor.name)\" wrote invalid STAC for \(object.href): \(error.message.replacingOccurrences(of: product, with: object.href))"
                )
            }
            let localReal = SourceConfinement.realPath(product)
            for item in produced {
                if item.object.type == .item { item.object.id = id }
                item.processorVersion = version
                Self.stampProcessed(item, processor: processor, version: version)
                for p in item.flattened {
                    p.scratchDirectory = allowed[0]
                    var assets = p.object.assets
                    for (index, entry) in assets.enumerated() {
                        let href = Href.resolve(entry.asset.href, against: p.location)
                        let fetch = p.fetchSources[entry.key] ?? href
                        guard fetch == product || SourceConfinement.realPath(fetch) == localReal else { continue }
                        assets[index].asset.href = object.href
                        p.fetchSources[entry.key] = localReal
                    }
                    p.object.assets = assets
                }
            }
            roots += produced
        }
        cache.save()
        remoteStamps.save()
        // The others are consumed when the commit stores their bytes (the scratch copy's SHA-256).
        journal.forget(sources: unchangedAfterDownload)
        return (roots, unchanged, reused.count)
    }

    /// The objects a remote processor source names: an s3 prefix or http(s) listing, else the one file.
    private func remoteObjects(
        _ source: String, loader: SourceLoader, engine: AssetTransferEngine
    ) async throws -> [RemoteObject] {
        if SourceLoader.isS3Prefix(source) { return try await loader.listObjects(source) ?? [] }
        let base = SourceLoader.withoutQuery(source)
        if base.hasSuffix("/"), !source.lowercased().hasPrefix("s3://") {
            let page: Data
            do { page = try await engine.readDocument(source, limit: 16 << 20) } catch {
                throw StacRepositoryError(.transfer, withoutAssetErrorHint(error.message), underlying: error)
            }
            if let listed = try await loader.listObjects(source, page: page) { return listed }
            throw StacRepositoryError(
                .invalidInput, "\(source) is not a directory listing (no HTML page of links); name the files instead.")
        }
        let name = (base as NSString).lastPathComponent
        return [RemoteObject(href: source, relativePath: name)]
    }

    /// Each object's stamp: the listing's when it names a version, else one `HEAD` (at most `jobs` at once).
    private static func stamps(of objects: [RemoteObject], engine: AssetTransferEngine) async -> [Int: RemoteStamp] {
        var out: [Int: RemoteStamp] = [:]
        var pending: [Int] = []
        for (i, o) in objects.enumerated() {
            if o.stamp.identifiesVersion { out[i] = o.stamp } else { pending.append(i) }
        }
        let limit = max(1, engine.configuration.jobs)
        await withTaskGroup(of: (Int, RemoteStamp?).self) { group in
            var next = 0
            func add() {
                let i = pending[next]
                next += 1
                group.addTask {
                    if case .success(let s)? = await engine.probe(objects[i].href), s.identifiesVersion {
                        return (i, s)
                    }
                    return (i, nil)
                }
            }
            while next < min(limit, pending.count) { add() }
            while let (i, stamp) = await group.next() {
                if let stamp { out[i] = stamp }
                if next < pending.count { add() }
            }
        }
        return out
    }
}
