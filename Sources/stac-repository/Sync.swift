import ArgumentParser
import Foundation
import StacRepository

struct Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Fetch, fast-forward or merge, then push; again while others push meanwhile.",
        discussion: """
            Runs `pull` then `push`; when the push is refused because someone else pushed in between, \
            it fetches and merges again (at most --attempts times, with a short random pause), so \
            several writers of different products to one remote all get their commits in. A product \
            changed differently on both sides stops it as `pull` does.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The remote (default: origin).")
    var remote: String?

    @Flag(help: "For products changed differently on both sides, keep this repository's versions.")
    var ours = false

    @Flag(help: "For products changed differently on both sides, take the remote's versions.")
    var theirs = false

    @Option(help: "How many fetch-merge-push rounds to try before giving up.")
    var attempts = 5

    @Flag(help: "Wait for the writer lock instead of failing when another command holds it.")
    var wait = false

    func validate() throws {
        if ours && theirs { throw ValidationError("Give --ours or --theirs, not both.") }
        if attempts < 1 { throw ValidationError("--attempts must be at least 1 (got \(attempts)).") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let prefer: MergePreference? = ours ? .ours : theirs ? .theirs : nil
        let (remote, attempts, wait, handler) = (remote, attempts, wait, display.handler)
        // Blocking (network, libgit2, the pauses between attempts): on a thread of its own.
        let report = try await offPool {
            try repository.sync(remote: remote, prefer: prefer, attempts: attempts, wait: wait, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        let merged = report.pulls.reduce(0) { $0 + ($1.productsMerged?.count ?? 0) }
        let push = report.push
        let target =
            push?.updated == true
            ? "\(report.branch) -> \(report.remote)" : "\(report.remote) already at \((report.commit ?? "").prefix(12))"
        Output.line(
            "sync: \(Output.count(report.attempts, "attempt")), \(Output.count(merged, "product")) merged from \(report.remote); \(Output.count(push?.lfsObjectsUploaded ?? 0, "object")) uploaded (\(Output.bytes(push?.lfsBytesUploaded ?? 0))); \(target)"
        )
    }
}
