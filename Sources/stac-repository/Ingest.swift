import ArgumentParser
import AssetTransfer
import Foundation
import GeoTIFFProcessor
import StacRepository

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract:
            "Add or update products: STAC files, folders, URLs, '-' for stdin, or products a processor turns into STAC."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: "catalog.json, collection.json, item JSON, a folder holding one, an http(s)/s3 URL, or - for stdin.")
    var sources: [String] = []

    @Option(help: "Put the ingested products under the catalog or collection with this id.")
    var parent: String?

    @Option(help: "The processor that turns SOURCE into STAC (default: stac).")
    var processor: String?

    @Option(
        name: .customLong("option"),
        help: "A processor option key=value (repeatable), e.g. datetime=2024-05-01T00:00:00Z.")
    var processorOptions: [String] = []

    @Option(help: "copy: keep a verified copy of each asset; reference: keep the original href only.")
    var assets: AssetMode = .copy

    @Flag(help: "With --assets reference: do not read the bytes to record file:checksum and file:size.")
    var noChecksum = false

    @Option(help: "fail: any asset that cannot be fetched fails the ingest; reference: keep it as a remote reference.")
    var onAssetError: AssetErrorPolicy = .fail

    @Option(help: "Copy only assets with one of these roles (comma-separated); others stay references.")
    var assetRoles: String?

    @Option(help: "Copy only assets with one of these keys (comma-separated); others stay references.")
    var assetKeys: String?

    @OptionGroup var transfer: TransferOptions

    @OptionGroup var sourceArguments: SourceArguments

    @Option(
        name: .customLong("allow-path"),
        help:
            "Let the sources reference local files under this folder too (repeatable); by default a local source reads only below its own folder and a remote one no local file."
    )
    var allowPaths: [String] = []

    @Option(
        help: ArgumentHelp(
            "Layout template for the collections this ingest creates or touches, e.g. '${year}/${month}' or '${id:hash:2}' (docs/format.md).",
            valueName: "template"))
    var layout: String?

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    @Flag(help: "Overwrite uncommitted work-tree changes to the files the ingest writes (git backend).")
    var force = false

    @Option(
        help:
            "Commit every N changed products, each batch one commit, so that an interrupted ingest keeps the batches done; items on standard input (-) are then read as a stream, N lines (at least 1,000) at a time."
    )
    var batchSize: Int?

    @Flag(
        help:
            "Fetch again the assets earlier ingests kept as references because their copy failed (no SOURCE needed)."
    )
    var retryFailed = false

    func validate() throws {
        if retryFailed {
            if !sources.isEmpty {
                throw ValidationError(
                    "--retry-failed takes no SOURCE: it retries the failed assets already recorded (a re-ingest of SOURCE retries them too)."
                )
            }
            return
        }
        if sources.isEmpty { throw ValidationError("Name at least one SOURCE to ingest (or pass --retry-failed).") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1.") }
        if sources.filter({ $0 == "-" }).count > 1 { throw ValidationError("'-' (stdin) can be given once.") }
        _ = try parseProcessorOptions(processorOptions)
    }

    func run() async throws {
        let repository = try global.openRepository()
        var options = IngestOptions()
        options.parentID = parent
        options.assetMode = assets
        options.checksums = !noChecksum
        options.onAssetError = onAssetError
        options.assetRoles = assetRoles.map {
            Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        options.assetKeys = assetKeys.map {
            Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        options.transfer = transfer.configuration
        options.allowedPaths = allowPaths
        options.wait = wait
        options.force = force
        if let layout { options.layout = try LayoutTemplate(parsing: layout).text }
        options.processorOptions = try parseProcessorOptions(processorOptions)
        options.logger = global.logger
        options.sources = try sourceArguments.options(workingDirectory: options.workingDirectory)
        options.batchSize = batchSize
        // A streamed ingest of millions keeps only the products it shows (--json and -v show all).
        if !global.json && !global.verbose { options.listedProducts = Self.listedProducts }
        var chosen: (any Processor)?
        if let processor, processor != "stac" {
            chosen = try await makeRegistry().processor(
                named: processor, configured: configuredProcessors(repository),
                timeouts: configuredProcessorTimeouts(repository))
        }
        let progress = ProgressDisplay(enabled: Output.stderrIsTerminal && !global.quiet && !global.json)
        let phases = PhaseProgressDisplay(enabled: Output.stderrIsTerminal && !global.quiet && !global.json)
        // Crawl, then transfers, then commit: each phase ends its line before the next begins.
        let planned: @Sendable (Int, Int64) -> Void = { assets, bytes in
            phases.finish()
            progress.plan(assets: assets, bytes: bytes)
        }
        var phaseHandler: ProgressHandler?
        if let handler = phases.handler {
            phaseHandler = { update in
                if update.phase == "commit" { progress.finish() }
                handler(update)
            }
        }
        let report: IngestReport
        do {
            if retryFailed {
                report = try await repository.retryFailedAssets(
                    options: options, events: { progress.handle($0) }, planned: planned, progress: phaseHandler)
            } else {
                report = try await repository.ingest(
                    sources, options: options, processor: chosen, events: { progress.handle($0) },
                    planned: planned, progress: phaseHandler)
            }
            progress.finish()
            phases.finish()
        } catch {
            progress.finish()
            phases.finish()
            throw error
        }
        if global.json {
            try Output.json(report)
            if !report.assetFailures.isEmpty { throw ExitCode(Self.partialFailureStatus) }
            return
        }
        // Every product for normal sizes; a big ingest lists the first ones (-v lists all).
        let total = report.addedCount + report.updatedCount
        let shown = global.verbose ? total : min(total, Self.listedProducts)
        var listed = 0
        for (sign, products) in [("+", report.added), ("~", report.updated)] {
            for p in products where listed < shown {
                Output.line("\(sign) \(p.kind) \(p.id)")
                listed += 1
            }
        }
        if total > shown { Output.line("… and \(total - shown) more (-v lists them all)") }
        if global.verbose { for p in report.unchanged { Output.line("= \(p.kind) \(p.id)") } }
        for w in report.warnings { Output.note("warning: " + Output.sentence(w)) }
        // Every failed asset, up to a limit; the exit status (2) says some asset did not do what was asked.
        let failureLimit = 20
        for f in report.assetFailures.prefix(failureLimit) {
            Output.note(
                "warning: " + Output.sentence(Output.clause(f.message) + "; it stays a reference to its original"))
        }
        if report.assetFailures.count > failureLimit {
            Output.note(
                "warning: … and \(report.assetFailures.count - failureLimit) more assets kept as references (--json lists them all)."
            )
        }
        if retryFailed && report.updated.isEmpty && report.assetFailures.isEmpty {
            Output.line("ingest: no failed assets to retry")
            return
        }
        var summary = "ingest: \(report.summary)"
        if report.assetsCopied > 0 {
            summary += "; \(Output.count(report.assetsCopied, "asset")) copied (\(Output.bytes(report.bytesCopied)))"
        }
        if report.assetsReused > 0 {
            summary +=
                "; reused \(report.assetsReused) \(report.assetsReused == 1 ? "download" : "downloads") of an interrupted ingest"
        }
        if let v = report.version { summary += " [\(v.count > 12 ? String(v.prefix(12)) : v)]" }
        Output.line(summary)
        if !report.assetFailures.isEmpty { throw ExitCode(Self.partialFailureStatus) }
    }

    /// The exit status of an ingest that committed but kept some assets as references because
    /// they could not be fetched (`--on-asset-error reference`); 0 means every asset did what was asked.
    static let partialFailureStatus: Int32 = 2

    /// How many changed products a big ingest lists without -v.
    static let listedProducts = 50
}
