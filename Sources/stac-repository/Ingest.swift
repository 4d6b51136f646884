import ArgumentParser
import AssetTransfer
import Foundation
import GeoTIFFProcessor
import StacRepository

/// Options shared by commands that fetch assets.
struct TransferOptions: ParsableArguments {
    @Option(help: "Maximum concurrent transfers.")
    var jobs: Int = 8

    @Option(help: "Retries on connection errors, timeouts, 429 and 5xx.")
    var retries: Int = 4

    @Option(name: .customLong("header"), help: "An extra HTTP header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "A bearer token for HTTP requests (or set STAC_REPOSITORY_BEARER_TOKEN).")
    var bearerToken: String?

    @Flag(help: "Read HTTP credentials from ~/.netrc.")
    var netrc = false

    @Option(
        name: .customLong("auth-host"),
        help:
            "Also send --header, --bearer-token and netrc credentials to this host (HOST for ports 80/443, or HOST:PORT; repeatable). Without it they go only to the host of the source given."
    )
    var authHosts: [String] = []

    @Flag(help: "Fetch URLs with the user:password@ they carry (it is never stored or printed either way).")
    var allowUserinfo = false

    @Flag(help: "Send unsigned S3 requests (public buckets).")
    var noSignRequest = false

    @Flag(help: "Accept requester-pays charges on S3.")
    var requesterPays = false

    func validate() throws {
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256.") }
        if retries < 0 || retries > 100 { throw ValidationError("--retries must be between 0 and 100.") }
        for h in headers where !h.contains(":") {
            throw ValidationError("--header \"\(h)\" must look like 'Name: value'.")
        }
        for h in authHosts where CredentialScope.hostKeys(forAuthHost: h) == nil {
            throw ValidationError("--auth-host \"\(h)\" must be a host name, HOST:PORT or an http(s) URL.")
        }
    }

    var configuration: TransferConfiguration {
        var c = TransferConfiguration()
        c.jobs = jobs
        c.retries = retries
        for h in headers {
            let parts = h.split(separator: ":", maxSplits: 1)
            c.headers[parts[0].trimmingCharacters(in: .whitespaces)] =
                parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        c.bearerToken = bearerToken ?? ProcessInfo.processInfo.environment["STAC_REPOSITORY_BEARER_TOKEN"]
        c.useNetrc = netrc
        for h in authHosts { c.credentialHosts.formUnion(CredentialScope.hostKeys(forAuthHost: h) ?? []) }
        c.allowUserinfo = allowUserinfo
        c.noSignRequest = noSignRequest
        c.requesterPays = requesterPays
        return c
    }
}

/// The processors the CLI knows about.
func makeRegistry() -> ProcessorRegistry {
    ProcessorRegistry(builtIn: [StacProcessor(), GeoTIFFProcessor()])
}

func configuredProcessors(_ repository: Repository?) -> [String: String] {
    guard let repository, let entries = try? repository.backend.configEntries() else { return [:] }
    var out: [String: String] = [:]
    for (key, value) in entries where key.hasPrefix("processors.") && key.hasSuffix(".path") {
        let name = key.dropFirst("processors.".count).dropLast(".path".count)
        out[String(name)] = value
    }
    return out
}

func parseProcessorOptions(_ options: [String]) throws -> [String: String] {
    var out: [String: String] = [:]
    for o in options {
        guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
            throw ValidationError("--option \"\(o)\" must look like key=value.")
        }
        out[String(o[..<eq])] = String(o[o.index(after: eq)...])
    }
    return out
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Add or update products: STAC files, folders, URLs, '-' for stdin, or products a processor turns into STAC."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: "catalog.json, collection.json, item JSON, a folder holding one, an http(s)/s3 URL, or - for stdin.")
    var sources: [String]

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

    @Option(
        name: .customLong("allow-path"),
        help:
            "Let the sources reference local files under this folder too (repeatable); by default a local source reads only below its own folder and a remote one no local file."
    )
    var allowPaths: [String] = []

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    @Flag(help: "Overwrite uncommitted work-tree changes to the files the ingest writes (git backend).")
    var force = false

    func validate() throws {
        if sources.isEmpty { throw ValidationError("Name at least one SOURCE to ingest.") }
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
        options.processorOptions = try parseProcessorOptions(processorOptions)
        options.logger = global.logger
        var chosen: (any Processor)?
        if let processor, processor != "stac" {
            chosen = try makeRegistry().processor(named: processor, configured: configuredProcessors(repository))
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
            report = try await repository.ingest(
                sources, options: options, processor: chosen, events: { progress.handle($0) },
                planned: planned, progress: phaseHandler)
            progress.finish()
            phases.finish()
        } catch {
            progress.finish()
            phases.finish()
            throw error
        }
        if global.json {
            try Output.json(report)
            return
        }
        // Every product for normal sizes; a big ingest lists the first ones (-v lists all).
        let changed = report.added.map { "+ \($0.kind) \($0.id)" } + report.updated.map { "~ \($0.kind) \($0.id)" }
        let shown = global.verbose ? changed.count : 50
        for line in changed.prefix(shown) { Output.line(line) }
        if changed.count > shown { Output.line("… and \(changed.count - shown) more (-v lists them all)") }
        if global.verbose { for p in report.unchanged { Output.line("= \(p.kind) \(p.id)") } }
        for f in report.assetFailures {
            Output.note(
                "warning: " + Output.sentence(Output.clause(f.message) + "; it stays a reference to its original"))
        }
        var summary = "ingest: \(report.summary)"
        if report.assetsCopied > 0 {
            summary += "; \(Output.count(report.assetsCopied, "asset")) copied (\(Output.bytes(report.bytesCopied)))"
        }
        if let v = report.version { summary += " [\(v.count > 12 ? String(v.prefix(12)) : v)]" }
        Output.line(summary)
    }
}
