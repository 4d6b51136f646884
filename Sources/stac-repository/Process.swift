import ArgumentParser
import Foundation
import StacRepository

struct Process: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
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
        let rows = try await Repository.process(absolute, with: chosen, into: out, context: context)
        if global.json { try Output.json(rows); return }
        for r in rows { Output.line("\(r.id)\t\(r.version)\t\(r.file)") }
        Output.line("process: \(Output.count(rows.count, "product")) written under \(out.path)")
    }
}
