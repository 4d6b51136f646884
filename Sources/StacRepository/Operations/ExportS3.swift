public import AssetTransfer
import Foundation
import STAC

/// An `s3://bucket/prefix/` destination.
public struct S3Location: Sendable, Hashable, Codable {
    /// The bucket.
    public var bucket: String
    /// The key prefix, empty or ending with `/`.
    public var prefix: String

    /// Parses `s3://bucket`, `s3://bucket/` or `s3://bucket/some/prefix[/]`; nil for anything else.
    public init?(_ text: String) {
        guard text.lowercased().hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { return nil }
        var prefix = String(rest.dropFirst(bucket.count))
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        self.bucket = String(bucket)
        self.prefix = prefix
    }

    /// `s3://bucket/prefix/`.
    public var url: String { "s3://\(bucket)/\(prefix)" }
}

/// How `export s3://…` publishes.
public struct S3ExportOptions: Sendable {
    /// The version to export (git backend); nil for the current one.
    public var ref: String?
    /// `.copy` uploads the asset bytes; `.reference` (or `.none`) uploads the JSON only, each
    /// stored asset's href pointing at its original location.
    public var assets: ExportAssetMode
    /// With a base URL (`https://cdn.example.org/prefix/`), every link and asset href inside the
    /// catalog becomes absolute under it and each document gets a `self` link; without one, the
    /// documents are the repository's own (relative links), as a folder export writes them.
    public var hrefBase: String?
    /// Remove objects under the prefix that the export does not have, once the new ones are in.
    public var delete: Bool
    /// Credentials, endpoint, retries and `jobs` (concurrent uploads).
    public var transfer: TransferConfiguration
    /// Multipart threshold and part size.
    public var upload: S3UploadConfiguration

    /// Creates options; every argument has a default.
    public init(
        ref: String? = nil, assets: ExportAssetMode = .copy, hrefBase: String? = nil, delete: Bool = false,
        transfer: TransferConfiguration = .init(), upload: S3UploadConfiguration = .init()
    ) {
        self.ref = ref
        self.assets = assets
        self.hrefBase = hrefBase
        self.delete = delete
        self.transfer = transfer
        self.upload = upload
    }
}

/// What `export s3://…` did.
public struct S3ExportReport: Sendable, Codable {
    /// `s3://bucket/prefix/`.
    public var destination: String
    /// The exported version (commit id), nil for the file backend.
    public var version: String?
    /// JSON documents in the export.
    public var jsonFiles = 0
    /// Asset files in the export.
    public var assetFiles = 0
    /// Objects uploaded by this run, and their bytes.
    public var uploaded = 0
    public var uploadedBytes: Int64 = 0
    /// Objects already in the bucket with the same size and SHA-256.
    public var skipped = 0
    /// Objects removed by `delete`.
    public var deleted = 0
    /// Every asset now in the bucket (uploaded or already there), for ``Repository/recordExport(_:name:destination:wait:)``.
    public var exportedAssets: [S3ExportedAsset] = []

    enum CodingKeys: String, CodingKey {
        case destination, version, jsonFiles, assetFiles, uploaded, uploadedBytes, skipped, deleted
    }
}

/// One object the export puts under the prefix.
struct PlannedObject: Sendable {
    enum Stage: Comparable, Sendable {
        /// Assets and other files: first.
        case asset
        /// Items: after their assets.
        case item
        /// Catalogs and collections, deepest first (`depth` counts path components).
        case container(depth: Int)
        /// The root catalog: last.
        case root

        /// Upload order: a smaller rank goes up earlier.
        var rank: Int {
            switch self {
            case .asset: 0
            case .item: 1
            case .container(let depth): 1_000_000 - depth
            case .root: Int.max
            }
        }
    }

    var path: String
    var key: String
    var stage: Stage
    var source: S3UploadSource
    var sha256: String
    var size: Int64
    var contentType: String?
    var isDocument: Bool
}

