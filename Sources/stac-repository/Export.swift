import ArgumentParser
import Foundation
import StacRepository

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Write a self-contained static catalog (relative links, assets materialised) to DIR, or publish it to s3://bucket/prefix/."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The destination directory (must be empty or absent unless --force), or s3://bucket/prefix/.")
    var directory: String

    @Option(help: "Export the catalog as it was at this commit (git backend).")
    var ref: String?

    @Option(
        help:
            "copy: real files; link: hard links to the repository's files (never edit them in place); none (or reference): JSON only, asset hrefs pointing at the originals; an s3 export takes copy or reference."
    )
    var assets: ExportAssetMode = .copy

    @Flag(help: "Replace a non-empty directory (the old content is swapped out once the new export is complete).")
    var force = false

    @OptionGroup var publish: PublishOptions

    func run() async throws {
        if case .s3(let location) = Destination(directory) { return try await runS3(location) }
        _ = try Destination.localPath(
            directory, command: "export", accepts: "a local directory or an s3://bucket/prefix/ URL")
        if let option = publish.usedForFolder {
            throw StacRepositoryError(
                .usage, "\(option) applies to an s3:// export only; remove it or export to s3://bucket/prefix/.")
        }
        let repository = try global.openRepository()
        let display = PhaseProgressDisplay()
        let (directory, ref, assets, force, handler) = (directory, ref, assets, force, display.handler)
        let report = try await offPool {
            try repository.export(
                to: URL(fileURLWithPath: directory), ref: ref, assets: assets, force: force, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        Output.line(
            "export: \(Output.count(report.jsonFiles, "JSON file")) and \(Output.count(report.assetFiles, "asset")) (\(Output.bytes(report.bytes))) written to \(report.directory)"
        )
    }
}
