import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Readers of the file backend (docs/format.md, "Readers"): they never take the writer lock and
/// never write, and still see one version.
///
/// A reader notes a token — the content of `.stac-repository/generation` (a random value every
/// commit and every rollback rewrites before it moves a file), the identity of `journal.json`
/// and the size of the append-only log — reads, and compares the token again. A commit that
/// started, finished or was rolled back in between changes the token, and the reader reads
/// again. While a live writer moves files (a journal exists and the lock's holder is alive),
/// the reader waits for it to finish: that takes milliseconds. A journal left by a writer that
/// died is read through: the files it moved aside (`tx/backup/N`) are the version before the
/// interrupted commit, which is what the next writer's recovery restores.
extension FileBackend {
    /// What a reader compares before and after reading.
    struct ReaderToken: Equatable {
        var generation: [UInt8]?
        var journal: [Int64]?
        var logSize: Int64?
    }

    /// Attempts before a reader gives up on a catalog that changes faster than it can be read.
    static let readerRetries = 100
    /// Seconds a reader waits for a running commit (or keeps retrying) before it gives up.
    static let readerTimeout: TimeInterval = 120

    var generationPath: String { stateDirectory.path + "/generation" }

    /// Tells readers that files are about to move (called before a commit's first move and
    /// before a rollback).
    func bumpGeneration() throws {
        try FS.writeAtomically(Array(UUID().uuidString.utf8), to: generationPath)
    }

    func readerToken() -> ReaderToken {
        var st = stat()
        let journal: [Int64]? =
            lstat(journalPath, &st) == 0
            ? [Int64(st.st_ino), Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)] : nil
        return ReaderToken(generation: try? FS.read(generationPath), journal: journal, logSize: FS.fileSize(logPath))
    }

    /// Whether the process named in the lock file is alive (it may be committing right now).
    func writerIsRunning() -> Bool {
        guard let bytes = try? FS.read(stateDirectory.path + "/lock") else { return false }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("pid "), let end = text.firstIndex(of: ":"),
            let pid = Int32(text[text.index(text.startIndex, offsetBy: 4)..<end])
        else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    public func readConsistently<T>(at ref: String?, _ body: (any CatalogSnapshot) throws -> T) throws -> T {
        if ref != nil { _ = try snapshot(at: ref) }  // the file backend has no history: a clear error
        let deadline = Date().addingTimeInterval(Self.readerTimeout)
        var retries = 0
        while true {
            let before = readerToken()
            if before.journal != nil, writerIsRunning() {
                guard Date() < deadline else {
                    throw StacRepositoryError(
                        .locked,
                        "A commit of another stac-repository process has been running for \(Int(Self.readerTimeout)) s; wait for it to finish and run the command again."
                    )
                }
                usleep(2_000)
                continue
            }
            var failure: (any Error)?
            do {
                let result = try body(try readerSnapshot())
                if readerToken() == before { return result }
            } catch {
                // An error while the catalog did not change is the reader's answer, except while
                // a dead writer's journal is being recovered by another process (files move).
                if readerToken() == before && (before.journal == nil || retries >= 3) { throw error }
                failure = error
            }
            retries += 1
            if retries > Self.readerRetries || Date() > deadline {
                throw failure
                    ?? StacRepositoryError(
                        .conflict,
                        "The catalog changed \(retries) times while it was being read; run the command again when fewer commits are running."
                    )
            }
            usleep(UInt32(min(retries, 20)) * 1_000)
        }
    }

    /// The catalog as a reader sees it now: the files in place, or, when a journal of an
    /// interrupted commit is present, the version before that commit.
    func readerSnapshot() throws -> FileSnapshot {
        guard let journal = try readJournal(), journal.state != "committed" else {
            return FileSnapshot(root: root, overlay: [:])
        }
        var overlay: [String: String?] = [:]
        for (n, entry) in journal.entries.enumerated() {
            let backup = txDirectory + "/backup/\(n)"
            if FS.exists(backup) {
                overlay[entry.path] = .some(backup)
            } else if let staged = entry.staged, !FS.exists(txDirectory + "/files/" + staged) {
                // The new file was moved in and there was no old one.
                overlay[entry.path] = .some(nil)
            }
        }
        return FileSnapshot(root: root, overlay: overlay)
    }
}

/// The file backend's catalog for a reader: the directory, with the paths an interrupted
/// commit moved replaced by their previous version.
struct FileSnapshot: CatalogSnapshot {
    let root: URL
    /// Path -> where its previous bytes are (nil: it did not exist).
    let overlay: [String: String?]

    var version: String? { nil }

    func files() throws -> [String] {
        var files = Set(FS.listFiles(under: root.path, skipHidden: true))
        for (path, location) in overlay {
            if location == nil { files.remove(path) } else { files.insert(path) }
        }
        return files.sorted()
    }

    private func location(_ path: String) -> String? {
        if let entry = overlay[path] { return entry }
        return root.path + "/" + path
    }

    func read(_ path: String) throws -> [UInt8]? {
        guard let location = location(path) else { return nil }
        return try FS.read(location)
    }

    func source(_ path: String) throws -> FileSource? {
        guard let location = location(path), FS.exists(location) else { return nil }
        return .file(URL(fileURLWithPath: location))
    }
}
