import ArgumentParser
import Foundation
import StacRepository

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch the remote and bring its branch in: a fast-forward, or a product-level merge commit.",
        discussion: """
            When both sides committed, products only the remote changed are taken from it and catalog \
            and collection links are recomputed; a product both sides changed differently stops the \
            pull (nothing changes) unless --ours or --theirs says which version to keep.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The remote (default: origin).")
    var remote: String?

    @Flag(help: "For products changed differently on both sides, keep this repository's versions.")
    var ours = false

    @Flag(help: "For products changed differently on both sides, take the remote's versions.")
    var theirs = false

    @Flag(help: "Wait for the writer lock instead of failing when another command holds it.")
    var wait = false

    func validate() throws {
        if ours && theirs { throw ValidationError("Give --ours or --theirs, not both.") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let prefer: MergePreference? = ours ? .ours : theirs ? .theirs : nil
        let (remote, wait, handler) = (remote, wait, display.handler)
        let report = try await offPool {
            try repository.pull(remote: remote, prefer: prefer, wait: wait, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        Output.line(Self.summary(report))
    }

    /// "pull: merge of 3 products, main at 0123456789ab; 2 objects downloaded (1.2 MB)".
    static func summary(_ report: FetchReport) -> String {
        let outcome =
            report.outcome == "merge"
            ? "merge of \(Output.count(report.productsMerged?.count ?? 0, "product"))" : report.outcome ?? "done"
        return
            "pull: \(outcome), \(report.branch) at \((report.after ?? "").prefix(12)); \(Output.count(report.lfsObjectsDownloaded, "object")) downloaded (\(Output.bytes(report.lfsBytesDownloaded)))"
    }
}
