public import Foundation

/// Tunables of an ``AssetTransferEngine``: concurrency, retries, timeouts and where credentials come from.
///
/// Every property has a default that suits an interactive `ingest`; tests shrink the delays.
/// Secrets held here (headers, bearer token, AWS keys in ``environment``) are only ever sent to the
/// servers they are meant for and never appear in errors, events or logs.
public struct TransferConfiguration: Sendable {
    /// Maximum number of concurrent transfers; each holds at most one socket and two file descriptors.
    public var jobs: Int
    /// How many times a transfer is retried after a connection error, a timeout, 429 or a 5xx answer.
    public var retries: Int
    /// The first backoff delay in seconds; it doubles on each retry, with jitter.
    public var retryBaseDelay: Double
    /// The longest a single backoff may last, in seconds; a `Retry-After` beyond it ends the retries.
    public var maxRetryDelay: Double
    /// Extra HTTP headers, e.g. `Authorization`, sent with http(s) requests to ``credentialHosts``
    /// only (never with s3 requests, never to other hosts, see ``CredentialScope``).
    public var headers: [String: String]
    /// A bearer token sent as `Authorization: Bearer …` with http(s) requests to ``credentialHosts``.
    public var bearerToken: String?
    /// Whether credentials for http(s) hosts in ``credentialHosts`` are read from `~/.netrc` (or
    /// the file named by `NETRC`).
    public var useNetrc: Bool
    /// The `host:port` keys (``CredentialScope/hostKey(ofURL:)``) that get ``headers``,
    /// ``bearerToken`` and netrc credentials: the source's host and `--auth-host` hosts.
    public var credentialHosts: Set<String> = []
    /// Fetch with the userinfo (`user:password@`) of a URL; by default it is removed first.
    public var allowUserinfo = false
    /// Where `AWS_*`, `NETRC` and CA bundle settings come from.
    public var environment: [String: String]
    /// Sends s3 requests unsigned (public buckets); `AWS_SKIP_SIGNATURE=true` has the same effect.
    public var noSignRequest: Bool
    /// Sends `x-amz-request-payer: requester` with s3 requests.
    public var requesterPays: Bool
    /// Seconds allowed to establish a connection (TCP and TLS).
    public var connectTimeout: Double
    /// A transfer slower than ``lowSpeedLimit`` bytes per second for this many seconds is aborted (and retried).
    public var lowSpeedTimeout: Double
    /// The slowest acceptable transfer speed, in bytes per second, see ``lowSpeedTimeout``.
    public var lowSpeedLimit: Int
    /// How many redirects an http(s) request may follow.
    public var maxRedirects: Int
    /// The `User-Agent` header of http(s) and s3 requests.
    public var userAgent: String
    /// A PEM file of trusted certificate authorities, instead of the system's.
    ///
    /// When nil, `CURL_CA_BUNDLE` or `SSL_CERT_FILE` from ``environment`` is used (and `AWS_CA_BUNDLE` for s3).
    public var caBundlePath: String?

    /// Creates a configuration; every argument has a default.
    public init(
        jobs: Int = 8,
        retries: Int = 4,
        retryBaseDelay: Double = 0.25,
        maxRetryDelay: Double = 60,
        headers: [String: String] = [:],
        bearerToken: String? = nil,
        useNetrc: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        noSignRequest: Bool = false,
        requesterPays: Bool = false,
        connectTimeout: Double = 30,
        lowSpeedTimeout: Double = 60,
        lowSpeedLimit: Int = 1,
        maxRedirects: Int = 10,
        userAgent: String = "stac-repository",
        caBundlePath: String? = nil
    ) {
        self.jobs = jobs
        self.retries = retries
        self.retryBaseDelay = retryBaseDelay
        self.maxRetryDelay = maxRetryDelay
        self.headers = headers
        self.bearerToken = bearerToken
        self.useNetrc = useNetrc
        self.environment = environment
        self.noSignRequest = noSignRequest
        self.requesterPays = requesterPays
        self.connectTimeout = connectTimeout
        self.lowSpeedTimeout = lowSpeedTimeout
        self.lowSpeedLimit = lowSpeedLimit
        self.maxRedirects = maxRedirects
        self.userAgent = userAgent
        self.caBundlePath = caBundlePath
    }
}

extension TransferConfiguration {
    /// Whether s3 requests go out unsigned, from ``noSignRequest`` or `AWS_SKIP_SIGNATURE`.
    var skipsSignature: Bool {
        if noSignRequest { return true }
        guard let value = environment["AWS_SKIP_SIGNATURE"]?.lowercased() else { return false }
        return value == "true" || value == "1" || value == "yes"
    }

    /// The CA bundle for http(s) requests, if one was configured.
    var httpCABundle: String? {
        caBundlePath ?? nonEmpty(environment["CURL_CA_BUNDLE"]) ?? nonEmpty(environment["SSL_CERT_FILE"])
    }

    /// The CA bundle for s3 requests, if one was configured.
    var s3CABundle: String? {
        caBundlePath ?? nonEmpty(environment["AWS_CA_BUNDLE"]) ?? httpCABundle
    }
}

func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
