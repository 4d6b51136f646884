import Foundation
import Git
import TestSupport
import Testing

/// A temporary directory owned by one test, removed when the test lets go of it, with a
/// hermetic environment for the git CLI (its own HOME and global config; no system config).
final class Scratch {
    let url: URL
    let home: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("GitTests-\(UUID().uuidString)", isDirectory: true)
        home = url.appendingPathComponent("home", isDirectory: true)
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let common = """
            [user]
            \tname = Git CLI
            \temail = cli@example.com
            [init]
            \tdefaultBranch = main
            [advice]
            \tdetachedHead = false

            """
        // git-lfs's filter, as `git lfs install` writes it (here: /etc/gitconfig).
        let lfs = """
            [filter "lfs"]
            \tclean = git-lfs clean -- %f
            \tsmudge = git-lfs smudge -- %f
            \tprocess = git-lfs filter-process
            \trequired = true

            """
        try (common + lfs).write(to: home.appendingPathComponent("gitconfig"), atomically: true, encoding: .utf8)
        try common.write(to: home.appendingPathComponent("gitconfig-nolfs"), atomically: true, encoding: .utf8)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// A path inside the scratch directory.
    func path(_ relative: String) -> URL {
        url.appendingPathComponent(relative)
    }

    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the git CLI in `directory` and returns its output; fails the test on a non-zero
    /// exit unless `allowFailure`.
    @discardableResult
    func git(
        _ arguments: [String], in directory: URL, lfsFilter: Bool = true, environment extra: [String: String] = [:],
        stdin: URL? = nil, allowFailure: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Result {
        // git runs and is waited for on a thread of its own, never on the cooperative pool.
        let me = Unchecked(self)
        let result = try await onOwnThread {
            try me.value.gitBlocking(arguments, in: directory, lfsFilter: lfsFilter, environment: extra, stdin: stdin)
        }
        if !allowFailure {
            #expect(
                result.status == 0,
                "git \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)",
                sourceLocation: sourceLocation)
        }
        return result
    }

    /// The blocking part of ``git(_:in:lfsFilter:environment:stdin:allowFailure:sourceLocation:)``.
    private func gitBlocking(
        _ arguments: [String], in directory: URL, lfsFilter: Bool, environment extra: [String: String], stdin: URL?
    ) throws -> Result {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GIT_") }
        environment["HOME"] = home.path
        environment["GIT_CONFIG_GLOBAL"] = home.appendingPathComponent(lfsFilter ? "gitconfig" : "gitconfig-nolfs").path
        environment["GIT_CONFIG_NOSYSTEM"] = "1"
        environment["LC_ALL"] = "C"
        for (key, value) in extra { environment[key] = value }
        // posix_spawn, not Foundation.Process (TestSupport/Spawn.swift says why).
        let input = try stdin.map { try Data(contentsOf: $0) }
        let run = try spawnAndCollect(
            "/usr/bin/git", arguments, directory: directory.path, environment: environment, stdin: input)
        let result = Result(
            status: run.status, stdout: String(decoding: run.stdout, as: UTF8.self),
            stderr: String(decoding: run.stderr, as: UTF8.self))
        return result
    }
}

extension Signature {
    /// A fixed signature for tests.
    static func test(_ seconds: Int = 1_700_000_000) -> Signature {
        Signature(
            name: "Test Writer", email: "writer@example.com", time: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}

extension GitRepository {
    /// Writes `files` on top of `parent`'s tree and commits them, without moving any ref.
    func commitFiles(
        _ files: [String: String], removing: [String] = [], parent: ObjectID?, message: String,
        time: Int = 1_700_000_000
    ) throws -> ObjectID {
        var updates = [TreeUpdate]()
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            updates.append(.upsert(path: path, blob: try writeBlob(Array(text.utf8)), mode: .blob))
        }
        updates += removing.map { .remove(path: $0) }
        let base = try parent.map { try commit($0).tree }
        let tree = try updateTree(base: base, updates)
        return try createCommit(
            tree: tree, parents: parent.map { [$0] } ?? [], message: message, author: .test(time),
            committer: .test(time))
    }

    /// Commits `files` and moves `branch` there (compare-and-swap against its current value).
    @discardableResult
    func commitOnBranch(
        _ files: [String: String], removing: [String] = [], branch: String = "refs/heads/main", message: String,
        time: Int = 1_700_000_000
    ) throws -> ObjectID {
        let parent = try reference(branch)
        let id = try commitFiles(files, removing: removing, parent: parent, message: message, time: time)
        try updateReference(branch, to: id, expected: parent, reflogMessage: "commit: \(message)")
        return id
    }
}

/// Writes `text` to `relative` under `root`, creating folders.
func writeFile(_ text: String, to relative: String, under root: URL) throws {
    try writeFile(Array(text.utf8), to: relative, under: root)
}

/// Writes `bytes` to `relative` under `root`, creating folders.
func writeFile(_ bytes: [UInt8], to relative: String, under root: URL) throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
}

