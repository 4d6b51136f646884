public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How sources are read beyond single STAC files: STAC API searches, bucket prefixes and
/// directory listings (``IngestOptions/sources``).
public struct SourceOptions: Sendable {
    /// The most items taken from a STAC API search or items endpoint (`--max-items`); nil: all pages.
    public var maxItems: Int?
    /// A JSON body sent with `POST` to a search URL (`--search-body FILE`).
    public var searchBody: Data?
    /// Fetch each item's collection and ingest it first (`--with-collections`); nil: yes when
    /// reading from a STAC API or from standard input, no otherwise.
    public var withCollections: Bool?
    /// Only listed objects whose path below the prefix matches one of these globs (`--include`).
    public var include: [String] = []
    /// Listed objects whose path below the prefix matches one of these globs are skipped (`--exclude`).
    public var exclude: [String] = []
    /// `max-keys` of each ListObjectsV2 request (S3's default when nil).
    public var listPageSize: Int?

    public init() {}
}

/// What a ``SourceLoader`` noticed, shared by its copies: counts for warnings, and documents
/// already read (a listing reads each JSON once, then follows links among them).
final class SourceNotes: @unchecked Sendable {
    private let lock = NSLock()
    private var typed = 0
    private var documents: [String: Data] = [:]

    /// Objects typed without a `type` field (pre-1.0 STAC).
    var typedWithoutTypeCount: Int { lock.withLock { typed } }

    func typedWithoutType() { lock.withLock { typed += 1 } }

    func cache(_ location: String, _ data: Data) { lock.withLock { documents[location] = data } }

    func cachedDocument(_ location: String) -> Data? { lock.withLock { documents[location] } }

    /// The warnings an ingest prints once.
    var warnings: [String] {
        let n = typedWithoutTypeCount
        guard n > 0 else { return [] }
        return [
            "\(plural(n, "object")) had no \"type\" (STAC before 1.0.0-rc.1) and \(n == 1 ? "was" : "were") typed by shape the way pystac does it (extent or license: Collection; geometry or properties: Item; else Catalog); \"type\" was added to the stored \(n == 1 ? "document" : "documents")"
        ]
    }
}

/// Shell-style globs (`*`, `?`, `[…]`) over listed paths; `*` also matches `/`.
enum PathGlob {
    static func matches(_ pattern: String, _ path: String) -> Bool {
        fnmatch(pattern, path, 0) == 0
    }

    /// Whether a listed path passes `--include` (any, when given) and `--exclude` (none).
    static func selected(_ path: String, include: [String], exclude: [String]) -> Bool {
        if !include.isEmpty, !include.contains(where: { matches($0, path) }) { return false }
        return !exclude.contains(where: { matches($0, path) })
    }
}
