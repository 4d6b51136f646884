import Foundation
import TestSupport
import Testing

/// `ingest - --batch-size N` reads newline-delimited items a chunk at a time (issue 11,
/// "Streaming"): a chunk is committed before the rest of the input exists, a bad line later on
/// keeps what was committed, and input that is not one item per line is read whole as before.
@Suite(.offPool) struct StreamingIngestTests {
    /// An item shaped like Earth Search's: 7-digit fractional seconds, a declared collection,
    /// assets with remote hrefs (kept as references); every third is pre-1.0 without `type`.
    static func item(_ i: Int) -> String {
        let type = i % 3 == 0 ? "" : "\"type\": \"Feature\", "
        let version = i % 3 == 0 ? "0.9.0" : "1.0.0"
        return """
            {\(type)"stac_version": "\(version)", "id": "S2B_\(i)", "collection": "sentinel", \
            "geometry": {"type": "Point", "coordinates": [\(Double(i % 90) + 0.5), 10.5]}, \
            "bbox": [\(Double(i % 90) + 0.5), 10.5, \(Double(i % 90) + 0.5), 10.5], \
            "properties": {"datetime": "2023-0\(i % 9 + 1)-14T10:00:00.1234567Z"}, "links": [], \
            "assets": {"tilejson": {"href": "https://example.com/\(i)/tilejson.json", "type": "application/json"}}}
            """
    }

    static func lines(_ range: Range<Int>) -> String { range.map { item($0) + "\n" }.joined() }

    private func prepare(_ backend: String) async throws -> Workspace {
        let ws = Workspace("stream-\(backend)")
        try await ws.initRepo(backend: backend)
        let collection = ws.temp.sub("collection.json")
        try Data(
            """
            {"type": "Collection", "stac_version": "1.0.0", "id": "sentinel", "description": "d", \
            "license": "CC-BY-4.0", "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, \
            "temporal": {"interval": [["2023-01-01T00:00:00Z", null]]}}, "links": []}
            """.utf8
        ).write(to: collection)
        try await ws.ok(["ingest", collection.path, "--layout", "${year}/${month}"])
        return ws
    }

    /// Writes all of `text` to the pipe `fd` (on a thread of its own: a full pipe blocks).
    static func write(_ text: String, to fd: Int32) async throws {
        try await onOwnThread {
            let bytes = Array(text.utf8)
            var done = 0
            while done < bytes.count {
                let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { throw POSIXError(.EPIPE) }
                done += n
            }
        }
    }

    /// Starts `ingest -` with `--batch-size N` reading a pipe that stays open; returns the
    /// process and the pipe's writing end (closing it ends the input). Standard output is
    /// discarded; standard error goes to the file `stderr`, or is discarded too.
    static func startStreaming(
        _ ws: Workspace, batchSize: Int, env extra: [String: String] = [:], stderr: String? = nil
    ) throws -> (SpawnedProcess, Int32) {
        let input = try cloexecPipe()
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        let errors = stderr.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? null
        defer {
            close(input.read)
            close(null)
            if errors != null { close(errors) }
        }
        let process = try SpawnedProcess(
            executable: Env.binary.path,
            arguments: streaming + ["--batch-size", "\(batchSize)", "--repository", ws.repo.path],
            environment: ws.env.merging(extra) { $1 }, directory: ws.temp.url.path, stdin: input.read, stdout: null,
            stderr: errors)
        return (process, input.write)
    }

    static let streaming = ["ingest", "-", "--assets", "reference", "--no-checksum", "--no-with-collections"]