extension Repository {
    /// Publishes the catalog as it was at `options.ref` to an S3 bucket as a static STAC catalog:
    /// the documents a folder export writes and the asset bytes, under `location.prefix`.
    ///
    /// Idempotent: objects already under the prefix with the same size and SHA-256 (recorded in
    /// `x-amz-meta-sha256`) are skipped. Order keeps every link valid for a reader at any
    /// instant, even if the export is killed: assets first, then items, then catalogs and
    /// collections deepest first, the root `catalog.json` last; with `delete`, objects the
    /// export no longer has are removed only after that (documents before the assets they
    /// link to). Every object's bytes are hashed while they are sent and must match the SHA-256
    /// the repository recorded (Git LFS pointer, `file:checksum`); S3 checks the same digest
    /// (`x-amz-checksum-sha256`).
    ///
    /// - Throws: ``StacRepositoryError`` `.integrity` when stored bytes are damaged or missing
    ///   (nothing is uploaded then), `.transfer` naming the object and the fix when S3 refuses
    ///   or cannot be reached, `.invalidInput` for a bad `hrefBase` or asset mode.
    public func export(
        toS3 location: S3Location, options: S3ExportOptions = .init(), progress: ProgressHandler? = nil
    ) throws -> S3ExportReport {
        try recoverIfIdle()
        if options.assets == .link {
            throw StacRepositoryError(
                .invalidInput,
                "--assets link makes hard links, which a bucket cannot hold; use --assets copy (upload the bytes) or --assets reference (hrefs to the originals)."
            )
        }
        let base = try options.hrefBase.map(Self.normalizedHrefBase)
        let bucket: S3Bucket
        do {
            bucket = try S3Bucket(name: location.bucket, configuration: options.transfer, upload: options.upload)
        } catch {
            throw StacRepositoryError(.transfer, error.message, underlying: error)
        }
        let copyAssets = options.assets == .copy
        let (planned, version) = try backend.readConsistently(at: options.ref) { snapshot in
            (
                try S3ExportPlanner(snapshot: snapshot, prefix: location.prefix, copyAssets: copyAssets, hrefBase: base)
                    .plan(), snapshot.version
            )
        }
        var report = S3ExportReport(destination: location.url, version: version)
        report.jsonFiles = planned.filter(\.isDocument).count
        report.assetFiles = planned.count - report.jsonFiles
        report.exportedAssets = planned.filter { !$0.isDocument }.map { object in
            S3ExportedAsset(
                path: object.path,
                href: base.map { $0 + S3ExportPlanner.encodePath(object.path) }
                    ?? "s3://\(location.bucket)/\(object.key)",
                sha256: object.sha256)
        }
        let jobs = max(1, options.transfer.jobs)
        do {
            // What is there already: one listing, then a HEAD for each object of the same size.
            progress?(OperationProgress(phase: "list", completed: 0, unit: "objects"))
            let listed = try bucket.list(prefix: location.prefix)
            let sizes = Dictionary(listed.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
            let candidates = planned.filter { sizes[$0.key] == $0.size }
            let unchanged = LockedSet()
            let checked = SharedCounter()
            try S3Bucket.forEach(candidates, jobs: jobs) { object in
                if let head = try bucket.head(object.key), head.size == object.size, head.sha256 == object.sha256 {
                    unchanged.insert(object.key)
                }
                progress?(
                    OperationProgress(
                        phase: "compare", completed: checked.increment(), total: candidates.count, unit: "objects"))
            }
            let uploads = planned.filter { !unchanged.contains($0.key) }
            report.skipped = planned.count - uploads.count
            let totalBytes = uploads.reduce(Int64(0)) { $0 + $1.size }
            let meter = UploadMeter()
            for stage in Dictionary(grouping: uploads, by: \.stage.rank).keys.sorted() {
                let batch = uploads.filter { $0.stage.rank == stage }
                try S3Bucket.forEach(batch, jobs: jobs) { object in
                    let before = meter.bytes
                    let progressOf: @Sendable (Int64) -> Void = { sent in
                        progress?(
                            OperationProgress(
                                phase: "upload", completed: meter.count, total: uploads.count,
                                bytes: before + sent, totalBytes: totalBytes, unit: "objects"))
                    }
                    try bucket.put(
                        object.key, source: object.source, sha256: object.sha256, size: object.size,
                        contentType: object.contentType, progress: progressOf)
                    let (count, bytes) = meter.add(object.size)
                    progress?(
                        OperationProgress(
                            phase: "upload", completed: count, total: uploads.count, bytes: bytes,
                            totalBytes: totalBytes, unit: "objects"))
                    crashPointLock.withLock { TestHooks.crashPoint("s3-export-uploaded") }
                }
            }
            report.uploaded = uploads.count
            report.uploadedBytes = totalBytes
            if options.delete {
                let keep = Set(planned.map(\.key))
                let stale = listed.map(\.key).filter { !keep.contains($0) }
                // Documents first, parents before children, so no remaining document links to a
                // removed object; then the other files.
                let documents = stale.filter { $0.hasSuffix(".json") }
                let ranks = Dictionary(grouping: documents) { $0.split(separator: "/").count }
                let deletedCount = SharedCounter()
                for depth in ranks.keys.sorted() {
                    try S3Bucket.forEach(ranks[depth] ?? [], jobs: jobs) { key in
                        try bucket.delete(key)
                        crashPointLock.withLock { TestHooks.crashPoint("s3-export-deleted") }
                        progress?(
                            OperationProgress(
                                phase: "delete", completed: deletedCount.increment(), total: stale.count,
                                unit: "objects"))
                    }
                }
                try S3Bucket.forEach(stale.filter { !$0.hasSuffix(".json") }, jobs: jobs) { key in
                    try bucket.delete(key)
                    crashPointLock.withLock { TestHooks.crashPoint("s3-export-deleted") }
                    progress?(
                        OperationProgress(
                            phase: "delete", completed: deletedCount.increment(), total: stale.count, unit: "objects"))
                }
                report.deleted = stale.count
            }
        } catch let error as TransferError {
            throw StacRepositoryError(.transfer, error.message, underlying: error)
        }
        return report
    }

    /// `https://host/path/` with exactly one trailing slash.
    static func normalizedHrefBase(_ text: String) throws -> String {
        let lower = text.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://"),
            let url = URL(string: text), url.host?.isEmpty == false, url.query == nil, url.fragment == nil
        else {
            throw StacRepositoryError(
                .invalidInput,
                "--href-base \"\(text)\" is not an http(s) URL without query or fragment; give the URL the bucket is read at, e.g. https://cdn.example.org/prefix/."
            )
        }
        var base = text
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/"
    }
}

/// Turns one snapshot into the objects to upload, verifying what can be verified up front.
struct S3ExportPlanner {
    let snapshot: any CatalogSnapshot
    let prefix: String
    let copyAssets: Bool
    let hrefBase: String?

