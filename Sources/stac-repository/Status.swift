import ArgumentParser
import Foundation
import StacRepository

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what differs between the work tree and the last commit: modified, missing and untracked files.",
        discussion: """
            On the git backend every file is compared with the last commit (stat data first, then \
            the hash). The file backend has no commit to compare with: there every asset is re-hashed \
            against the file:checksum and file:size its item records.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Files or directories to check (default: the whole catalog).")
    var paths: [String] = []

    func run() async throws {
        let repository = try global.openRepository()
        let relative = try repository.relativePaths(paths, workingDirectory: FileManager.default.currentDirectoryPath)
        let display = PhaseProgressDisplay(enabled: Output.stderrIsTerminal && !global.quiet && !global.json)
        let status: WorkTreeStatus
        do {
            status = try repository.status(paths: relative, progress: display.handler)
            display.finish()
        } catch {
            display.finish()
            throw error
        }
        if global.json {
            try Output.json(status)
            return
        }
        for change in status.changes {
            let mark =
                switch change.kind {
                case .modified: "M"
                case .missing: "D"
                case .untracked: "?"
                }
            Output.line("\(mark) \(change.path)")
        }
        if let note = status.note { Output.note("note: \(note)") }
        let counts = [WorkTreeChange.Kind.modified, .missing, .untracked].compactMap { kind -> String? in
            let n = status.changes.filter { $0.kind == kind }.count
            return n == 0 ? nil : "\(n) \(kind.rawValue)"
        }
        let files = Output.count(status.filesChecked, "file")
        if status.clean {
            Output.line("status: clean (\(files) checked)")
        } else {
            Output.line(
                "status: \(counts.joined(separator: ", ")) (\(files) checked); `stac-repository restore` puts the committed files back"
            )
        }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put the committed content back into the work tree (git backend).",
        discussion: """
            With no PATH every modified or deleted file is restored. Untracked files are left in \
            place. Paths are relative to the current directory when it is inside the repository, \
            else to the repository root.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Files or directories to restore (default: every file that differs).")
    var paths: [String] = []

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    func run() async throws {
        let repository = try global.openRepository()
        let relative = try repository.relativePaths(paths, workingDirectory: FileManager.default.currentDirectoryPath)
        let report = try repository.restore(relative, wait: wait)
        if global.json {
            try Output.json(report)
        } else {
            for path in report.restored { Output.line("restored \(path)") }
            for problem in report.failed { Output.line("FAIL \(problem.path): \(problem.message)") }
            var line = "restore: \(Output.count(report.restored.count, "file")) restored"
            if !report.untracked.isEmpty {
                line += ", \(Output.count(report.untracked.count, "untracked file")) left in place"
            }
            Output.line(line)
        }
        if let first = report.failed.first {
            throw StacRepositoryError(
                .integrity,
                "\(Output.count(report.failed.count, "file")) could not be restored, e.g. \(first.path): \(first.message)."
            )
        }
    }
}
