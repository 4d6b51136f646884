/// The scheme of a location: a local path or `file:` URL, or a remote URL.
public enum HrefScheme: Sendable, Hashable {
    /// A POSIX path (absolute or relative) or a `file:` URL.
    case file
    /// `http://`.
    case http
    /// `https://`.
    case https
    /// `s3://bucket/key`.
    case s3
    /// Any other scheme, lowercased (`ftp`, `gs`, ...).
    case other(String)
}

/// Resolving and computing STAC hrefs.
///
/// Local locations are POSIX paths; remote ones are URLs. Hrefs relative to a local file are
/// treated as paths (as pystac does): they are joined and normalised but not percent-decoded;
/// only `file:` URLs are percent-decoded. Hrefs relative to a URL follow RFC 3986.
public enum Href {
    /// The scheme of `location`: `.file` for paths (no scheme) and `file:` URLs.
    ///
    /// A single letter before a colon (`C:\data`) is taken as a Windows drive, not a scheme.
    public static func scheme(of location: String) -> HrefScheme {
        guard let name = schemeName(of: location)?.lowercased() else { return .file }
        switch name {
        case "file": return .file
        case "http": return .http
        case "https": return .https
        case "s3": return .s3
        default: return .other(name)
        }
    }

    /// Resolves `href` as written in a JSON file located at `base`.
    ///
    /// - `base` is the absolute location of that file: an absolute POSIX path
    ///   (`/data/cat/collection.json`), a `file:` URL, or a URL (`https://`, `s3://`, ...).
    /// - An href with a scheme ignores the base: a `file:` URL becomes its percent-decoded,
    ///   normalised path (`file:///x%20y` → `/x y`); any other URL is returned with its dot
    ///   segments removed.
    /// - Against a local base, an absolute path is normalised and a relative one is joined to the
    ///   base file's directory and normalised (`..` above `/` stays at `/`).
    /// - Against a URL base, the href is resolved as an RFC 3986 reference: scheme, host and port
    ///   come from the base (so `/x` means the root of the base's host), dot segments are removed,
    ///   and percent-encoding, query and fragment are kept as given.
    public static func resolve(_ href: String, against base: String) -> String {
        if let scheme = schemeName(of: href) {
            if scheme.lowercased() == "file" {
                let path = filePath(fromFileURL: href)
                return path.hasPrefix("/") ? normalizePath(path) : resolveLocal(path, againstPath: localPath(of: base))
            }
            var reference = URIReference(href)
            reference.path = removeDotSegments(reference.path)
            return reference.text
        }
        if let baseScheme = schemeName(of: base), baseScheme.lowercased() != "file" {
            return resolveURL(href, against: base)
        }
        return resolveLocal(href, againstPath: localPath(of: base))
    }

    /// The relative href from one file of a tree to another, both given relative to the tree's
    /// root as POSIX paths (`catalog.json`, `c1/collection.json`, `c1/i1/i1.json`).
    ///
    /// The result always starts with `./` or `../`: from `c1/i1/i1.json` to `c1/collection.json`
    /// it is `../collection.json`; from `catalog.json` to `c1/collection.json` it is
    /// `./c1/collection.json`. `.` and `..` in the inputs are normalised first.
    public static func relative(from baseFile: String, to target: String) -> String {
        let baseComponents = pathComponents(baseFile)
        let targetComponents = pathComponents(target)
        let baseDirectory = baseComponents.dropLast()
        let targetDirectory = targetComponents.dropLast()
        var common = 0
        while common < baseDirectory.count, common < targetDirectory.count,
            baseDirectory[baseDirectory.startIndex + common] == targetDirectory[targetDirectory.startIndex + common]
        {
            common += 1
        }
        let ups = baseDirectory.count - common
        let rest = targetComponents.dropFirst(common)
        let prefix = ups == 0 ? "./" : String(repeating: "../", count: ups)
        return prefix + rest.joined(separator: "/")
    }

    // MARK: - Local paths

    // Local paths are split and joined on the byte '/', never on Characters: a combining mark
    // right after a '/' would otherwise merge with it into one Character that is not "/" (found by
    // the href fuzz target, Tests/Fixtures/fuzz-corpus/href/regression-combining-mark-after-slash).

    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")

    private static func resolveLocal(_ href: String, againstPath base: String) -> String {
        if href.utf8.first == slash { return normalizePath(href) }
        if href.isEmpty { return normalizePath(base) }
        let bytes = Array(base.utf8)
        let directory = bytes.lastIndex(of: slash).map { String(decoding: bytes[...$0], as: UTF8.self) } ?? ""
        return normalizePath(directory + href)
    }

    /// A base location as a path: `file:` URLs are decoded, anything else is taken as a path.
    private static func localPath(of base: String) -> String {
        schemeName(of: base)?.lowercased() == "file" ? filePath(fromFileURL: base) : base
    }

