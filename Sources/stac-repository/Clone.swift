import ArgumentParser
import Foundation
import StacRepository

struct Clone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a repository from a backup (or copy a repository).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup or repository to clone.")
    var source: String

    @Argument(help: "The new repository's directory.")
    var directory: String

    func run() async throws {
        global.bootstrapLogging()
        let display = PhaseProgressDisplay()
        let (source, directory, handler) = (source, directory, display.handler)
        let repository = try await offPool {
            try Repository.clone(
                from: URL(fileURLWithPath: source), to: URL(fileURLWithPath: directory), progress: handler)
        }
        display.finish()
        if global.json { try Output.json(["path": repository.root.path]); return }
        Output.line("clone: restored \(source) into \(repository.root.path)")
    }
}
