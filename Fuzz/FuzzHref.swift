// libFuzzer target: the href resolver (Href) and userinfo stripping. The input is two lines:
// an href and the location of the document that holds it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHref(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let href = String(parts[0])
    let base = parts.count > 1 ? String(parts[1]) : "/data/catalog.json"
    let resolved = Href.resolve(href, against: base)
    _ = Href.scheme(of: resolved)
    let stripped = Href.withoutUserinfo(resolved)
    if Href.userinfo(of: stripped) != nil { fatalError("userinfo survived stripping") }
    if Href.withoutUserinfo(stripped) != stripped { fatalError("stripping is not idempotent") }
    // Local resolution is absolute and normalised when the base is an absolute path.
    // (Compared as bytes: a combining mark after '/' must not hide the separator.)
    let slash = UInt8(ascii: "/")
    if case .file = Href.scheme(of: href), base.utf8.first == slash, !href.utf8.starts(with: [slash, slash]) {
        if resolved.utf8.first != slash { fatalError("a local href resolved to a relative path") }
        if Array(resolved.utf8).split(separator: slash).contains(where: { $0.elementsEqual("..".utf8) }) {
            fatalError("'..' survived normalisation")
        }
    }
    _ = Href.relative(from: href, to: base)
    return 0
}
