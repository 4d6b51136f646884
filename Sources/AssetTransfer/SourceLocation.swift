import Foundation

/// Where a source's bytes live, parsed from the `source` string of a request.
enum SourceLocation: Sendable, Equatable {
    /// A local file, by absolute path.
    case file(path: String)
    /// An http(s) URL, as given.
    case http(url: String)
    /// An S3 object.
    case s3(bucket: String, key: String)

    /// Parses an absolute path, `file://`, `http(s)://` or `s3://` source.
    ///
    /// - Throws: an `.invalidSource` error saying which forms are accepted.
    init(_ source: String, subject: TransferSubject) throws(TransferError) {
        let lower = source.lowercased()
        if source.hasPrefix("/") {
            self = .file(path: source)
        } else if lower.hasPrefix("file://") {
            // file:///abs/path or file://localhost/abs/path; percent-escapes are decoded.
            var rest = String(source.dropFirst("file://".count))
            if rest.lowercased().hasPrefix("localhost/") { rest = String(rest.dropFirst("localhost".count)) }
            if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = String(rest[..<query]) }
            guard rest.hasPrefix("/") else {
                throw subject.error(
                    .invalidSource, reason: "a file URL must name an absolute path on this machine (file:///path)",
                    fix: "write the href as file:///absolute/path")
            }
            self = .file(path: rest.removingPercentEncoding ?? rest)
        } else if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            guard URL(string: source)?.host != nil else {
                throw subject.error(.invalidSource, reason: "it is not a valid URL", fix: "fix the href")
            }
            self = .http(url: source)
        } else if lower.hasPrefix("s3://") {
            let rest = source.dropFirst("s3://".count)
            guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex,
                rest.index(after: slash) != rest.endIndex
            else {
                throw subject.error(
                    .invalidSource, reason: "an s3 source must name a bucket and a key (s3://bucket/key)",
                    fix: "fix the href")
            }
            let bucket = String(rest[..<slash])
            let rawKey = String(rest[rest.index(after: slash)...])
            // An s3 href is a URI: decode percent-escapes, but keep a key with a stray '%' literally.
            self = .s3(bucket: bucket, key: rawKey.removingPercentEncoding ?? rawKey)
        } else {
            throw subject.error(
                .invalidSource,
                reason: "the source is neither an absolute path nor a file://, http(s):// or s3:// URL",
                fix: "resolve relative hrefs against their document before transferring them")
        }
    }
}

/// Removes secrets from sources before they reach a message, an event or a log.
enum SourceRedaction {
    /// Query parameters whose names contain one of these are replaced by `REDACTED`.
    static let sensitiveNameParts = [
        "sig", "signature", "token", "key", "secret", "password", "passwd", "pwd", "credential", "auth", "session",
    ]

    /// The source with the userinfo of its URL and the values of secret-looking query parameters replaced.
    ///
    /// `https://user:pw@h/x?X-Amz-Signature=abc&a=1` becomes `https://REDACTED@h/x?X-Amz-Signature=REDACTED&a=1`.
    static func redact(_ source: String) -> String {
        guard let schemeEnd = source.range(of: "://") else { return source }
        let scheme = source[..<schemeEnd.upperBound]
        var rest = Substring(source[schemeEnd.upperBound...])
        var fragment = ""
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[hash...])
            rest = rest[..<hash]
        }
        var query: Substring?
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            authority = "REDACTED" + authority[at...]
        }
        var result = scheme + authority + rest[authorityEnd...]
        if let query {
            let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
                guard let equals = part.firstIndex(of: "=") else { return String(part) }
                let name = part[..<equals].lowercased()
                if sensitiveNameParts.contains(where: { name.contains($0) }) {
                    return part[..<equals] + "=REDACTED"
                }
                return String(part)
            }
            result += "?" + parts.joined(separator: "&")
        }
        return result + fragment
    }
}
