import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a new user meets in the first hour (issue 15): git's habits for global options, `list`
/// and `show`, `diff` that names fields, progress on a terminal, `--wait` that says why it
/// waits, messages in one style, `init` in a plain git repository or inside a repository.
@Suite("First hour", .offPool, .offPool)
struct FirstHourTests {
    /// A workspace with a git repository holding the sample catalog.
    func sampleRepository(_ name: String, backend: String = "git") async throws -> Workspace {
        let ws = Workspace(name)
        try await ws.initRepo(backend: backend)
        try await ws.ok(["ingest", Env.packageRoot.appendingPathComponent("docs/sample-catalog/catalog.json").path])
        return ws
    }

    // MARK: Global options anywhere

    @Test("global options before the command name work exactly as after it; -C is --repository")
    func globalOptionsAnywhere() async throws {
        let ws = try await sampleRepository("global")
        let after = try await run(Env.binary.path, ["history", "--repository", ws.repo.path, "--json"], env: ws.env)
        let before = try await run(Env.binary.path, ["--repository", ws.repo.path, "--json", "history"], env: ws.env)
        let short = try await run(Env.binary.path, ["-C", ws.repo.path, "--json", "history"], env: ws.env)
        #expect(after.status == 0 && before.status == 0 && short.status == 0, "\(before.stderr)\(short.stderr)")
        #expect(before.stdout == after.stdout && short.stdout == after.stdout)
        #expect(after.stdout.contains("\"operation\": \"ingest\""))
        // A two-level command: `config list`.
        let config = try await run(Env.binary.path, ["-C", ws.repo.path, "config", "list"], env: ws.env)
        #expect(config.status == 0 && config.stdout.contains("backend=git"), "\(config.stderr)")
    }

    @Test("the top-level help lists the global options; a subcommand's help does not list --version")
    func helpTexts() async throws {
        let top = try await run(Env.binary.path, ["--help"])
        #expect(top.status == 0)
        for option in ["-C, --repository", "--json", "-q, --quiet", "-v, --verbose", "anywhere"] {
            #expect(top.stdout.contains(option), "top-level help lacks \(option)")
        }
        let history = try await run(Env.binary.path, ["history", "--help"])
        #expect(history.status == 0 && history.stdout.contains("--repository"))
        #expect(!history.stdout.contains("--version"), "\(history.stdout)")
        let version = try await run(Env.binary.path, ["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty)
    }

    @Test("ArgumentParser's own errors are in the tool's style: error:, exit 64")
    func usageErrorsInOneStyle() async throws {
        let r = try await run(Env.binary.path, ["history", "--bogus"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)")
        #expect(!r.stderr.contains("Error:"), "\(r.stderr)")
    }

    // MARK: list and show

    @Test("list prints ids, types, parents, asset counts and datetimes, tab-separated; --type, PARENT, --json, --ref")
    func list() async throws {
        let ws = try await sampleRepository("list")
        let all = try await ws.ok(["list"])
        let rows = all.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.map { String($0[0]) } == ["test-catalog", "sample-orthophotos", "S-001", "S-002", "S-003"])
        let s1 = try #require(rows.first { $0[0] == "S-001" })
        #expect(s1[1] == "item" && s1[2] == "sample-orthophotos" && s1[3] == "2 assets")
        #expect(s1[4] == "2024-05-01T10:00:00Z")
        let items = try await ws.ok(["list", "sample-orthophotos", "--type", "item"])
        #expect(items.stdout.split(separator: "\n").map { String($0.prefix(5)) } == ["S-001", "S-002", "S-003"])
        let json = try #require(
            jsonObject(try await ws.ok(["list", "--type", "collection", "--json"]).stdout) as? [[String: Any]])
        #expect(json.count == 1 && json.first?["id"] as? String == "sample-orthophotos")
        #expect(json.first?["parent"] as? String == "test-catalog")
        try await ws.ok(["prune", "S-002"])
        let now = try await ws.ok(["list", "--type", "item"]).stdout
        let then = try await ws.ok(["list", "--type", "item", "--ref", "HEAD~1"]).stdout
        #expect(!now.contains("S-002") && then.contains("S-002"))
        let unknown = try await ws.tool(["list", "nothing-here"])
        #expect(unknown.status == 1 && unknown.stderr.hasPrefix("error: "), "\(unknown.stderr)")
    }

    @Test(
        "show prints the stored JSON byte for byte, at any --ref, and takes PARENT-ID/ID", arguments: ["git", "file"])
    func show(backend: String) async throws {
        let ws = try await sampleRepository("show-\(backend)", backend: backend)
        let stored = try #require(
            FileManager.default.contents(atPath: ws.repo.path + "/sample-orthophotos/S-001/S-001.json"))
        let shown = try await ws.ok(["show", "S-001"])
        #expect(Data(shown.stdout.utf8) == stored)
        #expect(try await ws.ok(["show", "sample-orthophotos/S-001"]).stdout == shown.stdout)
        let root = try #require(FileManager.default.contents(atPath: ws.repo.path + "/catalog.json"))
        #expect(Data(try await ws.ok(["show", "test-catalog"]).stdout.utf8) == root)
        if backend == "git" {
            try await ws.ok(["prune", "S-001"])
            #expect(try await ws.tool(["show", "S-001"]).status == 1)
            #expect(Data(try await ws.ok(["show", "S-001", "--ref", "HEAD~1"]).stdout.utf8) == stored)
        }
    }

