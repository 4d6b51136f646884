import AssetTransfer
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Completed asset downloads that survive a killed or failed ingest, so that its re-run fetches
/// only what is missing ("reused N").
///
/// Kept in the tool's state directory (`cache/transfers/`, never committed): `objects/SHA256`
/// holds the bytes of each completed transfer (a hard link to the staged file the transaction
/// uses), and `journal` has one line per transfer, appended and fsynced as each one completes:
/// `sha256 TAB size TAB etag TAB last-modified TAB stat-key TAB source` (`-` for an empty field;
/// the stat key is `device:inode:size:mtime:ctime` of a local source). A torn last line (a kill
/// while appending) is ignored. An entry is trusted only when the source still names the same
/// version (a `HEAD` answering the recorded ETag / Last-Modified, or the same stat key) and the
/// object's bytes hash to the recorded SHA-256. A transaction that commits consumes the entries it
/// used: their bytes are then in the store. Losing the directory only costs downloading again.
final class TransferJournal: @unchecked Sendable {
    struct Entry: Equatable {
        var sha256: String
        var size: Int64
        var stamp: RemoteStamp?
        var statKey: String?
        var source: String
    }

    static let header = "stac-repository transfer journal v1"

    let directory: String
    var file: String { directory + "/journal" }
    var objects: String { directory + "/objects" }
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// SHA-256s of the objects this run used (fetched or reused), consumed after a commit.
    private var used: Set<String> = []
    private let queue = DispatchQueue(label: "stac-repository.transfer-journal")
    private var appendFD: Int32 = -1

    init(stateDirectory: URL) {
        directory = stateDirectory.appendingPathComponent("cache/transfers").path
        if let bytes = (try? FS.read(file)) ?? nil { entries = Self.parse(bytes) }
    }

    deinit {
        if appendFD >= 0 { close(appendFD) }
    }

    static func parse(_ bytes: [UInt8]) -> [String: Entry] {
        var out: [String: Entry] = [:]
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        // The last segment is empty when the file ends with a newline, else a torn line.
        lines.removeLast()
        guard let first = lines.first, String(decoding: first, as: UTF8.self) == header else { return out }
        for raw in lines.dropFirst() {
            let f = String(decoding: raw, as: UTF8.self).split(
                separator: "\t", maxSplits: 5, omittingEmptySubsequences: false
            ).map(String.init)
            guard f.count == 6, f[0].count == 64, f[0].allSatisfy(\.isHexDigit), let size = Int64(f[1]) else {
                continue
            }
            func opt(_ s: String) -> String? { s == "-" ? nil : s }
            let stamp = RemoteStamp(size: size, etag: opt(f[2]), lastModified: opt(f[3]))
            out[f[5]] = Entry(
                sha256: f[0], size: size, stamp: stamp.identifiesVersion ? stamp : nil, statKey: opt(f[4]),
                source: f[5])
        }
        return out
    }

    /// The stat key of a local file (what the stat cache compares), nil when it is not a regular file.
    static func statKey(_ path: String) -> String? {
        guard let s = AssetStatCache.Stamp(path: path) else { return nil }
        return "\(s.device):\(s.inode):\(s.size):\(s.mtime):\(s.ctime)"
    }

    func entry(_ source: String) -> Entry? { lock.withLock { entries[source] } }

    /// The number of entries (for tests and logs).
    var count: Int { lock.withLock { entries.count } }

    // MARK: Recording

    /// Keeps the bytes of a transfer that just completed and appends its line, on a serial queue
    /// of its own (fsync blocks); ``drain()`` waits for every queued record.
    func record(_ asset: TransferredAsset) {
        guard let staged = asset.file, !asset.request.source.contains("\t"), !asset.request.source.contains("\n")
        else { return }
        let source = asset.request.source
        // Whatever the commit stores is consumed from the journal then, whichever source it came
        // from: a remote product's download (RemoteProducts) reaches the store as the scratch copy.
        lock.withLock { _ = used.insert(asset.sha256) }
        // A processor's scratch output is gone after the run: nothing to resume from there.
        if source.hasPrefix(FileManager.default.temporaryDirectory.path + "/stac-repository-") { return }
        var statKey: String?
        if source.hasPrefix("/") { statKey = Self.statKey(source) }
        let clean = { (s: String?) in s.map { $0.replacingOccurrences(of: "\t", with: " ") } }
        let stamp = asset.remoteStamp.map {
            RemoteStamp(size: $0.size, etag: clean($0.etag), lastModified: clean($0.lastModified))
        }
        let entry = Entry(sha256: asset.sha256, size: asset.size, stamp: stamp, statKey: statKey, source: source)
        queue.async { [self] in write(entry, staged: staged.path) }
    }

