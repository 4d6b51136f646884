import ArgumentParser
import Foundation
import StacRepository

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash every asset and check every JSON file, link and checksum.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Verify the catalog as it was at this commit (git backend).")
    var ref: String?

    @Flag(
        help:
            "Also re-read every asset's original (alternate.original href) and check it still has the recorded checksum."
    )
    var origin = false

    @OptionGroup var transfer: TransferOptions

    func run() async throws {
        let repository = try global.openRepository()
        let report = try await repository.verify(ref: ref, origin: origin, transfer: transfer.configuration)
        if global.json {
            try Output.json(report)
        } else {
            for p in report.problems { Output.line("FAIL \(p.path): \(p.message)") }
            var line =
                "verify: \(report.jsonFiles) JSON files, \(report.assets) assets (\(Output.bytes(report.bytesHashed)) hashed)"
            if origin { line += ", \(report.originsChecked) originals checked" }
            Output.line(line + ", \(report.problems.count) problems")
        }
        if !report.ok {
            if report.problems.count == report.originProblems {
                throw StacRepositoryError(
                    .integrity,
                    "verify found \(report.originProblems) original(s) changed or gone at their source; the repository's own copies are intact, which is what they are for."
                )
            }
            throw StacRepositoryError(
                .integrity,
                "verify found \(report.problems.count) problem(s); restore the damaged files with `rollback` or from a backup."
            )
        }
    }
}
