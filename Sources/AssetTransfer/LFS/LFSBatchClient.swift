internal import CCurl
internal import Crypto
public import Foundation

#if canImport(Glibc)
    internal import Glibc
#endif

/// One object in a Git LFS Batch API request: its sha-256 oid and size.
public struct LFSObjectSpec: Sendable, Hashable {
    public var oid: String
    public var size: Int64

    public init(oid: String, size: Int64) {
        self.oid = oid
        self.size = size
    }
}

/// An action of a batch response (`upload`, `verify`, `download`): where to send the request
/// and the headers the server asks for (they may carry credentials: never printed).
public struct LFSAction: Sendable {
    public var href: String
    public var header: [String: String]
}

/// One object of a batch response: its actions (none when the server already has it, for an
/// upload) or the server's error for it.
public struct LFSBatchObject: Sendable {
    public var oid: String
    public var size: Int64
    public var actions: [String: LFSAction]
    public var error: (code: Int, message: String)?
}

/// A failure talking to a Git LFS server, described for a sentence.
public enum LFSClientError: Error, Sendable, CustomStringConvertible {
    /// The connection failed (host unreachable, refused, timed out).
    case unreachable(url: String, detail: String)
    /// 401 or 403.
    case authRefused(url: String, status: Int)
    /// 404, 405 or 501 on the batch endpoint, or a response that is not a batch response.
    case noBatchAPI(url: String, status: Int)
    /// 413.
    case tooLarge(url: String)
    /// Another HTTP status (the last of `attempts` when it was a 429 or 5xx, retried).
    case status(url: String, status: Int, message: String, attempts: Int)
    /// The server reported an error for one object.
    case object(oid: String, code: Int, message: String)
    /// A downloaded object does not hash to its oid.
    case mismatch(oid: String, actual: String, size: Int64)
    /// A local file could not be read or written.
    case io(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreachable(let url, let detail): "cannot reach \(url): \(detail)"
        case .authRefused(let url, let status): "\(url) refused the credentials (HTTP \(status))"
        case .noBatchAPI(let url, let status): "\(url) does not offer the Git LFS Batch API (HTTP \(status))"
        case .tooLarge(let url): "\(url) refused an object as too large (HTTP 413)"
        case .status(let url, let status, let message, let attempts):
            "\(url) answered HTTP \(status)\(message.isEmpty ? "" : ": \(message)")"
                + (attempts > 1 ? " (\(attempts) attempts)" : "")
        case .object(let oid, let code, let message): "the server refused object \(oid) (\(code)): \(message)"
        case .mismatch(let oid, let actual, _): "object \(oid) arrived hashing to \(actual)"
        case .io(let path, let detail): "\(path): \(detail)"
        }
    }
}

/// A small Git LFS Batch API client over libcurl (`POST <endpoint>/objects/batch`, then the
/// basic transfer adapter's PUT/GET and `verify` POST). Synchronous: call it from a dedicated
/// thread. Request headers (credentials) go to the batch endpoint's host only; action requests
/// carry the action's own headers, plus ours when the action is on the same host and names no
/// `Authorization` of its own.
public struct LFSBatchClient: Sendable {
    public let endpoint: String
    let headers: [String]
    /// Easy handles kept between requests, so their connections are reused (one per transfer
    /// thread, as git-lfs keeps its connections alive).
    let handles = CurlHandlePool(capacity: 8)

