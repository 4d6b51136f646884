public import Foundation

/// The plain-files backend: the catalog directory plus `.stac-repository/` (config, lock,
/// journal, staging, operations log). No content history.
///
/// Commit protocol (DESIGN §7): new bytes go to `tx/files/`, a journal listing every move is
/// written and fsynced, old files are moved to `tx/backup/` and new ones moved in, the journal
/// is marked committed, the log is appended, and `tx/` is removed. ``recover()`` rolls back a
/// journal that is not marked committed and finishes one that is.
public final class FileBackend: StorageBackend {
    public let kind = BackendKind.file
    public let crashes = CrashInjector()
    public let root: URL
    public let stateDirectory: URL
    public var stagingDirectory: URL { stateDirectory.appendingPathComponent("staging") }
    var txDirectory: String { stateDirectory.path + "/tx" }
    var journalPath: String { stateDirectory.path + "/journal.json" }
    var logPath: String { stateDirectory.path + "/log.ndjson" }
    private var configPath: String { stateDirectory.path + "/config.json" }

    /// The name of the state directory inside the catalog root.
    public static let stateDirectoryName = ".stac-repository"

    init(root: URL) {
        self.root = root
        self.stateDirectory = root.appendingPathComponent(Self.stateDirectoryName)
    }

    /// Creates the state directory of a new file-backend repository.
    static func create(at root: URL) throws -> FileBackend {
        let backend = FileBackend(root: root)
        try FS.makeDirectories(backend.stagingDirectory.path)
        try backend.writeConfig(["backend": "file"])
        return backend
    }

    // MARK: Reading

    public func read(_ path: String) throws -> [UInt8]? {
        try FS.read(root.path + "/" + path)
    }

    public func list(under directory: String) throws -> [String] {
        let base = directory.isEmpty ? root.path : root.path + "/" + directory
        let files = FS.listFiles(under: base, skipHidden: true)
        return directory.isEmpty ? files : files.map { directory + "/" + $0 }
    }

    public func assetFile(_ path: String) -> URL { root.appendingPathComponent(path) }

    public func snapshot(at ref: String?) throws -> any CatalogSnapshot {
        if let ref {
            throw StacRepositoryError(
                .unsupported,
                "--ref \(ref) needs the git backend, and this repository uses the file backend, which keeps no history; use a repository created with `init --backend git`."
            )
        }
        return try readerSnapshot()
    }

    // MARK: Journal

    struct Journal: Codable {
        struct Entry: Codable {
            var path: String
            /// Staged file name under tx/files, nil for a deletion.
            var staged: String?
        }
        var state: String  // "prepared" | "committed"
        var entries: [Entry]
        var record: OperationRecord
        var sequence: Int
    }

