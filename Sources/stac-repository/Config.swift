import ArgumentParser
import Foundation
import StacRepository

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read and change repository settings (e.g. processors.NAME.path).",
        subcommands: [Get.self, SetValue.self, Unset.self, List.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Print a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String

        func run() async throws {
            let repository = try global.openRepository()
            guard let value = try repository.backend.configValue(key) else {
                throw StacRepositoryError(
                    .notFound,
                    "The setting \"\(key)\" is not set; set it with `stac-repository config set \(key) VALUE`.")
            }
            if global.json { try Output.json([key: value]); return }
            print(value)
        }
    }

    struct SetValue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String
        @Argument var value: String

        func validate() throws {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count < 1 || parts.contains(where: { $0.isEmpty })
                || key.contains(where: { $0 == " " || $0 == "\n" || $0 == "=" })
            {
                throw ValidationError(
                    "\"\(key)\" is not a valid setting name; use dotted names like processors.geotiff.path.")
            }
            if key.hasPrefix("layout.") {
                // Layouts are committed with the collection (docs/format.md "Layout templates").
                throw ValidationError(
                    "A collection's layout is part of the catalog, not a setting; use `stac-repository relayout \(key.dropFirst(7)) --layout TEMPLATE` (or `ingest --layout TEMPLATE` for a new collection)."
                )
            }
            if key == "backend" || key == "branch" {
                throw ValidationError(
                    "\"\(key)\" is fixed when the repository is created; create a new repository to change it.")
            }
        }

        func run() async throws {
            let repository = try global.openRepository()
            if key.hasPrefix("processors."), key.hasSuffix(".path") { try Self.checkExecutable(value, key: key) }
            if key.hasPrefix("processors."), key.hasSuffix(".timeout"), processorTimeoutSeconds(value) == nil {
                throw StacRepositoryError(
                    .invalidInput,
                    "\(key): \"\(value)\" is not a number of seconds; give a positive number, e.g. 600.")
            }
            let (key, value) = (key, value)
            try await offPool {
                try repository.withLock(wait: true, purpose: "config") {
                    try repository.backend.setConfigValue(key, value)
                }
            }
            if global.json { try Output.json(["key": key, "value": value]); return }
            Output.line("\(key) = \(value)")
        }

        /// A processor path must name an executable file.
        static func checkExecutable(_ path: String, key: String) throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw StacRepositoryError(
                    .notFound, "\(key): \(path) does not exist; give the path of the processor's executable.")
            }
            guard !isDirectory.boolValue, FileManager.default.isExecutableFile(atPath: path) else {
                throw StacRepositoryError(
                    .invalidInput,
                    "\(key): \(path) is not an executable file; give the path of the processor's executable (`chmod +x` it)."
                )
            }
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unset", abstract: "Remove a setting.")
        @OptionGroup var global: GlobalOptions
        @Argument var key: String

        func run() async throws {
            let repository = try global.openRepository()
            let key = key
            try await offPool {
                try repository.withLock(wait: true, purpose: "config") {
                    try repository.backend.setConfigValue(key, nil)
                }
            }
            if global.json { try Output.json(["key": key]) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print every setting.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let repository = try global.openRepository()
            let entries = try repository.backend.configEntries()
            if global.json {
                try Output.json(Dictionary(entries, uniquingKeysWith: { $1 }))
                return
            }
            for (k, v) in entries { print("\(k)=\(v)") }
        }
    }
}
