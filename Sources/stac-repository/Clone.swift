import ArgumentParser
import Foundation
import StacRepository

struct Clone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Restore a repository from a backup (or copy a repository).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup or repository to clone.")
    var source: String

    @Argument(help: "The new repository's directory.")
    var directory: String

    @Option(help: "URL clones: the branch to check out (default: the remote's HEAD).")
    var branch: String?

    @Option(help: "URL clones: all (download the checked-out commit's Git LFS objects) or none (leave pointers).")
    var assets: CloneAssets = .all

    @Option(name: .customLong("lfs-url"), help: "URL clones: the Git LFS server (stored as remote.origin.lfsurl).")
    var lfsURL: String?

    func run() async throws {
        global.bootstrapLogging()
        _ = try Destination.localPath(directory, command: "clone", accepts: "the new repository into a local directory")
        if case .s3 = Destination(source) {
            throw StacRepositoryError(
                .usage,
                "clone cannot read \(source): backups are not kept in S3; clone a git URL (a remote you pushed to) or a local backup directory."
            )
        }
        if CloneAssets.isURL(source) { return try await cloneURL() }
        let display = PhaseProgressDisplay()
        let (source, directory, handler) = (source, directory, display.handler)
        let repository = try await offPool {
            try Repository.clone(
                from: URL(fileURLWithPath: source), to: URL(fileURLWithPath: directory), progress: handler)
        }
        display.finish()
        if global.json { try Output.json(["path": repository.root.path]); return }
        Output.line("clone: restored \(source) into \(repository.root.path)")
    }
}

enum CloneAssets: String, ExpressibleByArgument, CaseIterable {
    case all, none

    /// `scheme://…` or scp-like `user@host:path`: a remote to clone through libgit2 and the LFS Batch API.
    static func isURL(_ source: String) -> Bool {
        if source.contains("://") { return true }
        guard let colon = source.firstIndex(of: ":"), let at = source.firstIndex(of: "@") else { return false }
        return at < colon && !source[..<colon].contains("/")
    }
}

extension Clone {
    func cloneURL() async throws {
        let display = PhaseProgressDisplay()
        let (source, directory, branch, assets, lfsURL, handler) = (
            source, directory, branch, assets, lfsURL, display.handler
        )
        let (repository, report) = try await offPool {
            try Repository.clone(
                url: source, to: URL(fileURLWithPath: directory), branch: branch, assets: assets == .all,
                lfsURL: lfsURL, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        let objects =
            assets == .all
            ? "\(Output.count(report.lfsObjectsDownloaded, "object")) downloaded (\(Output.bytes(report.lfsBytesDownloaded)))"
            : "assets left as pointers (`fetch --assets` brings them)"
        Output.line("clone: \(report.branch) from origin into \(repository.root.path); \(objects)")
    }
}
