internal import CCurl
import Crypto
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sizes that decide how an object is uploaded.
public struct S3UploadConfiguration: Sendable {
    /// Objects of at least this many bytes go up as a multipart upload.
    public var multipartThreshold: Int64
    /// The size of each part but the last (S3 wants at least 5 MiB).
    public var partSize: Int64

    /// Creates a configuration: 64 MiB threshold, 16 MiB parts by default.
    public init(multipartThreshold: Int64 = 64 << 20, partSize: Int64 = 16 << 20) {
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
    }
}

/// An object in a listing.
public struct S3ListedObject: Sendable, Hashable {
    /// The full key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
}

/// What a HEAD request says about an object.
public struct S3ObjectHead: Sendable, Hashable {
    /// The object's size.
    public var size: Int64
    /// The SHA-256 (lowercase hex) recorded by an earlier upload in `x-amz-meta-sha256`.
    public var sha256: String?
}

/// Where the bytes of an upload come from.
public enum S3UploadSource: Sendable {
    /// A small body in memory (a JSON document).
    case bytes([UInt8])
    /// A file, streamed from disk in small chunks.
    case file(path: String)
}

/// A bucket that objects are written to, listed and deleted from, with the same credentials,
/// endpoint and requester-pays rules as s3 ingest (``TransferConfiguration``, `AWS_*`).
///
/// Every request is signed with SigV4 over its real payload hash, every object carries its
/// SHA-256 both as `x-amz-checksum-sha256` (S3 rejects bytes that do not match) and as the
/// metadata `x-amz-meta-sha256` (read back by ``head(_:)`` to skip unchanged objects). Objects
/// of ``S3UploadConfiguration/multipartThreshold`` bytes or more are sent as a multipart upload
/// with a SHA-256 per part, aborted on any failure. Bodies are streamed from disk: memory per
/// request is a few hundred KiB whatever the object's size.
///
/// The methods block: call them from threads of your own (``S3Bucket/forEach(_:jobs:_:)``),
/// never from Swift's cooperative pool. Transient failures (connection errors, timeouts, 429,
/// 5xx) are retried with exponential backoff as ``TransferConfiguration/retries`` says.
public final class S3Bucket: Sendable {
    /// The bucket's name.
    public let name: String
    let configuration: TransferConfiguration
    let upload: S3UploadConfiguration
    let settings: S3Settings
    let handles: CurlHandlePool
    private let regionBox: RegionBox

    /// Prepares requests to `name`.
    ///
    /// - Throws: ``TransferError`` `.missingCredentials` when no credentials are found (and
    ///   unsigned requests were not asked for).
    public init(
        name: String, configuration: TransferConfiguration = .init(), upload: S3UploadConfiguration = .init()
    ) throws(TransferError) {
        self.name = name
        self.configuration = configuration
        self.upload = upload
        settings = S3Settings(configuration: configuration)
        handles = CurlHandlePool(capacity: configuration.jobs)
        regionBox = RegionBox(settings.region)
        if settings.credentials == nil, let problem = settings.credentialProblem {
            throw TransferError(
                kind: .missingCredentials,
                message: "Cannot write to s3://\(name)/: \(problem); \(S3Settings.credentialFix).",
                source: "s3://\(name)/")
        }
    }

    /// Where requests go, for messages: the custom endpoint or `s3.amazonaws.com`.
    public var endpointDescription: String {
        if let endpoint = settings.endpoint, let host = endpoint.host {
            return "\(endpoint.scheme ?? "https")://\(host)\(endpoint.port.map { ":\($0)" } ?? "")"
        }
        return "https://s3.\(regionBox.value).amazonaws.com"
    }

    // MARK: Requests

