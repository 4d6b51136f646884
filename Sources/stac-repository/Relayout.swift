import ArgumentParser
import Foundation
import StacRepository

struct Relayout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relayout",
        abstract: "Give a collection another layout template: its items move to sub-catalogs, in one commit.",
        discussion: """
            TEMPLATE is one to eight '/'-separated segments of text and placeholders: ${year}, ${month}, \
            ${day} (the item datetime, or start_datetime, in UTC), ${id:hash:N} (the first N hex digits of \
            the SHA-256 of the item id) and ${properties.NAME}. Each segment is a sub-catalog with id \
            <collection-id>-<value>-…; an item without the value goes to _unknown. 'flat' puts every item \
            back in the collection's folder. Example: stac-repository relayout sentinel-2 --layout '${year}/${month}'
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The id of the collection.")
    var collection: String

    @Option(help: ArgumentHelp("The layout template, or 'flat'.", valueName: "template"))
    var layout: String

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    @Flag(help: "Move the items even if their work-tree files have uncommitted changes (git backend).")
    var force = false

    func run() async throws {
        let template = layout == "flat" ? nil : try LayoutTemplate(parsing: layout).text
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let report = try await repository.relayout(
            collection, layout: template, wait: wait, force: force, progress: display.handler)
        display.finish()
        if global.json {
            try Output.json(report)
            return
        }
        let name = report.layout.map { "\"\($0)\"" } ?? "flat"
        if report.version == nil {
            Output.line("relayout: collection \(report.collection) is already \(name); nothing changed")
            return
        }
        Output.line(
            "relayout: \(report.collection) to \(name): \(Output.count(report.itemsMoved, "item")) moved, "
                + "\(Output.count(report.catalogsCreated, "sub-catalog")) created, \(report.catalogsRemoved) removed")
    }
}
