import AssetTransfer
import Foundation
import STAC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one rule for what a source document may make the tool read.
///
/// A STAC document is someone else's input. Every `child`/`item` link and every asset href is
/// checked here before anything is read:
///
/// - A document read from http(s) or s3 may reference only http(s) and s3 URLs: never a
///   `file://` URL or a local path.
/// - A local document may reference local files only under its **source root**: the folder of
///   the document given on the command line (for a processor: its output folder and the folder of
///   the product given on the command line). Paths are compared after every symbolic link is
///   resolved, so `../../x` and a link that leads outside are both outside.
/// - A symbolic link that stays inside is replaced by its target: the target is what is read and
///   what `alternate.original.href` records.
/// - `--allow-path DIR` (``IngestOptions/allowedPaths``, repeatable) adds folders every document,
///   local or remote, may reference.
/// - Userinfo (`user:password@`) is removed from every recorded href; the bytes are fetched with
///   it only with `--allow-userinfo` (``TransferConfiguration/allowUserinfo``).
///
/// A refusal is one sentence naming the product, the asset or link, the href and the flag that
/// allows it; it happens while the sources are read, before the repository is locked.
struct SourceConfinement: Sendable {
    /// Real paths of the `--allow-path` folders.
    let allowedPaths: [String]
    let allowUserinfo: Bool

    /// What a checked reference reads and records.
    struct Reference {
        /// The location to read: the resolved target, with userinfo only when allowed.
        var fetch: String
        /// The location to record: the symlink target for local files, never with userinfo.
        var record: String
    }

    /// No confinement at all: only for library callers that read trusted documents.
    static let unconfined = SourceConfinement(rawAllowedPaths: ["/"], allowUserinfo: true)

    private init(rawAllowedPaths: [String], allowUserinfo: Bool) {
        self.allowedPaths = rawAllowedPaths
        self.allowUserinfo = allowUserinfo
    }

    init(allowedPaths: [String], allowUserinfo: Bool, workingDirectory: String) throws {
        var real: [String] = []
        for path in allowedPaths {
            let absolute = Href.resolve(path, against: workingDirectory + "/.")
            guard FS.isDirectory(absolute) else {
                throw StacRepositoryError(
                    .invalidInput, "--allow-path \(path) is not a folder; name an existing folder to allow.")
            }
            real.append(Self.realPath(absolute))
        }
        self.allowedPaths = real
        self.allowUserinfo = allowUserinfo
    }

    /// The source root of a local document: the folder of its real path (a document given through
    /// a symbolic link is rooted where the document really is, not where the link is).
    static func root(ofDocument path: String) -> String {
        parentOf(realPath(path))
    }

    /// Checks `target` (an href already resolved against `document`), referenced by `subject`.
    ///
    /// - Parameters:
    ///   - href: The href as written, for the message.
    ///   - roots: Real paths of the document's source roots (empty for a remote document).
    ///   - subject: Names the reference for the message, e.g. `Asset "data" of item "x"`.
    func check(
        _ target: String, href: String, document: String, roots: [String], subject: @autoclosure () -> String
    ) throws -> Reference {
        switch Href.scheme(of: target) {
        case .http, .https, .s3:
            let record = Href.withoutUserinfo(target)
            return Reference(fetch: allowUserinfo ? target : record, record: record)
        case .other:
            return Reference(fetch: target, record: target)
        case .file:
            break
        }
        let lexical = target
        let real = Self.realPath(lexical)
        let remote = Href.scheme(of: document) != .file
        let permitted = allowedPaths + (remote ? [] : roots)
        if permitted.contains(where: { Self.isInside(real, $0) }) {
            return Reference(fetch: real, record: real)
        }
        let shown = Href.withoutUserinfo(href)
        let allow = "pass --allow-path \(Self.parentOf(real)) to allow it"
        if remote {
            throw StacRepositoryError(
                .invalidInput,
                "\(subject()) has href \(shown), a local file, but it was read from \(Href.withoutUserinfo(document)) and a remote document may only reference http(s) and s3 URLs; \(allow)."
            )
        }
        let root = roots.first ?? "/"
        if let link = Self.firstSymbolicLink(in: lexical) {
            throw StacRepositoryError(
                .invalidInput,
                "\(subject()) has href \(shown) through the symbolic link \(link), which leads to \(real), outside the source folder \(root); \(allow)."
            )
        }
        throw StacRepositoryError(
            .invalidInput,
            "\(subject()) has href \(shown), which is \(real), outside the source folder \(root); \(allow)."
        )
    }

    /// Confines every asset of `product` and removes userinfo from its other links.
    ///
    /// An asset whose recorded location differs from its resolved href (a symlink target, a URL
    /// without userinfo) gets that location as its href; the location to fetch, when it differs,
    /// goes to ``SourceProduct/fetchSources``.
    func confineAssets(of product: SourceProduct) throws {
        var object = product.object
        var assets = object.assets
        var changed = false
        for index in assets.indices {
            let (key, asset) = assets[index]
            let target = Href.resolve(asset.href, against: product.location)
            let reference = try check(
                target, href: asset.href, document: product.location, roots: product.roots,
                subject: "Asset \"\(key)\" of \(product.object.type.kindName) \"\(product.object.id)\"")
            if !ReservedNames.sameBytes(reference.record, target) {
                assets[index].asset.href = reference.record
                changed = true
            }
            if !ReservedNames.sameBytes(reference.fetch, reference.record) {
                product.fetchSources[key] = reference.fetch
            }
        }
        if changed { object.assets = assets }
        var links = object.links
        var linksChanged = false
        for index in links.indices where Href.userinfo(of: links[index].href) != nil {
            links[index].href = Href.withoutUserinfo(links[index].href)
            linksChanged = true
        }
        if linksChanged { object.links = links }
        if changed || linksChanged { product.object = object }
    }

    // MARK: Paths

    /// Compared as bytes: Swift's `==` and `hasPrefix` treat NFC and NFD spellings (two different
    /// folders on disk) as equal.
    static func isInside(_ path: String, _ folder: String) -> Bool {
        let prefix = Array((folder.hasSuffix("/") ? folder : folder + "/").utf8)
        return folder == "/" || path.utf8.elementsEqual(folder.utf8) || path.utf8.starts(with: prefix)
    }

    static func parentOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The path with every symbolic link resolved (`realpath`); the part below the deepest
    /// existing folder is appended as written.
    static func realPath(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let parent = parentOf(path)
        guard parent != path, !path.isEmpty, path != "/" else { return path }
        let name = path[path.index(after: path.lastIndex(of: "/") ?? path.startIndex)...]
        let base = realPath(parent)
        return (base.hasSuffix("/") ? base : base + "/") + name
    }

    /// The first component of `path` that is a symbolic link.
    static func firstSymbolicLink(in path: String) -> String? {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            var info = stat()
            if lstat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK { return prefix }
        }
        return nil
    }
}
