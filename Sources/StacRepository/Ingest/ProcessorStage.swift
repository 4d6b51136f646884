public import Foundation
import STAC

/// A product a processor discovered: its id (validated) and version.
public struct DiscoveredProduct: Sendable, Codable, Hashable {
    /// What the processor's `discover` returned (a path or URL).
    public var product: String
    public var id: String
    public var version: String
}

/// The processor stage of an ingest: sources → products → STAC files, the same code for
/// `ingest --processor` and `process`. Every processor answer is checked here, once: ids are
/// safe identifiers, the STAC file a processor returns is a regular file inside the output
/// directory it was given, and every failure is one sentence naming the processor, the step
/// and the product.
public struct ProcessorStage {
    public let processor: any Processor
    public let context: ProcessingContext

    public init(processor: any Processor, context: ProcessingContext) {
        self.processor = processor
        self.context = context
    }

    /// `discover`, then `productID` and `productVersion` of every product, for each source.
    public func discover(_ sources: [String]) async throws -> [DiscoveredProduct] {
        var out: [DiscoveredProduct] = []
        for source in sources {
            let products = try await step("discover", source) { try await processor.discover(source, context: context) }
            for product in products {
                let id = try await step("id", product) { try await processor.productID(product, context: context) }
                do { try Identifier.validate(id, kind: .item, source: "processor \(processor.name)") } catch {
                    throw StacRepositoryError(
                        .processor, "Processor \"\(processor.name)\" returned an unsafe id for \(product): \(error)")
                }
                let version = try await step("version", product) {
                    try await processor.productVersion(product, context: context)
                }
                out.append(DiscoveredProduct(product: product, id: id, version: version))
            }
        }
        return out
    }

    /// Runs `process` on one product with `directory` as its output directory and returns the
    /// STAC file it wrote there.
    /// - Throws: ``StacRepositoryError`` `.processor` when the processor fails or returns a
    ///   path that is not a regular file inside `directory`.
    public func process(_ product: DiscoveredProduct, into directory: URL) async throws -> URL {
        var ctx = context
        ctx.workDirectory = directory
        let url = try await step("process", product.product) {
            try await processor.process(product.product, context: ctx)
        }
        let resolved = url.standardizedFileURL.resolvingSymlinksInPath().path
        let inside = directory.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        guard resolved.hasPrefix(inside), FS.isRegularFile(resolved) else {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(processor.name)\" returned \(url.path) for \(product.product), which is not a file inside its output directory; fix the processor."
            )
        }
        return URL(fileURLWithPath: resolved)
    }

    private func step<T>(_ name: String, _ subject: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StacRepositoryError {
            throw error
        } catch {
            throw StacRepositoryError(
                .processor, "Processor \"\(processor.name)\" failed in \(name) for \(subject): \(error)",
                underlying: error)
        }
    }
}

extension Repository {
    /// What `process` wrote: each product with the STAC file made for it.
    public struct ProcessedProduct: Sendable, Codable {
        public var product: String
        public var id: String
        public var version: String
        public var file: String
    }

    /// Runs `processor` on `source` without any repository (`stac-repository process`): every
    /// product it discovers is processed into `output`, with the same
    /// checks as `ingest --processor` (``ProcessorStage``).
    public static func process(
        _ source: String, with processor: any Processor, into output: URL, context: ProcessingContext
    ) async throws -> [ProcessedProduct] {
        let stage = ProcessorStage(processor: processor, context: context)
        var out: [ProcessedProduct] = []
        for product in try await stage.discover([source]) {
            let file = try await stage.process(product, into: output)
            out.append(
                ProcessedProduct(product: product.product, id: product.id, version: product.version, file: file.path))
        }
        return out
    }
}
