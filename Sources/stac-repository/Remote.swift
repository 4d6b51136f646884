import ArgumentParser
import Foundation
import StacRepository

struct Remote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote",
        abstract: "Add, list and remove remotes (a git host and its Git LFS server).",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a remote: a git URL (file://, a path, http(s), ssh) and, optionally, its Git LFS URL.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The remote's name (e.g. origin).") var name: String
        @Argument(help: "The git URL or path.") var url: String
        @Option(name: .customLong("lfs-url"), help: "The Git LFS server's URL (default: derived from the git URL).")
        var lfsURL: String?

        func run() async throws {
            let repository = try global.openRepository()
            try repository.addRemote(name: name, url: url, lfsURL: lfsURL)
            let info = try repository.listRemotes().first { $0.name == name }
            if global.json { try Output.json(info); return }
            Output.line("remote: added \(name) (\(info?.url ?? url); LFS: \(info?.lfsEndpoint ?? "none"))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the remotes and their Git LFS endpoints.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let remotes = try global.openRepository().listRemotes()
            if global.json { try Output.json(remotes); return }
            for remote in remotes {
                Output.line("\(remote.name)\t\(remote.url)\tlfs: \(remote.lfsEndpoint ?? "none")")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a remote and its remote-tracking references.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The remote's name.") var name: String

        func run() async throws {
            try global.openRepository().removeRemote(name: name)
            if global.json { try Output.json(["removed": name]); return }
            Output.line("remote: removed \(name)")
        }
    }
}
