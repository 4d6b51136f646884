public import Foundation
public import Logging

/// Fetches asset bytes from local files, http(s) and s3, hashing them while they stream.
///
/// Every transfer streams its bytes once: through SHA-256 (and the algorithm of a declared
/// `file:checksum`, when that is not SHA-256) and into a temporary file, in memory bounded by a few
/// MiB per transfer whatever the asset's size. At most ``TransferConfiguration/jobs`` transfers run
/// at once, each on a thread of its own (libcurl and POSIX reads block), so the cooperative pool is
/// never blocked. Transient failures (connection errors, timeouts, 429, 5xx) are retried with
/// exponential backoff and jitter, honouring `Retry-After`, and an interrupted body resumes with
/// `Range` when the server supports it.
public final class AssetTransferEngine: Sendable {
    /// The configuration the engine was created with.
    public let configuration: TransferConfiguration
    let logger: Logger
    let handles: CurlHandlePool
    private let s3Cache = S3SettingsCache()

    /// Creates an engine.
    public init(
        configuration: TransferConfiguration = .init(),
        logger: Logger = Logger(label: "stac-repository.transfer")
    ) {
        self.configuration = configuration
        self.logger = logger
        handles = CurlHandlePool(capacity: configuration.jobs)
    }

    /// Streams each source into a new temporary file inside `directory` while hashing it.
    ///
    /// At most `jobs` transfers run at once. Declared checksums and sizes are verified; a file whose
    /// bytes do not match is deleted. Each successful result names its temporary file, which the
    /// caller renames into place or removes.
    ///
    /// - Returns: one result per request, in request order; the caller decides whether a failure is fatal.
    public func fetch(
        _ requests: [AssetRequest], into directory: URL, events: (@Sendable (TransferEvent) -> Void)? = nil
    ) async -> [Result<TransferredAsset, TransferError>] {
        await forEachBounded(requests) { request in
            await self.transfer(request, to: .file(directory: directory), events: events)
        }
    }

    /// Streams each source once to compute its SHA-256 and size without keeping the bytes
    /// (`--assets reference`).
    ///
    /// - Returns: one result per request, in request order, with `file` nil.
    public func measure(
        _ requests: [AssetRequest], events: (@Sendable (TransferEvent) -> Void)? = nil
    ) async -> [Result<TransferredAsset, TransferError>] {
        await forEachBounded(requests) { request in
            await self.transfer(request, to: .discard, events: events)
        }
    }

    /// Reads a small document (a catalog, collection or item JSON) from any kind of source.
    ///
    /// - Parameter limit: the largest accepted size in bytes (default 64 MiB).
    /// - Throws: a ``TransferError`` whose message names the source and the fix.
    /// - Parameter postBody: JSON to send with `POST` instead of a `GET` (http(s) only), e.g. a
    ///   STAC API search body.
    public func readDocument(
        _ source: String, limit: Int = 64 << 20, postBody: Data? = nil
    ) async throws(TransferError) -> Data {
        let subject = TransferSubject(document: source)
        let result = await run(
            source: source, subject: subject, destination: .memory(limit: limit), declared: nil, events: nil,
            body: postBody)
        switch result {
        case .success(let stored): return stored.sink.data
        case .failure(let error): throw error
        }
    }

    /// Runs `body` for every element with at most `jobs` running at once (one in per one out).
    private func forEachBounded(
        _ requests: [AssetRequest],
        _ body: @escaping @Sendable (AssetRequest) async -> Result<TransferredAsset, TransferError>
    ) async -> [Result<TransferredAsset, TransferError>] {
        var results = [Result<TransferredAsset, TransferError>?](repeating: nil, count: requests.count)
        let width = max(1, configuration.jobs)
        await withTaskGroup(of: (Int, Result<TransferredAsset, TransferError>).self) { group in
            var next = 0
            while next < min(width, requests.count) {
                let index = next
                group.addTask { (index, await body(requests[index])) }
                next += 1
            }
            for await (index, result) in group {
                results[index] = result
                if next < requests.count {
                    let index = next
                    group.addTask { (index, await body(requests[index])) }
                    next += 1
                }
            }
        }
        return results.map {
            $0 ?? .failure(TransferError(kind: .cancelled, message: "The transfer was cancelled.", source: ""))
        }
    }

