import Foundation
import StacRepository

/// A one-line display on stderr for ``OperationProgress`` updates (only when stderr is a
/// terminal and output is not quiet): "verify 120/300 files  1.2 GiB/3.0 GiB  410 MiB/s  ETA 4s".
final class PhaseProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var drew = false
    private var last: OperationProgress?
    private var phaseStart = Date()
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
        // A new phase (crawl, then commit): the previous one gets its final line.
        if let last, last.phase != p.phase {
            finishLine(now)
            phaseStart = now
        }
        last = p
        let finished = p.total.map { p.completed >= $0 } ?? false
        guard finished || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        drew = true
        FileHandle.standardError.write(
            Data(("\r\u{1B}[2K" + Self.format(p, elapsed: now.timeIntervalSince(phaseStart))).utf8))
    }

    /// The text of one progress line.
    static func format(_ p: OperationProgress, elapsed: TimeInterval) -> String {
        var text = "\(p.phase) \(p.completed)"
        if let total = p.total { text += "/\(total)" }
        text += " \(unit(p))"
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

    /// Ends the line with the phase's final state ("crawl 2000 documents in 4.1s, done"); call
    /// once the operation returned, before printing its summary.
    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        finishLine(Date())
    }

    private func finishLine(_ now: Date) {
        guard drew, let last else { return }
        FileHandle.standardError.write(
            Data(("\r\u{1B}[2K" + Self.finalLine(last, elapsed: now.timeIntervalSince(phaseStart)) + "\n").utf8))
        drew = false
        self.last = nil
    }

    /// The unit in the right number: "1 document", "2 documents".
    static func unit(_ p: OperationProgress) -> String {
        (p.total ?? p.completed) == 1 && p.unit.hasSuffix("s") ? String(p.unit.dropLast()) : p.unit
    }

    /// The last line of a phase: what was done and how long it took.
    static func finalLine(_ p: OperationProgress, elapsed: TimeInterval) -> String {
        var text = "\(p.phase) \(p.completed)"
        if let total = p.total, total != p.completed { text += "/\(total)" }
        text += " \(unit(p))"
        if p.bytes > 0 { text += "  \(Output.bytes(p.bytes))" }
        return text + " in \(String(format: "%.1f", elapsed))s, done"
    }
}
