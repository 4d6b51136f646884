public import Foundation
import STAC

#if canImport(Glibc)
    import Glibc
#endif

/// How `export` materialises asset bytes.
public enum ExportAssetMode: String, Sendable, CaseIterable {
    /// Real copies.
    case copy
    /// Hard links to the repository's files (falls back to copies across filesystems).
    case link
    /// No asset files; only the JSON.
    case none
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
    /// - Parameters:
    ///   - ref: the version to export (git backend); nil for the current one.
    ///   - force: write into a non-empty directory.
    public func export(to directory: URL, ref: String? = nil, assets: ExportAssetMode = .copy, force: Bool = false)
        throws -> ExportReport
    {
        try recoverIfIdle()
        let dir = directory.standardizedFileURL.path
        if dir == root.standardizedFileURL.path || dir.hasPrefix(root.standardizedFileURL.path + "/") {
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
                    .alreadyExists, "\(dir) is not empty; choose an empty directory or pass --force to write into it.")
            }
        }
        let snapshot = try backend.snapshot(at: ref)
        var report = ExportReport(directory: dir, version: snapshot.version)
        try FS.makeDirectories(dir)
        for path in try snapshot.files() where path != ".gitattributes" {
            let target = dir + "/" + path
            let isJSON = path.hasSuffix(".json")
            if !isJSON && assets == .none { continue }
            switch try snapshot.source(path) {
            case .bytes(let b)?:
                try FS.makeDirectories((target as NSString).deletingLastPathComponent)
                unlink(target)  // never write through a hard link left by an earlier export
                try FS.write(b, to: target)
                report.bytes += Int64(b.count)
            case .file(let url)?:
                try FS.copyFile(url.path, target, link: assets == .link && !isJSON, atomic: false)
                report.bytes += FS.fileSize(target) ?? 0
            case .missingObject(let oid, _)?:
                throw StacRepositoryError(
                    .integrity,
                    "The Git LFS object \(oid) of \(path) is missing from the repository; restore it from a backup (`git lfs fetch`) and export again."
                )
            case nil:
                continue
            }
            if isJSON { report.jsonFiles += 1 } else { report.assetFiles += 1 }
        }
        return report
    }
}