    /// One request: start event, transfer, verification, final event.
    private func transfer(
        _ request: AssetRequest, to destination: ByteSink.Destination, events: (@Sendable (TransferEvent) -> Void)?
    ) async -> Result<TransferredAsset, TransferError> {
        let subject = TransferSubject(request)
        var expected = request.expectedSize
        if expected == nil, case .file(let path)? = try? SourceLocation(request.source, subject: subject) {
            expected = LocalFileTransfer.size(of: path)
        }
        events?(.started(request, expectedBytes: expected))
        let result = await verifiedTransfer(request, subject: subject, to: destination, events: events)
        switch result {
        case .success(let asset):
            logger.debug(
                "Transferred asset",
                metadata: ["asset": "\(request.name)", "source": "\(subject.source)", "bytes": "\(asset.size)"])
            events?(.finished(asset))
        case .failure(let error):
            logger.debug("Transfer failed", metadata: ["asset": "\(request.name)", "error": "\(error.message)"])
            events?(.failed(request, error))
        }
        return result
    }

    private func verifiedTransfer(
        _ request: AssetRequest, subject: TransferSubject, to destination: ByteSink.Destination,
        events: (@Sendable (TransferEvent) -> Void)?
    ) async -> Result<TransferredAsset, TransferError> {
        var declared: (algorithm: Multihash.Algorithm, digestHex: String)?
        if let checksum = request.expectedChecksum {
            if let parsed = Multihash.parse(checksum) {
                declared = parsed
            } else if Multihash.isWellFormed(checksum) {
                logger.warning(
                    "Cannot verify file:checksum: its algorithm is not sha2-256, sha2-512, sha1 or md5",
                    metadata: ["asset": "\(request.name)", "checksum": "\(checksum)"])
            } else {
                return .failure(
                    subject.error(
                        .invalidChecksum,
                        reason: "its file:checksum \"\(checksum)\" is not a hex multihash",
                        fix: "fix or remove file:checksum (sha2-256 is \"1220\" followed by 64 hex digits)"))
            }
        }
        var progress: (@Sendable (Int64) -> Void)?
        var retrying: (@Sendable (Int, String) -> Void)?
        if let events {
            progress = { bytes in events(.progress(request, bytes: bytes)) }
            retrying = { attempt, reason in events(.retrying(request, attempt: attempt, reason: reason)) }
        }
        let stamp = RemoteStampBox()
        let result = await run(
            source: request.source, subject: subject, destination: destination, declared: declared?.algorithm,
            events: progress, retrying: retrying, stamp: stamp)
        let stored: StoredBytes
        switch result {
        case .success(let value): stored = value
        case .failure(let error): return .failure(error)
        }
        if let size = request.expectedSize, size != stored.size {
            stored.sink.discardFile()
            return .failure(
                subject.mismatch(
                    .sizeMismatch(expected: size, actual: stored.size), field: "file:size", expected: "\(size) bytes",
                    actual: "\(stored.size) bytes"))
        }
        if let declared {
            let actual = declared.algorithm == .sha2_256 ? stored.sha256 : stored.declaredHex ?? ""
            if actual != declared.digestHex {
                stored.sink.discardFile()
                let name = declared.algorithm.rawValue
                return .failure(
                    subject.mismatch(
                        .checksumMismatch(
                            expected: Multihash.encode(declared.algorithm, digestHex: declared.digestHex),
                            actual: Multihash.encode(declared.algorithm, digestHex: actual)),
                        field: "file:checksum", expected: "\(name) \(declared.digestHex)", actual: "\(name) \(actual)"))
            }
        }
        var asset = TransferredAsset(
            request: request, file: stored.sink.fileURL, sha256: stored.sha256, size: stored.size)
        asset.remoteStamp = stamp.value.map {
            RemoteStamp(size: stored.size, etag: $0.etag, lastModified: $0.lastModified)
        }
        return .success(asset)
    }

