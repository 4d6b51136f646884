import Foundation

/// What an http(s) or s3 server says about the version of an object without sending it: its
/// size, strong ETag and Last-Modified date. Two stamps of the same URL that agree (see
/// ``sameVersion(as:)``) mean the bytes did not change, which lets a re-ingest skip re-reading
/// a remote original (docs/format.md, "Re-ingest").
public struct RemoteStamp: Sendable, Equatable {
    /// The object's size in bytes, when the server said it.
    public var size: Int64?
    /// The strong ETag (weak `W/` tags are dropped: they do not promise the same bytes).
    public var etag: String?
    /// The Last-Modified date, as the server wrote it.
    public var lastModified: String?

    /// Creates a stamp.
    public init(size: Int64?, etag: String?, lastModified: String?) {
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }

    /// The stamp of a response's headers (names lowercased). A resumed (206) answer's
    /// Content-Length is only the rest: its size comes from Content-Range.
    init(headers: [String: String], resumedFrom: Int64) {
        var size: Int64?
        if let range = headers["content-range"], let slash = range.lastIndex(of: "/") {
            size = Int64(range[range.index(after: slash)...].trimmingCharacters(in: .whitespaces))
        } else if resumedFrom == 0, let length = headers["content-length"] {
            size = Int64(length.trimmingCharacters(in: .whitespaces))
        }
        let etag = headers["etag"].flatMap { $0.hasPrefix("W/") ? nil : $0 }
        self.init(size: size, etag: etag, lastModified: headers["last-modified"])
    }

    /// Whether the server gave anything that identifies a version (an ETag or a date).
    public var identifiesVersion: Bool { etag != nil || lastModified != nil }

    /// Whether `other` (a later probe of the same URL) names the same version: the ETags agree
    /// when both have one, else the Last-Modified dates do, and the sizes never differ.
    public func sameVersion(as other: RemoteStamp) -> Bool {
        if let a = size, let b = other.size, a != b { return false }
        if let a = etag, let b = other.etag { return a == b }
        if let a = lastModified, let b = other.lastModified { return a == b }
        return false
    }
}

/// Carries the stamp of a successful response out of the retry loop.
final class RemoteStampBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: RemoteStamp?

    var value: RemoteStamp? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func set(_ stamp: RemoteStamp) {
        lock.lock()
        stored = stamp
        lock.unlock()
    }
}

extension AssetTransferEngine {
    /// Asks an http(s) or s3 server for an object's stamp without its bytes (`HEAD`, signed for
    /// S3), with the same credentials, redirects and retries as a transfer.
    ///
    /// - Returns: nil for a local file (the stat cache covers those); the stamp, or the
    ///   ``TransferError`` of a source that cannot be reached or no longer exists.
    public func probe(_ source: String) async -> Result<RemoteStamp, TransferError>? {
        let subject = TransferSubject(document: source)
        guard let location = try? SourceLocation(source, subject: subject) else { return nil }
        if case .file = location { return nil }
        let box = RemoteStampBox()
        let result = await run(
            source: source, subject: subject, destination: .discard, declared: nil, events: nil, headOnly: true,
            stamp: box)
        switch result {
        case .success:
            return .success(box.value ?? RemoteStamp(size: nil, etag: nil, lastModified: nil))
        case .failure(let error):
            return .failure(error)
        }
    }
}