    @Test(arguments: ["git", "file"])
    func aChunkIsCommittedBeforeTheInputEnds(backend: String) async throws {
        let ws = try await prepare(backend)
        // The index is held for the whole commit run but for the update before waiting for input.
        let (process, input) = try Self.startStreaming(
            ws, batchSize: 400, env: ["STAC_REPOSITORY_TEST_HOLD_INDEX": "1"])
        func send(_ text: String) async throws { try await Self.write(text, to: input) }
        // One chunk (1,000 lines, the fewest read at once), then the input stays open.
        try await send(Self.lines(0..<1000))
        var committed = false
        for _ in 0..<600 where !committed {
            let history = try await ws.tool(["history"])
            let batches = history.stdout.components(separatedBy: "ingest: 400 added").count - 1
            committed = batches == 2 && history.stdout.contains("ingest: 200 added")
            if !committed { await pause(microseconds: 100_000) }
        }
        #expect(committed, "the first 1,000 lines were not committed (as 400 + 400 + 200) while the input was open")
        #expect(process.isRunning)
        if backend == "git" {
            // While it waits for input, stock git sees the committed state: the index is at HEAD.
            var clean = false
            for _ in 0..<100 where !clean {
                clean = try await ws.git(["diff", "--cached", "--name-only"]).stdout.isEmpty
                if !clean { await pause(microseconds: 50_000) }
            }
            #expect(clean, "the index was not brought to the committed tree before waiting for input")
            #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        }
        try await send(Self.lines(1000..<1300))
        close(input)
        await waitForExit(process)
        #expect(process.waitUntilExit() == 0)
        let history = try await ws.ok(["history"]).stdout
        #expect(history.contains("ingest: 300 added"))
        let listed = try await ws.ok(["list", "--type", "item"]).stdout
        #expect(listed.contains("S2B_0") && listed.contains("S2B_1299"))
        try await ws.ok(["verify"])
    }

    @Test(arguments: ["git", "file"])
    func aBadLineInALaterChunkKeepsTheEarlierChunksAndNamesItsLine(backend: String) async throws {
        let ws = try await prepare(backend)
        var lines = (0..<1500).map(Self.item)
        lines[1200] = "{\"type\": \"Collection\", \"id\": \"oops\", \"stac_version\": \"1.0.0\"}"
        let bad = Data((lines.joined(separator: "\n") + "\n").utf8)
        let failed = try await ws.tool(Self.streaming + ["--batch-size", "500"], stdin: bad)
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("standard input (line 1201)"), "\(failed.stderr)")
        #expect(failed.stderr.split(separator: "\n").count == 1, "one sentence: \(failed.stderr)")
        let history = try await ws.ok(["history"]).stdout
        #expect(history.components(separatedBy: "ingest: 500 added").count - 1 == 2)
        try await ws.ok(["verify"])

        lines[1200] = Self.item(1200)
        let fixed = try await ws.ok(
            Self.streaming + ["--batch-size", "500"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(fixed.stdout.contains("500 added") && fixed.stdout.contains("1000 unchanged"), "\(fixed.stdout)")
    }

    /// A commit run (`--batch-size 1`: one commit per item) updates `.git/index` now and then,
    /// not after every commit. Killed in between, it leaves the index at an older tree; the next
    /// command (a reader too, the lock being free) brings it to the branch, so stock git sees a
    /// clean work tree again. A run that ends leaves it at the branch.
    @Test func aKillInACommitRunLeavesTheIndexToTheNextCommand() async throws {
        let ws = try await prepare("git")
        let hold = ["STAC_REPOSITORY_TEST_HOLD_INDEX": "1"]
        let input = Data(Self.lines(0..<30).utf8)
        let killed = try await ws.tool(
            Self.streaming + ["--batch-size", "1"], stdin: input,
            env: hold.merging(["STAC_REPOSITORY_CRASH_AT": "ingest-batch-committed:20"]) { $1 })
        #expect(killed.status == SIGKILL, "exit \(killed.status): \(killed.stderr)")
        let count = try await ws.git(["rev-list", "--count", "HEAD"]).stdout
        #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == "22", "init, the collection, 20 items")
        // The 20 committed items are not in the index yet: stock git sees them as staged deletions.
        let behind = try await ws.git(["diff", "--cached", "--name-only"]).stdout
        #expect(behind.contains("S2B_0.json") && behind.contains("S2B_19.json"), "\(behind)")
        #expect(!behind.contains("S2B_20.json"))

        try await ws.ok(["history"])
        #expect(try await ws.git(["diff", "--cached", "--name-only"]).stdout.isEmpty)
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        let record = try String(
            contentsOf: ws.repo.appendingPathComponent(".git/index.stac-repository-tree"), encoding: .utf8)
        let tree = try await ws.git(["rev-parse", "HEAD^{tree}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(record.hasPrefix(tree + " "))

        let rest = try await ws.tool(Self.streaming + ["--batch-size", "1"], stdin: input, env: hold)
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.stdout.contains("10 added") && rest.stdout.contains("20 unchanged"), "\(rest.stdout)")
        #expect(try await ws.git(["diff", "--cached", "--name-only"]).stdout.isEmpty)
        #expect(try await ws.git(["status", "--porcelain"]).stdout.isEmpty)
        try await ws.ok(["verify"])
        let fsck = try await ws.git(["fsck", "--strict"])
        #expect(fsck.status == 0, "\(fsck.stderr)")
    }

    /// In a commit run the check for uncommitted edits trusts the stat data of the files the run
    /// wrote (the index is behind). A file the user edits while the run waits for input changed
    /// that stat data: the next commit that would overwrite it stops, and the edit is kept.
    @Test func anEditWhileACommitRunWaitsStopsItsNextCommit() async throws {
        let ws = try await prepare("git")
        let errorPath = ws.temp.sub("stderr.txt").path
        let (process, input) = try Self.startStreaming(ws, batchSize: 250, stderr: errorPath)
        func send(_ text: String) async throws { try await Self.write(text, to: input) }
        // The first chunk: 1,000 items in 4 commits, each touching every month's catalog.
        try await send(Self.lines(0..<1000))
        var clean = false
        for _ in 0..<600 where !clean {
            let count = try await ws.git(["rev-list", "--count", "HEAD"]).stdout
            let committed = count.trimmingCharacters(in: .whitespacesAndNewlines) == "6"
            clean = committed ? try await ws.git(["diff", "--cached", "--name-only"]).stdout.isEmpty : false
            if !clean { await pause(microseconds: 100_000) }
        }
        #expect(clean, "the first chunk was not committed while the input was open")
        // Item 1000 goes to 2023-02; its month catalog is edited by hand in the meantime.
        let listed = try await ws.git(["ls-files"]).stdout.split(separator: "\n").map(String.init)
        let month = try #require(listed.first { $0.hasPrefix("sentinel/2023/02/") && $0.hasSuffix("catalog.json") })
        let file = ws.repo.appendingPathComponent(month)
        let edited = try Data(contentsOf: file) + Data(" ".utf8)
        try edited.write(to: file)
        try await send(Self.lines(1000..<1001))
        close(input)
        await waitForExit(process)
        #expect(process.waitUntilExit() == 1)
        let message = try String(contentsOfFile: errorPath, encoding: .utf8)
        #expect(message.contains("\(month) has uncommitted changes"), "\(message)")
        #expect(try Data(contentsOf: file) == edited, "the edit was overwritten")
        let count = try await ws.git(["rev-list", "--count", "HEAD"]).stdout
        #expect(count.trimmingCharacters(in: .whitespacesAndNewlines) == "6")
        #expect(try await ws.git(["diff", "--cached", "--name-only"]).stdout.isEmpty)
    }

    /// After each batch commit the sub-catalogs it read go back to layout-cache stubs, and each
    /// chunk is placed through the cache of the version the earlier chunks committed. Items
    /// moved by a later chunk (out of sub-catalogs an earlier batch read and dropped) must end
    /// where the same chunks put them when each is its own command reading the catalog whole.
    @Test func itemsMovedByALaterChunkEndWhereAWholeReadPutsThem() async throws {
        let streamed = try await prepare("git")
        let pieces = try await prepare("git")
        // Every item of 2023-01 among the first two chunks moves to 2024 in the third, whose new
        // items are in other months.
        let moved = (0..<2000).filter { $0 % 9 == 0 }
        let third =
            moved.map {
                Self.item($0).replacingOccurrences(
                    of: "2023-01-14T10:00:00.1234567Z", with: "2024-0\($0 % 5 + 1)-02T00:00:00Z") + "\n"
            }.joined()
            + (2000..<3000).filter { $0 % 9 != 0 }.prefix(500 - moved.count).map { Self.item($0) + "\n" }.joined()
        let chunks = [Self.lines(0..<1000), Self.lines(1000..<2000), third]
        let args = Self.streaming + ["--batch-size", "400"]
        let cache = { (ws: Workspace) in ws.repo.appendingPathComponent(".git/stac-repository/cache/layout-ids") }
        // Without a cache at the start (as after a rollback) the first chunk reads the catalog
        // whole; the stubs of later batches are those its commits' caches describe.
        try FileManager.default.removeItem(at: cache(streamed))
        try await streamed.ok(args, stdin: Data(chunks.joined().utf8))
        for chunk in chunks {
            try? FileManager.default.removeItem(at: cache(pieces))
            try await pieces.ok(args, stdin: Data(chunk.utf8))
        }
        let history = try await streamed.ok(["history"]).stdout
        #expect(history.components(separatedBy: "ingest: ").count - 1 == 3 + 3 + 2 + 1, "\(history)")
        #expect(history.contains("ingest: 400 added, 0 updated") && history.contains("ingest: 177 added, 223 updated"))
        let tree = try await streamed.git(["ls-tree", "-r", "HEAD"]).stdout
        let reference = try await pieces.git(["ls-tree", "-r", "HEAD"]).stdout
        #expect(tree == reference, "the streamed ingest's tree differs from the one chunk-by-chunk whole reads made")
        #expect(!tree.contains("sentinel/2023/01/"), "the emptied month is removed")
        #expect(tree.contains("sentinel/2024/01/S2B_0/S2B_0.json"))
        // The cache the streamed ingest kept says what one written from a whole read says.
        func contents(_ ws: Workspace) throws -> [String: Set<String>] {
            var out: [String: Set<String>] = [:]
            for collection in try FileManager.default.contentsOfDirectory(atPath: cache(ws).path) {
                let dir = cache(ws).appendingPathComponent(collection)
                for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name != "key" {
                    let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                    out[collection + "/" + name] = Set(text.split(separator: "\n").map(String.init))
                }
            }
            return out
        }
        #expect(try contents(streamed) == contents(pieces))
        try await streamed.ok(["verify"])
        let status = try await streamed.git(["status", "--porcelain"])
        #expect(status.stdout.isEmpty, "\(status.stdout)")
        // Each batch of 400 or 200 wrote its new objects as one pack, and nothing but them
        // (the empty tree is init's, loose): stock git reads them all and finds none unused.
        let fsck = try await streamed.git(["fsck", "--strict"])
        let unexpected = fsck.stdout.split(separator: "\n").filter {
            $0 != "dangling tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        }
        #expect(fsck.status == 0 && unexpected.isEmpty, "\(fsck.stdout)\(fsck.stderr)")
        // Seven batch packs, rolled up as they came (PackMerge): at most three remain. The last
        // batch (100 items) is below the pack threshold, its objects loose.
        let count = try await streamed.git(["count-objects", "-v"]).stdout
        let packs = count.split(separator: "\n").first { $0.hasPrefix("packs: ") }.flatMap { Int($0.dropFirst(7)) }
        #expect(packs.map { (1...3).contains($0) } == true, "\(count)")
        #expect(!count.contains("count: 0\n"), "\(count)")
    }

    @Test func inputThatIsNotOneItemPerLineIsReadWhole() async throws {
        let ws = try await prepare("git")
        // Pretty-printed items, several lines each: not newline-delimited, parsed as a whole.
        let pretty = (0..<40).map { i -> String in
            let object = try? JSONSerialization.jsonObject(with: Data(Self.item(i).utf8))
            let data = object.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.prettyPrinted]) }
            return String(decoding: data ?? Data(), as: UTF8.self)
        }.joined(separator: "\n")
        #expect(pretty.split(separator: "\n").count > 1000)
        let result = try await ws.ok(Self.streaming + ["--batch-size", "7"], stdin: Data(pretty.utf8))
        #expect(result.stdout.contains("40 added"), "\(result.stdout)")
        let history = try await ws.ok(["history"]).stdout
        #expect(history.contains("(batch 6 of 6)"))
    }

    /// A streamed ingest of millions keeps only the products it shows: without -v or --json the
    /// report lists the first 50 and counts the rest; -v and --json list every one.
    @Test func theReportListsTheFirstProductsAndCountsTheRest() async throws {
        let ws = try await prepare("git")
        let plain = try await ws.ok(Self.streaming + ["--batch-size", "25"], stdin: Data(Self.lines(0..<120).utf8))
        let listed = plain.stdout.split(separator: "\n").filter { $0.hasPrefix("+ item ") }
        #expect(listed.count == 50, "\(plain.stdout)")
        #expect(listed.first == "+ item S2B_0")
        #expect(plain.stdout.contains("… and 70 more (-v lists them all)"))
        #expect(plain.stdout.contains("ingest: 120 added, 0 updated, 0 unchanged"), "\(plain.stdout)")
        // The same items again: all unchanged, counted.
        let again = try await ws.ok(Self.streaming + ["--batch-size", "25"], stdin: Data(Self.lines(0..<120).utf8))
        #expect(again.stdout.contains("ingest: 0 added, 0 updated, 120 unchanged"), "\(again.stdout)")
        let verbose = try await ws.ok(
            Self.streaming + ["--batch-size", "25", "-v"], stdin: Data(Self.lines(120..<180).utf8))
        #expect(verbose.stdout.split(separator: "\n").filter { $0.hasPrefix("+ item ") }.count == 60)
        #expect(!verbose.stdout.contains("more (-v lists them all)"))
        let json = try await ws.ok(
            Self.streaming + ["--batch-size", "25", "--json"], stdin: Data(Self.lines(180..<240).utf8))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((report["added"] as? [Any])?.count == 60)
        let unlisted = try #require(report["unlisted"] as? [String: Int])
        #expect(unlisted == ["added": 0, "updated": 0, "unchanged": 0])
    }
}
