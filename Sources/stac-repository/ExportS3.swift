import ArgumentParser
import AssetTransfer
import Foundation
import StacRepository

/// What a destination argument names: a local path, an S3 prefix, or something no command writes to.
enum Destination {
    case local(String)
    case s3(S3Location)
    /// A URL (or `user@host:path`) of another kind; the scheme or form, for the message.
    case unsupported(String)

    init(_ text: String) {
        if let location = S3Location(text) {
            self = .s3(location)
            return
        }
        if let colon = text.firstIndex(of: ":"), colon != text.startIndex, !FileManager.default.fileExists(atPath: text)
        {
            let head = text[..<colon]
            let isScheme =
                head.count >= 2 && head.first?.isLetter == true
                && head.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) }
            let isSCP = head.contains("@") && !head.contains("/")
            if isScheme || isSCP {
                self = .unsupported(isScheme ? head.lowercased() + ":" : "user@host:path")
                return
            }
        }
        self = .local(text)
    }

    /// The local path, or a usage error naming what `command` accepts instead.
    static func localPath(_ text: String, command: String, accepts: String, alternative: String? = nil) throws -> String
    {
        switch Destination(text) {
        case .local(let path):
            return path
        case .s3:
            throw StacRepositoryError(
                .usage,
                "\(command) cannot write to \(text): it writes \(accepts) (nothing was written)\(alternative.map { "; \($0)" } ?? "")."
            )
        case .unsupported(let scheme):
            throw StacRepositoryError(
                .usage,
                "\(command) cannot write to \(text): \(scheme) destinations are not supported, it writes \(accepts) (nothing was written)\(alternative.map { "; \($0)" } ?? "")\(text.contains("://") ? "" : "; for a local path with a colon in its name, write ./\(text)")."
            )
        }
    }
}

/// Options of `export s3://bucket/prefix/`.
struct PublishOptions: ParsableArguments {
    @Option(
        name: .customLong("href-base"),
        help:
            "s3 export, ndjson, geoparquet: make every href inside the catalog absolute under this URL (e.g. https://cdn.example.org/prefix/; the s3 export also adds self links); default: relative hrefs (ndjson/geoparquet: asset hrefs are the originals)."
    )
    var hrefBase: String?

    @Option(help: "s3 export: concurrent uploads.")
    var jobs: Int = 8

    @Flag(help: "s3 export: remove objects under the prefix that the export no longer has (after the new ones are in).")
    var delete = false

    @Option(
        name: .customLong("multipart-threshold"),
        help: "s3 export: objects of at least this many MiB go up as multipart uploads.")
    var multipartThreshold: Int = 64

    @Option(name: .customLong("part-size"), help: "s3 export: the part size of multipart uploads, in MiB (at least 5).")
    var partSize: Int = 16

    @Option(help: "s3 export: retries on connection errors, timeouts, 429 and 5xx.")
    var retries: Int = 4

    @Flag(
        help:
            "s3 export: then commit, for each exported asset, alternate.NAME (--record-name, default: the bucket) with its new href and checksum."
    )
    var record = false

    @Option(
        name: .customLong("record-name"), help: "s3 export: the alternate name --record writes (default: the bucket).")
    var recordName: String?

    @Flag(help: "s3 export: send unsigned requests (a bucket that allows anonymous writes).")
    var noSignRequest = false

    @Flag(help: "s3 export: accept requester-pays charges.")
    var requesterPays = false

    func validate() throws {
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256.") }
        if retries < 0 || retries > 100 { throw ValidationError("--retries must be between 0 and 100.") }
        if multipartThreshold < 1 { throw ValidationError("--multipart-threshold must be at least 1 (MiB).") }
        if partSize < 5 || partSize > 5120 { throw ValidationError("--part-size must be between 5 and 5120 (MiB).") }
        if let name = recordName, name.isEmpty || name == "original" || name.contains("/") {
            throw ValidationError("--record-name must be a non-empty name other than \"original\", without '/'.")
        }
    }

    /// Whether any of these options was given for a folder export, where they mean nothing.
    var usedForFolder: String? {
        if hrefBase != nil { return "--href-base" }
        if delete { return "--delete" }
        if record { return "--record" }
        return nil
    }
}

extension Export {
    func runS3(_ location: S3Location) async throws {
        if force {
            throw StacRepositoryError(
                .usage,
                "--force replaces a local directory; an s3 export updates the prefix in place (add --delete to remove what the export no longer has)."
            )
        }
        let repository = try global.openRepository()
        var transfer = TransferConfiguration()
        transfer.jobs = publish.jobs
        transfer.retries = publish.retries
        transfer.noSignRequest = publish.noSignRequest
        transfer.requesterPays = publish.requesterPays
        let options = S3ExportOptions(
            ref: ref, assets: assets, hrefBase: publish.hrefBase, delete: publish.delete, transfer: transfer,
            upload: S3UploadConfiguration(
                multipartThreshold: Int64(publish.multipartThreshold) << 20, partSize: Int64(publish.partSize) << 20))
        let display = PhaseProgressDisplay()
        let handler = display.handler
        let report = try await offPool { try repository.export(toS3: location, options: options, progress: handler) }
        display.finish()
        var recorded: (recorded: Int, version: String?)?
        if publish.record {
            recorded = try await repository.recordExport(
                report.exportedAssets, name: publish.recordName ?? location.bucket, destination: location.url)
        }
        if global.json {
            try Output.json(S3ExportOutput(report: report, recorded: recorded?.recorded, version: recorded?.version))
            return
        }
        if let recorded {
            Output.line(
                "export: recorded \(Output.count(recorded.recorded, "asset location")) as alternate.\(publish.recordName ?? location.bucket)"
                    + (recorded.version.map { " in \($0.prefix(12))" } ?? " (already recorded, nothing committed)"))
        }
        Output.line(
            "export: \(report.destination): uploaded \(Output.count(report.uploaded, "object")) (\(Output.bytes(report.uploadedBytes))), skipped \(report.skipped) unchanged, deleted \(report.deleted); \(Output.count(report.jsonFiles, "JSON file")) and \(Output.count(report.assetFiles, "asset")) in the export"
        )
    }
}

/// `--json` of an s3 export: the report, and what `--record` committed.
struct S3ExportOutput: Encodable {
    var report: S3ExportReport
    var recorded: Int?
    var version: String?

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(recorded, forKey: .recorded)
        try container.encodeIfPresent(version, forKey: .recordVersion)
    }

    enum Keys: String, CodingKey { case recorded, recordVersion }
}