    /// Every object under `prefix` (ListObjectsV2, all pages).
    public func list(prefix: String) throws(TransferError) -> [S3ListedObject] {
        var objects: [S3ListedObject] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let outcome = try send("GET", key: nil, query: query, what: "list s3://\(name)/\(prefix)")
            let text = String(decoding: outcome.body, as: UTF8.self)
            for contents in XMLText.elements("Contents", in: text) {
                guard let key = XMLText.element("Key", in: contents).map(XMLText.unescape) else { continue }
                let size = XMLText.element("Size", in: contents).flatMap { Int64($0) } ?? -1
                objects.append(S3ListedObject(key: key, size: size))
            }
            let truncated = XMLText.element("IsTruncated", in: text) == "true"
            token = truncated ? XMLText.element("NextContinuationToken", in: text).map(XMLText.unescape) : nil
        } while token != nil
        return objects
    }

    /// The size and recorded SHA-256 of an object, nil when it does not exist.
    public func head(_ key: String) throws(TransferError) -> S3ObjectHead? {
        let outcome = try send("HEAD", key: key, what: "read s3://\(name)/\(key)", allowNotFound: true)
        if outcome.status == 404 { return nil }
        let size = outcome.headers["content-length"].flatMap { Int64($0) } ?? -1
        return S3ObjectHead(size: size, sha256: outcome.headers["x-amz-meta-sha256"]?.lowercased())
    }

    /// Deletes an object (absent objects are fine).
    public func delete(_ key: String) throws(TransferError) {
        _ = try send("DELETE", key: key, what: "delete s3://\(name)/\(key)", allowNotFound: true)
    }

    /// Uploads `source` as `key`, whose bytes must have SHA-256 `sha256` (hex) and `size` bytes.
    ///
    /// The bytes are hashed as they are sent; if they do not match `sha256` the object is not
    /// left behind (a multipart upload is aborted, a plain object deleted) and `.checksumMismatch`
    /// is thrown.
    ///
    /// - Parameter progress: told the bytes of this object sent so far.
    public func put(
        _ key: String, source: S3UploadSource, sha256: String, size: Int64, contentType: String?,
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) throws(TransferError) {
        if case .file(let path) = source, size >= upload.multipartThreshold, size > 0 {
            try putMultipart(key, path: path, sha256: sha256, size: size, contentType: contentType, progress: progress)
            return
        }
        let body: CurlBody
        switch source {
        case .bytes(let bytes): body = .bytes(bytes)
        case .file(let path): body = .file(path: path, offset: 0, length: size)
        }
        var headers = objectHeaders(sha256: sha256, contentType: contentType)
        headers["x-amz-checksum-sha256"] = Self.base64(hex: sha256)
        let outcome = try send(
            "PUT", key: key, headers: headers, body: body, payloadHash: sha256, what: "upload s3://\(name)/\(key)",
            progress: progress)
        if outcome.sentSHA256 != sha256 || outcome.sentBytes != size {
            try? delete(key)
            throw mismatch(key, sent: outcome.sentSHA256 ?? "", bytes: outcome.sentBytes, sha256: sha256, size: size)
        }
    }

    private func objectHeaders(sha256: String, contentType: String?) -> [String: String] {
        var headers = ["x-amz-meta-sha256": sha256]
        if let contentType { headers["content-type"] = contentType }
        return headers
    }

    private func mismatch(_ key: String, sent: String, bytes: Int64, sha256: String, size: Int64) -> TransferError {
        TransferError(
            kind: .checksumMismatch(expected: sha256, actual: sent),
            message:
                "The bytes sent to s3://\(name)/\(key) (\(bytes) bytes, sha-256 \(sent)) are not the stored ones (\(size) bytes, sha-256 \(sha256)); the object was not kept: check the repository with `verify` and export again.",
            source: "s3://\(name)/\(key)")
    }

    /// CreateMultipartUpload, one UploadPart per ``S3UploadConfiguration/partSize`` bytes (each
    /// read twice from disk: once to hash it, once to send it), CompleteMultipartUpload;
    /// AbortMultipartUpload on any failure.
    private func putMultipart(
        _ key: String, path: String, sha256: String, size: Int64, contentType: String?,
        progress: @escaping @Sendable (Int64) -> Void
    ) throws(TransferError) {
        let what = "upload s3://\(name)/\(key)"
        var headers = objectHeaders(sha256: sha256, contentType: contentType)
        headers["x-amz-checksum-algorithm"] = "SHA256"
        let created = try send("POST", key: key, query: [("uploads", "")], headers: headers, what: what)
        guard let uploadID = XMLText.element("UploadId", in: String(decoding: created.body, as: UTF8.self)) else {
            throw failure(what, reason: "S3 answered CreateMultipartUpload without an UploadId", fix: "try again")
        }
        do throws(TransferError) {
            let partSize = max(5 << 20, upload.partSize)
            var whole = SHA256()
            var parts: [(number: Int, etag: String, checksum: String)] = []
            var offset: Int64 = 0
            var number = 1
            while offset < size {
                let length = min(partSize, size - offset)
                let partHex = try hashRange(path: path, offset: offset, length: length, into: &whole, what: what)
                let base = offset
                let outcome = try send(
                    "PUT", key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
                    headers: ["x-amz-checksum-sha256": Self.base64(hex: partHex)],
                    body: .file(path: path, offset: offset, length: length), payloadHash: partHex, what: what,
                    progress: { progress(base + $0) })
                guard outcome.sentSHA256 == partHex, outcome.sentBytes == length else {
                    throw mismatch(
                        key, sent: outcome.sentSHA256 ?? "", bytes: outcome.sentBytes, sha256: partHex, size: length)
                }
                guard let etag = outcome.headers["etag"] else {
                    throw failure(what, reason: "S3 answered UploadPart without an ETag", fix: "try again")
                }
                parts.append((number, etag, Self.base64(hex: partHex)))
                offset += length
                number += 1
            }
            let actual = encodeHex(whole.finalize())
            guard actual == sha256 else { throw mismatch(key, sent: actual, bytes: size, sha256: sha256, size: size) }
            var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            for part in parts {
                xml +=
                    "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(XMLText.escape(part.etag))</ETag><ChecksumSHA256>\(part.checksum)</ChecksumSHA256></Part>"
            }
            xml += "</CompleteMultipartUpload>"
            let body = Array(xml.utf8)
            let completed = try send(
                "POST", key: key, query: [("uploadId", uploadID)], headers: ["content-type": "application/xml"],
                body: .bytes(body), payloadHash: encodeHex(SHA256.hash(data: body)), what: what)
            // CompleteMultipartUpload can fail after a 200 status line: the error is in the body.
            let answer = String(decoding: completed.body, as: UTF8.self)
            if answer.contains("<Error>") {
                let code = XMLText.element("Code", in: answer) ?? "an error"
                throw failure(what, reason: "S3 answered CompleteMultipartUpload with \(code)", fix: "try again")
            }
        } catch {
            _ = try? send("DELETE", key: key, query: [("uploadId", uploadID)], what: what, allowNotFound: true)
            throw error
        }
    }

    /// SHA-256 of a byte range of a file, also fed into `whole`.
    private func hashRange(
        path: String, offset: Int64, length: Int64, into whole: inout SHA256, what: String
    ) throws(TransferError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw failure(
                what, reason: "cannot open \(path) (\(String(cString: strerror(errno))))", fix: "check the file")
        }
        defer { close(fd) }
        var part = SHA256()
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(chunk), length - done))
            guard let base = buffer.baseAddress else { break }
            let n = pread(fd, base, want, off_t(offset + done))
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw failure(what, reason: "\(path) is shorter than its recorded size", fix: "check it with `verify`")
            }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            part.update(bufferPointer: slice)
            whole.update(bufferPointer: slice)
            done += Int64(n)
        }
        return encodeHex(part.finalize())
    }

    private func failure(
        _ what: String, reason: String, fix: String, kind: TransferError.Kind = .io, status: Int? = nil
    )
        -> TransferError
    {
        TransferError(
            kind: kind, message: "Could not \(what): \(reason); \(fix).", source: "s3://\(name)/", httpStatus: status)
    }

    static func base64(hex: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) ?? hex.endIndex
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return Data(bytes).base64EncodedString()
    }

    // MARK: Sending

    /// Sends one signed request, retrying transient failures; returns a 2xx outcome (or a 404
    /// when `allowNotFound`).
    func send(
        _ method: String, key: String?, query: [(name: String, value: String)] = [], headers: [String: String] = [:],
        body: CurlBody = .none, payloadHash: String = SigV4Signer.emptyPayloadHash, what: String,
        allowNotFound: Bool = false, progress: @escaping (Int64) -> Void = { _ in }
    ) throws(TransferError) -> CurlCallOutcome {
        var attempt = 0
        var regionChanged = false
        while true {
            attempt += 1
            let region = regionBox.value
            let request = makeRequest(
                method, key: key, query: query, headers: headers, body: body, payloadHash: payloadHash, region: region)
            guard let handle = handles.take() else {
                throw failure(what, reason: "libcurl could not create a transfer handle", fix: "check libcurl")
            }
            let outcome = CurlCall.perform(request, handle: handle, progress: progress)
            handles.give(handle)
            if let problem = outcome.readError {
                throw failure(
                    what, reason: "reading the local file failed (\(problem))",
                    fix: "check the repository with `verify`")
            }
            var retryReason: String
            if outcome.code != CURLE_OK.rawValue {
                let reachable =
                    outcome.code != CURLE_COULDNT_CONNECT.rawValue
                    && outcome.code != CURLE_COULDNT_RESOLVE_HOST.rawValue
                retryReason =
                    reachable
                    ? "the connection to \(endpointDescription) failed (\(outcome.curlMessage))"
                    : "\(endpointDescription) cannot be reached (\(outcome.curlMessage))"
                if outcome.code == CURLE_PEER_FAILED_VERIFICATION.rawValue {
                    throw failure(
                        what, reason: retryReason,
                        fix: "check the endpoint, or point AWS_CA_BUNDLE at the CA bundle that signs its certificate",
                        kind: .network)
                }
            } else if (200..<300).contains(outcome.status) || (allowNotFound && outcome.status == 404) {
                return outcome
            } else {
                let error = S3ErrorDocument(String(decoding: outcome.body, as: UTF8.self))
                let newRegion = outcome.headers["x-amz-bucket-region"] ?? error.region
                if [301, 307, 400].contains(outcome.status), let newRegion, !newRegion.isEmpty, newRegion != region,
                    !regionChanged
                {
                    regionChanged = true
                    regionBox.value = newRegion
                    attempt -= 1
                    continue
                }
                var answered =
                    "S3 answered \(outcome.status) \(HTTPStatus.phrase(outcome.status, given: outcome.reason))"
                if let code = error.code { answered += " (\(code))" }
                switch outcome.status {
                case 401, 403:
                    let fix =
                        settings.credentials == nil
                        ? "provide AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) that may write to the bucket"
                        : "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that they may write to s3://\(name)/"
                            + (settings.requesterPays ? "" : ", and add --requester-pays for a requester-pays bucket")
                    throw failure(what, reason: answered, fix: fix, kind: .accessDenied, status: outcome.status)
                case 404:
                    let fix =
                        error.code == "NoSuchBucket"
                        ? "create the bucket first, or check its name and AWS_ENDPOINT_URL" : "check the bucket and key"
                    throw failure(what, reason: answered, fix: fix, kind: .notFound, status: outcome.status)
                case 408, 429, 500, 502...599:
                    retryReason = answered
                default:
                    throw failure(
                        what, reason: answered, fix: "check the bucket and its settings",
                        kind: .http(status: outcome.status), status: outcome.status)
                }
            }
            guard attempt <= configuration.retries else {
                let times = attempt == 1 ? "" : " on all \(attempt) attempts"
                throw failure(
                    what, reason: retryReason + times, fix: "check AWS_ENDPOINT_URL, the network and the bucket",
                    kind: .network)
            }
            let delay = min(
                configuration.maxRetryDelay, configuration.retryBaseDelay * pow(2, Double(min(attempt - 1, 30))))
            Thread.sleep(forTimeInterval: delay * Double.random(in: 0.5...1))
        }
    }

    private func makeRequest(
        _ method: String, key: String?, query: [(name: String, value: String)], headers: [String: String],
        body: CurlBody, payloadHash: String, region: String
    ) -> CurlCallRequest {
        var address = settings.address(bucket: name, key: key ?? "", region: region)
        if key == nil, address.path.count > 1, address.path.hasSuffix("/") {
            // The bucket itself: `/bucket`, not `/bucket/` (path style).
            address.path.removeLast()
            address.url.removeLast()
        }
        let canonicalQuery = SigV4Signer.canonicalQuery(query)
        var url = address.url
        if !query.isEmpty {
            // `?uploads` is sent bare, as botocore sends it (and signed as `uploads=`).
            let sent = query.count == 1 && query[0].value.isEmpty ? query[0].name : canonicalQuery
            url += "?" + sent
        }
        var signedHeaders = headers
        if settings.requesterPays { signedHeaders["x-amz-request-payer"] = "requester" }
        var lines = signedHeaders.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        if let credentials = settings.credentials {
            let signer = SigV4Signer(credentials: credentials, region: region)
            let signed = signer.sign(
                method: method, host: address.host, canonicalPath: address.path, canonicalQuery: canonicalQuery,
                headers: signedHeaders, payloadHash: payloadHash, date: Date())
            lines += signed.map { "\($0.name): \($0.value)" }
        }
        return CurlCallRequest(
            method: method, url: url, headers: lines, body: body, caBundle: settings.caBundle,
            connectTimeout: configuration.connectTimeout, lowSpeedTimeout: configuration.lowSpeedTimeout,
            lowSpeedLimit: configuration.lowSpeedLimit, userAgent: configuration.userAgent)
    }

    // MARK: Concurrency

    /// Runs `body` for every element on at most `jobs` threads of their own (never the
    /// cooperative pool) and waits for them; after the first error no new element is started,
    /// and that error is thrown once the running ones are done.
    public static func forEach<T: Sendable>(
        _ elements: [T], jobs: Int, _ body: @escaping @Sendable (T) throws -> Void
    ) throws {
        guard !elements.isEmpty else { return }
        let state = WorkQueue(count: elements.count)
        let group = DispatchGroup()
        for _ in 0..<min(max(1, jobs), elements.count) {
            group.enter()
            let thread = Thread {
                while let index = state.next() {
                    do { try body(elements[index]) } catch { state.fail(error) }
                }
                group.leave()
            }
            thread.name = "s3 upload"
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        if let error = state.error { throw error }
    }
}

/// The next index to work on, and the first error.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var position = 0
    private let count: Int
    private var firstError: (any Error)?

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.withLock {
            guard firstError == nil, position < count else { return nil }
            position += 1
            return position - 1
        }
    }

    func fail(_ error: any Error) {
        lock.withLock { if firstError == nil { firstError = error } }
    }

    var error: (any Error)? { lock.withLock { firstError } }
}

/// The region requests are signed for; learned from S3's answer when the bucket lives elsewhere.
private final class RegionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var region: String
    init(_ region: String) { self.region = region }
    var value: String {
        get { lock.withLock { region } }
        set { lock.withLock { region = newValue } }
    }
}