    /// - Parameters:
    ///   - endpoint: the LFS URL (`…/info/lfs`), without `/objects/batch`.
    ///   - headers: header lines (`Name: value`) for the endpoint's host.
    public init(endpoint: String, headers: [String]) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.headers = headers
    }

    /// The most objects one batch request names (git-lfs sends 100).
    public static let batchLimit = 100

    /// Asks the server what to do with `objects` (at most ``batchLimit`` per request).
    public func batch(operation: String, objects: [LFSObjectSpec], ref: String?) throws -> [LFSBatchObject] {
        var out = [LFSBatchObject]()
        var start = 0
        while start < objects.count {
            let chunk = objects[start..<min(objects.count, start + Self.batchLimit)]
            start += chunk.count
            var body: [String: Any] = [
                "operation": operation, "transfers": ["basic"], "hash_algo": "sha256",
                "objects": chunk.map { ["oid": $0.oid, "size": $0.size] as [String: Any] },
            ]
            if let ref { body["ref"] = ["name": ref] }
            let data = try JSONSerialization.data(withJSONObject: body)
            let url = endpoint + "/objects/batch"
            let response = try perform(
                method: "POST", url: url,
                headers: headers + [
                    "Accept: application/vnd.git-lfs+json", "Content-Type: application/vnd.git-lfs+json",
                ],
                body: data)
            // giftless answers 404 (with a batch body) when every object is missing: the
            // per-object errors are the answer then.
            let parsed = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["objects"]
            if parsed == nil || !(200..<300).contains(response.status) && response.status != 404 {
                try check(response, url: url, batch: true)
            }
            guard let list = parsed as? [[String: Any]] else {
                throw LFSClientError.noBatchAPI(url: url, status: response.status)
            }
            for entry in list {
                guard let oid = entry["oid"] as? String else { continue }
                let size = (entry["size"] as? NSNumber)?.int64Value ?? 0
                var actions = [String: LFSAction]()
                for (name, value) in (entry["actions"] as? [String: Any]) ?? [:] {
                    guard let action = value as? [String: Any], let href = action["href"] as? String else { continue }
                    actions[name] = LFSAction(href: href, header: (action["header"] as? [String: String]) ?? [:])
                }
                var error: (Int, String)?
                if let e = entry["error"] as? [String: Any] {
                    error = ((e["code"] as? NSNumber)?.intValue ?? 0, (e["message"] as? String) ?? "")
                }
                out.append(LFSBatchObject(oid: oid, size: size, actions: actions, error: error))
            }
        }
        return out
    }

    /// Uploads `file` (streamed) with the `upload` action, then calls `verify` when given.
    public func upload(file: String, object: LFSObjectSpec, upload: LFSAction, verify: LFSAction?) throws {
        // The action's own Content-Type (an S3 presigned URL may have signed it) is sent once.
        let ownType = upload.header.keys.contains { $0.lowercased() == "content-type" }
        let response = try perform(
            method: "PUT", url: upload.href,
            headers: actionHeaders(upload) + (ownType ? [] : ["Content-Type: application/octet-stream"]),
            uploadFile: file, uploadSize: object.size)
        try check(response, url: upload.href, batch: false)
        if let verify {
            let body = try JSONSerialization.data(withJSONObject: ["oid": object.oid, "size": object.size])
            let response = try perform(
                method: "POST", url: verify.href,
                headers: actionHeaders(verify) + [
                    "Accept: application/vnd.git-lfs+json", "Content-Type: application/vnd.git-lfs+json",
                ],
                body: body)
            try check(response, url: verify.href, batch: false)
        }
    }

    /// Downloads an object with the `download` action into `temporary` (streamed, sha-256
    /// computed on arrival) and checks it against `object`.
    public func download(object: LFSObjectSpec, action: LFSAction, to temporary: String) throws {
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw LFSClientError.io(path: temporary, detail: String(cString: strerror(errno)))
        }
        let sink = FileHashSink(descriptor: descriptor)
        let response: Response
        do {
            response = try perform(method: "GET", url: action.href, headers: actionHeaders(action), sink: sink)
            fsync(descriptor)
            close(descriptor)
        } catch {
            close(descriptor)
            throw error
        }
        if let failure = sink.failure { throw LFSClientError.io(path: temporary, detail: failure) }
        try check(response, url: action.href, batch: false)
        let actual = sink.hash.finalize().map { String(format: "%02x", $0) }.joined()
        guard actual == object.oid, sink.count == object.size else {
            throw LFSClientError.mismatch(oid: object.oid, actual: actual, size: sink.count)
        }
    }

    private func actionHeaders(_ action: LFSAction) -> [String] {
        var lines = action.header.map { "\($0.key): \($0.value)" }
        let hasAuthorization = action.header.keys.contains { $0.lowercased() == "authorization" }
        if !hasAuthorization, Self.host(action.href) == Self.host(endpoint) {
            lines += headers.filter { $0.lowercased().hasPrefix("authorization:") }
        }
        return lines
    }

    static func host(_ url: String) -> String? {
        guard let components = URLComponents(string: url) else { return nil }
        return "\(components.scheme ?? "")://\(components.host ?? ""):\(components.port ?? -1)"
    }

    private func check(_ response: Response, url: String, batch: Bool) throws {
        switch response.status {
        case 200..<300: return
        case 401, 403: throw LFSClientError.authRefused(url: url, status: response.status)
        case 404, 405,
            501 where batch:
            throw LFSClientError.noBatchAPI(url: url, status: response.status)
        case 413: throw LFSClientError.tooLarge(url: url)
        default:
            let message =
                (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["message"] as? String ?? ""
            throw LFSClientError.status(
                url: url, status: response.status, message: message, attempts: response.attempts)
        }
    }

    struct Response {
        var status: Int
        var body: Data
        var attempts = 1
    }

    /// Attempts of one request: a connection failure (refused, reset, cut mid-transfer, timed
    /// out), a 429 or a 5xx other than 501 and 505 is retried after about 0.25, 0.5, 1, 2 and
    /// 4 s (±20 %, so concurrent transfers do not retry in step), six attempts in all; any
    /// other status is the answer. A streamed upload is sent again from its first byte (the
    /// basic transfer adapter has no partial upload); a download starts again from zero.
    static let retryDelays: [Double] = [0.25, 0.5, 1, 2, 4]

    private func perform(
        method: String, url: String, headers: [String], body: Data? = nil, uploadFile: String? = nil,
        uploadSize: Int64 = 0, sink: FileHashSink? = nil
    ) throws -> Response {
        var attempt = 0
        while true {
            do {
                var response = try performOnce(
                    method: method, url: url, headers: headers, body: body, uploadFile: uploadFile,
                    uploadSize: uploadSize, sink: sink)
                response.attempts = attempt + 1
                // 501 and 505 say the server cannot do this at all: no point asking again.
                let transient =
                    response.status == 429
                    || (500..<600).contains(response.status) && response.status != 501
                        && response.status != 505
                guard transient, attempt < Self.retryDelays.count, sink?.restart() ?? true else { return response }
            } catch LFSClientError.unreachable(let at, let detail) {
                guard attempt < Self.retryDelays.count, sink?.restart() ?? true else {
                    let tried = attempt > 0 ? ", \(attempt + 1) attempts" : ""
                    throw LFSClientError.unreachable(url: at, detail: detail + tried)
                }
            }
            Thread.sleep(forTimeInterval: Self.retryDelays[attempt] * Double.random(in: 0.8...1.2))
            attempt += 1
        }
    }

    private func performOnce(
        method: String, url: String, headers: [String], body: Data? = nil, uploadFile: String? = nil,
        uploadSize: Int64 = 0, sink: FileHashSink? = nil
    ) throws -> Response {
        guard CurlGlobal.initialized, let handle = handles.take() else {
            throw LFSClientError.unreachable(url: url, detail: "libcurl could not start")
        }
        handle.reset()
        let context = RequestContext(sink: sink)
        if let body { context.upload = [UInt8](body) }
        if let uploadFile {
            context.descriptor = open(uploadFile, O_RDONLY)
            guard context.descriptor >= 0 else {
                throw LFSClientError.io(path: uploadFile, detail: String(cString: strerror(errno)))
            }
        }
        defer { if context.descriptor >= 0 { close(context.descriptor) } }
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        let userdata = unmanaged.toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        for line in headers + ["Expect:"] { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        handle.set(CURLOPT_URL, url)
        handle.set(CURLOPT_NOSIGNAL, 1)
        handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
        handle.set(CURLOPT_FOLLOWLOCATION, 0)
        handle.set(CURLOPT_CONNECTTIMEOUT_MS, 15_000)
        handle.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        handle.set(CURLOPT_LOW_SPEED_TIME, 60)
        handle.set(CURLOPT_USERAGENT, "stac-repository git-lfs/3.3.0-compatible")
        handle.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        _ = ccurl_setopt_slist(handle.raw, CURLOPT_HTTPHEADER, list)
        if body != nil || uploadFile != nil {
            handle.set(CURLOPT_UPLOAD, 1)
            handle.set(CURLOPT_CUSTOMREQUEST, method)
            let size = uploadFile != nil ? uploadSize : Int64(context.upload.count)
            _ = ccurl_setopt_off_t(handle.raw, CURLOPT_INFILESIZE_LARGE, curl_off_t(size))
            let read: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
                buffer, size, count, userdata in
                guard let buffer, let userdata else { return 0 }
                let context = Unmanaged<RequestContext>.fromOpaque(userdata).takeUnretainedValue()
                return context.read(into: buffer, capacity: size * count)
            }
            handle.set(CURLOPT_READFUNCTION, pointer: unsafeBitCast(read, to: UnsafeMutableRawPointer.self))
            handle.set(CURLOPT_READDATA, pointer: userdata)
        } else if method != "GET" {
            handle.set(CURLOPT_CUSTOMREQUEST, method)
        }
        _ = ccurl_setopt_write_function(handle.raw) { pointer, size, count, userdata in
            guard let userdata, let pointer else { return 0 }
            let context = Unmanaged<RequestContext>.fromOpaque(userdata).takeUnretainedValue()
            return context.write(UnsafeRawBufferPointer(start: pointer, count: size * count)) ? size * count : 0
        }
        handle.set(CURLOPT_WRITEDATA, pointer: userdata)
        let code = curl_easy_perform(handle.raw)
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            throw LFSClientError.unreachable(
                url: url, detail: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        }
        let status = handle.responseCode()
        // Only a handle whose transfer completed goes back (with its live connection).
        handles.give(handle)
        return Response(status: status, body: context.body)
    }
}

