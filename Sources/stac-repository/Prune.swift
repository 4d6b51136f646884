import ArgumentParser
import Foundation
import StacRepository

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove items, or collections with everything under them, and their links.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Product ids (PARENT-ID/ID when an id is used more than once).")
    var ids: [String]

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    @Flag(help: "Remove the products even if their work-tree files have uncommitted changes (git backend).")
    var force = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("Name at least one product id to prune.") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let result = try await repository.prune(ids, wait: wait, force: force)
        if global.json {
            struct Out: Encodable { var removed: [ProductChange]; var version: String? }
            try Output.json(Out(removed: result.removed, version: result.version))
            return
        }
        for p in result.removed { Output.line("- \(p.kind) \(p.id)") }
        Output.line("prune: \(result.removed.count) removed")
    }
}
