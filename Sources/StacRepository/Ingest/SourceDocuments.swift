import AssetTransfer
import Foundation
import STAC

extension Repository {
    /// Stage 1 of an ingest with a processor (docs/architecture.md): sources → products → STAC
    /// documents, before the writer lock is taken. Remote products (s3 prefixes, http listings)
    /// are streamed to scratch first (Sources/RemoteProducts.swift); every local product goes
    /// through ``ProcessorStage`` (the same code as `process`) once, unless the stored item has
    /// the version the processor names, and its output is read as an untrusted STAC source
    /// confined to its output folder, the product's folder and the sources' folders.
    func processedDocuments(
        _ sources: [String], processor: any Processor, options: IngestOptions, engine: AssetTransferEngine,
        loader: SourceLoader, scratch: URL
    ) async throws -> (roots: [SourceProduct], unchanged: [ProductChange], reused: Int) {
        var roots: [SourceProduct] = []
        var unchanged: [ProductChange] = []
        var reused = 0
        let context = ProcessingContext(
            workDirectory: scratch, logger: options.logger, options: options.processorOptions)
        try FS.makeDirectories(scratch.path)
        // Remote products (s3 prefixes, http listings) are streamed to scratch first (Sources/RemoteProducts.swift).
        let remoteSources = sources.filter(RemoteProducts.isRemote)
        if !remoteSources.isEmpty {
            let remote = try await remoteProcessorProducts(
                remoteSources, processor: processor, context: context, options: options, engine: engine,
                loader: loader, scratch: scratch)
            roots += remote.roots
            unchanged += remote.unchanged
            reused = remote.reused
        }
        let stage = ProcessorStage(processor: processor, context: context)
        let pending = try await stage.discover(sources.filter { !RemoteProducts.isRemote($0) })
        // Skip products whose stored version is the same without processing them.
        let index = try self.index()
        for p in pending {
            if storedVersion(id: p.id, index: index, parentID: options.parentID) == p.version {
                unchanged.append(ProductChange(id: p.id, kind: "item", change: .unchanged))
                continue
            }
            let dir = scratch.appendingPathComponent("product-\(roots.count)")
            try FS.makeDirectories(dir.path)
            let resolved = try await stage.process(p, into: dir).path
            let produced: [SourceProduct]
            // A processor's items may reference its output folder and the folder of the product.
            let productPath = Href.resolve(p.product, against: options.workingDirectory + "/.")
            let productRoot = FS.isDirectory(productPath) ? productPath : SourceConfinement.parentOf(productPath)
            let sourceRoots = sources.map { source -> String in
                let path = Href.resolve(source, against: options.workingDirectory + "/.")
                return FS.isDirectory(path) ? path : SourceConfinement.parentOf(path)
            }
            let allowed = ([dir.path, productRoot] + sourceRoots).map(SourceConfinement.realPath)
            do {
                produced = try await loader.loadFile(
                    resolved, displayName: "the output of processor \"\(processor.name)\" for \(p.product)",
                    roots: allowed)
            } catch let error as StacRepositoryError {
                throw StacRepositoryError(
                    .processor,
                    "Processor \"\(processor.name)\" wrote invalid STAC for \(p.product): \(error.message)")
            }
            for item in produced {
                item.processorVersion = p.version
                Self.stampProcessed(item, processor: processor, version: p.version)
                for product in item.flattened { product.scratchDirectory = allowed[0] }
            }
            roots.append(contentsOf: produced)
        }
        return (roots, unchanged, reused)
    }

    /// The stored `properties.version` of the item with this id (under `parentID`), if exactly one
    /// such item is stored: what decides whether a processor product is unchanged.
    func storedVersion(id: String, index: CatalogIndex, parentID: String?) -> String? {
        var candidates = index.items(withID: id)
        if let parentID {
            candidates = candidates.filter {
                // Layout templates: an item's collection may be above its sub-catalog.
                index.containers[$0.parent]?.id == parentID || index.owningCollection(of: $0.parent)?.id == parentID
            }
        }
        guard candidates.count == 1, let bytes = try? backend.read(candidates[0].path),
            let value = try? JSONValue.parse(bytes: bytes)
        else { return nil }
        return value["properties"]?["version"]?.stringValue
    }

    /// `properties.version` and `processing:software` of an item a processor made (local or remote product).
    static func stampProcessed(_ product: SourceProduct, processor: any Processor, version: String) {
        guard product.object.type == .item else { return }
        var props = product.object.json["properties"]?.objectValue ?? JSONObject()
        if props["version"] == nil { props["version"] = .string(version) }
        var software = props["processing:software"]?.objectValue ?? JSONObject()
        software[processor.name] = .string(processor.version)
        props["processing:software"] = .object(software)
        product.object.json["properties"] = .object(props)
        product.object.addExtension(ExtensionURL.processing)
    }
}
