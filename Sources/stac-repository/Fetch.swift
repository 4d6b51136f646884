import ArgumentParser
import Foundation
import StacRepository

struct Fetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Fetch the remote's branches into refs/remotes/REMOTE/*; with --assets, their Git LFS objects too.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The remote (default: origin).")
    var remote: String?

    @Flag(
        help:
            "Also download the Git LFS objects of the fetched tip and of the checked-out commit that are missing here.")
    var assets = false

    @Flag(help: "Wait for the writer lock instead of failing when another command holds it.")
    var wait = false

    func run() async throws {
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let (remote, assets, wait, handler) = (remote, assets, wait, display.handler)
        let report = try await offPool {
            try repository.fetch(remote: remote, assets: assets, wait: wait, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        let tip =
            report.remoteCommit.map { "\(report.remote)/\(report.branch) at \(String($0.prefix(12)))" }
            ?? "\(report.remote) has no branch \(report.branch)"
        Output.line(
            "fetch: \(tip); \(Output.count(report.lfsObjectsDownloaded, "object")) downloaded (\(Output.bytes(report.lfsBytesDownloaded)))"
        )
    }
}