/// Per-request state for libcurl's callbacks.
private final class RequestContext {
    var upload = [UInt8]()
    var uploadOffset = 0
    var descriptor: Int32 = -1
    var body = Data()
    let sink: FileHashSink?

    init(sink: FileHashSink?) { self.sink = sink }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        if descriptor >= 0 {
            let n = Glibc.read(descriptor, buffer, capacity)
            return n < 0 ? Int(CURL_READFUNC_ABORT) : n
        }
        let n = min(capacity, upload.count - uploadOffset)
        guard n > 0 else { return 0 }
        upload.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            UnsafeMutableRawPointer(buffer).copyMemory(from: base + uploadOffset, byteCount: n)
        }
        uploadOffset += n
        return n
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        // Error bodies are small and kept for the message; a payload streams to the sink.
        if let sink { return sink.write(bytes) }
        body.append(contentsOf: bytes)
        return body.count < 1 << 24
    }
}

/// Writes a download to a file descriptor while hashing it.
final class FileHashSink {
    let descriptor: Int32
    var hash = SHA256()
    var count: Int64 = 0
    var failure: String?

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// Starts over (before a retry): truncates the file and resets the hash.
    func restart() -> Bool {
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else { return false }
        hash = SHA256()
        count = 0
        failure = nil
        return true
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        hash.update(bufferPointer: bytes)
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return false }
            let n = Glibc.write(descriptor, base + offset, bytes.count - offset)
            if n <= 0 {
                failure = String(cString: strerror(errno))
                return false
            }
            offset += n
        }
        count += Int64(bytes.count)
        return true
    }
}
