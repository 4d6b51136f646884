import AssetTransfer
import Foundation
import Logging
import STAC

/// `verify --origin`: every `alternate.*` entry of every stored asset (not only `original`)
/// that records an href and a SHA-256 `file:checksum` is read again and compared.
///
/// With `quick`, each remote one is first asked with one `HEAD` (S3: HeadObject) and compared
/// with the size, ETag and Last-Modified date its server gave when the repository fetched it
/// (`cache/remote-stamps` in the state directory); a local one with the stat cache
/// (`cache/asset-stat`). Only those that differ, or that have no recorded stamp (a clone, a cache
/// that was removed), are downloaded and hashed. Without `quick`, every one is re-hashed.
extension Repository {
    static let originLogger = Logger(label: "stac-repository.verify")

    /// One `alternate.*` entry to check.
    struct OriginEntry {
        /// The stored asset file (or the document, for an asset kept as a reference).
        var path: String
        /// `original`, or the name of another alternate.
        var name: String
        var href: String
        /// `1220…`.
        var checksum: String
    }

    /// Every alternate entry with an href and a sha2-256 checksum, at `ref`.
    func originEntries(ref: String?) throws -> [OriginEntry] {
        let snapshot = try backend.snapshot(at: ref)
        var out: [OriginEntry] = []
        for path in try snapshot.files().sorted() where path.hasSuffix(".json") {
            guard let bytes = try? snapshot.read(path), let value = try? JSONValue.parse(bytes: bytes, source: path),
                let assets = value["assets"]?.objectValue
            else { continue }
            for (_, asset) in assets {
                guard let alternates = asset["alternate"]?.objectValue else { continue }
                let href = asset["href"]?.stringValue ?? ""
                let target =
                    href.contains("://") || href.hasPrefix("/")
                    ? path : (CatalogIndex.resolveInside(href, from: path) ?? path)
                for (name, alternate) in alternates {
                    guard let h = alternate["href"]?.stringValue, let c = alternate["file:checksum"]?.stringValue,
                        c.hasPrefix("1220"), c.count == 68
                    else { continue }
                    out.append(OriginEntry(path: target, name: name, href: h, checksum: c))
                }
            }
        }
        return out
    }

    /// Checks the originals (see the type's comment) and adds what changed or vanished to `report`.
    func checkOrigins(
        ref: String?, quick: Bool, transfer: TransferConfiguration, report: inout VerifyReport
    ) async throws {
        let start = Date()
        let entries = try originEntries(ref: ref)
        guard !entries.isEmpty else { return }
        let listed = Date()
        let engine = AssetTransferEngine(configuration: transfer)
        var toHash = Array(entries.indices)
        let stamps = RemoteStampCache(stateDirectory: backend.stateDirectory)
        if quick {
            let stats = AssetStatCache(stateDirectory: backend.stateDirectory)
            let unchanged = await Self.quickUnchanged(entries, stamps: stamps, stats: stats, engine: engine)
            toHash = entries.indices.filter { !unchanged.contains($0) }
            report.originsChecked += unchanged.count
        }
        let asked = Date()
        defer {
            // The benchmark (scripts/bench_verify_quick.py) reads this line of `-v`.
            let seconds = { (a: Date, b: Date) in String(format: "%.3f", b.timeIntervalSince(a)) }
            let end = Date()
            let summary =
                "checked the originals in \(seconds(start, end)) s: \(entries.count) listed in \(seconds(start, listed)) s, "
                + (quick
                    ? "\(entries.count - toHash.count) unchanged by HEAD or stat in \(seconds(listed, asked)) s, " : "")
                + "\(toHash.count) re-read in \(seconds(asked, end)) s"
            Self.originLogger.debug("\(summary)")
        }
        let requests = toHash.map { i in
            AssetRequest(name: "the \(entries[i].name) of \(entries[i].path)", source: entries[i].href)
        }
        let results = await engine.measure(requests)
        for (i, result) in zip(toHash, results) {
            let entry = entries[i]
            report.originsChecked += 1
            let label = entry.name == "original" ? "its original" : "its alternate \"\(entry.name)\""
            switch result {
            case .success(let t):
                if Multihash.sha256(t.sha256) == entry.checksum, let stamp = t.remoteStamp {
                    // Learnt for the next `--quick`: an alternate the ingest never fetched (a
                    // mirror), or a clone without the cache, is then asked with a HEAD only.
                    stamps.record(entry.href, stamp: stamp, sha256: t.sha256)
                }
                if Multihash.sha256(t.sha256) != entry.checksum {
                    report.originProblems += 1
                    report.problems.append(
                        .init(
                            path: entry.path,
                            message:
                                "\(label) \(entry.href) has changed (now 1220\(t.sha256), recorded \(entry.checksum))"
                        ))
                }
            case .failure(let error):
                report.originProblems += 1
                report.problems.append(
                    .init(
                        path: entry.path,
                        message: "\(label) cannot be read any more: \(withoutAssetErrorHint(error.message))"))
            }
        }
        stamps.save()
    }

