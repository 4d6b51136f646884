import ArgumentParser
import Foundation
import StacRepository

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch the remote and fast-forward the branch to it (its Git LFS objects first).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The remote (default: origin).")
    var remote: String?

    @Flag(help: "Wait for the writer lock instead of failing when another command holds it.")
    var wait = false

    func run() async throws {
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let (remote, wait, handler) = (remote, wait, display.handler)
        let report = try await offPool {
            try repository.pull(remote: remote, wait: wait, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        Output.line(
            "pull: \(report.outcome ?? "done"), \(report.branch) at \((report.after ?? "").prefix(12)); \(Output.count(report.lfsObjectsDownloaded, "object")) downloaded (\(Output.bytes(report.lfsBytesDownloaded)))"
        )
    }
}
