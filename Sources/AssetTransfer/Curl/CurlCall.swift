internal import CCurl
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The body of an upload: bytes in memory (a JSON document) or a byte range of a file, read in
/// small chunks as libcurl asks for them, so a part or an object is never held in memory.
enum CurlBody: Sendable {
    case none
    case bytes([UInt8])
    /// `length` bytes of the file at `path` from `offset`.
    case file(path: String, offset: Int64, length: Int64)

    var length: Int64 {
        switch self {
        case .none: 0
        case .bytes(let b): Int64(b.count)
        case .file(_, _, let length): length
        }
    }
}

/// One request with any method and an optional streamed body, run by ``CurlCall/perform(_:handle:)``.
struct CurlCallRequest: Sendable {
    var method: String
    var url: String
    /// Header lines, `Name: value`.
    var headers: [String]
    var body: CurlBody = .none
    var caBundle: String?
    var connectTimeout: Double
    var lowSpeedTimeout: Double
    var lowSpeedLimit: Int
    var userAgent: String
    /// The largest response body kept (a ListObjectsV2 page is well under it).
    var responseLimit = 8 << 20
}

/// What one request produced.
struct CurlCallOutcome: Sendable {
    var code: UInt32
    var curlMessage: String
    var status = 0
    var reason = ""
    /// Response headers, names lowercased.
    var headers: [String: String] = [:]
    var body: [UInt8] = []
    /// The SHA-256 (hex) of the body bytes libcurl actually sent, when there was a body.
    var sentSHA256: String?
    var sentBytes: Int64 = 0
    /// Reading the body's file failed.
    var readError: String?

    var succeeded: Bool { code == CURLE_OK.rawValue && (200..<300).contains(status) }
}

/// The state of one request's callbacks.
private final class CurlCallContext {
    let body: CurlBody
    let limit: Int
    let progress: (Int64) -> Void
    var outcome = CurlCallOutcome(code: 0, curlMessage: "")
    var hasher = SHA256()
    var position: Int64 = 0
    var descriptor: Int32 = -1
    var lastProgress: UInt64 = 0

    init(body: CurlBody, limit: Int, progress: @escaping (Int64) -> Void) {
        self.body = body
        self.limit = limit
        self.progress = progress
        if case .file(let path, _, _) = body {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { outcome.readError = "cannot open \(path): \(String(cString: strerror(errno)))" }
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    func header(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            let parts = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            outcome.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            outcome.reason = parts.count > 2 ? String(parts[2]) : ""
            outcome.headers = [:]
            outcome.body = []
            return
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return }
        let name = trimmed[..<colon].lowercased()
        outcome.headers[name] = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    func received(_ bytes: UnsafeRawBufferPointer) {
        let room = limit - outcome.body.count
        if room > 0 { outcome.body.append(contentsOf: bytes.prefix(room)) }
    }

    /// Fills `buffer` with the next body bytes; returns how many (0 at the end), or nil to abort.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let remaining = body.length - position
        let count = Int(min(Int64(buffer.count), remaining))
        guard count > 0 else { return 0 }
        switch body {
        case .none:
            return 0
        case .bytes(let bytes):
            let start = Int(position)
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + count]))
            }
        case .file(_, let offset, _):
            guard descriptor >= 0, let base = buffer.baseAddress else { return nil }
            var done = 0
            while done < count {
                let n = pread(descriptor, base + done, count - done, off_t(offset + position + Int64(done)))
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    outcome.readError = n == 0 ? "the file is shorter than expected" : String(cString: strerror(errno))
                    return nil
                }
                done += n
            }
        }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        position += Int64(count)
        let now = DispatchTime.now().uptimeNanoseconds
        if now - lastProgress > 100_000_000 {
            lastProgress = now
            progress(position)
        }
        return count
    }
}

