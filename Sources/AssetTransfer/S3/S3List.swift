import Foundation

/// An object found by listing a bucket prefix or an http(s) directory.
public struct RemoteObject: Sendable, Equatable {
    /// Where to fetch it: `s3://bucket/key` or an http(s) URL.
    public var href: String
    /// Its path below the listed prefix or folder (`2024/05/a.tif`), `/`-separated, decoded.
    public var relativePath: String
    /// Its size in bytes, when the listing said it.
    public var size: Int64?
    /// Its ETag, when the listing said it (S3).
    public var etag: String?
    /// Its last modification date, as the listing wrote it.
    public var lastModified: String?

    /// Creates a listed object.
    public init(
        href: String, relativePath: String, size: Int64? = nil, etag: String? = nil, lastModified: String? = nil
    ) {
        self.href = href
        self.relativePath = relativePath
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }

    /// The version the listing gives (size, ETag, date), comparable with a later ``AssetTransferEngine/probe(_:)``.
    public var stamp: RemoteStamp { RemoteStamp(size: size, etag: etag, lastModified: lastModified) }
}

/// ListObjectsV2: requests and the parts of its XML answer that discovery uses.
enum S3Listing {
    /// The bucket of `s3://bucket[/…]`.
    static func bucket(of source: String) -> String? {
        split(source)?.bucket
    }

    /// `s3://bucket/prefix` → (bucket, prefix); the prefix may be empty.
    static func split(_ source: String) -> (bucket: String, prefix: String)? {
        guard source.lowercased().hasPrefix("s3://") else { return nil }
        let rest = source.dropFirst("s3://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let bucket = String(rest[..<slash])
        guard !bucket.isEmpty else { return nil }
        let raw = slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...])
        return (bucket, raw.removingPercentEncoding ?? raw)
    }

    struct Page {
        var objects: [(key: String, size: Int64?, etag: String?, lastModified: String?)] = []
        var truncated = false
        var nextToken: String?
    }

    /// Parses a `ListBucketResult` document (no XML library: the format is flat and fixed).
    static func parse(_ xml: String) -> Page? {
        guard xml.contains("<ListBucketResult") else { return nil }
        var page = Page()
        page.truncated = element("IsTruncated", in: xml[...]) == "true"
        page.nextToken = element("NextContinuationToken", in: xml[...])
        var rest = xml[...]
        while let start = rest.range(of: "<Contents>"),
            let end = rest.range(of: "</Contents>", range: start.upperBound..<rest.endIndex)
        {
            let body = rest[start.upperBound..<end.lowerBound]
            if let key = element("Key", in: body) {
                page.objects.append(
                    (
                        key, element("Size", in: body).flatMap { Int64($0) }, element("ETag", in: body),
                        element("LastModified", in: body)
                    ))
            }
            rest = rest[end.upperBound...]
        }
        return page
    }

    /// The decoded text of the first `<name>…</name>` in `body`.
    static func element(_ name: String, in body: Substring) -> String? {
        guard let start = body.range(of: "<\(name)>"),
            let end = body.range(of: "</\(name)>", range: start.upperBound..<body.endIndex)
        else { return nil }
        return XMLText.decode(String(body[start.upperBound..<end.lowerBound]))
    }
}

extension AssetTransferEngine {
    /// Lists every object under `s3://bucket/prefix` with ListObjectsV2, page by page
    /// (continuation tokens), signed, unsigned or requester-pays as the configuration says.
    ///
    /// - Parameters:
    ///   - pageSize: `max-keys` of each request (S3's default, 1,000, when nil).
    ///   - limit: the most objects returned; listing stops there.
    /// - Throws: a ``TransferError`` naming the prefix and the fix.
    public func listObjects(
        under source: String, pageSize: Int? = nil, limit: Int = 10_000_000
    ) async throws(TransferError) -> [RemoteObject] {
        let subject = TransferSubject(document: source)
        guard let (bucket, prefix) = S3Listing.split(source) else {
            throw subject.error(.invalidSource, reason: "it is not an s3://bucket/prefix URL", fix: "fix the URL")
        }
        var objects: [RemoteObject] = []
        var token: String?
        var tokens: Set<String> = []
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            if let pageSize { query.append(("max-keys", String(pageSize))) }
            let result = await run(
                source: source, subject: subject, destination: .memory(limit: 64 << 20), declared: nil, events: nil,
                s3Query: query)
            let data: Data
            switch result {
            case .success(let stored): data = stored.sink.data
            case .failure(let error): throw error
            }
            guard let page = S3Listing.parse(String(decoding: data, as: UTF8.self)) else {
                throw subject.error(
                    .invalidSource, reason: "the answer to ListObjectsV2 is not a ListBucketResult",
                    fix: "check AWS_ENDPOINT_URL and the bucket name")
            }
            for o in page.objects where !o.key.hasSuffix("/") {
                let relative = String(o.key.dropFirst(prefix.hasSuffix("/") || prefix.isEmpty ? prefix.count : 0))
                objects.append(
                    RemoteObject(
                        href: "s3://\(bucket)/\(SigV4Signer.uriEncode(o.key, keepSlash: true))",
                        relativePath: prefix.hasSuffix("/") || prefix.isEmpty ? relative : o.key,
                        size: o.size, etag: o.etag, lastModified: o.lastModified))
                if objects.count >= limit { return objects }
            }
            token = page.truncated ? page.nextToken : nil
            if let token, !tokens.insert(token).inserted {
                throw subject.error(
                    .invalidSource, reason: "ListObjectsV2 returned the same continuation token twice",
                    fix: "check the S3 endpoint")
            }
            if page.truncated, token == nil {
                throw subject.error(
                    .invalidSource,
                    reason: "ListObjectsV2 said the listing is truncated but gave no continuation token",
                    fix: "check the S3 endpoint")
            }
        } while token != nil
        return objects
    }
}
