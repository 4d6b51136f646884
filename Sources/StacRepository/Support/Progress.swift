import Foundation

/// How far a long operation (crawl, commit, verify, export, backup, clone…) has come.
///
/// Operations that can take more than a second accept an optional ``ProgressHandler`` and call
/// it as they go, from any thread, as often as they like: the handler throttles. The CLI draws
/// a line on a terminal from these; library callers may log or ignore them.
public struct OperationProgress: Sendable, Equatable {
    /// What is being done, a short lowercase word: "crawl", "commit", "verify", "export"…
    public var phase: String
    /// Units (documents, files, objects, paths) done so far.
    public var completed: Int
    /// Units planned, when known.
    public var total: Int?
    /// Bytes processed so far (0 when the phase does not count bytes).
    public var bytes: Int64
    /// Bytes planned, when known.
    public var totalBytes: Int64?
    /// The unit's name for display, plural ("documents", "files", "objects", "paths").
    public var unit: String

    public init(
        phase: String, completed: Int, total: Int? = nil, bytes: Int64 = 0, totalBytes: Int64? = nil,
        unit: String = "files"
    ) {
        self.phase = phase
        self.completed = completed
        self.total = total
        self.bytes = bytes
        self.totalBytes = totalBytes
        self.unit = unit
    }
}

/// Receives ``OperationProgress`` updates; must be cheap and thread-safe.
public typealias ProgressHandler = @Sendable (OperationProgress) -> Void

/// `1 asset`, `2 assets`: a count with its noun in the right number, for summaries and messages.
func plural(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
}

/// A thread-safe count for progress reports from concurrent tasks.
final class SharedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// Adds one; returns the new count.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
