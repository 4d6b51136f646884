public import Foundation
import Subprocess
import SystemPackage

/// A processor in any language: an executable `stac-processor-<name>` that answers
/// `--version`, `discover SOURCE`, `id PRODUCT`, `version PRODUCT` and
/// `process PRODUCT --output DIR` on its command line (docs/processors.md).
///
/// Each call runs the executable through swift-subprocess: its output is read asynchronously, so
/// no thread of Swift's cooperative pool waits for it, and a call that takes longer than
/// ``timeout`` is killed (with every process it started) and fails naming the processor.
public struct ExternalProcessor: Processor {
    public let name: String
    public let version: String
    /// The executable.
    public let executable: URL
    /// How long one call (`discover`, `id`, `version`, `process`, `--version`) may take.
    public let timeout: Duration

    /// One hour: generous for a processor that converts a large product.
    public static let defaultTimeout: Duration = .seconds(3600)

    /// Asks the executable for its version.
    /// - Throws: ``StacRepositoryError`` `.processor` when it does not answer `--version`.
    public init(name: String, executable: URL, timeout: Duration = ExternalProcessor.defaultTimeout) async throws {
        self.name = name
        self.executable = executable
        self.timeout = timeout
        let out = try await Self.run(
            executable, ["--version"], name: name, step: "--version", subject: nil, timeout: timeout)
        guard let line = out.split(separator: "\n").first.map({ $0.trimmingCharacters(in: .whitespaces) }),
            !line.isEmpty
        else {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" (\(executable.path)) printed no version for --version; it must print its version on one line."
            )
        }
        self.version = line
    }

    public func discover(_ source: String, context: ProcessingContext) async throws -> [String] {
        let out = try await Self.run(
            executable, ["discover", source], name: name, step: "discover", subject: source, timeout: timeout)
        return out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func productID(_ product: String, context: ProcessingContext) async throws -> String {
        try await oneLine(["id", product], step: "id", product: product)
    }

    public func productVersion(_ product: String, context: ProcessingContext) async throws -> String {
        try await oneLine(["version", product], step: "version", product: product)
    }

    public func process(_ product: String, context: ProcessingContext) async throws -> URL {
        let line = try await oneLine(
            ["process", product, "--output", context.workDirectory.path], step: "process", product: product,
            environment: Self.optionEnvironment(context.options))
        let url = URL(fileURLWithPath: line, relativeTo: context.workDirectory).standardizedFileURL
        return url
    }

    /// `--option key=value` reaches an external processor as `STAC_PROCESSOR_OPTION_KEY=value`
    /// (key upper-cased, other characters than letters and digits turned into `_`), so that a
    /// processor that takes no options is not confused by unknown arguments.
    static func optionEnvironment(_ options: [String: String]) -> [String: String] {
        var env: [String: String] = [:]
        for (k, v) in options {
            let key = String(k.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
            env["STAC_PROCESSOR_OPTION_" + key] = v
        }
        return env
    }

    private func oneLine(
        _ args: [String], step: String, product: String, environment: [String: String] = [:]
    ) async throws -> String {
        let out = try await Self.run(
            executable, args, name: name, step: step, subject: product, environment: environment, timeout: timeout)
        guard
            let line = out.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: {
                !$0.isEmpty
            })
        else {
            throw StacRepositoryError(
                .processor, "Processor \"\(name)\" printed nothing for `\(step)` of \(product); it must print one line."
            )
        }
        return line
    }

    /// Runs the executable and returns its standard output; throws a ``StacRepositoryError``
    /// `.processor` sentence when it cannot start, crashes, exits non-zero or outlives `timeout`.
    static func run(
        _ executable: URL, _ arguments: [String], name: String, step: String, subject: String?,
        environment: [String: String] = [:], timeout: Duration = defaultTimeout
    ) async throws -> String {
        var environmentUpdates: [Environment.Key: String?] = [:]
        for (k, v) in environment {
            if let key = Environment.Key(rawValue: k) { environmentUpdates[key] = v }
        }
        let updates = environmentUpdates
        var platformOptions = PlatformOptions()
        // Its own session, so that the kill at the timeout also reaches the processes it started
        // (a shell script's children would otherwise keep its output open).
        platformOptions.createSession = true
        platformOptions.teardownSequence = [
            .send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .seconds(1))
        ]
        let platform = platformOptions
        let about = subject.map { " for \($0)" } ?? ""
        let outcome: Outcome
        do {
            outcome = try await withThrowingTaskGroup(of: Outcome?.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(
                        .path(FilePath(executable.path)), arguments: Arguments(arguments),
                        environment: updates.isEmpty ? .inherit : .inherit.updating(updates),
                        platformOptions: platform, input: .none, output: .sequence, error: .sequence
                    ) { execution in
                        // Both pipes are read concurrently, so a chatty processor never blocks on a full pipe.
                        async let errorTail = Self.collect(execution.standardError, keepLast: 8192)
                        let output = try await Self.collect(execution.standardOutput, keepLast: nil)
                        return (output, try await errorTail)
                    }
                    return Outcome(
                        status: result.terminationStatus, output: result.closureResult.0,
                        errorOutput: result.closureResult.1)
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let finished = first else {
                    throw StacRepositoryError(
                        .processor,
                        "Processor \"\(name)\" did not finish `\(step)`\(about) within \(Self.describe(timeout)) and was stopped; raise processors.\(name).timeout (seconds) with `stac-repository config set`, or fix the processor."
                    )
                }
                return finished
            }
        } catch let error as StacRepositoryError {
            throw error
        } catch let error as SubprocessError where error.code != .spawnFailed && error.code != .executableNotFound {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" failed in `\(step)`\(about): \(Self.clause("\(error)")); fix the processor.")
        } catch {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" could not be started (\(executable.path)): \(Self.clause("\(error)")); check that it is executable."
            )
        }
        switch outcome.status {
        case .signaled(let signal):
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" crashed (signal \(signal)) in `\(step)`\(about)\(Self.stderrSuffix(outcome.errorOutput)); fix the processor."
            )
        case .exited(let code) where code != 0:
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" failed in `\(step)`\(about) with exit code \(code)\(Self.stderrSuffix(outcome.errorOutput))."
            )
        default:
            return String(decoding: outcome.output, as: UTF8.self)
        }
    }

    /// What one run left: how it ended, its standard output and the end of its standard error.
    private struct Outcome: Sendable {
        var status: TerminationStatus
        var output: [UInt8]
        var errorOutput: [UInt8]
    }

    /// The bytes of `sequence`; with `keepLast`, only that many of the last ones.
    private static func collect(_ sequence: SubprocessOutputSequence, keepLast: Int?) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await buffer in sequence {
            buffer.withUnsafeBytes { bytes.append(contentsOf: $0) }
            if let keepLast, bytes.count > 2 * keepLast { bytes.removeFirst(bytes.count - keepLast) }
        }
        if let keepLast, bytes.count > keepLast { bytes.removeFirst(bytes.count - keepLast) }
        return bytes
    }

    /// "2 seconds", "1.5 seconds", "1 hour", "90 seconds".
    static func describe(_ duration: Duration) -> String {
        let whole = duration.components.seconds
        let seconds = Double(whole) + Double(duration.components.attoseconds) / 1e18
        if seconds == Double(whole) {
            if whole > 0, whole % 3600 == 0 { return whole == 3600 ? "1 hour" : "\(whole / 3600) hours" }
            return whole == 1 ? "1 second" : "\(whole) seconds"
        }
        return "\(String(format: "%g", seconds)) seconds"
    }

    private static func stderrSuffix(_ data: [UInt8]) -> String {
        let text = clause(String(decoding: data, as: UTF8.self))
        if text.isEmpty { return "" }
        let short = text.count > 2000 ? String(text.suffix(2000)) : text
        return ": \(short)"
    }

    /// A message to embed inside a sentence: trimmed, without its own final period
    /// ("demo failure." + "." would read "demo failure..").
    static func clause(_ text: String) -> String {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while t.hasSuffix("."), !t.hasSuffix("...") { t.removeLast() }
        return t
    }
}
