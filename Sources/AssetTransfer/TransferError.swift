public import Foundation

/// Why an asset or document could not be transferred, as one sentence a user can act on.
///
/// The ``message`` names the asset, the source (with credentials and query-string signatures
/// replaced by `REDACTED`) and what to do next, e.g.
/// `Could not fetch asset "visual" of item "a" from https://h/x.tif: the server answered 404 Not Found; check the href or use --on-asset-error reference.`
public struct TransferError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// The family of a failure, for callers that react differently to each.
    public enum Kind: Sendable, Hashable {
        /// The file, object or URL does not exist (missing file, HTTP 404/410, S3 NoSuchKey).
        case notFound
        /// The server refused the credentials or has none for this caller (HTTP 401/403).
        case accessDenied
        /// An s3 source needs credentials and none were found.
        case missingCredentials
        /// The server answered an HTTP status that is neither success nor one of the above.
        case http(status: Int)
        /// The connection failed or broke, retries included.
        case network
        /// The server was too slow, retries included.
        case timeout
        /// The bytes' digest differs from the declared `file:checksum`.
        case checksumMismatch(expected: String, actual: String)
        /// The number of bytes differs from the declared `file:size`.
        case sizeMismatch(expected: Int64, actual: Int64)
        /// The source is not an absolute path, `file://`, `http(s)://` or `s3://` reference.
        case invalidSource
        /// The declared `file:checksum` is not a multihash that can be verified.
        case invalidChecksum
        /// A document is larger than the limit given to ``AssetTransferEngine/readDocument(_:limit:)``.
        case tooLarge(limit: Int)
        /// Reading the source or writing the temporary file failed locally.
        case io
        /// The task was cancelled.
        case cancelled
    }

    /// The family of the failure.
    public var kind: Kind
    /// One sentence naming the asset, the source and the fix; free of secrets.
    public var message: String
    /// The source as shown in ``message``, credentials and signatures removed.
    public var source: String
    /// The HTTP status of the last answer, when a server answered.
    public var httpStatus: Int?
    /// How many attempts were made.
    public var attempts: Int

    /// Creates an error; the message is used as is.
    public init(kind: Kind, message: String, source: String, httpStatus: Int? = nil, attempts: Int = 1) {
        self.kind = kind
        self.message = message
        self.source = source
        self.httpStatus = httpStatus
        self.attempts = attempts
    }

    /// The ``message``.
    public var description: String { message }
    /// The ``message``.
    public var errorDescription: String? { message }

    /// Whether retrying later could succeed (network trouble, timeouts, 429 and 5xx answers).
    public var isTransient: Bool {
        switch kind {
        case .network, .timeout: true
        case .http(let status): status == 429 || (500...599).contains(status)
        default: false
        }
    }
}

/// What a message says about the thing being transferred.
struct TransferSubject: Sendable {
    /// `asset "visual" of item "a"`, or nil for a document.
    var name: String?
    /// The redacted source.
    var source: String

    init(_ request: AssetRequest) {
        name = request.name
        source = SourceRedaction.redact(request.source)
    }

    init(document source: String) {
        name = nil
        self.source = SourceRedaction.redact(source)
    }

    /// The usual advice after the specific fix: assets may be kept as references, documents cannot.
    var fallbackFix: String {
        name == nil ? "check the URL" : "check the href or use --on-asset-error reference"
    }

    /// `Could not fetch <name> from <source>: <reason>; <fix>.`
    func error(
        _ kind: TransferError.Kind, reason: String, fix: String? = nil, status: Int? = nil, attempts: Int = 1
    ) -> TransferError {
        let what = name.map { "Could not fetch \($0) from \(source)" } ?? "Could not read \(source)"
        let message = "\(what): \(reason); \(fix ?? fallbackFix)."
        return TransferError(kind: kind, message: message, source: source, httpStatus: status, attempts: attempts)
    }

    /// The sentence for bytes that differ from what the catalog declares.
    func mismatch(_ kind: TransferError.Kind, field: String, expected: String, actual: String) -> TransferError {
        let what = name ?? "the document"
        let message =
            "The bytes of \(what) from \(source) do not match its \(field): expected \(expected) but got \(actual); "
            + "the source changed or its \(field) is wrong, so fix \(field) or use --on-asset-error reference."
        return TransferError(kind: kind, message: message, source: source)
    }
}
