public import Foundation

/// One asset to fetch or measure: where its bytes are and what they are declared to be.
public struct AssetRequest: Sendable, Hashable {
    /// How messages name the asset, e.g. `asset "visual" of item "S2A_1"`.
    public var name: String
    /// An absolute source: `/abs/path`, `file:///abs/path`, `http(s)://…` or `s3://bucket/key`.
    public var source: String
    /// The declared `file:checksum`: a hex multihash (sha2-256 `1220…`, sha2-512 `1340…`, sha1 `1114…`,
    /// md5 `d50110…`), verified against the bytes.
    public var expectedChecksum: String?
    /// The declared `file:size` in bytes, verified against the bytes.
    public var expectedSize: Int64?

    /// Creates a request.
    public init(name: String, source: String, expectedChecksum: String? = nil, expectedSize: Int64? = nil) {
        self.name = name
        self.source = source
        self.expectedChecksum = expectedChecksum
        self.expectedSize = expectedSize
    }
}

/// The outcome of a successful transfer: the bytes' SHA-256 and size, and where they were written.
public struct TransferredAsset: Sendable {
    /// The request this answers.
    public var request: AssetRequest
    /// A temporary file inside the destination directory holding the bytes, which the caller renames
    /// or removes; nil when the bytes were only measured.
    public var file: URL?
    /// The SHA-256 of the bytes, lowercase hex.
    public var sha256: String
    /// The number of bytes.
    public var size: Int64
    /// What the server said about a remote source's version (ETag, Last-Modified), nil for a
    /// local file; a later ``AssetTransferEngine/probe(_:)`` that answers the same means the same bytes.
    public var remoteStamp: RemoteStamp?

    /// The SHA-256 as a `file:checksum` multihash (`1220…`).
    public var multihash: String { Multihash.sha256(sha256) }

    /// Creates a result.
    public init(request: AssetRequest, file: URL?, sha256: String, size: Int64) {
        self.request = request
        self.file = file
        self.sha256 = sha256
        self.size = size
    }
}

/// What an ``AssetTransferEngine`` reports while it works, for progress displays.
///
/// Each request gets one `started`, then any number of `progress` and `retrying`, then exactly one
/// `finished` or `failed`. Events arrive on transfer threads, concurrently for different requests.
public enum TransferEvent: Sendable {
    /// A transfer began; `expectedBytes` is the declared or known size, if any.
    case started(AssetRequest, expectedBytes: Int64?)
    /// `bytes` bytes of the current attempt have been received (it may go back to 0 when a retry restarts).
    case progress(AssetRequest, bytes: Int64)
    /// The transfer succeeded.
    case finished(TransferredAsset)
    /// The transfer failed for good.
    case failed(AssetRequest, TransferError)
    /// Attempt `attempt` (1-based) failed for `reason` and the transfer will be tried again.
    case retrying(AssetRequest, attempt: Int, reason: String)
}
