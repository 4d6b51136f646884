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

            Global options, accepted anywhere on the command line (before or after the command name):
              -C, --repository <path>  The repository (default: the nearest enclosing one).
              --json                   Print machine-readable JSON on stdout.
              -q, --quiet              Print only errors.
              -v, --verbose            Print more detail (on stderr).
              --version                Print the version.
            """,
        subcommands: [
            Init.self, Ingest.self, Prune.self, History.self, Rollback.self, Export.self, Backup.self,
            Clone.self, Verify.self, Status.self, Restore.self, Diff.self, ShowBackends.self, ShowProcessors.self,
            Process.self, Version.self, Config.self, List.self, Show.self,
            Remote.self, Push.self, Fetch.self, Pull.self, Sync.self,
            Relayout.self,
        ])

    static func main() async {
        FreedMemory.useOneArena()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments == ["--version"] {
            print(StacRepositoryVersion.current)
            return
        }
        do {
            var command = try parseAsRoot(CommandLineRewrite.rewrite(arguments, root: Self.self))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let caught {
            // libgit2 and Git LFS errors that no operation turned into a sentence get one too;
            // ArgumentParser's own errors are printed in the tool's style (`error: …`).
            guard let error = StacRepositoryError.sentence(for: caught) else {
                let message = argumentParserMessage(for: caught)
                if message.toStdout {
                    print(message.text)
                } else {
                    FileHandle.standardError.write(Data((message.text + "\n").utf8))
                }
                Glibc.exit(message.code)
            }
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
    @Option(
        name: [.customShort("C"), .long],
        help: "The repository (default: the current directory or the nearest enclosing repository).")
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
        let repository = try Repository.open(at: repositoryURL)
        repository.lockWaitNotice = { Output.note("note: " + $0) }
        return repository
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
        LoggingSystem.bootstrap { _ in SentenceLogHandler(logLevel: level, verbose: level <= .debug) }
    }
}