    func plan() throws -> [PlannedObject] {
        let files = try snapshot.files().filter { $0 != ".gitattributes" }
        let present = Set(files)
        let index: CatalogIndex
        do { index = try snapshot.index() } catch let error as StacRepositoryError {
            throw StacRepositoryError(.integrity, "Nothing was exported: \(error.message)", underlying: error)
        }
        var objects: [PlannedObject] = []
        var assetInfo: [String: (sha256: String?, size: Int64?, type: String?, name: String)] = [:]
        var documents: [String: STACObject] = [:]
        for path in Set(index.containers.keys).union(index.items.keys).sorted() {
            guard let bytes = try snapshot.read(path) else {
                throw StacRepositoryError(
                    .integrity,
                    "The catalog links to \(path), which is missing from the repository; nothing was exported. Restore it (`verify`, `rollback` or a backup) and export again."
                )
            }
            let object: STACObject
            do {
                object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
            } catch {
                throw StacRepositoryError(
                    .integrity,
                    "The stored file \(path) is not a valid STAC document (\(error)); nothing was exported. Restore it (`verify`, `rollback` or a backup) and export again."
                )
            }
            documents[path] = object
            for (key, asset) in object.assets {
                guard let target = CatalogIndex.resolveInside(asset.href, from: path) else { continue }
                let name = "asset \"\(key)\" of \(object.type.kindName) \"\(object.id)\" (\(target))"
                var sha: String?
                if let declared = asset["file:checksum"]?.stringValue, let parsed = Multihash.parse(declared),
                    parsed.algorithm == .sha2_256
                {
                    sha = parsed.digestHex
                }
                let size = asset["file:size"]?.numberValue.flatMap { Int64($0.literal) }
                assetInfo[target] = (sha, size, asset.type, name)
                if !present.contains(target) && copyAssets {
                    throw StacRepositoryError(
                        .integrity,
                        "The \(name) is missing from the repository; nothing was exported. Restore it (`verify`, a backup, or ingest the product again) and export again."
                    )
                }
            }
            var bytesOut = bytes
            if !copyAssets { bytesOut = ExportWriter.withOriginalHrefs(object, path: path) }
            if let hrefBase {
                var source = object
                if !copyAssets, let reparsed = try? STACObject(JSONValue.parse(bytes: bytesOut, source: path)) {
                    source = reparsed
                }
                bytesOut = Self.absolute(source, path: path, base: hrefBase).serialized()
            }
            let stage: PlannedObject.Stage
            if index.items[path] != nil {
                stage = .item
            } else if path == CatalogIndex.rootPath {
                stage = .root
            } else {
                stage = .container(depth: path.split(separator: "/").count)
            }
            objects.append(
                PlannedObject(
                    path: path, key: prefix + path, stage: stage, source: .bytes(bytesOut),
                    sha256: sha256OfBytes(bytesOut), size: Int64(bytesOut.count),
                    contentType: stage == .item ? "application/geo+json" : "application/json", isDocument: true))
        }
        guard copyAssets else { return objects }
        for path in files where documents[path] == nil {
            let info = assetInfo[path]
            let name = info?.name ?? path
            switch try snapshot.source(path) {
            case .bytes(let b)?:
                let sha = sha256OfBytes(b)
                try Self.check(name, sha: sha, size: Int64(b.count), declared: info)
                objects.append(
                    PlannedObject(
                        path: path, key: prefix + path, stage: .asset, source: .bytes(b), sha256: sha,
                        size: Int64(b.count), contentType: info?.type, isDocument: false))
            case .file(let url)?:
                var digest: (sha256: String, size: Int64)
                if let stored = try snapshot.storedDigest(path) {
                    digest = stored
                    guard FS.fileSize(url.path) == stored.size else {
                        throw StacRepositoryError(
                            .integrity,
                            "The stored bytes of \(name) do not match its Git LFS pointer (\(stored.size) bytes, read \(FS.fileSize(url.path) ?? 0)): the object is damaged; nothing was exported. Restore it from a backup and export again."
                        )
                    }
                } else if let sha = info?.sha256, let size = FS.fileSize(url.path) {
                    // The bytes are hashed as they are sent and must match this.
                    digest = (sha, size)
                } else {
                    let hashed = try sha256OfFile(url.path)
                    digest = (hashed.hex, hashed.size)
                }
                try Self.check(name, sha: digest.sha256, size: digest.size, declared: info)
                objects.append(
                    PlannedObject(
                        path: path, key: prefix + path, stage: .asset, source: .file(path: url.path),
                        sha256: digest.sha256, size: digest.size, contentType: info?.type, isDocument: false))
            case .missingObject(let oid, _)?:
                throw StacRepositoryError(
                    .integrity,
                    "The Git LFS object \(oid) of \(path) is missing from the repository; nothing was exported. Restore it from a backup (`git lfs fetch`) and export again."
                )
            case nil:
                continue
            }
        }
        return objects
    }

