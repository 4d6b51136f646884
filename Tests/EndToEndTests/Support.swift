import Crypto
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The result of running a program.
struct RunResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Locations the tests need: the built binary, the package root, the shared tools.
enum Env {
    /// The package root (this file is Tests/EndToEndTests/Support.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The `stac-repository` binary next to the test bundle.
    static let binary: URL = {
        if let explicit = ProcessInfo.processInfo.environment["STAC_REPOSITORY_BIN"] {
            return URL(fileURLWithPath: explicit)
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("stac-repository")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/stac-repository")
    }()

    /// `../shared` next to the package (present on developer machines and CI, absent in users' clones).
    static var sharedTools: URL? {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/validate_stac.py")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// The tools scripts/setup.sh installs: `$STAC_REPOSITORY_TOOLS` (set by scripts/just), else
    /// `.build-tools` in the package.
    static let toolsDirectory: URL = {
        if let explicit = ProcessInfo.processInfo.environment["STAC_REPOSITORY_TOOLS"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        return packageRoot.appendingPathComponent(".build-tools")
    }()

    /// A hermetic environment for git and the tool: no user config.
    static func environment(home: URL, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home.path
        env["GIT_CONFIG_GLOBAL"] = home.appendingPathComponent(".gitconfig").path
        env["GIT_AUTHOR_NAME"] = "Test"
        env["GIT_AUTHOR_EMAIL"] = "test@example.com"
        env["GIT_COMMITTER_NAME"] = "Test"
        env["GIT_COMMITTER_EMAIL"] = "test@example.com"
        env.removeValue(forKey: "STAC_REPOSITORY_CRASH_AT")
        for (k, v) in extra { env[k] = v }
        return env
    }
}

/// A temporary directory that removes itself.
final class TempDir {
    let url: URL
    var path: String { url.path }

    init(_ name: String = "e2e") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stac-repository-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try?
            "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[filter \"lfs\"]\n\tclean = git-lfs clean -- %f\n\tsmudge = git-lfs smudge -- %f\n\tprocess = git-lfs filter-process\n\trequired = true\n"
            .write(to: url.appendingPathComponent(".gitconfig"), atomically: true, encoding: .utf8)
    }

    func sub(_ name: String) -> URL { url.appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Runs a program and collects its output. The child is started, fed and waited for on a
/// thread of its own, so that the test's task is suspended and no thread of Swift's
/// cooperative pool (two here, shared with the in-process HTTP servers of other suites) waits.
@discardableResult
func run(_ executable: String, _ arguments: [String], cwd: URL? = nil, env: [String: String]? = nil, stdin: Data? = nil)
    async throws -> RunResult
{
    try await onOwnThread { try runBlocking(executable, arguments, cwd: cwd, env: env, stdin: stdin) }
}

/// Runs `body` on a new thread and resumes the caller with its result.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Starts a program in the background with its standard streams on /dev/null, with
/// `posix_spawn` (TestSupport/Spawn.swift says why not Foundation.Process).
func startInBackground(_ executable: URL, _ arguments: [String], env: [String: String]?) throws -> SpawnedProcess {
    let null = open("/dev/null", O_RDWR | O_CLOEXEC)
    defer { close(null) }
    return try SpawnedProcess(
        executable: executable.path, arguments: arguments, environment: env, directory: nil, stdin: null,
        stdout: null, stderr: null)
}

/// Waits for `process` to exit on a thread of its own.
func waitForExit(_ process: SpawnedProcess) async {
    let box = Unchecked(process)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            box.value.waitUntilExit()
            continuation.resume()
        }
    }
}

/// Waits for `process` to exit on a thread of its own.
func waitForExit(_ process: Process) async {
    let box = Unchecked(process)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            box.value.waitUntilExit()
            continuation.resume()
        }
    }
}

/// Waits for `semaphore` on a thread of its own.
func waitFor(_ semaphore: DispatchSemaphore) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            semaphore.wait()
            continuation.resume()
        }
    }
}

