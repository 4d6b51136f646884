import ArgumentParser
import Foundation
import GeoTIFFProcessor
import StacRepository

/// The processors the CLI knows about.
func makeRegistry() -> ProcessorRegistry {
    ProcessorRegistry(builtIn: [StacProcessor(), GeoTIFFProcessor()])
}

func configuredProcessors(_ repository: Repository?) -> [String: String] {
    guard let repository, let entries = try? repository.backend.configEntries() else { return [:] }
    var out: [String: String] = [:]
    for (key, value) in entries where key.hasPrefix("processors.") && key.hasSuffix(".path") {
        let name = key.dropFirst("processors.".count).dropLast(".path".count)
        out[String(name)] = value
    }
    return out
}

func parseProcessorOptions(_ options: [String]) throws -> [String: String] {
    var out: [String: String] = [:]
    for o in options {
        guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
            throw ValidationError("--option \"\(o)\" must look like key=value.")
        }
        out[String(o[..<eq])] = String(o[o.index(after: eq)...])
    }
    return out
}

/// `processors.<name>.timeout` settings (seconds) by processor name; invalid ones are left to
/// `config set`, which refuses them.
func configuredProcessorTimeouts(_ repository: Repository?) -> [String: Duration] {
    guard let repository, let entries = try? repository.backend.configEntries() else { return [:] }
    var out: [String: Duration] = [:]
    for (key, value) in entries where key.hasPrefix("processors.") && key.hasSuffix(".timeout") {
        let name = key.dropFirst("processors.".count).dropLast(".timeout".count)
        if let seconds = processorTimeoutSeconds(value) { out[String(name)] = .milliseconds(Int64(seconds * 1000)) }
    }
    return out
}

/// A timeout setting's value in seconds: a positive number (fractions allowed).
func processorTimeoutSeconds(_ value: String) -> Double? {
    guard let seconds = Double(value), seconds.isFinite, seconds > 0, seconds < 1e9 else { return nil }
    return seconds
}