    /// Indices of the entries whose server (HEAD) or file (stat) still names the version that had
    /// the recorded checksum; at most `jobs` asked at once.
    private static func quickUnchanged(
        _ entries: [OriginEntry], stamps: RemoteStampCache, stats: AssetStatCache, engine: AssetTransferEngine
    ) async -> Set<Int> {
        var unchanged: Set<Int> = []
        var remote: [(Int, RemoteStampCache.Entry)] = []
        for (i, e) in entries.enumerated() {
            let hex = String(e.checksum.dropFirst(4))
            if case .file = Href.scheme(of: e.href) {
                let path = e.href.hasPrefix("file://") ? String(e.href.dropFirst("file://".count)) : e.href
                // Read again only when its (inode, size, times) changed since it was hashed.
                if let digest = stats.digest(of: path), digest.sha256 == hex {
                    unchanged.insert(i)
                }
                continue
            }
            if let recorded = stamps.entry(e.href), recorded.sha256 == hex { remote.append((i, recorded)) }
        }
        // S3 originals: one ListObjectsV2 page names the size and ETag of up to 1,000 objects,
        // where a HEAD names one. Those the listing did not show are asked with HEAD below.
        let listed = await listedStamps(of: remote.map { entries[$0.0].href }, engine: engine)
        remote = remote.filter { i, recorded in
            guard let now = listed[entries[i].href] else { return true }
            if recorded.stamp.sameVersion(as: now) { unchanged.insert(i) }
            return false
        }
        let limit = max(1, engine.configuration.jobs)
        await withTaskGroup(of: Int?.self) { group in
            var next = 0
            func add() {
                let (i, recorded) = remote[next]
                next += 1
                group.addTask {
                    guard case .success(let now)? = await engine.probe(entries[i].href),
                        recorded.stamp.sameVersion(as: now)
                    else { return nil }
                    return i
                }
            }
            while next < min(limit, remote.count) { add() }
            while let result = await group.next() {
                if let i = result { unchanged.insert(i) }
                if next < remote.count { add() }
            }
        }
        return unchanged
    }

    /// The fewest originals of one bucket worth a listing instead of one HEAD each.
    static let listingThreshold = 8

    /// Stamps of S3 originals from ListObjectsV2 of each bucket's longest common folder of them,
    /// stopping after twice as many keys as originals plus one page (a folder holding much more
    /// than the originals is not listed to the end: the rest get a HEAD). Empty on any error.
    private static func listedStamps(of hrefs: [String], engine: AssetTransferEngine) async -> [String: RemoteStamp] {
        var byBucket: [String: [String]] = [:]
        for href in hrefs where href.hasPrefix("s3://") {
            let path = href.dropFirst("s3://".count)
            guard let slash = path.firstIndex(of: "/"), slash != path.startIndex else { continue }
            byBucket[String(path[..<slash]), default: []].append(String(path[path.index(after: slash)...]))
        }
        var out: [String: RemoteStamp] = [:]
        let wanted = Set(hrefs)
        for (bucket, keys) in byBucket.sorted(by: { $0.key < $1.key }) where keys.count >= listingThreshold {
            let prefix = commonFolder(of: keys)
            guard
                let objects = try? await engine.listObjects(
                    under: "s3://\(bucket)/\(prefix)", limit: 2 * keys.count + 1000)
            else { continue }
            for object in objects where wanted.contains(object.href) && object.stamp.identifiesVersion {
                out[object.href] = object.stamp
            }
        }
        return out
    }

    /// The longest folder (ending in "/", or "") that holds every key.
    static func commonFolder(of keys: [String]) -> String {
        guard var common = keys.first.map({ Substring($0) }) else { return "" }
        for key in keys.dropFirst() {
            common = common.commonPrefix(with: key)[...]
            if common.isEmpty { return "" }
        }
        guard let slash = common.lastIndex(of: "/") else { return "" }
        return String(common[...slash])
    }
}
