internal import CCurl
import Foundation
import Logging

/// A remote source, with what is needed to address it.
enum RemoteTarget: Sendable {
    case http(url: String)
    case s3(bucket: String, key: String, settings: S3Settings)
    /// A bucket-level request (ListObjectsV2): the bucket's address with a signed query.
    case s3List(bucket: String, query: [(name: String, value: String)], settings: S3Settings)

    /// The S3 settings of an s3 target.
    var s3Settings: S3Settings? {
        switch self {
        case .http: nil
        case .s3(_, _, let settings), .s3List(_, _, let settings): settings
        }
    }
}

/// What to do after one attempt.
private enum Verdict {
    case success
    case fail(TransferError)
    /// Try again after a backoff; `restart` drops the bytes received so far.
    case retry(kind: TransferError.Kind, reason: String, status: Int?, retryAfter: Double?, restart: Bool)
    /// S3 says the bucket lives in another region: ask there (once, not counted as a retry).
    case changeRegion(String)
}

extension AssetTransferEngine {
    /// Fetches a remote source into `sink` with libcurl, retrying and resuming as configured.
    func remote(
        _ target: RemoteTarget, subject: TransferSubject, sink: ByteSink, cancellation: CancellationFlag,
        progress: @escaping @Sendable (Int64) -> Void, retrying: (@Sendable (Int, String) -> Void)?,
        headOnly: Bool = false, stamp: RemoteStampBox? = nil, body: Data? = nil
    ) async -> Result<Void, TransferError> {
        var attempt = 0
        var resumeFrom: Int64 = 0
        var acceptsRanges = false
        var validator: String?
        var region: String?
        if let settings = target.s3Settings { region = settings.region }
        var regionChanged = false
        let pool = handles
        // Redirects are followed here, one hop at a time, so that each hop's credentials are
        // decided for its own host (CredentialScope): libcurl never carries them to another host.
        var target = target
        var redirects = 0

        while true {
            attempt += 1
            var attemptRequest = makeCurlRequest(
                target, resumeFrom: resumeFrom, validator: validator, region: region, method: headOnly ? "HEAD" : "GET")
            attemptRequest.headOnly = headOnly
            if let body, case .http = target {
                attemptRequest.postBody = body
                attemptRequest.headers.append("Content-Type: application/json")
            }
            let request = attemptRequest
            let outcome: CurlOutcome? = await DedicatedThread.run("transfer \(subject.source)") {
                guard let handle = pool.take() else { return nil }
                defer { pool.give(handle) }
                return CurlTransfer.perform(
                    request, handle: handle, sink: sink, cancellation: cancellation, progress: progress)
            }
            guard let outcome else {
                return .failure(
                    subject.error(
                        .io, reason: "libcurl could not create a transfer handle", fix: "check libcurl's installation"))
            }
            if case .http(let current) = target, outcome.code == CURLE_OK.rawValue, !outcome.cancelled,
                [301, 302, 303, 307, 308].contains(outcome.status), let location = outcome.headers["location"]
            {
                guard let next = outcome.redirectURL ?? Self.redirectTarget(location, from: current),
                    CredentialScope.hostKey(ofURL: next) != nil
                else {
                    return .failure(
                        subject.error(
                            .invalidSource,
                            reason: "it redirected to a location that is not an http(s) URL",
                            fix: "fix the href", status: outcome.status, attempts: attempt))
                }
                redirects += 1
                guard redirects <= configuration.maxRedirects else {
                    return .failure(
                        subject.error(
                            .http(status: outcome.status),
                            reason: "it redirected more than \(configuration.maxRedirects) times",
                            status: outcome.status, attempts: attempt))
                }
                logger.debug(
                    "Following a redirect",
                    metadata: ["source": "\(subject.source)", "to": "\(SourceRedaction.redact(next))"])
                target = .http(url: next)
                attempt -= 1
                continue
            }
            if outcome.acceptsRanges, (200..<300).contains(outcome.status) {
                acceptsRanges = true
                validator = Self.validator(from: outcome.headers, target: target) ?? validator
            }

            switch classify(outcome, target: target, subject: subject, region: region, attempts: attempt) {
            case .success:
                stamp?.set(RemoteStamp(headers: outcome.headers, resumedFrom: resumeFrom))
                return .success(())
            case .fail(let error):
                return .failure(error)
            case .changeRegion(let newRegion):
                guard !regionChanged else {
                    return .failure(
                        subject.error(
                            .http(status: outcome.status), reason: "S3 keeps redirecting to region \(newRegion)",
                            fix: "set AWS_REGION to the bucket's region"))
                }
                logger.debug(
                    "Bucket is in another region", metadata: ["source": "\(subject.source)", "region": "\(newRegion)"])
                regionChanged = true
                region = newRegion
                attempt -= 1
                resumeFrom = 0
                do { try sink.restart() } catch { return .failure(subject.sinkFailure(error)) }
            case .retry(let kind, let reason, let status, let retryAfter, let restart):
                guard attempt <= configuration.retries else {
                    let times = attempt == 1 ? "" : " on all \(attempt) attempts"
                    return .failure(
                        subject.error(
                            kind, reason: reason + times, fix: retryFix(kind), status: status, attempts: attempt))
                }
                if let retryAfter, retryAfter > configuration.maxRetryDelay {
                    return .failure(
                        subject.error(
                            kind,
                            reason:
                                "\(reason) and asked to wait \(Int(retryAfter)) s, longer than the \(Int(configuration.maxRetryDelay)) s limit",
                            fix: "try again later", status: status, attempts: attempt))
                }
                if restart || !acceptsRanges || sink.count == 0 {
                    resumeFrom = 0
                    validator = restart ? nil : validator
                    do { try sink.restart() } catch { return .failure(subject.sinkFailure(error)) }
                } else {
                    resumeFrom = sink.count
                }
                let delay = backoff(attempt: attempt, retryAfter: retryAfter)
                logger.info(
                    "Retrying transfer",
                    metadata: [
                        "source": "\(subject.source)", "attempt": "\(attempt)", "reason": "\(reason)",
                        "delay": "\(delay)", "resumeFrom": "\(resumeFrom)",
                    ])
                retrying?(attempt, reason)
                do {
                    try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                } catch {
                    return .failure(
                        subject.error(.cancelled, reason: "the transfer was cancelled", fix: "run it again"))
                }
            }
        }
    }