    /// The bytes of a finished transfer, still in their sink.
    struct StoredBytes: Sendable {
        var sink: ByteSink
        var sha256: String
        var declaredHex: String?
        var size: Int64
    }

    /// Opens a sink and fills it from the source; deletes the temporary file on failure.
    func run(
        source: String, subject: TransferSubject, destination: ByteSink.Destination, declared: Multihash.Algorithm?,
        events progress: (@Sendable (Int64) -> Void)?, retrying: (@Sendable (Int, String) -> Void)? = nil,
        headOnly: Bool = false, stamp: RemoteStampBox? = nil, body: Data? = nil,
        s3Query: [(name: String, value: String)]? = nil
    ) async -> Result<StoredBytes, TransferError> {
        if Task.isCancelled {
            return .failure(subject.error(.cancelled, reason: "the transfer was cancelled", fix: "run it again"))
        }
        let location: SourceLocation
        if s3Query != nil, let bucket = S3Listing.bucket(of: source) {
            location = .s3(bucket: bucket, key: "")
        } else {
            do {
                location = try SourceLocation(source, subject: subject)
            } catch {
                return .failure(error)
            }
        }
        let sink: ByteSink
        do {
            sink = try ByteSink(destination, declared: declared)
        } catch {
            return .failure(subject.sinkFailure(error))
        }
        let cancellation = CancellationFlag()
        let progress = progress ?? { _ in }
        let outcome: Result<Void, TransferError> = await withTaskCancellationHandler {
            switch location {
            case .file(let path):
                return await DedicatedThread.run("transfer \(subject.source)") {
                    LocalFileTransfer.copy(
                        path: path, into: sink, subject: subject, cancellation: cancellation, progress: progress)
                }
            case .http(let url):
                return await remote(
                    .http(url: url), subject: subject, sink: sink, cancellation: cancellation, progress: progress,
                    retrying: retrying, headOnly: headOnly, stamp: stamp, body: body)
            case .s3(let bucket, let key):
                let settings = s3Cache.settings(for: configuration)
                if settings.credentials == nil, let problem = settings.credentialProblem {
                    return .failure(subject.error(.missingCredentials, reason: problem, fix: S3Settings.credentialFix))
                }
                let target: RemoteTarget =
                    if let s3Query {
                        .s3List(bucket: bucket, query: s3Query, settings: settings)
                    } else {
                        .s3(bucket: bucket, key: key, settings: settings)
                    }
                return await remote(
                    target, subject: subject, sink: sink,
                    cancellation: cancellation, progress: progress, retrying: retrying, headOnly: headOnly,
                    stamp: stamp)
            }
        } onCancel: {
            cancellation.cancel()
        }
        do {
            try outcome.get()
            let digests = try sink.finish()
            return .success(
                StoredBytes(sink: sink, sha256: digests.sha256, declaredHex: digests.declaredHex, size: digests.size))
        } catch let error as TransferError {
            sink.discardFile()
            return .failure(error)
        } catch let error as SinkError {
            sink.discardFile()
            return .failure(subject.sinkFailure(error))
        } catch {
            sink.discardFile()
            return .failure(subject.error(.io, reason: "\(error)"))
        }
    }
}

/// The S3 settings of an engine, resolved on first use (it reads the shared AWS files).
final class S3SettingsCache: @unchecked Sendable {
    private let lock = NSLock()
    private var cached: S3Settings?

    func settings(for configuration: TransferConfiguration) -> S3Settings {
        lock.withLock {
            if let cached { return cached }
            let settings = S3Settings(configuration: configuration)
            cached = settings
            return settings
        }
    }
}
