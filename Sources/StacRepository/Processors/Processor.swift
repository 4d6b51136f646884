public import Foundation
public import Logging

/// What a processor gets to work with: a scratch directory of its own, a logger, and the
/// options the user passed (`--option key=value`, `--datetime`, ...).
public struct ProcessingContext: Sendable {
    /// A fresh, empty directory the processor may write into; removed after the ingest.
    public var workDirectory: URL
    /// Where the processor logs (stderr in the CLI).
    public var logger: Logger
    /// Free-form options from the command line, e.g. `["datetime": "2024-01-01T00:00:00Z"]`.
    public var options: [String: String]

    public init(workDirectory: URL, logger: Logger, options: [String: String] = [:]) {
        self.workDirectory = workDirectory
        self.logger = logger
        self.options = options
    }
}

/// Turns products (files, folders, URLs) into STAC objects that the repository can ingest.
///
/// Contract:
/// - `discover` lists the product references found under a source (a file, a folder, a URL);
/// - `productID` and `productVersion` identify a product without processing it, so that an
///   unchanged product is skipped cheaply; the version changes whenever the product's content does;
/// - `process` writes one STAC item or collection JSON (and any assets it references by relative
///   href) under `context.workDirectory` and returns that JSON file's URL.
///
/// Throw ``StacRepositoryError`` with code `.processor` or `.invalidInput` for failures a user can fix.
public protocol Processor: Sendable {
    /// The processor's name, as given to `--processor`.
    var name: String { get }
    /// The processor's version, recorded in commits and in `processing:software`.
    var version: String { get }
    /// Product references found under `source`.
    func discover(_ source: String, context: ProcessingContext) async throws -> [String]
    /// The STAC id the product will get.
    func productID(_ product: String, context: ProcessingContext) async throws -> String
    /// A string that changes when the product's content changes.
    func productVersion(_ product: String, context: ProcessingContext) async throws -> String
    /// Writes STAC for one product into `context.workDirectory`; returns the item/collection file.
    func process(_ product: String, context: ProcessingContext) async throws -> URL
    /// Whether a file of this name, found under a remote prefix (`s3://bucket/prefix/`, an http
    /// listing), is a product of this processor, so that only those are downloaded. Default: all.
    func accepts(fileName: String) -> Bool
}

extension Processor {
    /// Every listed file is a product (`--include`/`--exclude` narrow the listing).
    public func accepts(fileName: String) -> Bool { true }
}