    /// The percent-decoded path of a `file:` URL, without query or fragment. A host other than
    /// `localhost` is kept as a leading `//host` (a network share).
    private static func filePath(fromFileURL url: String) -> String {
        var rest = Substring(url.drop { $0 != ":" }.dropFirst())
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        var prefix = ""
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            let host = rest[..<hostEnd]
            if !host.isEmpty, host.lowercased() != "localhost" { prefix = "//" + host }
            rest = rest[hostEnd...]
            if rest.isEmpty { rest = "/" }
        }
        return prefix + percentDecode(rest)
    }

    /// Removes `.` and empty components and resolves `..`; keeps a trailing slash. For an
    /// absolute path `..` never climbs above `/`; a relative path keeps leading `..`.
    static func normalizePath(_ path: String) -> String {
        let bytes = Array(path.utf8)
        let absolute = bytes.first == slash
        let parts = bytes.split(separator: slash, omittingEmptySubsequences: true)
        func isDot(_ part: ArraySlice<UInt8>) -> Bool { part.count == 1 && part.first == dot }
        func isDotDot(_ part: ArraySlice<UInt8>) -> Bool { part.count == 2 && part.allSatisfy { $0 == dot } }
        var output: [ArraySlice<UInt8>] = []
        for part in parts {
            if isDot(part) { continue }
            if isDotDot(part) {
                if let last = output.last, !isDotDot(last) {
                    output.removeLast()
                } else if !absolute {
                    output.append(part)
                }
                continue
            }
            output.append(part)
        }
        if output.isEmpty { return absolute ? "/" : "." }
        let trailingSlash = bytes.last == slash || parts.last.map { isDot($0) || isDotDot($0) } ?? false
        var result: [UInt8] = absolute ? [slash] : []
        for (index, part) in output.enumerated() {
            if index > 0 { result.append(slash) }
            result.append(contentsOf: part)
        }
        if trailingSlash { result.append(slash) }
        return String(decoding: result, as: UTF8.self)
    }

    private static func pathComponents(_ path: String) -> [String] {
        let normalized = normalizePath(path)
        guard normalized != "." && normalized != "/" else { return [] }
        return Array(normalized.utf8).split(separator: slash).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func percentDecode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        bytes.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
                let high = hexValue(utf8[i + 1]), let low = hexValue(utf8[i + 2])
            {
                bytes.append(high << 4 | low)
                i += 3
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: - URLs (RFC 3986)

    /// The scheme of a URI (`scheme ":" ...`), if it has one of at least two characters.
    static func schemeName(of text: String) -> Substring? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = text[..<colon]
        guard name.count >= 2, let first = name.unicodeScalars.first, first.isASCIILetter else { return nil }
        for scalar in name.unicodeScalars.dropFirst() {
            guard
                scalar.isASCIILetter || ("0"..."9").contains(scalar) || scalar == "+" || scalar == "-"
                    || scalar == "."
            else { return nil }
        }
        return name
    }

    /// RFC 3986 section 5.2.2, strict.
    private static func resolveURL(_ href: String, against base: String) -> String {
        let reference = URIReference(href)
        let baseURI = URIReference(base)
        var target = URIReference()
        target.scheme = baseURI.scheme
        target.fragment = reference.fragment
        if reference.authority != nil {
            target.authority = reference.authority
            target.path = removeDotSegments(reference.path)
            target.query = reference.query
            return target.text
        }
        target.authority = baseURI.authority
        if reference.path.isEmpty {
            target.path = baseURI.path
            target.query = reference.query ?? baseURI.query
        } else {
            if reference.path.hasPrefix("/") {
                target.path = removeDotSegments(reference.path)
            } else {
                target.path = removeDotSegments(merge(base: baseURI, path: reference.path))
            }
            target.query = reference.query
        }
        return target.text
    }

    /// RFC 3986 section 5.2.3.
    private static func merge(base: URIReference, path: String) -> String {
        if base.authority != nil, base.path.isEmpty { return "/" + path }
        guard let slash = base.path.lastIndex(of: "/") else { return path }
        return base.path[...slash] + path
    }

    /// RFC 3986 section 5.2.4.
    static func removeDotSegments(_ path: String) -> String {
        var input = Substring(path)
        var output = ""
        while !input.isEmpty {
            if input.hasPrefix("../") {
                input = input.dropFirst(3)
            } else if input.hasPrefix("./") {
                input = input.dropFirst(2)
            } else if input.hasPrefix("/./") {
                input = input.dropFirst(2)
            } else if input == "/." {
                input = "/"
            } else if input.hasPrefix("/../") {
                input = input.dropFirst(3)
                removeLastSegment(&output)
            } else if input == "/.." {
                input = "/"
                removeLastSegment(&output)
            } else if input == "." || input == ".." {
                input = ""
            } else {
                let searchStart = input.hasPrefix("/") ? input.index(after: input.startIndex) : input.startIndex
                let end = input[searchStart...].firstIndex(of: "/") ?? input.endIndex
                output += input[..<end]
                input = input[end...]
            }
        }
        return output
    }

    private static func removeLastSegment(_ output: inout String) {
        if let slash = output.lastIndex(of: "/") {
            output.removeSubrange(slash...)
        } else {
            output = ""
        }
    }
}

/// The five components of a URI reference (RFC 3986 appendix B).
private struct URIReference {
    var scheme: Substring?
    var authority: Substring?
    var path = ""
    var query: Substring?
    var fragment: Substring?

    init() {}

    init(_ text: String) {
        var rest = Substring(text)
        if let name = Href.schemeName(of: text) {
            scheme = name
            rest = rest[rest.index(after: name.endIndex)...]
        }
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = rest[..<end]
            rest = rest[end...]
        }
        path = String(rest)
    }

    /// RFC 3986 section 5.3.
    var text: String {
        var result = ""
        if let scheme { result += scheme + ":" }
        if let authority { result += "//" + authority }
        result += path
        if let query { result += "?" + query }
        if let fragment { result += "#" + fragment }
        return result
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}
