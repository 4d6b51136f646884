import ArgumentParser
import Foundation
import StacRepository

struct ShowBackends: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show-backends", abstract: "List the storage backends.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        global.bootstrapLogging()
        if global.json {
            try Output.json(BackendKind.allCases.map { ["name": $0.rawValue, "description": $0.summary] })
            return
        }
        for b in BackendKind.allCases { Output.line("\(b.rawValue)\(b == .git ? " (default)" : "")\t\(b.summary)") }
    }
}

struct ShowProcessors: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-processors", abstract: "List built-in processors and stac-processor-* executables.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        global.bootstrapLogging()
        let repository = try? Repository.open(at: global.repositoryURL)
        let registry = makeRegistry()
        struct Row: Encodable { var name: String; var version: String; var kind: String; var path: String? }
        var rows = registry.builtIn.values.map { Row(name: $0.name, version: $0.version, kind: "built-in", path: nil) }
        for (name, url) in registry.externalExecutables(configured: configuredProcessors(repository)) where registry.builtIn[name] == nil {
            let version = (try? ExternalProcessor(name: name, executable: url).version) ?? "(no answer to --version)"
            rows.append(Row(name: name, version: version, kind: "external", path: url.path))
        }
        rows.sort { $0.name < $1.name }
        if global.json { try Output.json(rows); return }
        for r in rows { Output.line("\(r.name)\t\(r.version)\t\(r.kind)\(r.path.map { "\t\($0)" } ?? "")") }
    }
}

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
        let chosen = try makeRegistry().processor(named: processor, configured: configuredProcessors(repository))
        let out = URL(fileURLWithPath: output ?? (NSTemporaryDirectory() + "stac-process-" + UUID().uuidString))
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let context = ProcessingContext(workDirectory: out, logger: global.logger, options: try parseProcessorOptions(processorOptions))
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
        Output.line("process: \(rows.count) products written under \(out.path)")
    }
}

struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        if global.json { try Output.json(["version": StacRepositoryVersion.current]); return }
        print("stac-repository \(StacRepositoryVersion.current)")
    }
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and change repository settings (e.g. processors.NAME.path).",
        subcommands: [Get.self, Set.self, Unset.self, List.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String

        func run() async throws {
            let repository = try global.openRepository()
            guard let value = try repository.backend.configValue(key) else {
                throw StacRepositoryError(.notFound, "The setting \"\(key)\" is not set; set it with `stac-repository config set \(key) VALUE`.")
            }
            if global.json { try Output.json([key: value]); return }
            print(value)
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String
        @Argument var value: String

        func validate() throws {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count < 1 || parts.contains(where: { $0.isEmpty }) || key.contains(where: { $0 == " " || $0 == "\n" || $0 == "=" }) {
                throw ValidationError("\"\(key)\" is not a valid setting name; use dotted names like processors.geotiff.path.")
            }
            if key == "backend" || key == "branch" {
                throw ValidationError("\"\(key)\" is fixed when the repository is created; create a new repository to change it.")
            }
        }

        func run() async throws {
            let repository = try global.openRepository()
            try repository.withLock(wait: true, purpose: "config") { try repository.backend.setConfigValue(key, value) }
            if !global.json { Output.line("\(key) = \(value)") }
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String

        func run() async throws {
            let repository = try global.openRepository()
            try repository.withLock(wait: true, purpose: "config") { try repository.backend.setConfigValue(key, nil) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every setting.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let repository = try global.openRepository()
            let entries = try repository.backend.configEntries()
            if global.json {
                try Output.json(Dictionary(entries, uniquingKeysWith: { $1 }))
                return
            }
            for (k, v) in entries { print("\(k)=\(v)") }
        }
    }
}
