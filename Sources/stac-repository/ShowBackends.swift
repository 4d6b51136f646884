import ArgumentParser
import Foundation
import StacRepository

struct ShowBackends: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-backends", abstract: "List the storage backends.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        global.bootstrapLogging()
        if global.json {
            try Output.json(BackendKind.allCases.map { ["name": $0.rawValue, "description": $0.summary] })
            return
        }
        for b in BackendKind.allCases {
            Output.line("\(b.rawValue)\(b == BackendRegistry.defaultKind ? " (default)" : "")\t\(b.summary)")
        }
    }
}
