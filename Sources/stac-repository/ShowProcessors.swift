import ArgumentParser
import Foundation
import StacRepository

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
        let timeouts = configuredProcessorTimeouts(repository)
        for (name, url) in registry.externalExecutables(configured: configuredProcessors(repository))
        where registry.builtIn[name] == nil {
            let version =
                (try? await ExternalProcessor(
                    name: name, executable: url, timeout: timeouts[name] ?? ExternalProcessor.defaultTimeout
                ).version) ?? "(no answer to --version)"
            rows.append(Row(name: name, version: version, kind: "external", path: url.path))
        }
        rows.sort { $0.name < $1.name }
        if global.json { try Output.json(rows); return }
        for r in rows { Output.line("\(r.name)\t\(r.version)\t\(r.kind)\(r.path.map { "\t\($0)" } ?? "")") }
    }
}
