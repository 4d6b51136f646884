import AssetTransfer
public import Foundation
import STAC

#if canImport(Glibc)
    import Glibc
#endif

/// How `export` materialises asset bytes.
public enum ExportAssetMode: String, Sendable, CaseIterable {
    /// Real copies.
    case copy
    /// Hard links to the repository's files (falls back to copies across filesystems). The
    /// linked files share their bytes with the repository: never edit them in place.
    case link
    /// No asset files; only the JSON, with each asset's `href` set to its original location
    /// (`alternate.original.href`).
    case none
    /// The same as ``none`` for a folder; for a bucket (`export s3://…`): JSON only, asset hrefs
    /// pointing at the originals.
    case reference
}

/// What `export` wrote.
public struct ExportReport: Sendable, Codable {
    public var directory: String
    public var version: String?
    public var jsonFiles = 0
    public var assetFiles = 0
    public var bytes: Int64 = 0
}

extension Repository {
    /// Writes a self-contained static catalog (relative links, assets materialised) to `directory`.
    ///
    /// The export is written into a temporary sibling of `directory` (`.NAME.stac-export-…`),
    /// every byte hashed while it is copied and compared with the Git LFS pointer and the
    /// asset's `file:checksum`/`file:size`, and only then renamed into place; with `force`, an
    /// existing destination is swapped out and removed afterwards. A kill at any instant leaves
    /// the old destination, the new complete one, or a temporary sibling that the next export
    /// removes. Nothing is ever written through a symbolic link inside the destination.
    ///
    /// - Parameters:
    ///   - ref: the version to export (git backend); nil for the current one.
    ///   - force: replace a non-empty directory.
    ///   - progress: told how many files and bytes were written.
    /// - Throws: ``StacRepositoryError`` `.integrity` naming the file when stored bytes are
    ///   damaged or missing (nothing is written then), `.alreadyExists` for a non-empty
    ///   destination without `force`.
    public func export(
        to directory: URL, ref: String? = nil, assets: ExportAssetMode = .copy, force: Bool = false,
        progress: ProgressHandler? = nil
    ) throws -> ExportReport {
        try recoverIfIdle()
        let assets: ExportAssetMode = assets == .reference ? .none : assets
        var dir = directory.standardizedFileURL.path
        if FS.isSymbolicLink(dir) {
            // The destination the user named is a link: export to what it points at.
            dir = directory.resolvingSymlinksInPath().standardizedFileURL.path
        }
        let roots = [root.standardizedFileURL.path, root.resolvingSymlinksInPath().standardizedFileURL.path]
        let resolvedParent = URL(fileURLWithPath: (dir as NSString).deletingLastPathComponent)
            .resolvingSymlinksInPath().standardizedFileURL.path
        let resolvedDir = resolvedParent + "/" + (dir as NSString).lastPathComponent
        for r in roots where [dir, resolvedDir].contains(where: { $0 == r || $0.hasPrefix(r + "/") }) {
            throw StacRepositoryError(
                .invalidInput, "Cannot export into the repository itself (\(dir)); choose a directory outside it.")
        }
        if FS.exists(dir) {
            guard FS.isDirectory(dir) else {
                throw StacRepositoryError(
                    .invalidInput, "\(dir) exists and is not a directory; choose another destination.")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            if !contents.isEmpty && !force {
                throw StacRepositoryError(
                    .alreadyExists, "\(dir) is not empty; choose an empty directory or pass --force to replace it.")
            }
        }
        let destination = try ExportDestination(path: dir)
        var report = try backend.readConsistently(at: ref) { snapshot in
            try destination.resetTemporary()
            var writer = ExportWriter(
                snapshot: snapshot, directory: destination.temporary, assets: assets, progress: progress)
            return try writer.write()
        }
        try destination.commit(force: force)
        report.directory = dir
        return report
    }
}

/// Writes one snapshot into a fresh directory, verifying every byte.
struct ExportWriter {
    let snapshot: any CatalogSnapshot
    let directory: String
    let assets: ExportAssetMode
    let progress: ProgressHandler?

    /// What the catalog documents say a file must hold.
    struct Expectation {
        var name: String
        var sha256: String?
        var size: Int64?
    }