    /// The absolute http(s) URL a `Location` header points to, resolved against the current URL.
    static func redirectTarget(_ location: String, from current: String) -> String? {
        guard let base = URL(string: current),
            let url = URL(string: location.trimmingCharacters(in: .whitespaces), relativeTo: base)
        else { return nil }
        let absolute = url.absoluteString
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else { return nil }
        return absolute
    }

    /// The delay before retry number `attempt`: base · 2^(attempt-1), scaled by a random factor in
    /// [0.5, 1] (jitter), capped at `maxRetryDelay`, and at least what `Retry-After` asked.
    func backoff(attempt: Int, retryAfter: Double?) -> Double {
        let exponential = configuration.retryBaseDelay * pow(2, Double(min(attempt - 1, 30)))
        let jittered = min(configuration.maxRetryDelay, exponential) * Double.random(in: 0.5...1)
        return max(jittered, retryAfter ?? 0)
    }

    private func retryFix(_ kind: TransferError.Kind) -> String? {
        switch kind {
        case .timeout: "check the network, raise the timeouts, or use --on-asset-error reference"
        case .network: "check the network and the href, or use --on-asset-error reference"
        default: nil
        }
    }

    /// A strong ETag or Last-Modified date that makes a resumed request conditional.
    private static func validator(from headers: [String: String], target: RemoteTarget) -> String? {
        if let etag = headers["etag"], !etag.hasPrefix("W/") { return etag }
        if case .http = target { return headers["last-modified"] }
        return nil
    }