    private func writeJournal(_ journal: Journal) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try FS.writeAtomically(Array(try encoder.encode(journal)), to: journalPath, sync: true)
    }

    func readJournal() throws -> Journal? {
        guard let bytes = try FS.read(journalPath) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(Journal.self, from: Data(bytes))
        } catch {
            // A journal that cannot be read was never completely written (writes are atomic
            // renames), so nothing was moved yet.
            return nil
        }
    }

    @discardableResult
    public func commit(_ changes: [String: FileChange], record: OperationRecord, progress: ProgressHandler?) throws
        -> String?
    {
        try bumpGeneration()
        let counter = PhaseCounter("commit", total: changes.count, unit: "paths", handler: progress)
        FS.removeTree(txDirectory)
        do {
            return try commitStaged(changes, record: record, counter: counter)
        } catch {
            // Nothing was moved unless the journal was written, and then recover() already ran:
            // leave no staged or temporary file behind (a full disk must not fill up more).
            if (try? readJournal()) == nil { FS.removeTree(txDirectory) }
            throw error
        }
    }

    private func commitStaged(_ changes: [String: FileChange], record: OperationRecord, counter: PhaseCounter) throws
        -> String?
    {
        try FS.makeDirectories(txDirectory + "/files")
        try FS.makeDirectories(txDirectory + "/backup")
        var entries: [Journal.Entry] = []
        for (n, (path, change)) in changes.sorted(by: { $0.key < $1.key }).enumerated() {
            switch change {
            case .write(let bytes):
                let name = "\(n)"
                try FS.write(bytes, to: txDirectory + "/files/" + name)
                entries.append(.init(path: path, staged: name))
            case .asset(let staged, _, _):
                let name = "\(n)"
                try FS.rename(staged.path, txDirectory + "/files/" + name)
                entries.append(.init(path: path, staged: name))
            case .storedAsset:
                throw StacRepositoryError(
                    .internal, "The file backend keeps no earlier versions, so it cannot restore \(path) from one.")
            case .delete:
                entries.append(.init(path: path, staged: nil))
            }
        }
        // Durability, batched (docs/format.md): one syncfs makes every staged file durable
        // before the journal that names them is written, instead of an fsync per file.
        try FS.syncFileSystem(containing: txDirectory)
        let sequence = (try lastSequence()) + 1
        var journal = Journal(state: "prepared", entries: entries, record: record, sequence: sequence)
        try writeJournal(journal)
        try crashes.point("file-journal-written")

        do {
            for (n, entry) in entries.enumerated() {
                let target = root.path + "/" + entry.path
                if FS.exists(target) {
                    try FS.rename(target, txDirectory + "/backup/\(n)")
                }
                if let staged = entry.staged {
                    try FS.makeDirectories((target as NSString).deletingLastPathComponent)
                    try FS.rename(txDirectory + "/files/" + staged, target)
                }
                try crashes.point("file-moved")
                counter.step()
            }
        } catch {
            // An I/O error (not a crash): put everything back now rather than at the next command.
            try? recover()
            throw error
        }
        // Every rename (in whatever directory) is durable before the journal says "committed":
        // one syncfs, not an fsync per directory.
        try FS.syncFileSystem(containing: root.path)
        journal.state = "committed"
        try writeJournal(journal)
        try crashes.point("file-committed")
        try finish(journal)
        return String(sequence)
    }

    /// Completes a committed journal: log entry, cleanup of empty directories and tx/.
    private func finish(_ journal: Journal) throws {
        if try lastSequence() < journal.sequence {
            try appendLog(journal.record, sequence: journal.sequence)
        }
        for entry in journal.entries where entry.staged == nil {
            FS.removeEmptyDirectories(
                from: ((root.path + "/" + entry.path) as NSString).deletingLastPathComponent, stopAt: root.path)
        }
        FS.removeTree(txDirectory)
        try FS.removeFile(journalPath)
    }

    public func recover() throws {
        // Staged files belong to a transaction that did not commit (we hold the lock).
        FS.removeTree(stagingDirectory.path)
        try FS.makeDirectories(stagingDirectory.path)
        guard let journal = try readJournal() else {
            FS.removeTree(txDirectory)
            try FS.removeFile(journalPath)
            return
        }
        if journal.state == "committed" {
            try finish(journal)
            return
        }
        // Readers that started before this rollback must read again.
        try bumpGeneration()
        // Roll back, newest move first.
        for (n, entry) in journal.entries.enumerated().reversed() {
            let target = root.path + "/" + entry.path
            let backup = txDirectory + "/backup/\(n)"
            if let staged = entry.staged, !FS.exists(txDirectory + "/files/" + staged) {
                // The new file was moved in: take it out again.
                try FS.removeFile(target)
            }
            if FS.exists(backup) {
                try FS.makeDirectories((target as NSString).deletingLastPathComponent)
                try FS.rename(backup, target)
            } else if entry.staged != nil {
                FS.removeEmptyDirectories(from: (target as NSString).deletingLastPathComponent, stopAt: root.path)
            }
        }
        FS.removeTree(txDirectory)
        try FS.removeFile(journalPath)
    }

    // MARK: Operations log

    private struct LogLine: Codable {
        var sequence: Int
        var record: OperationRecord
    }

    private func appendLog(_ record: OperationRecord, sequence: Int) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = Array(try encoder.encode(LogLine(sequence: sequence, record: record)))
        line.append(0x0A)
        let fd = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw FS.storageError("open the operations log", logPath) }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
    }

    private func readLog() throws -> [LogLine] {
        guard let bytes = try FS.read(logPath) else { return [] }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return bytes.split(separator: 0x0A).compactMap { try? decoder.decode(LogLine.self, from: Data($0)) }
    }

    private func lastSequence() throws -> Int {
        try readLog().last?.sequence ?? 0
    }

    public func history(limit: Int?) throws -> [HistoryEntry] {
        var lines = try readLog().reversed().map { HistoryEntry(id: String($0.sequence), record: $0.record) }
        if let limit { lines = Array(lines.prefix(limit)) }
        return lines
    }

    // MARK: Config

    private func readConfig() throws -> [String: String] {
        guard let bytes = try FS.read(configPath) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
    }

    private func writeConfig(_ config: [String: String]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var bytes = Array(try encoder.encode(config))
        bytes.append(0x0A)
        try FS.writeAtomically(bytes, to: configPath, sync: true)
    }

    public func configValue(_ key: String) throws -> String? { try readConfig()[key] }

    public func setConfigValue(_ key: String, _ value: String?) throws {
        var config = try readConfig()
        config[key] = value
        try writeConfig(config)
    }

    public func configEntries() throws -> [(String, String)] {
        try readConfig().sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

extension FileBackend {
    /// The registry entry of the file backend.
    static let descriptor = BackendDescriptor(
        kind: .file,
        summary: "plain files with a journal and an operations log: no content history",
        detect: { FS.isDirectory($0 + "/" + stateDirectoryName) },
        refuseCreate: { path in
            FS.exists(path + "/.git")
                ? StacRepositoryError(
                    .invalidInput,
                    "\(path) is a git repository; run `stac-repository init --backend git` to adopt it, or choose another directory for a file repository."
                ) : nil
        },
        open: { FileBackend(root: $0) },
        create: { url, _ in (try FileBackend.create(at: url), [:]) })
}
