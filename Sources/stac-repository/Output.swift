import AssetTransfer
import Foundation
import STAC
import StacRepository

#if canImport(Glibc)
    import Glibc
#endif

/// Human output on stdout, errors and progress on stderr, JSON for scripts.
enum Output {
    nonisolated(unsafe) static var quiet = false

    static func line(_ text: String) {
        guard !quiet else { return }
        print(text)
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(("error: " + sentence(text) + "\n").utf8))
    }

    /// `text` ending in exactly one period (a processor's own sentence may already end in one).
    static func sentence(_ text: String) -> String {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while t.hasSuffix("..") && !t.hasSuffix("...") { t.removeLast() }
        if let last = t.last, !".!?)`\"'".contains(last) { t += "." }
        return t.replacingOccurrences(of: ".. ", with: ". ").replacingOccurrences(of: ".; ", with: "; ")
    }

    /// A sentence to embed in another: trimmed, without its final period.
    static func clause(_ text: String) -> String {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while t.hasSuffix("."), !t.hasSuffix("...") { t.removeLast() }
        return t
    }

    /// `1 asset`, `2 assets`: a count with its noun in the right number.
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) \(n == 1 ? singular : plural ?? singular + "s")"
    }

    static func note(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Writes `value` as JSON on stdout, in the catalog's own canonical format (the STAC module's
    /// writer: two-space indentation, `"key": value`), keys sorted.
    static func json(_ value: some Encodable) throws {
        FileHandle.standardOutput.write(Data(try jsonText(value).utf8))
    }

    /// The text ``json(_:)`` writes.
    static func jsonText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        return try JSONValue.parse(data, source: "output").serializedString()
    }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }
    static var stdinIsTerminal: Bool { isatty(0) == 1 }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }
}

/// A one-line progress display on stderr (only when stderr is a terminal).
final class ProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    private var done = 0
    private var failed = 0
    private var bytes: Int64 = 0
    private var expected: Int64 = 0
    private var perAsset: [String: Int64] = [:]
    private let start = Date()
    private var lastDraw = Date.distantPast
    let enabled: Bool

    private var planned = 0
    private var plannedBytes: Int64 = 0
    private var closed = false

    init(enabled: Bool) { self.enabled = enabled }

    /// The number of assets and bytes (from `file:size` or the size of local files) the ingest
    /// will transfer, known before the first one starts: the ETA is computed from these.
    func plan(assets: Int, bytes: Int64) {
        lock.lock()
        planned = assets
        plannedBytes = bytes
        lock.unlock()
    }

    func handle(_ event: TransferEvent) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .started(let r, let expectedBytes):
            total += 1
            expected += expectedBytes ?? 0
            perAsset[r.source] = 0
        case .progress(let r, let b):
            let previous = perAsset[r.source] ?? 0
            bytes += b - previous
            perAsset[r.source] = b
        case .finished:
            done += 1
        case .failed:
            failed += 1
        case .retrying:
            break
        }
        let now = Date()
        if !closed, now.timeIntervalSince(lastDraw) > 0.1 {
            lastDraw = now
            draw(now)
        }
    }

    private func draw(_ now: Date) {
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line(now)).utf8))
    }

    /// The progress line: "assets 3/6  1.2 MiB/9.4 MiB  4.0 MiB/s  ETA 2s".
    private func line(_ now: Date) -> String {
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(bytes) / elapsed
        let expected = max(self.expected, plannedBytes)
        var text = "assets \(done)/\(max(total, planned))"
        if failed > 0 { text += " (\(failed) failed)" }
        text += "  \(Output.bytes(bytes))"
        if expected > 0 { text += "/\(Output.bytes(expected))" }
        text += "  \(Output.bytes(Int64(rate)))/s"
        if expected > bytes, rate > 0 {
            text += "  ETA \(Int((Double(expected - bytes) / rate).rounded()))s"
        } else if planned > done, done > 0 {
            // Sizes unknown up front: estimate from the assets done so far.
            text += "  ETA \(Int((elapsed / Double(done) * Double(planned - done)).rounded()))s"
        }
        return text
    }

    /// Ends the display with a final line ("assets 6/6  9.4 KiB in 0.3s, done").
    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        guard total > 0, !closed else { return }
        closed = true
        let elapsed = Date().timeIntervalSince(start)
        var text = "\r\u{1B}[2Kassets \(done)/\(max(total, planned))"
        if failed > 0 { text += " (\(failed) failed)" }
        text += "  \(Output.bytes(bytes)) in \(String(format: "%.1f", elapsed))s, done\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