    /// The libcurl request of one attempt; s3 requests are signed afresh each time.
    func makeCurlRequest(
        _ target: RemoteTarget, resumeFrom: Int64, validator: String?, region: String?, method: String = "GET"
    ) -> CurlRequest {
        var request = CurlRequest(
            url: "", headers: [], followRedirects: true, maxRedirects: configuration.maxRedirects, pathAsIs: false,
            netrcFile: nil, caBundle: nil, connectTimeout: configuration.connectTimeout,
            lowSpeedTimeout: configuration.lowSpeedTimeout, lowSpeedLimit: configuration.lowSpeedLimit,
            userAgent: configuration.userAgent, resumeFrom: resumeFrom)
        switch target {
        case .http(let url):
            request.url = configuration.allowUserinfo ? url : CredentialScope.withoutUserinfo(url)
            request.followRedirects = false
            request.caBundle = configuration.httpCABundle
            // Credentials only for the hosts the user named (CredentialScope owns the rule),
            // decided on the very URL libcurl is given.
            let scoped = CredentialScope.allows(request.url, configuration: configuration)
            if scoped, configuration.useNetrc {
                request.netrcFile = .some(nonEmpty(configuration.environment["NETRC"]))
            }
            var lines: [String] = []
            if scoped {
                lines = configuration.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                if let token = configuration.bearerToken,
                    !configuration.headers.keys.contains(where: { $0.lowercased() == "authorization" })
                {
                    lines.append("Authorization: Bearer \(token)")
                }
            }
            if resumeFrom > 0 {
                lines.append("Range: bytes=\(resumeFrom)-")
                if let validator { lines.append("If-Range: \(validator)") }
            }
            request.headers = lines
        case .s3(let bucket, let key, let settings):
            let region = region ?? settings.region
            let address = settings.address(bucket: bucket, key: key, region: region)
            request.url = address.url
            request.followRedirects = false
            request.pathAsIs = true
            request.caBundle = settings.caBundle
            var headers: [String: String] = [:]
            if resumeFrom > 0 {
                headers["range"] = "bytes=\(resumeFrom)-"
                if let validator { headers["if-match"] = validator }
            }
            if settings.requesterPays { headers["x-amz-request-payer"] = "requester" }
            var lines = headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            if let credentials = settings.credentials {
                let signer = SigV4Signer(credentials: credentials, region: region)
                let signed = signer.sign(
                    method: method, host: address.host, canonicalPath: address.path, headers: headers, date: Date())
                lines += signed.map { "\($0.name): \($0.value)" }
            }
            request.headers = lines
        case .s3List(let bucket, let query, let settings):
            let region = region ?? settings.region
            let address = settings.bucketAddress(bucket: bucket, region: region)
            let canonicalQuery = SigV4Signer.canonicalQuery(query)
            // The query sent is exactly the canonical one that is signed.
            request.url = address.url + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery)
            request.followRedirects = false
            request.pathAsIs = true
            request.caBundle = settings.caBundle
            var headers: [String: String] = [:]
            if settings.requesterPays { headers["x-amz-request-payer"] = "requester" }
            var lines = headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
            if let credentials = settings.credentials {
                let signer = SigV4Signer(credentials: credentials, region: region)
                let signed = signer.sign(
                    method: method, host: address.host, canonicalPath: address.path, canonicalQuery: canonicalQuery,
                    headers: headers, date: Date())
                lines += signed.map { "\($0.name): \($0.value)" }
            }
            request.headers = lines
        }
        return request
    }

    private func classify(
        _ outcome: CurlOutcome, target: RemoteTarget, subject: TransferSubject, region: String?, attempts: Int
    ) -> Verdict {
        if outcome.cancelled {
            return .fail(
                subject.error(.cancelled, reason: "the transfer was cancelled", fix: "run it again", attempts: attempts)
            )
        }
        if let sinkError = outcome.sinkError { return .fail(subject.sinkFailure(sinkError)) }
        if outcome.rangeMismatch {
            return .retry(
                kind: .network, reason: "the server answered another byte range than the one asked for",
                status: outcome.status,
                retryAfter: nil, restart: true)
        }
        if outcome.code != CURLE_OK.rawValue {
            return classifyCurlFailure(outcome, subject: subject, attempts: attempts)
        }
        if (200..<300).contains(outcome.status) { return .success }
        return classifyStatus(outcome, target: target, subject: subject, region: region, attempts: attempts)
    }

    private func classifyCurlFailure(_ outcome: CurlOutcome, subject: TransferSubject, attempts: Int) -> Verdict {
        let code = outcome.code
        let detail = outcome.curlMessage
        func retry(_ kind: TransferError.Kind, _ reason: String) -> Verdict {
            .retry(kind: kind, reason: reason, status: nil, retryAfter: nil, restart: false)
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT.rawValue:
            return retry(.timeout, "the transfer timed out (\(detail))")
        case CURLE_COULDNT_RESOLVE_HOST.rawValue, CURLE_COULDNT_RESOLVE_PROXY.rawValue:
            return retry(.network, "the host name could not be resolved (\(detail))")
        case CURLE_COULDNT_CONNECT.rawValue, CURLE_SEND_ERROR.rawValue, CURLE_RECV_ERROR.rawValue,
            CURLE_GOT_NOTHING.rawValue, CURLE_PARTIAL_FILE.rawValue, CURLE_SSL_CONNECT_ERROR.rawValue,
            CURLE_HTTP2.rawValue, CURLE_HTTP2_STREAM.rawValue, CURLE_WEIRD_SERVER_REPLY.rawValue:
            return retry(.network, "the connection failed (\(detail))")
        case CURLE_TOO_MANY_REDIRECTS.rawValue:
            return .fail(
                subject.error(
                    .http(status: outcome.status),
                    reason: "it redirected more than \(configuration.maxRedirects) times",
                    status: outcome.status, attempts: attempts))
        case CURLE_PEER_FAILED_VERIFICATION.rawValue, CURLE_SSL_CACERT_BADFILE.rawValue,
            CURLE_SSL_CERTPROBLEM.rawValue, CURLE_SSL_CIPHER.rawValue, CURLE_SSL_ISSUER_ERROR.rawValue,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH.rawValue, CURLE_SSL_INVALIDCERTSTATUS.rawValue:
            return .fail(
                subject.error(
                    .network, reason: "the server's TLS certificate could not be verified (\(detail))",
                    fix: "check the host name, or point CURL_CA_BUNDLE or SSL_CERT_FILE at the CA bundle that signs it",
                    attempts: attempts))
        case CURLE_UNSUPPORTED_PROTOCOL.rawValue, CURLE_URL_MALFORMAT.rawValue:
            return .fail(
                subject.error(
                    .invalidSource, reason: "libcurl cannot use this URL (\(detail))", fix: "fix the href",
                    attempts: attempts))
        case CURLE_LOGIN_DENIED.rawValue:
            return .fail(
                subject.error(
                    .accessDenied, reason: "the server refused the login (\(detail))", fix: "check the credentials",
                    attempts: attempts))
        default:
            return .fail(
                subject.error(.network, reason: "libcurl failed with error \(code) (\(detail))", attempts: attempts))
        }
    }

    private func classifyStatus(
        _ outcome: CurlOutcome, target: RemoteTarget, subject: TransferSubject, region: String?, attempts: Int
    ) -> Verdict {
        let status = outcome.status
        var answered = "the server answered \(status) \(HTTPStatus.phrase(status, given: outcome.reason))"
        var s3Signed: Bool?
        var requesterPays = false
        if let settings = target.s3Settings {
            s3Signed = settings.credentials != nil
            requesterPays = settings.requesterPays
            let error = S3ErrorDocument(outcome.errorBody)
            let newRegion = outcome.headers["x-amz-bucket-region"] ?? error.region
            if [301, 307, 400].contains(status), let newRegion, !newRegion.isEmpty, newRegion != region {
                return .changeRegion(newRegion)
            }
            answered = "S3 answered \(status) \(HTTPStatus.phrase(status, given: outcome.reason))"
            if let code = error.code { answered += " (\(code))" }
        }
        switch status {
        case 404, 410:
            return .fail(subject.error(.notFound, reason: answered, status: status, attempts: attempts))
        case 401, 403:
            let fix: String
            switch s3Signed {
            case true?:
                fix =
                    "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that they may read the object"
                    + (requesterPays ? "" : ", add --requester-pays for a requester-pays bucket")
                    + ", or use --on-asset-error reference"
            case false?:
                fix =
                    "the object is not public, so provide AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) instead of --no-sign-request or AWS_SKIP_SIGNATURE"
            case nil:
                fix =
                    "check the credentials given with --header, the bearer token or netrc, or use --on-asset-error reference"
            }
            return .fail(subject.error(.accessDenied, reason: answered, fix: fix, status: status, attempts: attempts))
        case 412, 416:
            // The resumed range or its validator no longer fits: the object changed; start over.
            return .retry(kind: .http(status: status), reason: answered, status: status, retryAfter: nil, restart: true)
        case 408, 429, 500, 502...599:
            return .retry(
                kind: .http(status: status), reason: answered, status: status,
                retryAfter: outcome.headers["retry-after"].flatMap(HTTPStatus.retryAfterSeconds), restart: false)
        default:
            return .fail(subject.error(.http(status: status), reason: answered, status: status, attempts: attempts))
        }
    }
}

/// The fields of an S3 XML error document that messages use.
struct S3ErrorDocument {
    var code: String?
    var region: String?

    init(_ body: String) {
        code = Self.element("Code", in: body)
        region = Self.element("Region", in: body)
    }

    private static func element(_ name: String, in body: String) -> String? {
        guard let start = body.range(of: "<\(name)>"),
            let end = body.range(of: "</\(name)>", range: start.upperBound..<body.endIndex)
        else { return nil }
        return String(body[start.upperBound..<end.lowerBound])
    }
}

/// HTTP status phrases (HTTP/2 has none on the wire) and `Retry-After` parsing.
enum HTTPStatus {
    static func phrase(_ status: Int, given: String) -> String {
        if !given.isEmpty { return given }
        let phrases: [Int: String] = [
            200: "OK", 206: "Partial Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
            307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 410: "Gone",
            412: "Precondition Failed", 416: "Range Not Satisfiable", 429: "Too Many Requests",
            500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout",
        ]
        return phrases[status] ?? "(no reason given)"
    }

    /// Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.
    static func retryAfterSeconds(_ value: String) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }
}
