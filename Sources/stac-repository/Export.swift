import ArgumentParser
import Foundation
import StacRepository

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write a self-contained static catalog (relative links, assets materialised) to DIR, or publish it to s3://bucket/prefix/."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help:
            "The destination directory (must be empty or absent unless --force), or s3://bucket/prefix/; a file for --format ndjson or geoparquet."
    )
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

    @Option(
        help:
            "stac: a static catalog in a directory (or s3://); ndjson: every item, one per line, in one file; geoparquet: a stac-geoparquet file (zstd). For ndjson and geoparquet the destination is a file."
    )
    var format: ExportFormat = .stac

    @Option(help: "geoparquet: items per Parquet row group.")
    var rowGroupSize = 10_000

    @OptionGroup var publish: PublishOptions

    func validate() throws {
        if rowGroupSize < 1 { throw ValidationError("--row-group-size must be at least 1.") }
    }

    func run() async throws {
        if case .s3(let location) = Destination(directory) {
            guard format == .stac else {
                throw StacRepositoryError(
                    .usage,
                    "--format \(format.rawValue) writes one local file; export it to a path (and upload that file), or drop --format to publish the catalog to \(directory)."
                )
            }
            return try await runS3(location)
        }
        _ = try Destination.localPath(
            directory, command: "export", accepts: "a local directory or an s3://bucket/prefix/ URL")
        if let option = publish.usedForFolder, !(option == "--href-base" && format != .stac) {
            throw StacRepositoryError(
                .usage,
                "\(option) applies to an s3:// export (and --href-base also to --format ndjson or geoparquet); remove it or export to s3://bucket/prefix/."
            )
        }
        let repository = try global.openRepository()
        if format != .stac { return try await exportItems(repository) }
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

extension Export {
    /// `--format ndjson|geoparquet`: every item into one file.
    func exportItems(_ repository: Repository) async throws {
        let display = PhaseProgressDisplay()
        let (file, format, ref, hrefBase, rows, force) = (directory, format, ref, publish.hrefBase, rowGroupSize, force)
        let handler = display.handler
        let report = try await offPool {
            try repository.exportItems(
                to: URL(fileURLWithPath: file), format: format, ref: ref, hrefBase: hrefBase, rowGroupSize: rows,
                force: force, progress: handler)
        }
        display.finish()
        if global.json { try Output.json(report); return }
        Output.line(
            "export: \(Output.count(report.items, "item")) written to \(report.file) (\(Output.bytes(report.bytes)))")
    }
}
