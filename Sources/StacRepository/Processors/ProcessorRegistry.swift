public import Foundation

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

    /// The processor called `name`. An external one gets `timeouts[name]` (else
    /// ``ExternalProcessor/defaultTimeout``) for each call.
    /// - Throws: ``StacRepositoryError`` listing the available processors when there is none.
    public func processor(
        named name: String, configured: [String: String], timeouts: [String: Duration] = [:]
    ) async throws -> any Processor {
        if let p = builtIn[name] { return p }
        let external = externalExecutables(configured: configured)
        if let url = external[name] {
            return try await ExternalProcessor(
                name: name, executable: url, timeout: timeouts[name] ?? ExternalProcessor.defaultTimeout)
        }
        let available = (Array(builtIn.keys) + Array(external.keys)).sorted().joined(separator: ", ")
        throw StacRepositoryError(
            .usage,
            "There is no processor \"\(name)\"; available: \(available) (external processors are executables named stac-processor-<name> on PATH)."
        )
    }
}
