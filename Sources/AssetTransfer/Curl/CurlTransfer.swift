internal import CCurl
import Foundation

/// One GET request to run with libcurl: everything that may change between attempts is here.
struct CurlRequest: Sendable {
    var url: String
    /// Header lines, `Name: value`.
    var headers: [String]
    var followRedirects: Bool
    var maxRedirects: Int
    /// Sends the path exactly as written (S3 keys may contain `..` or `//`).
    var pathAsIs: Bool
    var netrcFile: String??
    var caBundle: String?
    var connectTimeout: Double
    var lowSpeedTimeout: Double
    var lowSpeedLimit: Int
    var userAgent: String
    /// The byte offset asked for with `Range: bytes=N-`, or 0. The header itself is in ``headers``.
    var resumeFrom: Int64
    /// Asks for the headers only (`HEAD`, libcurl's `CURLOPT_NOBODY`).
    var headOnly = false
    /// A body to send with `POST` (a STAC API search); its `Content-Type` is in ``headers``.
    var postBody: Data?
}

/// What one libcurl attempt produced.
struct CurlOutcome: Sendable {
    /// libcurl's result code (`CURLE_*` raw value).
    var code: UInt32
    /// libcurl's message for a failure.
    var curlMessage: String
    /// The status of the last response, 0 when none arrived.
    var status: Int = 0
    /// The reason phrase of the last response's status line (empty in HTTP/2).
    var reason: String = ""
    /// The last response's headers, names lowercased.
    var headers: [String: String] = [:]
    /// The start of the body of an unsuccessful response (an S3 error document, say).
    var errorBody: String = ""
    /// The server said it accepts byte ranges (`Accept-Ranges: bytes` or a 206 answer).
    var acceptsRanges = false
    /// A local failure while storing the bytes.
    var sinkError: SinkError?
    /// The transfer was stopped because its task was cancelled.
    var cancelled = false
    /// A resumed request got a 206 for another range than asked; the next attempt starts from 0.
    var rangeMismatch = false
    /// Where a redirect response points, resolved by libcurl (`CURLINFO_REDIRECT_URL`).
    var redirectURL: String?

    var succeeded: Bool { code == CURLE_OK.rawValue && (200..<300).contains(status) }
}

/// The state libcurl's callbacks work on during one attempt (reached through `userdata`).
private final class CurlCallbackContext {
    let sink: ByteSink
    let resumeFrom: Int64
    let cancellation: CancellationFlag
    let progress: (Int64) -> Void
    var outcome = CurlOutcome(code: 0, curlMessage: "")
    /// The current response is a success whose body goes to the sink.
    var bodyIsPayload = false
    var bodyStarted = false
    var lastProgress: UInt64 = 0
    static let errorBodyLimit = 4096

    init(sink: ByteSink, resumeFrom: Int64, cancellation: CancellationFlag, progress: @escaping (Int64) -> Void) {
        self.sink = sink
        self.resumeFrom = resumeFrom
        self.cancellation = cancellation
        self.progress = progress
    }

    func header(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new response (after a redirect or a 1xx): forget the previous one.
            let parts = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            outcome.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            outcome.reason = parts.count > 2 ? String(parts[2]) : ""
            outcome.headers = [:]
            outcome.errorBody = ""
            bodyStarted = false
            bodyIsPayload = false
            return
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return }
        let name = trimmed[..<colon].lowercased()
        let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        outcome.headers[name] = value
    }

    /// Returns false to abort the transfer.
    func body(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if !bodyStarted {
            bodyStarted = true
            bodyIsPayload = (200..<300).contains(outcome.status)
            if bodyIsPayload, !startPayload() { return false }
        }
        guard bodyIsPayload else {
            if outcome.errorBody.utf8.count < Self.errorBodyLimit {
                outcome.errorBody += String(decoding: bytes.prefix(Self.errorBodyLimit), as: UTF8.self)
            }
            return true
        }
        do {
            try sink.append(bytes)
        } catch {
            outcome.sinkError = error
            return false
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if now - lastProgress > 100_000_000 {
            lastProgress = now
            progress(sink.count)
        }
        return true
    }

    /// Decides, at the first byte of a successful body, whether it continues or replaces what the sink holds.
    func startPayload() -> Bool {
        if outcome.status == 206 || outcome.headers["accept-ranges"]?.lowercased() == "bytes" {
            outcome.acceptsRanges = true
        }
        guard resumeFrom > 0 else {
            if outcome.status == 206, contentRangeStart() != 0 {
                outcome.rangeMismatch = true
                return false
            }
            return true
        }
        if outcome.status == 206 {
            guard contentRangeStart() == sink.count else {
                outcome.rangeMismatch = true
                return false
            }
            return true
        }
        // 200: the server sent the whole body again (it ignored Range, or If-Range saw a change).
        do {
            try sink.restart()
            return true
        } catch {
            outcome.sinkError = error
            return false
        }
    }

    /// The first byte position of `Content-Range: bytes START-END/TOTAL`.
    func contentRangeStart() -> Int64? {
        guard let value = outcome.headers["content-range"]?.lowercased(), value.hasPrefix("bytes ") else { return nil }
        let range = value.dropFirst("bytes ".count)
        guard let dash = range.firstIndex(of: "-") else { return nil }
        return Int64(range[..<dash].trimmingCharacters(in: .whitespaces))
    }
}

