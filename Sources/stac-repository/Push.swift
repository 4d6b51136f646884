import ArgumentParser
import Foundation
import StacRepository

struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload the Git LFS objects the remote lacks, then push the branch (fast-forward only).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The remote (default: origin).")
    var remote: String?

    @Option(help: "The branch to push (default: the repository's branch).")
    var branch: String?

    @Flag(help: "Wait for the writer lock instead of failing when another command holds it.")
    var wait = false

    func run() async throws {
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let (remote, branch, wait, handler) = (remote, branch, wait, display.handler)
        let report = try await offPool {
            try repository.push(remote: remote, branch: branch, wait: wait, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        let target =
            report.updated
            ? "\(report.branch) -> \(report.remote)" : "\(report.remote) already at \(report.commit.prefix(12))"
        Output.line(
            "push: \(Output.count(report.lfsObjectsUploaded, "object")) uploaded (\(Output.bytes(report.lfsBytesUploaded))), \(report.lfsObjectsPresent) already there; \(target)"
        )
    }
}