    mutating func write() throws -> ExportReport {
        var report = ExportReport(directory: directory, version: snapshot.version)
        let files = try snapshot.files().filter { $0 != ".gitattributes" }
        let present = Set(files)
        let index: CatalogIndex
        do { index = try snapshot.index() } catch let error as StacRepositoryError {
            throw StacRepositoryError(
                .integrity, "Nothing was exported: \(error.message)", underlying: error)
        }
        // Every catalog document must parse: a truncated or garbage file fails the export.
        var documents: [String: STACObject] = [:]
        for path in Set(index.containers.keys).union(index.items.keys).sorted() {
            guard let bytes = try snapshot.read(path) else {
                throw StacRepositoryError(
                    .integrity,
                    "The catalog links to \(path), which is missing from the repository; nothing was exported. Restore it (`verify`, `rollback` or a backup) and export again."
                )
            }
            do {
                documents[path] = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
            } catch {
                throw StacRepositoryError(
                    .integrity,
                    "The stored file \(path) is not a valid STAC document (\(error)); nothing was exported. Restore it (`verify`, `rollback` or a backup) and export again."
                )
            }
        }
        var expected: [String: Expectation] = [:]
        for (path, object) in documents {
            for (key, asset) in object.assets {
                guard let target = CatalogIndex.resolveInside(asset.href, from: path) else { continue }
                let name = "asset \"\(key)\" of \(object.type.kindName) \"\(object.id)\" (\(target))"
                var e = Expectation(name: name)
                if let declared = asset["file:checksum"]?.stringValue, let parsed = Multihash.parse(declared),
                    parsed.algorithm == .sha2_256
                {
                    e.sha256 = parsed.digestHex
                }
                e.size = asset["file:size"]?.numberValue.flatMap { Int64($0.literal) }
                expected[target] = e
                if !present.contains(target) && assets != .none {
                    throw StacRepositoryError(
                        .integrity,
                        "The \(name) is missing from the repository; nothing was exported. Restore it (`verify`, a backup, or ingest the product again) and export again."
                    )
                }
            }
        }
        let total = files.count
        var done = 0
        var bytesDone: Int64 = 0
        progress?(OperationProgress(phase: "export", completed: 0, total: total))
        for path in files {
            defer {
                done += 1
                progress?(OperationProgress(phase: "export", completed: done, total: total, bytes: bytesDone))
            }
            let target = directory + "/" + path
            if let object = documents[path] {
                try FS.makeDirectoriesNoFollow(parentDirectory(path), under: directory)
                let bytes: [UInt8]
                if assets == .none {
                    bytes = Self.withOriginalHrefs(object, path: path)
                } else if let stored = try snapshot.read(path) {
                    bytes = stored
                } else {
                    continue
                }
                try FS.writeNew(bytes, to: target)
                report.jsonFiles += 1
                report.bytes += Int64(bytes.count)
                bytesDone += Int64(bytes.count)
                continue
            }
            if assets == .none { continue }
            let digest: (sha256: String, size: Int64)
            switch try snapshot.source(path) {
            case .bytes(let b)?:
                try FS.makeDirectoriesNoFollow(parentDirectory(path), under: directory)
                try FS.writeNew(b, to: target)
                digest = (sha256OfBytes(b), Int64(b.count))
                bytesDone += Int64(b.count)
            case .file(let url)?:
                try FS.makeDirectoriesNoFollow(parentDirectory(path), under: directory)
                let p = progress
                let before = bytesDone
                var copied: Int64 = 0
                digest = try FS.copyHashing(from: url.path, to: target, link: assets == .link) { n in
                    copied += n
                    p?(OperationProgress(phase: "export", completed: done, total: total, bytes: before + copied))
                }
                bytesDone += digest.size
            case .missingObject(let oid, _)?:
                throw StacRepositoryError(
                    .integrity,
                    "The Git LFS object \(oid) of \(path) is missing from the repository; nothing was exported. Restore it from a backup (`git lfs fetch`) and export again."
                )
            case nil:
                continue
            }
            if let stored = try snapshot.storedDigest(path),
                stored.sha256 != digest.sha256 || stored.size != digest.size
            {
                throw StacRepositoryError(
                    .integrity,
                    "The stored bytes of \(expected[path]?.name ?? path) do not match its Git LFS pointer (oid \(stored.sha256), \(stored.size) bytes; read \(digest.sha256), \(digest.size) bytes): the object is damaged; nothing was exported. Restore it from a backup and export again."
                )
            }
            if let e = expected[path] {
                if let sha = e.sha256, sha != digest.sha256 {
                    throw StacRepositoryError(
                        .integrity,
                        "The bytes of \(e.name) do not match its file:checksum (read sha-256 \(digest.sha256)); nothing was exported. Restore the file from a backup or re-ingest the product, then export again."
                    )
                }
                if let size = e.size, size != digest.size {
                    throw StacRepositoryError(
                        .integrity,
                        "The \(e.name) has \(digest.size) bytes, not the \(size) of its file:size; nothing was exported. Restore the file from a backup or re-ingest the product, then export again."
                    )
                }
            }
            report.assetFiles += 1
            report.bytes += digest.size
        }
        return report
    }

