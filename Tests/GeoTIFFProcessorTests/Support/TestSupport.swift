import Foundation
import Logging
import StacRepository

/// A temporary directory owned by one test, removed when the test's closure returns.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("geotiff-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url)
}

/// A processing context writing into `directory/work`.
func makeContext(in directory: URL, options: [String: String] = [:]) throws -> ProcessingContext {
    let work = directory.appendingPathComponent("work", isDirectory: true)
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    return ProcessingContext(workDirectory: work, logger: .init(label: "geotiff-tests"), options: options)
}

/// Reads a JSON object from a file.
func readJSONObject(_ url: URL) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    guard let dictionary = object as? [String: Any] else {
        throw StacRepositoryError(.invalidInput, "\(url.path) does not hold a JSON object.")
    }
    return dictionary
}

/// The package's root folder (this file is in Tests/GeoTIFFProcessorTests/Support).
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The shared folder next to the package (`../shared`), which holds the offline STAC validator;
/// absent in a user's clone.
let sharedFolder = packageRoot.deletingLastPathComponent().appendingPathComponent("shared", isDirectory: true)

/// The offline STAC validator, if the shared folder is there.
var stacValidator: URL? {
    let url = sharedFolder.appendingPathComponent("tools/validate_stac.py")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}

/// The result of running a program.
struct ProgramResult: Sendable {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

/// The project's tool venv made by scripts/setup.sh (`$STAC_REPOSITORY_TOOLS`, else `.build-tools`).
let toolsBin: URL = {
    let environment = ProcessInfo.processInfo.environment
    let tools =
        environment["STAC_REPOSITORY_TOOLS"].map { URL(fileURLWithPath: $0) }
        ?? packageRoot.appendingPathComponent(".build-tools")
    return tools.appendingPathComponent("venv/bin")
}()

/// Runs `executable` (looked up in the tool venv, then on PATH) with `arguments` and collects its
/// output; the child is started and waited for on a thread of its own, never on the cooperative pool.
func run(_ executable: String, _ arguments: [String]) async throws -> ProgramResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try runBlocking(executable, arguments) }) }
    }
}

/// The blocking part of ``run(_:_:)``, for the one-time tool checks of the `.enabled(if:)` traits.
func runBlocking(_ executable: String, _ arguments: [String]) throws -> ProgramResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let inVenv = toolsBin.appendingPathComponent(executable).path
    process.arguments =
        [FileManager.default.isExecutableFile(atPath: inVenv) ? inVenv : executable] + arguments
    // stderr goes to a file so that a chatty child cannot block on a full pipe while stdout is read.
    let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errorFile) }
    let errorHandle = try FileHandle(forWritingTo: errorFile)
    defer { try? errorHandle.close() }
    let outputPipe = Pipe()
    process.standardOutput = outputPipe
    process.standardError = errorHandle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProgramResult(
        status: process.terminationStatus, standardOutput: String(decoding: output, as: UTF8.self),
        standardError: String(decoding: try Data(contentsOf: errorFile), as: UTF8.self))
}

/// Whether `python3` can be run here.
let pythonAvailable: Bool = (try? runBlocking("python3", ["--version"]).status) == 0

/// Whether the offline validator can run (shared folder present, python3 with jsonschema).
let validatorAvailable: Bool = {
    guard stacValidator != nil, pythonAvailable else { return false }
    return (try? runBlocking("python3", ["-c", "import jsonschema"]).status) == 0
}()