/// Sleeps without holding a thread (the tests' replacement for `usleep`).
func pause(microseconds: some BinaryInteger) async {
    try? await Task.sleep(for: .microseconds(Int64(microseconds)))
}

/// Carries a non-Sendable value to the one thread that uses it while its owner is suspended.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The blocking part of ``run(_:_:cwd:env:stdin:)``: call it only on a thread of your own
/// (`Thread.detachNewThread`), never from a task.
func runBlocking(
    _ executable: String, _ arguments: [String], cwd: URL? = nil, env: [String: String]? = nil, stdin: Data? = nil
) throws -> RunResult {
    // posix_spawn, not Foundation.Process (TestSupport/Spawn.swift says why).
    let result = try spawnAndCollect(executable, arguments, directory: cwd?.path, environment: env, stdin: stdin)
    return RunResult(
        status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
        stderr: String(decoding: result.stderr, as: UTF8.self))
}

/// Finds a program in the project's tool venv (python3, moto_server: see scripts/setup.sh), else on PATH.
func which(_ name: String) -> String? {
    let venv = Env.toolsDirectory.appendingPathComponent("venv/bin/\(name)").path
    if FileManager.default.isExecutableFile(atPath: venv) { return venv }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// A test workspace: a temp dir, a hermetic environment and helpers to run the tool and git.
final class Workspace {
    let temp: TempDir
    let env: [String: String]
    var repo: URL { temp.sub("repo") }

    init(_ name: String = "ws", extraEnv: [String: String] = [:]) {
        temp = TempDir(name)
        env = Env.environment(home: temp.url, extra: extraEnv)
    }

    /// Runs `stac-repository ARGS` with `--repository` pointing at the workspace repository.
    @discardableResult
    func tool(_ args: [String], repo: URL? = nil, stdin: Data? = nil, env extra: [String: String] = [:]) async throws
        -> RunResult
    {
        var all = args
        if let first = args.first,
            !["version", "show-backends", "clone", "process", "show-processors"].contains(first),
            !args.contains("--repository")
        {
            // After the (sub)command name: `config set --repository R KEY VALUE`.
            let at = first == "config" && args.count > 1 ? 2 : 1
            all.insert(contentsOf: ["--repository", (repo ?? self.repo).path], at: at)
        }
        var e = env
        for (k, v) in extra { e[k] = v }
        return try await run(Env.binary.path, all, cwd: temp.url, env: e, stdin: stdin)
    }

    /// Runs the tool and requires success.
    @discardableResult
    func ok(_ args: [String], repo: URL? = nil, stdin: Data? = nil, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> RunResult
    {
        let r = try await tool(args, repo: repo, stdin: stdin)
        #expect(
            r.status == 0, "stac-repository \(args.joined(separator: " ")) failed: \(r.stderr)",
            sourceLocation: sourceLocation)
        return r
    }

    /// Runs the git CLI in `dir`.
    @discardableResult
    func git(_ args: [String], in dir: URL? = nil) async throws -> RunResult {
        try await run(which("git") ?? "/usr/bin/git", args, cwd: dir ?? repo, env: env)
    }

    func initRepo(backend: String, at url: URL? = nil) async throws {
        try await ok(
            ["init", "--backend", backend, "--id", "test-catalog", "--description", "Test catalog"], repo: url ?? repo)
    }
}

/// Every file under `dir` (hidden ones too) with the SHA-256 of its content; lock files and
/// empty staging areas are skipped because they carry no repository state.
func treeState(_ dir: URL, skipGitInternals: Bool = false) -> [String: String] {
    var out: [String: String] = [:]
    guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else {
        return out
    }
    for case let url as URL in e {
        guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
        let rel = String(url.standardizedFileURL.path.dropFirst(dir.standardizedFileURL.path.count + 1))
        if rel.hasSuffix("/lock") || rel == "lock" { continue }
        // Downloads a failed ingest keeps for its re-run (the transfer journal) are a cache, not state.
        if rel.contains("stac-repository/cache/transfers/") { continue }
        // The tool's own state (history log with timestamps, git objects) is compared elsewhere.
        if skipGitInternals && (rel.hasPrefix(".git/") || rel.hasPrefix(".stac-repository/")) { continue }
        guard let data = FileManager.default.contents(atPath: url.path) else { continue }
        out[rel] = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
    return out
}

func sha256Hex(_ data: Data) -> String {
    SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
}

/// Writes a synthetic catalog: one collection with `items` items, each with two assets.
@discardableResult
func makeCatalog(at dir: URL, collection: String = "coll", items: Int, seed: Int = 0, assetBytes: Int = 2048) throws
    -> [String: Data]
{
    let fm = FileManager.default
    try fm.createDirectory(at: dir.appendingPathComponent(collection), withIntermediateDirectories: true)
    var assets: [String: Data] = [:]
    var itemLinks: [String] = []
    for i in 0..<items {
        let id = "item-\(i)"
        let itemDir = dir.appendingPathComponent("\(collection)/\(id)")
        try fm.createDirectory(at: itemDir, withIntermediateDirectories: true)
        var gen = SplitMix(seed: UInt64(seed * 100_000 + i + 1))
        let data = Data((0..<assetBytes).map { _ in UInt8(truncatingIfNeeded: gen.next()) })
        let thumb = Data((0..<256).map { _ in UInt8(truncatingIfNeeded: gen.next()) })
        try data.write(to: itemDir.appendingPathComponent("data.tif"))
        try thumb.write(to: itemDir.appendingPathComponent("thumb.png"))
        assets["\(id)/data.tif"] = data
        assets["\(id)/thumb.png"] = thumb
        // Even items declare an empty stac_extensions, odd ones none: both must re-ingest as unchanged.
        let item = """
            {
              "type": "Feature",
              "stac_version": "1.1.0",
              \(i % 2 == 0 ? "\"stac_extensions\": []," : "")
              "id": "\(id)",
              "collection": "\(collection)",
              "geometry": {"type": "Point", "coordinates": [\(Double(i % 180) + 0.5), 1.25]},
              "bbox": [\(Double(i % 180) + 0.5), 1.25, \(Double(i % 180) + 0.5), 1.25],
              "properties": {"datetime": "2024-01-01T00:00:00Z", "custom:seed": \(seed), "custom:ratio": 1.50},
              "links": [
                {"rel": "collection", "href": "../collection.json", "type": "application/json"},
                {"rel": "parent", "href": "../collection.json", "type": "application/json"},
                {"rel": "license", "href": "https://example.com/license.html"}
              ],
              "assets": {
                "data": {"href": "./data.tif", "type": "image/tiff; application=geotiff", "roles": ["data"]},
                "thumbnail": {"href": "./thumb.png", "type": "image/png", "roles": ["thumbnail"]}
              }
            }
            """
        try Data(item.utf8).write(to: itemDir.appendingPathComponent("\(id).json"))
        itemLinks.append("{\"rel\": \"item\", \"href\": \"./\(id)/\(id).json\", \"type\": \"application/geo+json\"}")
    }
    let coll = """
        {
          "type": "Collection",
          "stac_version": "1.1.0",
          "id": "\(collection)",
          "description": "Synthetic collection",
          "license": "CC-BY-4.0",
          "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [["2024-01-01T00:00:00Z", null]]}},
          "links": [\(itemLinks.joined(separator: ",\n    "))]
        }
        """
    try Data(coll.utf8).write(to: dir.appendingPathComponent("\(collection)/collection.json"))
    let cat = """
        {"type": "Catalog", "stac_version": "1.1.0", "id": "source", "description": "Source catalog",
         "links": [{"rel": "child", "href": "./\(collection)/collection.json", "type": "application/json"}]}
        """
    try Data(cat.utf8).write(to: dir.appendingPathComponent("catalog.json"))
    return assets
}

/// Parses JSON output.
func jsonObject(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8))
}

func readJSON(_ url: URL) -> [String: Any]? {
    guard let d = FileManager.default.contents(atPath: url.path) else { return nil }
    return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
}