enum CurlTransfer {
    /// Performs one GET with `curl_easy_perform` on the calling (dedicated) thread, streaming the
    /// body of a successful response into `sink`.
    static func perform(
        _ request: CurlRequest, handle: CurlEasyHandle, sink: ByteSink, cancellation: CancellationFlag,
        progress: @escaping (Int64) -> Void
    ) -> CurlOutcome {
        handle.reset()
        let context = CurlCallbackContext(
            sink: sink, resumeFrom: request.resumeFrom, cancellation: cancellation, progress: progress)
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        let userdata = unmanaged.toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        for line in request.headers {
            headerList = curl_slist_append(headerList, line)
        }
        defer { curl_slist_free_all(headerList) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        handle.set(CURLOPT_URL, request.url)
        handle.set(CURLOPT_NOSIGNAL, 1)
        handle.set(CURLOPT_HTTPGET, 1)
        if request.headOnly { handle.set(CURLOPT_NOBODY, 1) }
        if let body = request.postBody {
            handle.set(CURLOPT_POST, 1)
            handle.set(CURLOPT_POSTFIELDSIZE, body.count)
            // COPYPOSTFIELDS copies the bytes at once: the pointer need not outlive this call.
            body.withUnsafeBytes { raw in
                _ = handle.set(CURLOPT_COPYPOSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            }
        }
        handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
        handle.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        handle.set(CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        handle.set(CURLOPT_MAXREDIRS, request.maxRedirects)
        handle.set(CURLOPT_SSL_VERIFYPEER, 1)
        handle.set(CURLOPT_SSL_VERIFYHOST, 2)
        handle.set(CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(request.connectTimeout * 1000)))
        handle.set(CURLOPT_LOW_SPEED_LIMIT, max(1, request.lowSpeedLimit))
        handle.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(request.lowSpeedTimeout.rounded(.up))))
        handle.set(CURLOPT_TCP_KEEPALIVE, 1)
        handle.set(CURLOPT_BUFFERSIZE, 256 << 10)
        // Each pooled handle keeps at most two idle connections: open sockets stay bounded by jobs.
        handle.set(CURLOPT_MAXCONNECTS, 2)
        handle.set(CURLOPT_USERAGENT, request.userAgent)
        if request.pathAsIs { handle.set(CURLOPT_PATH_AS_IS, 1) }
        if let netrc = request.netrcFile {
            handle.set(CURLOPT_NETRC, Int(CURL_NETRC_OPTIONAL.rawValue))
            if let file = netrc { handle.set(CURLOPT_NETRC_FILE, file) }
        }
        if let caBundle = request.caBundle { handle.set(CURLOPT_CAINFO, caBundle) }
        _ = ccurl_setopt_slist(handle.raw, CURLOPT_HTTPHEADER, headerList)
        handle.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))

        _ = ccurl_setopt_write_function(handle.raw) { pointer, size, count, userdata in
            guard let userdata else { return 0 }
            let context = Unmanaged<CurlCallbackContext>.fromOpaque(userdata).takeUnretainedValue()
            let total = size * count
            let accepted = context.body(UnsafeRawBufferPointer(start: pointer, count: total))
            return accepted ? total : 0
        }
        handle.set(CURLOPT_WRITEDATA, pointer: userdata)
        _ = ccurl_setopt_header_function(handle.raw) { pointer, size, count, userdata in
            guard let userdata, let pointer else { return 0 }
            let context = Unmanaged<CurlCallbackContext>.fromOpaque(userdata).takeUnretainedValue()
            let total = size * count
            let line = String(decoding: UnsafeRawBufferPointer(start: pointer, count: total), as: UTF8.self)
            context.header(line)
            return total
        }
        handle.set(CURLOPT_HEADERDATA, pointer: userdata)
        _ = ccurl_setopt_xferinfo_function(handle.raw) { userdata, _, _, _, _ in
            guard let userdata else { return 0 }
            let context = Unmanaged<CurlCallbackContext>.fromOpaque(userdata).takeUnretainedValue()
            return context.cancellation.isCancelled ? 1 : 0
        }
        handle.set(CURLOPT_XFERINFODATA, pointer: userdata)
        handle.set(CURLOPT_NOPROGRESS, 0)

        let code = curl_easy_perform(handle.raw)
        var outcome = context.outcome
        outcome.code = code.rawValue
        if code != CURLE_OK {
            let detail = String(cString: errorBuffer)
            outcome.curlMessage = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        }
        if outcome.status == 0 { outcome.status = handle.responseCode() }
        var redirect: UnsafeMutablePointer<CChar>?
        if ccurl_getinfo_string(handle.raw, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK, let redirect {
            outcome.redirectURL = String(cString: redirect)
        }
        if code == CURLE_ABORTED_BY_CALLBACK { outcome.cancelled = true }
        // A successful but empty body never reaches the write callback: settle resumption here.
        if code == CURLE_OK, (200..<300).contains(outcome.status), !context.bodyStarted {
            if request.resumeFrom > 0, outcome.status != 206 {
                do { try sink.restart() } catch { outcome.sinkError = error }
            }
        }
        if outcome.sinkError == nil {
            do { try sink.flush() } catch { outcome.sinkError = error }
        }
        if context.bodyStarted, context.bodyIsPayload { progress(sink.count) }
        return outcome
    }
}
