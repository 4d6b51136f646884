import ArgumentParser
import Foundation
import StacRepository

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write or update a standalone bare repository with the Git LFS objects it needs, then verify it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup directory (new, empty, or an earlier backup to update).")
    var destination: String

    @Option(help: "Back up the branch up to this commit (default: the tip).")
    var ref: String?

    @Flag(help: "Wait for the writer lock instead of failing when another command holds it.")
    var wait = false

    func run() async throws {
        _ = try Destination.localPath(
            destination, command: "backup", accepts: "a local directory",
            alternative:
                "to keep a copy on a server, push to a remote: `stac-repository remote add NAME URL && stac-repository push NAME`"
        )
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let (destination, ref, wait, handler) = (destination, ref, wait, display.handler)
        let report = try await offPool {
            try repository.backup(to: URL(fileURLWithPath: destination), ref: ref, wait: wait, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        Output.line(
            "backup: \(report.incremental ? "updated" : "wrote") \(report.destination) at \(report.commit.prefix(12)); \(Output.count(report.lfsObjectsCopied, "LFS object")) copied (\(Output.bytes(report.lfsBytesCopied))), \(report.lfsObjectsPresent) already there; verified"
        )
    }
}
