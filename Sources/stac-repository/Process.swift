import ArgumentParser
import Foundation
import StacRepository

struct Process: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a processor's discover and process on SOURCE without touching any repository.")
    @OptionGroup var global: GlobalOptions

    @Option(help: "The processor to run.")
    var processor: String

    @Argument(help: "What to process (a file, a folder, a URL).")
    var source: String

    @Option(help: "Where to write the STAC (default: a new temporary directory).")
    var output: String?

    @Option(name: .customLong("option"), help: "A processor option key=value (repeatable).")
    var processorOptions: [String] = []

    func run() async throws {
        global.bootstrapLogging()
        let repository = try? Repository.open(at: global.repositoryURL)
        let chosen = try await makeRegistry().processor(
            named: processor, configured: configuredProcessors(repository),
            timeouts: configuredProcessorTimeouts(repository))
        let out = URL(fileURLWithPath: output ?? (NSTemporaryDirectory() + "stac-process-" + UUID().uuidString))
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let context = ProcessingContext(
            workDirectory: out, logger: global.logger, options: try parseProcessorOptions(processorOptions))
        let absolute = source.contains("://") ? source : URL(fileURLWithPath: source).standardizedFileURL.path
        struct Row: Encodable { var product: String; var id: String; var version: String; var file: String }
        var rows: [Row] = []
        do {
            for product in try await chosen.discover(absolute, context: context) {
                let id = try await chosen.productID(product, context: context)
                let version = try await chosen.productVersion(product, context: context)
                let file = try await chosen.process(product, context: context)
                rows.append(Row(product: product, id: id, version: version, file: file.path))
            }
        } catch let error as StacRepositoryError {
            throw error
        } catch {
            throw StacRepositoryError(.processor, "Processor \"\(chosen.name)\" failed on \(source): \(error)")
        }
        if global.json { try Output.json(rows); return }
        for r in rows { Output.line("\(r.id)\t\(r.version)\t\(r.file)") }
        Output.line("process: \(Output.count(rows.count, "product")) written under \(out.path)")
    }
}
