import Foundation

/// Reads http(s) directory listings: the autoindex pages of nginx, Apache and
/// `python -m http.server`, which are HTML pages of `<a href>` links.
///
/// A listing is untrusted: only links that stay below the listed URL (same scheme, host and
/// port, a longer path under it, no query) are kept, so a page cannot send discovery elsewhere.
/// Links ending in `/` are sub-folders and are listed in turn (breadth first, each once).
enum AutoIndex {
    /// The `href` values of the page's `<a>` and `<link>` elements, entity-decoded, in order.
    static func hrefs(in html: String) -> [String] {
        var out: [String] = []
        let text = html
        var rest = text[...]
        while let found = rest.range(of: "href", options: .caseInsensitive) {
            var i = found.upperBound
            func skipSpaces() { while i < text.endIndex, text[i].isWhitespace { i = text.index(after: i) } }
            skipSpaces()
            guard i < text.endIndex, text[i] == "=" else {
                rest = text[found.upperBound...]
                continue
            }
            i = text.index(after: i)
            skipSpaces()
            guard i < text.endIndex else { break }
            var value = ""
            if text[i] == "\"" || text[i] == "'" {
                let quote = text[i]
                let start = text.index(after: i)
                guard let end = text[start...].firstIndex(of: quote) else { break }
                value = String(text[start..<end])
                i = text.index(after: end)
            } else {
                let start = i
                while i < text.endIndex, !text[i].isWhitespace, text[i] != ">" { i = text.index(after: i) }
                value = String(text[start..<i])
            }
            out.append(XMLText.decode(value))
            rest = text[i...]
        }
        return out
    }

    /// `href` resolved against the listing `base` (which ends in `/`), when it stays below it.
    static func below(_ href: String, base: URL) -> URL? {
        guard !href.isEmpty, !href.hasPrefix("#"), !href.hasPrefix("?"),
            let url = URL(string: href, relativeTo: base)?.absoluteURL.standardized
        else { return nil }
        guard url.scheme?.lowercased() == base.scheme?.lowercased(),
            url.host?.lowercased() == base.host?.lowercased(), url.port == base.port,
            url.query == nil, url.fragment == nil
        else { return nil }
        let basePath = base.absoluteURL.standardized.path(percentEncoded: true)
        var path = url.path(percentEncoded: true)
        if href.hasSuffix("/"), !path.hasSuffix("/") { path += "/" }
        let prefix = basePath.hasSuffix("/") ? basePath : basePath + "/"
        guard path.hasPrefix(prefix), path.count > prefix.count else { return nil }
        let relative = path.dropFirst(prefix.count)
        // No dot segments may survive (standardized removes them; a percent-encoded one may not).
        for segment in relative.split(separator: "/") {
            let decoded = segment.removingPercentEncoding ?? String(segment)
            if decoded == "." || decoded == ".." || decoded.contains("/") { return nil }
        }
        return url
    }
}

extension AssetTransferEngine {
    /// Lists the files under an http(s) directory listing and its sub-folders.
    ///
    /// - Parameters:
    ///   - source: the folder's URL; a missing trailing `/` is added.
    ///   - maxDepth: how many folder levels below `source` are listed.
    ///   - limit: the most files returned.
    /// - Throws: a ``TransferError`` when a listing cannot be read.
    public func listDirectory(
        _ source: String, maxDepth: Int = 32, limit: Int = 1_000_000
    ) async throws(TransferError) -> [RemoteObject] {
        let rootText = source.hasSuffix("/") ? source : source + "/"
        let subject = TransferSubject(document: rootText)
        guard let root = URL(string: rootText), root.host != nil else {
            throw subject.error(.invalidSource, reason: "it is not a valid URL", fix: "fix the URL")
        }
        let rootPath = root.path(percentEncoded: true)
        var files: [RemoteObject] = []
        var seen: Set<String> = [root.absoluteString]
        var level: [URL] = [root]
        var depth = 0
        while !level.isEmpty, depth <= maxDepth {
            var next: [URL] = []
            for folder in level {
                let data = try await readDocument(folder.absoluteString, limit: 16 << 20)
                let html = String(decoding: data, as: UTF8.self)
                for href in AutoIndex.hrefs(in: html) {
                    guard let url = AutoIndex.below(href, base: folder) else { continue }
                    var text = url.absoluteString
                    let isFolder = href.hasSuffix("/")
                    if isFolder, !text.hasSuffix("/") { text += "/" }
                    guard seen.insert(text).inserted else { continue }
                    if isFolder {
                        if let u = URL(string: text) { next.append(u) }
                        continue
                    }
                    let path = url.path(percentEncoded: true)
                    let relative = String(path.dropFirst(rootPath.count))
                    files.append(RemoteObject(href: text, relativePath: relative.removingPercentEncoding ?? relative))
                    if files.count >= limit { return files }
                }
            }
            level = next
            depth += 1
        }
        return files
    }
}
