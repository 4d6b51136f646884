import ArgumentParser
import Foundation
import Logging

/// Global options may go anywhere on the command line, as git users expect
/// (`stac-repository -C repo --json history` is `stac-repository history -C repo --json`).
///
/// ArgumentParser only accepts a subcommand's options after its name, so the options that come
/// before the subcommand path are moved to just after it; every subcommand declares them through
/// `@OptionGroup var global: GlobalOptions`.
enum CommandLineRewrite {
    /// Flags of ``GlobalOptions`` that take no value.
    static let flags: Set<String> = ["--json", "-q", "--quiet", "-v", "--verbose"]
    /// Options of ``GlobalOptions`` that take a value.
    static let valued: Set<String> = ["--repository", "-C"]

    /// `arguments` (without the program name) with leading global options moved after the subcommand path.
    static func rewrite(_ arguments: [String], root: any ParsableCommand.Type) -> [String] {
        var moved: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if flags.contains(first) {
                moved.append(first)
                rest = rest.dropFirst()
            } else if valued.contains(first), rest.count >= 2 {
                moved.append(contentsOf: rest.prefix(2))
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--repository=") || (first.hasPrefix("-C") && first.count > 2) {
                moved.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard !moved.isEmpty else { return arguments }
        // The subcommand path: `config set`, `history`… (stops at the first non-subcommand word).
        var path: [String] = []
        var command: any ParsableCommand.Type = root
        while let word = rest.first,
            let sub = command.configuration.subcommands.first(where: { $0._commandName == word })
        {
            path.append(word)
            rest = rest.dropFirst()
            command = sub
        }
        // `stac-repository --json` alone, or `--repository R --help`: leave it to ArgumentParser.
        if path.isEmpty { return moved + Array(rest) }
        return path + moved + Array(rest)
    }
}

/// Prints swift-log records as the CLI's other messages: `warning: The sentence.` on stderr,
/// metadata only with `-v`.
struct SentenceLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let verbose: Bool

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
        file: String, function: String, line: UInt
    ) {
        FileHandle.standardError.write(
            Data(
                (Self.format(
                    level: level, message: "\(message)",
                    metadata: verbose ? self.metadata.merging(explicit ?? [:]) { $1 } : [:]) + "\n").utf8))
    }

    /// `warning: Cannot verify file:checksum … (asset: data).`
    static func format(level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let label: String
        switch level {
        case .trace, .debug: label = "debug"
        case .info, .notice: label = "note"
        case .warning: label = "warning"
        case .error, .critical: label = "error"
        }
        var text = message.trimmingCharacters(in: .whitespaces)
        if let first = text.first, first.isLowercase { text = first.uppercased() + text.dropFirst() }
        while text.hasSuffix(".") { text.removeLast() }
        if !metadata.isEmpty {
            text +=
                " ("
                + metadata.keys.sorted().map { "\($0): \(metadata[$0].map { "\($0)" } ?? "")" }
                .joined(separator: ", ") + ")"
        }
        return "\(label): \(text)."
    }
}

extension StacRepositoryCommand {
    /// ArgumentParser's own errors in the tool's style: `error: …` (lowercase), usage after it.
    static func argumentParserMessage(for error: any Error) -> (text: String, code: Int32, toStdout: Bool) {
        let code = exitCode(for: error)
        var text = fullMessage(for: error)
        if code == .success { return (text, 0, true) }
        if text.hasPrefix("Error: ") { text = "error: " + text.dropFirst("Error: ".count) }
        return (text, code.rawValue, false)
    }
}
