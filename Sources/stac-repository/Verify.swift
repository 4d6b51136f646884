import ArgumentParser
import Foundation
import StacRepository

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Re-hash every asset and check every JSON file, link and checksum, and on git the work tree against the last commit."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Verify the catalog as it was at this commit (git backend).")
    var ref: String?

    @Flag(
        help:
            "Also re-read every asset's original (every alternate.* href) and check it still has the recorded checksum."
    )
    var origin = false

    @Flag(
        help:
            "Re-hash only the stored assets and work-tree files whose stat data (size, mtime, ctime, inode) changed since they were last hashed, and with --origin ask each original's server first (HEAD; S3 HeadObject) and re-read only those whose size, ETag or Last-Modified differ from the ingest's. Catches every change made through the file system, not silent disk corruption: run a plain verify for that."
    )
    var quick = false

    @Flag(
        help:
            "Restore what can be restored: the work tree from the last commit, damaged or missing stored assets from the work-tree copy or from an original that still has the recorded checksum."
    )
    var repair = false

    @OptionGroup var transfer: TransferOptions

    func validate() throws {
        if repair && ref != nil { throw ValidationError("--repair mends the current catalog; drop --ref.") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay(enabled: Output.stderrIsTerminal && !global.quiet && !global.json)
        let report: VerifyReport
        do {
            report = try await repository.verify(
                ref: ref, origin: origin, quick: quick, repair: repair, transfer: transfer.configuration,
                progress: display.handler)
            display.finish()
        } catch {
            display.finish()
            throw error
        }
        if global.json {
            try Output.json(report)
        } else {
            for p in report.repaired { Output.line("REPAIRED \(p.path): \(p.message)") }
            for p in report.problems { Output.line("FAIL \(p.path): \(p.message)") }
            for p in report.failedAssets { Output.note("warning: \(p.path): \(p.message).") }
            var line =
                "verify: \(Output.count(report.jsonFiles, "JSON file")), \(Output.count(report.assets, "asset")) (\(Output.bytes(report.bytesHashed)) hashed\(report.assetsTrustedByStat > 0 ? ", \(report.assetsTrustedByStat) unchanged by stat" : ""))"
            if report.workTreeFiles > 0 { line += ", \(Output.count(report.workTreeFiles, "work-tree file")) compared" }
            if origin { line += ", \(Output.count(report.originsChecked, "original")) checked" }
            if repair { line += ", \(report.repaired.count) repaired" }
            Output.line(line + ", \(Output.count(report.problems.count, "problem"))")
        }
        if !report.ok {
            if report.problems.count == report.originProblems {
                throw StacRepositoryError(
                    .integrity,
                    "verify found \(Output.count(report.originProblems, "original")) changed or gone at their source; the repository's own copies are intact, which is what they are for."
                )
            }
            if repair {
                throw StacRepositoryError(
                    .integrity,
                    "verify --repair could not repair \(Output.count(report.problems.count, "problem")) (listed above); restore those files with `rollback` or from a backup."
                )
            }
            throw StacRepositoryError(
                .integrity,
                "verify found \(Output.count(report.problems.count, "problem")); run `stac-repository verify --repair` to restore what can be restored, or restore the damaged files with `rollback` or from a backup."
            )
        }
    }
}
