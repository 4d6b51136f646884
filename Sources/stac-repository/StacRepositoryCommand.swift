import ArgumentParser
import Foundation
import Logging
import StacRepository

#if canImport(Glibc)
    import Glibc
#endif

@main
struct StacRepositoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stac-repository",
        abstract: "Keep a STAC catalog as a versioned data product.",
        discussion: """
            Every change is a transaction; on the git backend every change is a commit, every asset a \
            Git LFS object whose checksum proves it is the same bytes as the original.
            """,
        version: StacRepositoryVersion.current,
        subcommands: [
            Init.self, Ingest.self, Prune.self, History.self, Rollback.self, Export.self, Backup.self,
            Clone.self, Verify.self, Status.self, Restore.self, Diff.self, ShowBackends.self, ShowProcessors.self,
            Process.self,
            Version.self, Config.self,
        ])

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let caught {
            // libgit2 and Git LFS errors that no operation turned into a sentence get one too.
            guard let error = StacRepositoryError.sentence(for: caught) else { exit(withError: caught) }
            Output.error(error.message)
            if CommandLine.arguments.contains("--json") {
                // Scripts reading stdout get the failure as JSON too.
                try? Output.json(["error": ["code": error.code.rawValue, "message": error.message]])
            }
            Glibc.exit(error.code == .usage ? 64 : 1)
        }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The repository (default: the current directory or the nearest enclosing repository).")
    var repository: String?

    @Flag(name: .long, help: "Print machine-readable JSON on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "Print only errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Print more detail (on stderr).")
    var verbose = false

    var repositoryURL: URL {
        URL(fileURLWithPath: repository ?? FileManager.default.currentDirectoryPath)
    }

    func openRepository() throws -> Repository {
        bootstrapLogging()
        return try Repository.open(at: repositoryURL)
    }

    func bootstrapLogging() {
        Output.quiet = quiet
        let level: Logger.Level = verbose ? .debug : (quiet ? .error : .warning)
        LoggingBootstrap.once(level: level)
    }

    var logger: Logger {
        var l = Logger(label: "stac-repository")
        l.logLevel = verbose ? .debug : (quiet ? .error : .warning)
        return l
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) static var done = false
    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}
