import ArgumentParser
import Foundation
import StacRepository

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained static catalog (relative links, assets materialised) to DIR.")

    @OptionGroup var global: GlobalOptions

    @Argument(
        help:
            "The destination directory (must be empty or absent unless --force); a file for --format ndjson or geoparquet."
    )
    var directory: String

    @Option(help: "Export the catalog as it was at this commit (git backend).")
    var ref: String?

    @Option(
        help:
            "copy: real files; link: hard links to the repository's files (never edit them in place); none: JSON only, asset hrefs pointing at the originals."
    )
    var assets: ExportAssetMode = .copy

    @Flag(help: "Replace a non-empty directory (the old content is swapped out once the new export is complete).")
    var force = false

    @Option(
        help:
            "stac: a static catalog in a directory; ndjson: every item, one per line, in one file; geoparquet: a stac-geoparquet file (zstd). For ndjson and geoparquet the destination is a file."
    )
    var format: ExportFormat = .stac

    @Option(
        help:
            "ndjson/geoparquet: make every href inside the catalog absolute under this URL (where the catalog is published); without it asset hrefs are their original locations."
    )
    var hrefBase: String?

    @Option(help: "geoparquet: items per Parquet row group.")
    var rowGroupSize = 10_000

    func validate() throws {
        if format == .stac, hrefBase != nil {
            throw ValidationError("--href-base applies to --format ndjson or geoparquet.")
        }
        if rowGroupSize < 1 { throw ValidationError("--row-group-size must be at least 1.") }
    }

    func run() async throws {
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
        let (file, format, ref, hrefBase, rows, force) = (directory, format, ref, hrefBase, rowGroupSize, force)
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