    /// The document with every stored asset's href replaced by its original location, for an
    /// export without asset files.
    static func withOriginalHrefs(_ object: STACObject, path: String) -> [UInt8] {
        var object = object
        var changed = false
        let rewritten = object.assets.map { entry -> (key: String, asset: Asset) in
            var asset = entry.asset
            if CatalogIndex.resolveInside(asset.href, from: path) != nil,
                let original = asset["alternate"]?["original"]?["href"]?.stringValue
            {
                asset.href = original
                changed = true
            }
            return (entry.key, asset)
        }
        if changed { object.assets = rewritten }
        return object.serialized()
    }
}

/// The destination of an export (or of a new backup): a temporary sibling directory that is
/// renamed into place.
///
/// The sibling is named `.NAME.stac-export-XXXXXXXX` (`.stac-backup-` for a backup) and its writer holds an exclusive `flock`
/// on it, so a later export can tell a sibling left by a killed export (lock free: removed)
/// from one another export is writing (lock held: refused).
final class ExportDestination {
    let path: String
    let parent: String
    let temporary: String
    private var lockDescriptor: Int32 = -1
    private var committed = false

    init(path: String, marker: String = ".stac-export-") throws {
        self.path = path
        parent = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + marker
        temporary = parent + "/" + prefix + String(UUID().uuidString.prefix(8)).lowercased()
        try FS.makeDirectories(parent)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasPrefix(prefix)
        {
            let stale = parent + "/" + entry
            let fd = open(stale, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                FS.removeTreeNoFollow(stale)
                continue
            }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw StacRepositoryError(
                    .locked,
                    "Another process is writing into \(path) (it is writing \(stale)); wait for it to finish, or choose another destination."
                )
            }
            FS.removeTreeNoFollow(stale)
        }
        if mkdir(temporary, 0o755) != 0 { throw FS.storageError("create the directory", temporary) }
        lockDescriptor = open(temporary, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lockDescriptor >= 0 { flock(lockDescriptor, LOCK_EX | LOCK_NB) }
    }

    /// Empties the temporary directory (a reader that retries starts again from nothing).
    func resetTemporary() throws {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] {
            FS.removeTreeNoFollow(temporary + "/" + entry)
        }
    }

    /// Puts the finished export in place: a rename onto an absent or empty destination, an
    /// atomic exchange with a non-empty one (`force`), whose old content is then removed.
    func commit(force: Bool) throws {
        TestHooks.crashPoint("export-before-rename")
        if Glibc.rename(temporary, path) != 0 {
            let e = errno
            guard e == ENOTEMPTY || e == EEXIST else { throw FS.storageError("move the export to", path, e) }
            guard force else {
                throw StacRepositoryError(
                    .alreadyExists, "\(path) is not empty; choose an empty directory or pass --force to replace it.")
            }
            if FS.exchange(temporary, path) {
                // `temporary` now holds the old export; a kill here leaves it as a stale sibling.
                committed = true
                FS.removeTreeNoFollow(temporary)
            } else {
                let old = temporary + "-old"
                try FS.rename(path, old)
                TestHooks.crashPoint("export-old-moved")
                try FS.rename(temporary, path)
                committed = true
                FS.removeTreeNoFollow(old)
            }
        }
        committed = true
        FS.syncDirectory(parent)
    }

    deinit {
        if !committed { FS.removeTreeNoFollow(temporary) }
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }
}