enum CurlCall {
    /// Performs one request with `curl_easy_perform` on the calling (dedicated) thread.
    static func perform(
        _ request: CurlCallRequest, handle: CurlEasyHandle, progress: @escaping (Int64) -> Void = { _ in }
    ) -> CurlCallOutcome {
        handle.reset()
        let context = CurlCallContext(body: request.body, limit: request.responseLimit, progress: progress)
        if let problem = context.outcome.readError {
            return CurlCallOutcome(code: CURLE_READ_ERROR.rawValue, curlMessage: problem, readError: problem)
        }
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        let userdata = unmanaged.toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip before each body.
        for line in request.headers + ["Expect:"] {
            headerList = curl_slist_append(headerList, line)
        }
        defer { curl_slist_free_all(headerList) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        handle.set(CURLOPT_URL, request.url)
        handle.set(CURLOPT_NOSIGNAL, 1)
        handle.set(CURLOPT_PATH_AS_IS, 1)
        handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
        handle.set(CURLOPT_FOLLOWLOCATION, 0)
        handle.set(CURLOPT_SSL_VERIFYPEER, 1)
        handle.set(CURLOPT_SSL_VERIFYHOST, 2)
        handle.set(CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(request.connectTimeout * 1000)))
        handle.set(CURLOPT_LOW_SPEED_LIMIT, max(1, request.lowSpeedLimit))
        handle.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(request.lowSpeedTimeout.rounded(.up))))
        handle.set(CURLOPT_TCP_KEEPALIVE, 1)
        handle.set(CURLOPT_MAXCONNECTS, 2)
        handle.set(CURLOPT_USERAGENT, request.userAgent)
        if let caBundle = request.caBundle { handle.set(CURLOPT_CAINFO, caBundle) }
        switch request.method {
        case "GET":
            handle.set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            handle.set(CURLOPT_NOBODY, 1)
        default:
            handle.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        if request.method == "PUT" || request.method == "POST" {
            handle.set(CURLOPT_UPLOAD, 1)
            handle.set(CURLOPT_UPLOAD_BUFFERSIZE, 256 << 10)
            _ = ccurl_setopt_off_t(handle.raw, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.length))
            _ = ccurl_setopt_read_function(handle.raw) { pointer, size, count, userdata in
                guard let userdata, let pointer else { return 0x1000_0000 }  // CURL_READFUNC_ABORT
                let context = Unmanaged<CurlCallContext>.fromOpaque(userdata).takeUnretainedValue()
                let buffer = UnsafeMutableRawBufferPointer(start: pointer, count: size * count)
                return context.read(into: buffer) ?? 0x1000_0000
            }
            handle.set(CURLOPT_READDATA, pointer: userdata)
        }
        _ = ccurl_setopt_slist(handle.raw, CURLOPT_HTTPHEADER, headerList)
        handle.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        _ = ccurl_setopt_write_function(handle.raw) { pointer, size, count, userdata in
            guard let userdata else { return 0 }
            let context = Unmanaged<CurlCallContext>.fromOpaque(userdata).takeUnretainedValue()
            context.received(UnsafeRawBufferPointer(start: pointer, count: size * count))
            return size * count
        }
        handle.set(CURLOPT_WRITEDATA, pointer: userdata)
        _ = ccurl_setopt_header_function(handle.raw) { pointer, size, count, userdata in
            guard let userdata, let pointer else { return 0 }
            let context = Unmanaged<CurlCallContext>.fromOpaque(userdata).takeUnretainedValue()
            context.header(String(decoding: UnsafeRawBufferPointer(start: pointer, count: size * count), as: UTF8.self))
            return size * count
        }
        handle.set(CURLOPT_HEADERDATA, pointer: userdata)

        let code = curl_easy_perform(handle.raw)
        var outcome = context.outcome
        outcome.code = code.rawValue
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            outcome.curlMessage = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        }
        if outcome.status == 0 { outcome.status = handle.responseCode() }
        if request.body.length > 0 {
            outcome.sentBytes = context.position
            outcome.sentSHA256 = encodeHex(context.hasher.finalize())
            progress(context.position)
        }
        return outcome
    }
}
