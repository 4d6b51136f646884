import AssetTransfer
import Foundation
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
        FileHandle.standardError.write(Data(("error: " + text + "\n").utf8))
    }

    static func note(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var data = try encoder.encode(value)
        data.append(0x0A)
        FileHandle.standardOutput.write(data)
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

    init(enabled: Bool) { self.enabled = enabled }

    /// The number of assets the ingest will transfer, known before the first one starts.
    func plan(assets: Int) {
        lock.lock()
        planned = assets
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
        if now.timeIntervalSince(lastDraw) > 0.1 {
            lastDraw = now
            draw(now)
        }
    }

    private func draw(_ now: Date) {
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(bytes) / elapsed
        var text = "\r\u{1B}[2Kassets \(done)/\(max(total, planned))"
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
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if total > 0 { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }
}