    /// Waits until every queued record is written.
    func drain() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in queue.async { c.resume() } }
    }

    private func write(_ entry: Entry, staged: String) {
        let object = objects + "/" + entry.sha256
        // The bytes first (durable, then linked), the line that names them after.
        FS.syncFile(staged)
        if !FS.exists(object) {
            try? FS.makeDirectories(objects)
            // A download outside the repository's file system (a processor's scratch folder in
            // TMPDIR) cannot be linked: it is cloned (or copied) instead.
            guard Self.linkOrClone(staged, object) else { return }
            FS.syncDirectory(objects)
        }
        let s = entry.stamp
        let line =
            "\(entry.sha256)\t\(entry.size)\t\(s?.etag ?? "-")\t\(s?.lastModified ?? "-")\t\(entry.statKey ?? "-")\t\(entry.source)\n"
        guard append(Array(line.utf8)) else { return }
        lock.withLock { entries[entry.source] = entry }
        TestHooks.crashPoint("transfer-journaled")
    }

    /// Appends to the journal and fsyncs it; a file that does not end with a newline (a torn
    /// line) gets one first, so that the torn line never swallows this one.
    private func append(_ bytes: [UInt8]) -> Bool {
        if appendFD < 0 {
            try? FS.makeDirectories(directory)
            let fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return false }
            appendFD = fd
            var st = stat()
            fstat(fd, &st)
            var prefix: [UInt8] = []
            if st.st_size == 0 {
                prefix = Array((Self.header + "\n").utf8)
            } else {
                let rd = open(file, O_RDONLY | O_CLOEXEC)
                var last: UInt8 = 0x0A
                if rd >= 0 {
                    _ = pread(rd, &last, 1, off_t(st.st_size - 1))
                    close(rd)
                }
                if last != 0x0A { prefix = [0x0A] }
            }
            if !prefix.isEmpty, !writeAll(fd, prefix) { return false }
            FS.syncDirectory(directory)
        }
        guard writeAll(appendFD, bytes) else { return false }
        return fsync(appendFD) == 0
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, base + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// Hard-links `from` to `to`; across file systems, clones or copies it (then fsynced).
    static func linkOrClone(_ from: String, _ to: String) -> Bool {
        if link(from, to) == 0 || errno == EEXIST { return true }
        guard errno == EXDEV, (try? FS.cloneFile(from, to)) != nil else { return false }
        FS.syncFile(to)
        return true
    }

    // MARK: Reuse

    /// The copy requests whose bytes an earlier, interrupted transfer already holds, answered
    /// from the journal (each as a new staged file in `staging`); the others are left to fetch.
    /// Remote sources are asked with one `HEAD` each (at most `jobs` at once), and every object
    /// is hashed again before it is trusted.
    ///
    /// `known` holds stamps the caller already has for some requests (by index: an S3 listing's
    /// ETag, a `HEAD` it just made); those are compared without asking again.
    func reuse(
        _ requests: [AssetRequest], staging: URL, engine: AssetTransferEngine, known: [Int: RemoteStamp] = [:]
    ) async -> [Int: TransferredAsset] {
        var candidates: [(index: Int, entry: Entry)] = []
        for (n, request) in requests.enumerated() {
            guard let e = entry(request.source) else { continue }
            if let size = request.expectedSize, size != e.size { continue }
            if let declared = request.expectedChecksum, declared.lowercased() != Multihash.sha256(e.sha256) {
                continue
            }
            candidates.append((n, e))
        }
        guard !candidates.isEmpty else { return [:] }
        // Is the source still the version the bytes came from?
        let limit = max(1, engine.configuration.jobs)
        let current: [Int] = await withTaskGroup(of: Int?.self) { group in
            var out: [Int] = []
            var next = 0
            func add() {
                let (n, e) = candidates[next]
                let request = requests[n]
                let stamp = known[n]
                next += 1
                group.addTask {
                    if request.source.hasPrefix("/") {
                        return e.statKey != nil && Self.statKey(request.source) == e.statKey ? n : nil
                    }
                    if let recorded = e.stamp {
                        if let stamp { return recorded.sameVersion(as: stamp) ? n : nil }
                        guard case .success(let now)? = await engine.probe(request.source),
                            recorded.sameVersion(as: now)
                        else { return nil }
                        return n
                    }
                    // No version to compare: only a declared SHA-256 (checked above) vouches for the bytes.
                    return request.expectedChecksum != nil ? n : nil
                }
            }
            while next < min(limit, candidates.count) { add() }
            while let result = await group.next() {
                if let n = result { out.append(n) }
                if next < candidates.count { add() }
            }
            return out
        }
        let byIndex = Dictionary(candidates.map { ($0.index, $0.entry) }, uniquingKeysWith: { a, _ in a })
        let objects = self.objects
        let checked: [Int: TransferredAsset] =
            (try? await DedicatedThread.run("stac-repository reuse downloads") {
                var out: [Int: TransferredAsset] = [:]
                var verified: [String: Bool] = [:]
                try? FS.makeDirectories(staging.path)
                for n in current.sorted() {
                    guard let e = byIndex[n] else { continue }
                    let object = objects + "/" + e.sha256
                    let good =
                        verified[e.sha256]
                        ?? {
                            let ok =
                                (try? sha256OfFile(object)).map { $0.hex == e.sha256 && $0.size == e.size } ?? false
                            if !ok { unlink(object) }
                            return ok
                        }()
                    verified[e.sha256] = good
                    guard good else { continue }
                    let staged = staging.appendingPathComponent("reused-\(UUID().uuidString)")
                    guard Self.linkOrClone(object, staged.path) else { continue }
                    var asset = TransferredAsset(request: requests[n], file: staged, sha256: e.sha256, size: e.size)
                    asset.remoteStamp = e.stamp
                    out[n] = asset
                }
                return out
            }) ?? [:]
        lock.withLock {
            for asset in checked.values { used.insert(asset.sha256) }
        }
        return checked
    }

    // MARK: Consuming

    /// After a commit: the bytes this run used are in the store now; drops their objects and lines.
    func consumeUsed() {
        let consumed: Set<String> = lock.withLock {
            let u = used
            used = []
            return u
        }
        guard !consumed.isEmpty else { return }
        rewrite(removing: { consumed.contains($0.sha256) }, unlinking: { _, _ in consumed })
    }

    /// Drops the entries of `sources` (remote products found unchanged: their bytes are not
    /// needed any more) and the objects that no other entry names.
    func forget(sources: Set<String>) {
        guard lock.withLock({ sources.contains { entries[$0] != nil } }) else { return }
        rewrite(removing: { sources.contains($0.source) }) { removed, kept in
            Set(removed.map(\.sha256)).subtracting(kept.map(\.sha256))
        }
    }

    /// Removes the entries `removing` matches, unlinks the objects `unlinking` names (given the
    /// removed and the kept entries), and rewrites the journal atomically (or removes it when empty).
    private func rewrite(
        removing: (Entry) -> Bool, unlinking: (_ removed: [Entry], _ kept: [Entry]) -> Set<String>
    ) {
        queue.sync {
            if appendFD >= 0 {
                close(appendFD)
                appendFD = -1
            }
            let (removed, kept): ([Entry], [Entry]) = lock.withLock {
                let removed = entries.values.filter(removing)
                entries = entries.filter { !removing($0.value) }
                return (removed, entries.values.sorted { $0.source < $1.source })
            }
            for sha in unlinking(removed, kept) { unlink(objects + "/" + sha) }
            if kept.isEmpty {
                unlink(file)
                return
            }
            var text = Self.header + "\n"
            for e in kept {
                let s = e.stamp
                text +=
                    "\(e.sha256)\t\(e.size)\t\(s?.etag ?? "-")\t\(s?.lastModified ?? "-")\t\(e.statKey ?? "-")\t\(e.source)\n"
            }
            try? FS.writeAtomically(Array(text.utf8), to: file, sync: true)
        }
    }
}
