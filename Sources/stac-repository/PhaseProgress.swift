import Foundation
import StacRepository

/// A one-line display on stderr for ``OperationProgress`` updates (only when stderr is a
/// terminal and output is not quiet): "verify 120/300 files  1.2 GiB/3.0 GiB  410 MiB/s  ETA 4s".
final class PhaseProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drew = false
    let enabled: Bool

    init(enabled: Bool = Output.stderrIsTerminal && !Output.quiet) { self.enabled = enabled }

    /// The handler to pass to an operation; nil when nothing is drawn.
    var handler: ProgressHandler? {
        guard enabled else { return nil }
        return { [self] update in self.handle(update) }
    }

    func handle(_ p: OperationProgress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let finished = p.total.map { p.completed >= $0 } ?? false
        guard finished || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        drew = true
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + Self.format(p, elapsed: now.timeIntervalSince(start))).utf8))
    }

    /// The text of one progress line.
    static func format(_ p: OperationProgress, elapsed: TimeInterval) -> String {
        var text = "\(p.phase) \(p.completed)"
        if let total = p.total { text += "/\(total)" }
        text += " \(p.unit)"
        let elapsed = max(elapsed, 0.001)
        if p.bytes > 0 || (p.totalBytes ?? 0) > 0 {
            text += "  \(Output.bytes(p.bytes))"
            if let tb = p.totalBytes, tb > 0 { text += "/\(Output.bytes(tb))" }
            let rate = Double(p.bytes) / elapsed
            text += "  \(Output.bytes(Int64(rate)))/s"
            if let tb = p.totalBytes, tb > p.bytes, rate > 0 {
                text += "  ETA \(Int((Double(tb - p.bytes) / rate).rounded(.up)))s"
            }
        } else if let total = p.total, p.completed > 0, total > p.completed {
            text += "  ETA \(Int((elapsed / Double(p.completed) * Double(total - p.completed)).rounded(.up)))s"
        }
        return text
    }

    /// Clears the line (call once the operation returned, before printing its summary).
    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if drew { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drew = false
    }
}