    @Test("prune of an unknown id suggests stac-repository list")
    func pruneSuggestsList() async throws {
        let ws = try await sampleRepository("prune-hint")
        let r = try await ws.tool(["prune", "S-999"])
        #expect(r.status == 1 && r.stderr.contains("stac-repository list"), "\(r.stderr)")
    }

    // MARK: diff

    @Test("diff names every changed field, nested asset fields included, and --stat counts them")
    func diffNamesFields() async throws {
        let ws = Workspace("diff-fields")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 2)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        // The same bytes from another place: only alternate.original.href changes.
        let moved = ws.temp.sub("moved")
        try FileManager.default.moveItem(at: source, to: moved)
        try await ws.ok(["ingest", moved.appendingPathComponent("catalog.json").path])
        let r = try await ws.ok(["diff", "HEAD~1", "HEAD"])
        #expect(r.stdout.contains("~ item item-0"), "\(r.stdout)")
        #expect(r.stdout.contains("assets.data.alternate.original.href"), "\(r.stdout)")
        #expect(r.stdout.contains("assets.thumbnail.alternate.original.href"), "\(r.stdout)")
        let stat = try await ws.ok(["diff", "HEAD~1", "HEAD", "--stat"])
        #expect(stat.stdout.contains("~ item item-0 | 2 fields"), "\(stat.stdout)")
        #expect(!stat.stdout.contains("fields:"))
    }

    // MARK: Progress and --wait

    /// Runs the tool in a pseudo-terminal (util-linux `script`), so that it draws its progress.
    func inTerminal(_ args: [String], ws: Workspace) async throws -> RunResult {
        let quoted = ([Env.binary.path] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        return try await run(
            "/usr/bin/script", ["-qec", quoted.joined(separator: " "), "/dev/null"], cwd: ws.temp.url, env: ws.env)
    }

    @Test(
        "on a terminal, ingest shows crawl, transfer (with the planned byte total) and commit progress, each with a final line",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script"))
    func progressOnATerminal() async throws {
        let ws = Workspace("progress")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 3, assetBytes: 4096)
        let r = try await inTerminal(
            ["ingest", "--repository", ws.repo.path, source.appendingPathComponent("catalog.json").path], ws: ws)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("crawl 5 documents in "), "\(r.stdout)")
        // 3 × (4096 + 256) bytes planned before the first transfer: the total is known from the start.
        #expect(r.stdout.contains("/12.8 KiB"), "\(r.stdout)")
        #expect(r.stdout.contains("assets 6/6"), "\(r.stdout)")
        #expect(r.stdout.contains("commit "), "\(r.stdout)")
        #expect(r.stdout.contains(", done"), "\(r.stdout)")
        // Not on a terminal: no progress at all.
        let quiet = try await ws.tool(["ingest", ws.temp.sub("source/catalog.json").path])
        #expect(!quiet.stderr.contains("crawl"), "\(quiet.stderr)")
    }

    @Test(
        "list goes through $PAGER on a terminal, and straight to a pipe otherwise",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "needs util-linux script"))
    func listPages() async throws {
        let ws = try await sampleRepository("pager")
        let paged = try await run(
            "/usr/bin/script", ["-qec", "'\(Env.binary.path)' list --repository '\(ws.repo.path)'", "/dev/null"],
            cwd: ws.temp.url, env: ws.env.merging(["PAGER": "sed s/^/paged:/"]) { $1 })
        #expect(paged.status == 0 && paged.stdout.contains("paged:S-001"), "\(paged.stdout)")
        let piped = try await ws.tool(["list"], env: ["PAGER": "sed s/^/paged:/"])
        #expect(piped.stdout.hasPrefix("test-catalog\t") && !piped.stdout.contains("paged:"), "\(piped.stdout)")
    }

    @Test("--wait says who holds the lock and that it waits, then proceeds")
    func waitSaysWhy() async throws {
        let ws = try await sampleRepository("wait")
        let lockPath = ws.repo.path + "/.git/stac-repository/lock"
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        try #require(fd >= 0)
        #expect(flock(fd, LOCK_EX) == 0)
        _ = "pid 4242: a test holder\n".withCString { write(fd, $0, strlen($0)) }
        let errFile = ws.temp.sub("wait.err")
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let process = Process()
        process.executableURL = Env.binary
        process.arguments = ["prune", "--repository", ws.repo.path, "--wait", "S-001"]
        process.environment = ws.env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errFile)
        try process.run()
        var said = ""
        for _ in 0..<100 where !said.contains("waiting") {
            try await Task.sleep(nanoseconds: 50_000_000)
            said = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
        }
        #expect(said.contains("pid 4242: a test holder") && said.contains("waiting"), "\(said)")
        #expect(process.isRunning)
        flock(fd, LOCK_UN)
        close(fd)
        for _ in 0..<200 where process.isRunning { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(!process.isRunning && process.terminationStatus == 0)
    }

    // MARK: Messages

    @Test("counts take the right plural: 1 asset copied, 1 LFS object, 1 JSON file")
    func plurals() async throws {
        let ws = Workspace("plurals")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data("bytes".utf8).write(to: source.appendingPathComponent("a.tif"))
        try Data(
            """
            {"type": "Feature", "stac_version": "1.1.0", "id": "one", "geometry": null,
             "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [],
             "assets": {"data": {"href": "./a.tif"}}}
            """.utf8
        ).write(to: source.appendingPathComponent("one.json"))
        let r = try await ws.ok(["ingest", source.appendingPathComponent("one.json").path])
        #expect(r.stdout.contains("1 asset copied"), "\(r.stdout)")
        #expect(!r.stdout.contains("1 assets"))
        let backup = try await ws.ok(["backup", ws.temp.sub("backup.git").path])
        #expect(backup.stdout.contains("1 LFS object copied"), "\(backup.stdout)")
        try await ws.ok(["prune", "one"])
        let export = try await ws.ok(["export", ws.temp.sub("out").path])
        #expect(export.stdout.contains("1 JSON file and 0 assets"), "\(export.stdout)")
    }

    @Test("a processor's own sentence gets no doubled period")
    func noDoubledPeriod() async throws {
        let ws = Workspace("period")
        try await ws.initRepo(backend: "git")
        let bin = ws.temp.sub("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let script = bin.appendingPathComponent("stac-processor-demo")
        try "#!/bin/sh\n[ \"$1\" = --version ] && { echo 1.0; exit 0; }\necho 'demo failure.' >&2\nexit 3\n"
            .write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        let r = try await ws.tool(
            ["ingest", "--processor", "demo", ws.temp.path], env: ["PATH": bin.path + ":" + (ws.env["PATH"] ?? "")])
        #expect(r.status == 1)
        #expect(r.stderr.contains("demo failure"), "\(r.stderr)")
        #expect(!r.stderr.contains(".."), "\(r.stderr)")
    }

    @Test("warnings are sentences, not swift-log lines")
    func warningsAreSentences() async throws {
        let ws = Workspace("warning")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data("bytes".utf8).write(to: source.appendingPathComponent("a.tif"))
        // A well-formed multihash of an algorithm the tool cannot compute (blake2b-256, 0xb220).
        let checksum = "b22020" + String(repeating: "ab", count: 32)
        try Data(
            """
            {"type": "Feature", "stac_version": "1.1.0", "id": "w", "geometry": null,
             "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [],
             "assets": {"data": {"href": "./a.tif", "file:checksum": "\(checksum)"}}}
            """.utf8
        ).write(to: source.appendingPathComponent("w.json"))
        let r = try await ws.tool(["ingest", source.appendingPathComponent("w.json").path])
        let warning = try #require(
            r.stderr.split(separator: "\n").first { $0.contains("file:checksum") }, "no warning in: \(r.stderr)")
        #expect(warning.hasPrefix("warning: Cannot verify file:checksum"), "\(warning)")
        #expect(warning.hasSuffix("."), "\(warning)")
        // Not swift-log's StreamLogHandler format ("2026-…T… warning stac-repository : asset=… message").
        #expect(!warning.contains(" warning ") && !warning.contains("stac-repository :"), "\(warning)")
    }

    @Test("--json output is written in the catalog's own format (two spaces, \"key\": value), config included")
    func jsonInOneFormat() async throws {
        let ws = try await sampleRepository("json")
        let version = try await ws.ok(["version", "--json"])
        #expect(version.stdout.hasPrefix("{\n  \"version\": \""), "\(version.stdout)")
        let set = try await ws.ok(["config", "set", "gc.auto", "7", "--json"])
        #expect(set.stdout == "{\n  \"key\": \"gc.auto\",\n  \"value\": \"7\"\n}\n", "\(set.stdout)")
        let list = try await ws.ok(["config", "list", "--json"])
        #expect(list.stdout.contains("\n  \"gc.auto\": \"7\""), "\(list.stdout)")
        #expect(!list.stdout.contains("\" : "))
    }

    @Test("config set processors.x.path checks that the path is an executable file", arguments: ["git", "file"])
    func configChecksProcessorPath(backend: String) async throws {
        let ws = Workspace("config-\(backend)")
        try await ws.initRepo(backend: backend)
        let before = try await ws.ok(["config", "list"]).stdout
        let missing = try await ws.tool(["config", "set", "processors.x.path", "/nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("error: processors.x.path: /nope does not exist"), "\(missing.stderr)")
        let notExecutable = try await ws.tool(["config", "set", "processors.x.path", ws.temp.sub(".gitconfig").path])
        #expect(notExecutable.status == 1 && notExecutable.stderr.contains("not an executable"))
        #expect(try await ws.ok(["config", "list"]).stdout == before)
        try await ws.ok(["config", "set", "processors.x.path", "/bin/sh"])
    }

    // MARK: init

    @Test("init in a plain git repository adopts it: its history and files stay, later commands work")
    func initAdoptsPlainGit() async throws {
        let ws = Workspace("adopt")
        try FileManager.default.createDirectory(at: ws.repo, withIntermediateDirectories: true)
        #expect(try await ws.git(["init", "-q", "-b", "trunk"]).status == 0)
        try Data("notes\n".utf8).write(to: ws.repo.appendingPathComponent("NOTES.md"))
        #expect(try await ws.git(["add", "NOTES.md"]).status == 0)
        #expect(try await ws.git(["commit", "-qm", "my notes"]).status == 0)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", Env.packageRoot.appendingPathComponent("docs/sample-catalog/catalog.json").path])
        let history = try await ws.ok(["history"]).stdout
        #expect(history.contains("ingest: 4 added") && history.contains("init: catalog"), "\(history)")
        let log = try await ws.git(["log", "--format=%s", "trunk"]).stdout
        #expect(log.hasSuffix("my notes\n"), "\(log)")
        #expect(try await ws.git(["show", "HEAD:NOTES.md"]).stdout == "notes\n")
        #expect(try await ws.git(["status", "--porcelain"]).stdout == "")
    }

    @Test("init inside a repository refuses unless --nested", arguments: ["git", "file"])
    func initRefusesNesting(backend: String) async throws {
        let ws = Workspace("nested-\(backend)")
        try await ws.initRepo(backend: backend)
        let inner = ws.repo.appendingPathComponent("sub/inner")
        let before = treeState(ws.repo)
        let r = try await ws.tool(["init", "--id", "inner", "--description", "d"], repo: inner)
        #expect(r.status == 1 && r.stderr.contains("--nested"), "\(r.stderr)")
        #expect(treeState(ws.repo) == before)
        try await ws.ok(["init", "--id", "inner", "--description", "d", "--nested"], repo: inner)
    }

    // MARK: Demo, completions, man page

    @Test("the demo echoes its commands with their quotes, so they can be pasted")
    func demoQuotes() async throws {
        let ws = Workspace("demo", extraEnv: ["TMPDIR": FileManager.default.temporaryDirectory.path])
        var env = ws.env
        env["TMPDIR"] = ws.temp.path
        let r = try await run(
            "/bin/bash", [Env.packageRoot.appendingPathComponent("scripts/demo.sh").path, Env.binary.path],
            cwd: ws.temp.url,
            env: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("--title 'Demo catalog'"), "\(r.stdout)")
    }

    @Test("completion scripts for bash, zsh and fish and the man page's help dump generate without error")
    func completionsAndManual() async throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try await run(Env.binary.path, ["--generate-completion-script", shell])
            #expect(
                r.status == 0 && r.stdout.contains("stac-repository") && r.stdout.contains("list"),
                "\(shell): \(r.stderr)")
        }
        let dump = try await run(Env.binary.path, ["--experimental-dump-help"])
        #expect(dump.status == 0 && jsonObject(dump.stdout) != nil, "\(dump.stderr)")
    }
}
