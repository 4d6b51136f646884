public import Foundation

/// A processor in any language: an executable `stac-processor-<name>` that answers
/// `--version`, `discover SOURCE`, `id PRODUCT`, `version PRODUCT` and
/// `process PRODUCT --output DIR` on its command line (docs/processors.md).
public struct ExternalProcessor: Processor {
    public let name: String
    public let version: String
    /// The executable.
    public let executable: URL

    /// Asks the executable for its version.
    /// - Throws: ``StacRepositoryError`` `.processor` when it does not answer `--version`.
    public init(name: String, executable: URL) throws {
        self.name = name
        self.executable = executable
        let out = try Self.run(executable, ["--version"], name: name, step: "--version", subject: nil)
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
        let out = try Self.run(executable, ["discover", source], name: name, step: "discover", subject: source)
        return out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func productID(_ product: String, context: ProcessingContext) async throws -> String {
        try oneLine(["id", product], step: "id", product: product)
    }

    public func productVersion(_ product: String, context: ProcessingContext) async throws -> String {
        try oneLine(["version", product], step: "version", product: product)
    }

    public func process(_ product: String, context: ProcessingContext) async throws -> URL {
        let line = try oneLine(
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

    private func oneLine(_ args: [String], step: String, product: String, environment: [String: String] = [:]) throws
        -> String
    {
        let out = try Self.run(executable, args, name: name, step: step, subject: product, environment: environment)
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

    static func run(
        _ executable: URL, _ arguments: [String], name: String, step: String, subject: String?,
        environment: [String: String] = [:]
    ) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" could not be started (\(executable.path)): \(Self.clause(error.localizedDescription)); check that it is executable."
            )
        }
        // Read both pipes concurrently so a chatty processor cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let about = subject.map { " for \($0)" } ?? ""
        if process.terminationReason == .uncaughtSignal {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" crashed (signal \(process.terminationStatus)) in `\(step)`\(about)\(Self.stderrSuffix(errData)); fix the processor."
            )
        }
        if process.terminationStatus != 0 {
            throw StacRepositoryError(
                .processor,
                "Processor \"\(name)\" failed in `\(step)`\(about) with exit code \(process.terminationStatus)\(Self.stderrSuffix(errData))."
            )
        }
        return String(decoding: outData, as: UTF8.self)
    }

    private static func stderrSuffix(_ data: Data) -> String {
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

/// The processors a repository can use: built-in ones and `stac-processor-*` executables.
public struct ProcessorRegistry: Sendable {
    /// The in-process processors, by name.
    public var builtIn: [String: any Processor]

    public init(builtIn: [any Processor]) {
        var map: [String: any Processor] = [:]
        for p in builtIn { map[p.name] = p }
        self.builtIn = map
    }

    /// Executables named `stac-processor-<name>` on PATH, plus `processors.<name>.path` from config.
    public func externalExecutables(
        configured: [String: String], path: String? = ProcessInfo.processInfo.environment["PATH"]
    ) -> [String: URL] {
        var found: [String: URL] = [:]
        for dir in (path ?? "").split(separator: ":").map(String.init).reversed() {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for e in entries where e.hasPrefix("stac-processor-") && e.count > "stac-processor-".count {
                let full = dir + "/" + e
                if FileManager.default.isExecutableFile(atPath: full) {
                    found[String(e.dropFirst("stac-processor-".count))] = URL(fileURLWithPath: full)
                }
            }
        }
        for (name, p) in configured { found[name] = URL(fileURLWithPath: p) }
        return found
    }

    /// The processor called `name`.
    /// - Throws: ``StacRepositoryError`` listing the available processors when there is none.
    public func processor(named name: String, configured: [String: String]) throws -> any Processor {
        if let p = builtIn[name] { return p }
        let external = externalExecutables(configured: configured)
        if let url = external[name] { return try ExternalProcessor(name: name, executable: url) }
        let available = (Array(builtIn.keys) + Array(external.keys)).sorted().joined(separator: ", ")
        throw StacRepositoryError(
            .usage,
            "There is no processor \"\(name)\"; available: \(available) (external processors are executables named stac-processor-<name> on PATH)."
        )
    }
}
