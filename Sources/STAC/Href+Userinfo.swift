extension Href {
    /// The userinfo of a URL (`user:password` in `https://user:password@host/x`), or nil.
    ///
    /// Only URLs with an authority (`scheme://…`) have one; paths and `file:` URLs never do.
    public static func userinfo(of href: String) -> Substring? {
        guard let range = authorityRange(of: href) else { return nil }
        let authority = href[range]
        guard let at = authority.lastIndex(of: "@") else { return nil }
        return authority[..<at]
    }

    /// `href` without the userinfo of its URL: `https://user:pw@host/x` becomes `https://host/x`.
    ///
    /// Stored hrefs, commit messages, history and output only ever carry this form.
    public static func withoutUserinfo(_ href: String) -> String {
        guard let range = authorityRange(of: href) else { return href }
        let authority = href[range]
        guard let at = authority.lastIndex(of: "@") else { return href }
        return String(href[..<range.lowerBound]) + authority[authority.index(after: at)...] + href[range.upperBound...]
    }

    /// Where the authority of `scheme://authority/…` lies in `href`, if it has one.
    private static func authorityRange(of href: String) -> Range<String.Index>? {
        guard let scheme = schemeName(of: href) else { return nil }
        let afterColon = href.index(after: scheme.endIndex)
        let rest = href[afterColon...]
        guard rest.hasPrefix("//") else { return nil }
        let start = href.index(afterColon, offsetBy: 2)
        let end = href[start...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? href.endIndex
        return start..<end
    }
}
