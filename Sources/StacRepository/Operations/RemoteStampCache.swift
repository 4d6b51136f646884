import AssetTransfer
import Foundation
import STAC

/// What the servers of remote asset originals said about the bytes the repository fetched:
/// URL → (SHA-256, size, ETag, Last-Modified). A re-ingest of an unchanged document asks each
/// such server again with one `HEAD` (signed for S3) and treats the asset as changed when the
/// answer names another version, so a remote original whose bytes changed behind the same JSON
/// is fetched again, without downloading the originals that did not change.
///
/// Kept beside the stat cache in the tool's state directory (`cache/remote-stamps`), never
/// committed; losing it only means a remote original is trusted on its JSON until its next
/// transfer records a stamp again. Servers that send neither an ETag nor a Last-Modified date
/// give nothing to compare: their originals are trusted on the JSON (docs/format.md).
final class RemoteStampCache: @unchecked Sendable {
    struct Entry: Equatable {
        var sha256: String
        var stamp: RemoteStamp
    }

    /// The first line of the file; the others are `sha256 TAB size TAB etag TAB last-modified TAB url`.
    static let header = "stac-repository remote-stamp cache v1"

    let file: String
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var dirty = false

    init(stateDirectory: URL) {
        file = stateDirectory.appendingPathComponent("cache/remote-stamps").path
        if let bytes = (try? FS.read(file)) ?? nil { entries = Self.parse(bytes) }
    }

    private static func parse(_ bytes: [UInt8]) -> [String: Entry] {
        var out: [String: Entry] = [:]
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.first == Substring(header) else { return out }
        for line in lines.dropFirst() {
            let f = line.split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5, f[0].count == 64 else { continue }
            func opt(_ s: String) -> String? { s == "-" ? nil : s }
            let stamp = RemoteStamp(size: Int64(f[1]), etag: opt(f[2]), lastModified: opt(f[3]))
            out[f[4]] = Entry(sha256: f[0], stamp: stamp)
        }
        return out
    }

    /// The recorded entry of a URL.
    func entry(_ url: String) -> Entry? {
        lock.lock()
        defer { lock.unlock() }
        return entries[url]
    }

    /// Remembers the stamp of bytes just fetched from `url`; ignored when the stamp names no version.
    func record(_ url: String, stamp: RemoteStamp, sha256: String) {
        guard stamp.identifiesVersion, !url.contains("\t"), !url.contains("\n") else { return }
        let clean = { (s: String?) in s.map { $0.replacingOccurrences(of: "\t", with: " ") } }
        let entry = Entry(
            sha256: sha256,
            stamp: RemoteStamp(size: stamp.size, etag: clean(stamp.etag), lastModified: clean(stamp.lastModified)))
        lock.lock()
        if entries[url] != entry {
            entries[url] = entry
            dirty = true
        }
        lock.unlock()
    }

    /// Writes the cache when it changed (atomically; a failure only costs a trust on the JSON later).
    func save() {
        lock.lock()
        defer { lock.unlock() }
        guard dirty else { return }
        var text = Self.header + "\n"
        for (url, e) in entries.sorted(by: { $0.key < $1.key }) {
            let s = e.stamp
            text +=
                "\(e.sha256)\t\(s.size.map(String.init) ?? "-")\t\(s.etag ?? "-")\t\(s.lastModified ?? "-")\t\(url)\n"
        }
        try? FS.makeDirectories((file as NSString).deletingLastPathComponent)
        try? FS.writeAtomically(Array(text.utf8), to: file)
        dirty = false
    }

    /// The remote originals of `products` whose server now names another version than the one
    /// recorded (or cannot be asked: the transfer then says why). Asks at most `jobs` servers at
    /// once; originals with no recorded entry are not asked.
    func changedOriginals(of products: [SourceProduct], engine: AssetTransferEngine) async -> Set<String> {
        var urls: [String: Entry] = [:]
        for product in products {
            for (key, asset) in product.object.assets {
                let href = Href.resolve(asset.href, against: product.location)
                if case .file = Href.scheme(of: href) { continue }
                let source = product.fetchSources[key] ?? href
                if let e = entry(source) { urls[source] = e }
            }
        }
        guard !urls.isEmpty else { return [] }
        let limit = max(1, engine.configuration.jobs)
        let pending = urls.sorted { $0.key < $1.key }
        return await withTaskGroup(of: String?.self) { group in
            var changed: Set<String> = []
            var next = 0
            func add() {
                let (url, recorded) = pending[next]
                next += 1
                group.addTask {
                    guard case .success(let now)? = await engine.probe(url), recorded.stamp.sameVersion(as: now) else {
                        return url
                    }
                    return nil
                }
            }
            while next < min(limit, pending.count) { add() }
            while let result = await group.next() {
                if let url = result { changed.insert(url) }
                if next < pending.count { add() }
            }
            return changed
        }
    }
}
