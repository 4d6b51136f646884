import ArgumentParser
import Foundation
import StacRepository

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show the operations (commits), newest first.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Show at most N operations.")
    var limit: Int?

    @Option(help: "Only operations that touched this product id.")
    var product: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1.") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let entries = try repository.history(limit: limit, product: product)
        if global.json {
            struct Out: Encodable {
                var id: String; var date: Date; var operation: String; var summary: String
                var products: [ProductChange]; var trailers: [String: String]
            }
            try Output.json(
                entries.map {
                    Out(
                        id: $0.id, date: $0.record.date, operation: $0.record.operation, summary: $0.record.summary,
                        products: $0.record.products, trailers: $0.record.trailers)
                })
            return
        }
        let formatter = ISO8601DateFormatter()
        for e in entries {
            let id = e.id.count > 12 ? String(e.id.prefix(12)) : e.id
            Output.line("\(id)  \(formatter.string(from: e.record.date))  \(e.record.operation): \(e.record.summary)")
            for p in e.record.products.prefix(global.verbose ? Int.max : 10) {
                Output.line("    \(p.change == .added ? "+" : p.change == .removed ? "-" : "~") \(p.kind) \(p.id)")
            }
            if !global.verbose && e.record.products.count > 10 {
                Output.line("    … and \(e.record.products.count - 10) more (-v shows all)")
            }
        }
    }
}