    static func check(
        _ name: String, sha: String, size: Int64,
        declared: (sha256: String?, size: Int64?, type: String?, name: String)?
    ) throws {
        if let expected = declared?.sha256, expected != sha {
            throw StacRepositoryError(
                .integrity,
                "The bytes of \(name) do not match its file:checksum (stored sha-256 \(sha)); nothing was exported. Restore the file from a backup or re-ingest the product, then export again."
            )
        }
        if let expected = declared?.size, expected != size {
            throw StacRepositoryError(
                .integrity,
                "The \(name) has \(size) bytes, not the \(expected) of its file:size; nothing was exported. Restore the file from a backup or re-ingest the product, then export again."
            )
        }
    }

    /// The document with every href that points inside the catalog made absolute under `base`,
    /// and a `self` link.
    static func absolute(_ object: STACObject, path: String, base: String) -> STACObject {
        var object = object
        object.removeLinks { $0.rel == "self" }
        object.links = object.links.map { link in
            var link = link
            if let target = CatalogIndex.resolveInside(link.href, from: path) {
                link.href = base + encodePath(target)
            }
            return link
        }
        let assets = object.assets
        if !assets.isEmpty {
            object.assets = assets.map { entry in
                var asset = entry.asset
                if let target = CatalogIndex.resolveInside(asset.href, from: path) {
                    asset.href = base + encodePath(target)
                }
                return (entry.key, asset)
            }
        }
        object.appendLink(Link(rel: "self", href: base + encodePath(path), type: "application/json"))
        return object
    }

    /// Percent-encodes every byte of a path but `A-Z a-z 0-9 - . _ ~ /`.
    static func encodePath(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            switch byte {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E, 0x2F:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// Crash points are counted in a plain dictionary: one uploader thread at a time reaches them.
private let crashPointLock = NSLock()

/// A set of keys filled from several threads.
final class LockedSet: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: Set<String> = []
    func insert(_ key: String) { lock.withLock { _ = keys.insert(key) } }
    func contains(_ key: String) -> Bool { lock.withLock { keys.contains(key) } }
}

/// Objects and bytes uploaded so far, from several threads.
final class UploadMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var objects = 0
    private var sent: Int64 = 0
    var count: Int { lock.withLock { objects } }
    var bytes: Int64 { lock.withLock { sent } }
    func add(_ size: Int64) -> (Int, Int64) {
        lock.withLock {
            objects += 1
            sent += size
            return (objects, sent)
        }
    }
}
