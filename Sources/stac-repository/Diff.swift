import ArgumentParser
import Foundation
import StacRepository

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Products added, updated and removed between two versions, with every changed field (git backend).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The older version.")
    var from: String

    @Argument(help: "The newer version (default: HEAD).")
    var to: String = "HEAD"

    @Flag(help: "One line per product with how many fields and assets changed.")
    var stat = false

    func run() async throws {
        let repository = try global.openRepository()
        try repository.requireHistory("diff")
        let diffs = try repository.diff(from: from, to: to)
        if global.json { try Output.json(diffs); return }
        for d in diffs {
            let symbol = d.change == .added ? "+" : d.change == .removed ? "-" : "~"
            if stat {
                var counts: [String] = []
                if !d.changedFields.isEmpty { counts.append(Output.count(d.changedFields.count, "field")) }
                if !d.changedAssets.isEmpty { counts.append(Output.count(d.changedAssets.count, "asset")) }
                Output.line(
                    "\(symbol) \(d.kind) \(d.id)" + (counts.isEmpty ? "" : " | " + counts.joined(separator: ", ")))
                continue
            }
            Output.line("\(symbol) \(d.kind) \(d.id)")
            if !d.changedFields.isEmpty { Output.line("    fields: \(d.changedFields.joined(separator: ", "))") }
            for a in d.changedAssets { Output.line("    asset \(a.key): \(a.old ?? "(none)") -> \(a.new ?? "(none)")") }
        }
        let counts = [ProductChangeKind.added, .updated, .removed].map { k in diffs.filter { $0.change == k }.count }
        Output.line("diff: \(counts[0]) added, \(counts[1]) updated, \(counts[2]) removed")
    }
}