/// Expects `body` to throw a ``GitError`` with `code`.
func expectGitError<R>(
    _ code: GitError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) {
    do {
        _ = try body()
        Issue.record("Expected GitError \(code), but nothing was thrown.", sourceLocation: sourceLocation)
    } catch let error as GitError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("Expected GitError \(code), got \(error).", sourceLocation: sourceLocation)
    }
}

/// The SHA-256 of `bytes` in hex, computed by coreutils' `sha256sum` (independently of the code under test).
func sha256Hex(_ bytes: [UInt8], scratch: Scratch) async throws -> String {
    let file = scratch.path("sha-\(UUID().uuidString)")
    try Data(bytes).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    return try await onOwnThread { try sha256sum(file) }
}

private func sha256sum(_ file: URL) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output.prefix(64), as: UTF8.self)
}

/// Runs `body` on a new thread and resumes the caller with its result, so that a test waiting for
/// a child process or another thread holds no thread of Swift's cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Swift.Result { try body() }) }
    }
}

/// Waits for `group` on a thread of its own.
func waitFor(_ group: DispatchGroup) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread.detachNewThread {
            group.wait()
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

/// Carries a non-Sendable value to the one thread that uses it while its owner is suspended.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension GitRepository {
    /// Commits `files` and `removing` on the branch, mirrors them in the work tree at `url`
    /// (empty folders go too, as git removes them), and resets the index incrementally; returns
    /// the new tree and whether the reset was incremental.
    func commitMirroringAndResetIndex(
        _ url: URL, _ files: [String: String], removing: [String] = []
    ) throws -> (tree: ObjectID, incremental: Bool) {
        let commit = try commitOnBranch(files, removing: removing, message: "step")
        for path in removing {
            var file = url.appendingPathComponent(path)
            try? FileManager.default.removeItem(at: file)
            file.deleteLastPathComponent()
            while file.path.count > url.path.count, rmdir(file.path) == 0 { file.deleteLastPathComponent() }
        }
        for (path, text) in files { try writeFile(text, to: path, under: url) }
        let tree = try self.commit(commit).tree
        let incremental = try resetIndex(toTree: tree, refreshingStatFor: Array(files.keys), incremental: true)
        return (tree, incremental)
    }
}

/// One random round of edits over `names`: up to `maxChanges` files written or removed, never a
/// file whose parent or child is present (a file/directory clash); `present` is updated.
func randomEdits(
    of names: [String], present: inout [String: String], round: Int, maxChanges: Int, using generator: inout SplitMix
) -> (files: [String: String], removing: [String]) {
    var files: [String: String] = [:]
    var removing: [String] = []
    for _ in 0..<Int.random(in: 1...maxChanges, using: &generator) {
        let name = names[Int.random(in: 0..<names.count, using: &generator)]
        let clashes = present.keys.contains {
            $0 != name && ($0.hasPrefix(name + "/") || name.hasPrefix($0 + "/"))
        }
        if present[name] != nil, Bool.random(using: &generator) {
            if files[name] == nil { removing.append(name) }
        } else if !clashes, !removing.contains(name) {
            files[name] = "round \(round) \(name)\n"
        }
    }
    for name in removing { present[name] = nil }
    for (name, text) in files { present[name] = text }
    return (files, removing)
}
