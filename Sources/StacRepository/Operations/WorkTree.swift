import Foundation

/// One file of the work tree that differs from the last commit.
public struct WorkTreeChange: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable {
        /// The file's bytes differ from the committed ones.
        case modified
        /// The committed file is gone from the work tree.
        case missing
        /// A file the last commit does not have.
        case untracked
    }
    /// Repository-relative path.
    public var path: String
    public var kind: Kind
    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }
}

/// What `status` found.
public struct WorkTreeStatus: Sendable, Codable {
    /// "git" or "file".
    public var backend: String
    /// The commit compared with (git backend).
    public var version: String?
    /// Files checked.
    public var filesChecked = 0
    public var changes: [WorkTreeChange] = []
    /// How the file backend checked (it has no commit to compare with).
    public var note: String?
    public var clean: Bool { changes.isEmpty }
}

/// What `restore` did.
public struct RestoreReport: Sendable, Codable {
    public var restored: [String] = []
    /// Paths that could not be restored, with the reason.
    public var failed: [VerifyProblem] = []
    /// Untracked files, left in place.
    public var untracked: [String] = []
}

extension Repository {
    /// What differs between the work tree and the last commit (git backend): modified, missing
    /// and untracked files under `paths` (repository-relative; empty: everything).
    ///
    /// The file backend has no commit to compare with: its work tree is the store. There
    /// `status` re-hashes every asset against the `file:checksum`/`file:size` its item records
    /// and re-parses every document, and reports damaged files as modified and absent assets
    /// as missing.
    public func status(paths: [String] = [], progress: ProgressHandler? = nil) throws -> WorkTreeStatus {
        try recoverIfIdle()
        if let versioned = backend.versioning {
            let result = try versioned.workTreeChanges(
                paths: paths.isEmpty ? nil : paths, trustStat: true, untracked: true, progress: progress,
                phase: "status")
            var status = WorkTreeStatus(backend: backend.kind.rawValue, version: try versioned.headVersion())
            status.filesChecked = result.checked
            status.changes = result.changes
            return status
        }
        let report = try verify()
        var status = WorkTreeStatus(backend: backend.kind.rawValue)
        status.filesChecked = report.jsonFiles + report.assets
        status.note =
            "the file backend keeps no second copy: files were checked against the checksums and sizes their items record"
        var seen: Set<String> = []
        for problem in report.problems where seen.insert(problem.path).inserted {
            if !paths.isEmpty, !paths.contains(where: { problem.path == $0 || problem.path.hasPrefix($0 + "/") }) {
                continue
            }
            let missing = problem.message.contains("is missing")
            status.changes.append(WorkTreeChange(path: problem.path, kind: missing ? .missing : .modified))
        }
        return status
    }

    /// Puts the committed content back for `paths` (repository-relative files or directories;
    /// empty: every modified or missing file). Untracked files are left in place.
    ///
    /// - Throws: ``StacRepositoryError`` `.unsupported` on the file backend, which keeps no
    ///   second copy to restore from.
    public func restore(_ paths: [String] = [], wait: Bool = false) throws -> RestoreReport {
        guard let versioned = backend.versioning else {
            throw StacRepositoryError(
                .unsupported,
                "`restore` needs the git backend: the file backend keeps no second copy of its files; restore them from a backup (`export`) or ingest the products again."
            )
        }
        return try withLock(wait: wait, purpose: "restore") {
            let changes = try versioned.workTreeChanges(
                paths: paths.isEmpty ? nil : paths, trustStat: false, untracked: true, progress: nil, phase: "restore"
            ).changes
            var report = RestoreReport()
            let wanted = changes.filter { $0.kind != .untracked }.map(\.path)
            report.untracked = changes.filter { $0.kind == .untracked }.map(\.path)
            let failed = try versioned.restoreWorkTree(wanted)
            let failedPaths = Set(failed.map(\.path))
            report.restored = wanted.filter { !failedPaths.contains($0) }
            report.failed = failed.map { VerifyProblem(path: $0.path, message: $0.reason) }
            return report
        }
    }

    /// Refuses to overwrite uncommitted work-tree changes to `paths` (git backend): one
    /// sentence naming a path and the ways out. Called with the lock held, before a commit.
    func refuseLocalChanges(to paths: some Collection<String>, force: Bool, command: String) throws {
        guard !force, let versioned = backend.versioning, !paths.isEmpty else { return }
        let changes = try versioned.workTreeChanges(
            paths: paths.filter { !versioned.isBackendFile($0) }.sorted(), trustStat: true, untracked: true,
            progress: nil,
            phase: "status"
        ).changes
        guard let first = changes.first else { return }
        let others = changes.count > 1 ? " (and \(changes.count - 1) other file\(changes.count == 2 ? "" : "s"))" : ""
        let what =
            switch first.kind {
            case .modified: "has uncommitted changes"
            case .missing: "was deleted from the work tree"
            case .untracked: "is an uncommitted file"
            }
        throw StacRepositoryError(
            .conflict,
            "\(first.path)\(others) \(what), which `\(command)` would overwrite; run `stac-repository restore \(shellQuoted(first.path))` to discard them, or pass --force to overwrite."
        )
    }

    /// Repository-relative paths for what a user typed: absolute paths inside the repository,
    /// or paths relative to the current directory when it is inside the repository, else to
    /// the repository root.
    public func relativePaths(_ arguments: [String], workingDirectory: String) throws -> [String] {
        let rootPath = root.standardizedFileURL.path
        return try arguments.map { argument in
            let cwdInside = workingDirectory == rootPath || workingDirectory.hasPrefix(rootPath + "/")
            let absolute =
                argument.hasPrefix("/")
                ? argument : (cwdInside ? workingDirectory + "/" + argument : rootPath + "/" + argument)
            let standardized = URL(fileURLWithPath: absolute).standardizedFileURL.path
            if standardized == rootPath { return "" }
            guard standardized.hasPrefix(rootPath + "/") else {
                throw StacRepositoryError(
                    .usage, "\(argument) is outside the repository \(rootPath); give a path inside it.")
            }
            return String(standardized.dropFirst(rootPath.count + 1))
        }
        .filter { !$0.isEmpty }
    }
}

/// `path` as a shell word: unchanged when it holds only safe characters, else in single quotes.
func shellQuoted(_ path: String) -> String {
    let safe = path.unicodeScalars.allSatisfy { c in
        c.value > 0x7F || CharacterSet.alphanumerics.contains(c) || "/._-+,:@%=".unicodeScalars.contains(c)
    }
    return safe && !path.isEmpty ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
