import Foundation
import TestSupport
import Testing

/// `remote`, `push`, URL `clone`, `fetch` and `pull` against a bare repository over `file://`
/// and a real Git LFS server (giftless) on 127.0.0.1, checked with stock git + git-lfs.
@Suite("Remotes: push, clone, fetch, pull", .offPool)
struct RemoteTests {
    static let haveGiftless = giftlessFlask != nil && which("git-lfs") != nil

    @Test("remote add, list --json and remove keep git's configuration keys")
    func remoteCommands() async throws {
        let ws = Workspace("remote-cmd")
        try await ws.initRepo(backend: "git")
        try await ws.ok(["remote", "add", "--repository", ws.repo.path, "origin", "https://example.org/team/catalog"])
        try await ws.ok([
            "remote", "add", "--repository", ws.repo.path, "backup", "https://u:secret@example.org/x.git", "--lfs-url",
            "http://127.0.0.1:9/lfs",
        ])
        #expect(try await ws.git(["config", "remote.origin.url"]).stdout == "https://example.org/team/catalog\n")
        #expect(try await ws.git(["config", "remote.origin.fetch"]).stdout == "+refs/heads/*:refs/remotes/origin/*\n")
        #expect(try await ws.git(["config", "remote.backup.lfsurl"]).stdout == "http://127.0.0.1:9/lfs\n")

        let list = try await ws.ok(["remote", "list", "--repository", ws.repo.path, "--json"])
        #expect(!list.stdout.contains("secret"), "no password in the listing")
        let remotes = jsonObject(list.stdout) as? [[String: Any]] ?? []
        #expect(remotes.count == 2)
        let origin = remotes.first { $0["name"] as? String == "origin" }
        #expect(origin?["lfsEndpoint"] as? String == "https://example.org/team/catalog.git/info/lfs")
        let backup = remotes.first { $0["name"] as? String == "backup" }
        #expect(backup?["lfsEndpoint"] as? String == "http://127.0.0.1:9/lfs")

        // git-lfs's derivation for ssh and scp-like URLs, and a path remote's own store.
        let derived = [
            ("scp", "git@github.com:org/cat.git", "https://github.com/org/cat.git/info/lfs"),
            ("ssh", "ssh://git@git.example.org:2222/org/cat", "https://git.example.org/org/cat.git/info/lfs"),
            ("local", ws.temp.sub("shared.git").path, ws.temp.sub("shared.git").path),
        ]
        for (name, url, _) in derived {
            try await ws.ok(["remote", "add", "--repository", ws.repo.path, name, url])
        }
        let all = jsonObject(try await ws.ok(["remote", "list", "--repository", ws.repo.path, "--json"]).stdout)
        for (name, _, endpoint) in derived {
            let entry = (all as? [[String: Any]])?.first { $0["name"] as? String == name }
            #expect(entry?["lfsEndpoint"] as? String == endpoint, "\(name)")
        }
        for (name, _, _) in derived { try await ws.ok(["remote", "remove", "--repository", ws.repo.path, name]) }

        // lfs.url wins over the derived URL, as in git-lfs.
        #expect(try await ws.git(["config", "lfs.url", "https://lfs.example.org/store"]).status == 0)
        let again =
            jsonObject(try await ws.ok(["remote", "list", "--repository", ws.repo.path, "--json"]).stdout)
            as? [[String: Any]]
            ?? []
        #expect(again.allSatisfy { $0["lfsEndpoint"] as? String == "https://lfs.example.org/store" })

        let duplicate = try await ws.tool(["remote", "add", "--repository", ws.repo.path, "origin", "/elsewhere"])
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("already exists"))
        let bad = try await ws.tool(["remote", "add", "--repository", ws.repo.path, "-x", "/elsewhere"])
        #expect(bad.status != 0)

        try await ws.ok(["remote", "remove", "--repository", ws.repo.path, "backup"])
        #expect(try await ws.git(["config", "remote.backup.url"]).status != 0)
        let missing = try await ws.tool(["remote", "remove", "--repository", ws.repo.path, "backup"])
        #expect(missing.status == 1 && missing.stderr.contains("no remote backup"))
    }

    @Test("clone file:// of a backup copies its LFS store directly; clone PATH keeps working")
    func cloneBackupURL() async throws {
        let ws = Workspace("remote-backup")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 2, assetBytes: 5000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let backup = ws.temp.sub("backup.git")
        try await ws.ok(["backup", backup.path])
        let byURL = ws.temp.sub("by-url")
        let r = try await ws.ok(["clone", "file://" + backup.path, byURL.path, "--json"])
        #expect((jsonObject(r.stdout) as? [String: Any])?["lfsObjectsDownloaded"] as? Int == 4, "\(r.stdout)")
        let byPath = ws.temp.sub("by-path")
        try await ws.ok(["clone", backup.path, byPath.path])
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: byURL.appendingPathComponent("coll/\(path)").path) == data)
            #expect(FileManager.default.contents(atPath: byPath.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: byURL)
        try await ws.ok(["verify"], repo: byPath)
        #expect(try await ws.git(["config", "remote.origin.url"], in: byURL).stdout == "file://\(backup.path)\n")
        // A second clone into a non-empty directory is refused and leaves it alone.
        let again = try await ws.tool(["clone", "file://" + backup.path, byURL.path])
        #expect(again.status == 1 && again.stderr.contains("not empty"))
    }

    @Test(
        "push to a bare repository + giftless; stock git clone + lfs pull, our clone, fetch, pull, non-fast-forward",
        .enabled(if: haveGiftless, "needs giftless (scripts/setup.sh --test-tools) and git-lfs"))
    func roundTrip() async throws {
        let ws = Workspace("remote-trip")
        let server = try #require(try await startGiftless(in: ws.temp))
        defer { server.stop() }
        let lfsURL = "http://127.0.0.1:\(server.port)/stac/demo.git/info/lfs"
        let storage = ws.temp.sub("giftless-storage")
        let bare = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)

        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3, assetBytes: 100_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try await ws.ok([
            "remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path, "--lfs-url", lfsURL,
        ])

        // First push: every object uploaded, then the branch.
        let first = try await ws.ok(["push", "--json"])
        let report = jsonObject(first.stdout) as? [String: Any] ?? [:]
        #expect(report["lfsObjectsUploaded"] as? Int == 6, "\(first.stdout)")
        #expect(report["updated"] as? Bool == true)
        let localTip = try await ws.git(["rev-parse", "main"]).stdout
        #expect(try await ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout == localTip)
        #expect(giftlessObjects(storage).count == 6)
        for (oid, file) in giftlessObjects(storage) {
            #expect(sha256Hex(try Data(contentsOf: file)) == oid, "giftless holds \(oid) intact")
        }
        // Second push: nothing to upload.
        let second = try await ws.ok(["push"])
        #expect(second.stdout.contains("push: 0 objects uploaded"), "\(second.stdout)")

        // Stock git clone + git lfs pull.
        let stock = ws.temp.sub("stock")
        var env = ws.env
        env["GIT_LFS_SKIP_SMUDGE"] = "1"
        let gitPath = try #require(which("git"))
        #expect(try await run(gitPath, ["clone", "-q", bare.path, stock.path], cwd: ws.temp.url, env: env).status == 0)
        #expect(try await ws.git(["config", "lfs.url", lfsURL], in: stock).status == 0)
        let pull = try await ws.git(["lfs", "pull"], in: stock)
        #expect(pull.status == 0, "git lfs pull: \(pull.stderr)")
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: stock.appendingPathComponent("coll/\(path)").path) == data)
        }
        let fsck = try await ws.git(["lfs", "fsck"], in: stock)
        #expect(fsck.status == 0 && fsck.stdout.contains("OK"), "\(fsck.stdout)\(fsck.stderr)")

        // Our clone of the URL, assets downloaded through the Batch API.
        let b = ws.temp.sub("b")
        let cloned = try await ws.ok(["clone", "file://" + bare.path, b.path, "--lfs-url", lfsURL])
        #expect(cloned.stdout.contains("6 objects downloaded"), "\(cloned.stdout)")
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: b.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: b)
        #expect(try await ws.git(["status", "--porcelain"], in: b).stdout.isEmpty)

        // A server that lacks the repository (giftless answers the batch with 404): one sentence,
        // nothing left behind.
        let empty = ws.temp.sub("empty-lfs")
        let otherLFS = "http://127.0.0.1:\(server.port)/stac/other.git/info/lfs"
        let lacking = try await ws.tool(["clone", "file://" + bare.path, empty.path, "--lfs-url", otherLFS])
        #expect(lacking.status == 1 && lacking.stderr.contains("answered 404"), "\(lacking.stderr)")
        #expect(!FileManager.default.fileExists(atPath: empty.path))

        // A clone without assets: pointers, then `fetch --assets` brings them.
        let c = ws.temp.sub("c")
        try await ws.ok(["clone", "file://" + bare.path, c.path, "--lfs-url", lfsURL, "--assets", "none"])
        let pointerFile = c.appendingPathComponent("coll/item-0/data.tif")
        let pointerText = String(decoding: try Data(contentsOf: pointerFile), as: UTF8.self)
        #expect(pointerText.hasPrefix("version https://git-lfs.github.com/spec/v1"))

        // B ingests and pushes a new item.
        let more = ws.temp.sub("more")
        let newAssets = try makeCatalog(at: more, items: 1, seed: 7, assetBytes: 50_000)
        try await ws.ok(["ingest", more.appendingPathComponent("catalog.json").path], repo: b)
        let pushB = try await ws.ok(["push"], repo: b)
        #expect(pushB.stdout.contains("uploaded"), "\(pushB.stdout)")
        let bTip = try await ws.git(["rev-parse", "main"], in: b).stdout

        // C: fetch --assets fills its pointers, then pull fast-forwards to B's commit.
        let fetched =
            jsonObject(try await ws.ok(["fetch", "--assets", "--json"], repo: c).stdout) as? [String: Any] ?? [:]
        #expect(fetched["remoteCommit"] as? String == bTip.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try Data(contentsOf: pointerFile) == assets["item-0/data.tif"])
        // A local edit of a file the fast-forward rewrites: refused, nothing changes.
        let catalogFile = c.appendingPathComponent("coll/item-0/item-0.json")
        let original = try Data(contentsOf: catalogFile)
        try Data("{}".utf8).write(to: catalogFile)
        let cTip = try await ws.git(["rev-parse", "main"], in: c).stdout
        let blocked = try await ws.tool(["pull"], repo: c)
        #expect(blocked.status == 1 && blocked.stderr.contains("coll/item-0/item-0.json"), "\(blocked.stderr)")
        #expect(try await ws.git(["rev-parse", "main"], in: c).stdout == cTip)
        try original.write(to: catalogFile)
        let pulled = try await ws.ok(["pull"], repo: c)
        #expect(pulled.stdout.contains("fast-forward"), "\(pulled.stdout)")
        #expect(try await ws.git(["rev-parse", "main"], in: c).stdout == bTip)
        let newData = try #require(newAssets["item-0/data.tif"])
        let newFiles = try FileManager.default.subpathsOfDirectory(atPath: c.path).filter {
            !$0.hasPrefix(".git") && FileManager.default.contents(atPath: c.appendingPathComponent($0).path) == newData
        }
        #expect(!newFiles.isEmpty, "the pulled item's asset is in the work tree")
        try await ws.ok(["verify"], repo: c)

        // Stock git + git-lfs commit a changed asset and push it; our pull brings it, verify is clean.
        #expect(try await ws.git(["config", "lfs.locksverify", "false"], in: stock).status == 0)
        let stockPull = try await ws.git(["pull", "-q", "origin", "main"], in: stock)
        #expect(stockPull.status == 0, "\(stockPull.stderr)")
        let edit = """
            import hashlib, json, sys
            item, thumb = sys.argv[1], sys.argv[2]
            data = bytes(range(256)) * 40
            open(thumb, "wb").write(data)
            doc = json.load(open(item))
            doc["assets"]["thumbnail"]["file:checksum"] = "1220" + hashlib.sha256(data).hexdigest()
            doc["assets"]["thumbnail"]["file:size"] = len(data)
            json.dump(doc, open(item, "w"), indent=2)
            """
        let edited = try await run(
            try #require(which("python3")),
            [
                "-c", edit, stock.appendingPathComponent("coll/item-1/item-1.json").path,
                stock.appendingPathComponent("coll/item-1/thumb.png").path,
            ], env: ws.env)
        #expect(edited.status == 0, "\(edited.stderr)")
        #expect(try await ws.git(["add", "-A"], in: stock).status == 0)
        let commit = try await ws.git(
            ["-c", "user.name=Stock", "-c", "user.email=s@example.org", "commit", "-qm", "stock edit"], in: stock)
        #expect(commit.status == 0, "\(commit.stderr)")
        let lfsPush = try await ws.git(["lfs", "push", "origin", "main"], in: stock)
        #expect(lfsPush.status == 0, "\(lfsPush.stderr)")
        #expect(try await ws.git(["push", "-q", "origin", "main"], in: stock).status == 0)
        let stockTip = try await ws.git(["rev-parse", "main"], in: stock).stdout
        let fromStock = try await ws.ok(["pull"], repo: c)
        #expect(
            fromStock.stdout.contains("fast-forward") && fromStock.stdout.contains("1 object downloaded"),
            "\(fromStock.stdout)")
        #expect(try await ws.git(["rev-parse", "main"], in: c).stdout == stockTip)
        #expect(
            FileManager.default.contents(atPath: c.appendingPathComponent("coll/item-1/thumb.png").path)
                == Data((0..<40).flatMap { _ in (0..<256).map { UInt8($0) } }))
        try await ws.ok(["verify"], repo: c)

        // A is now behind and has its own commit: push is refused and changes nothing.
        let other = ws.temp.sub("other")
        _ = try makeCatalog(at: other, collection: "coll2", items: 1, seed: 9, assetBytes: 10_000)
        try await ws.ok(["ingest", other.appendingPathComponent("catalog.json").path])
        let stale = try await ws.tool(["push"])
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("fast-forward") && stale.stderr.contains("pull"), "\(stale.stderr)")
        #expect(stale.stderr.split(separator: "\n").count == 1, "one sentence")
        #expect(try await ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout == stockTip)
        // pull merges the diverged histories at the product level (B's item-0 and the stock
        // edit of item-1 come in, A's coll2 stays), and the push then goes through.
        let aTip = try await ws.git(["rev-parse", "main"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let diverged = try await ws.ok(["pull"])
        #expect(diverged.stdout.contains("pull: merge of 2 products"), "\(diverged.stdout)")
        let parents = try await ws.git(["log", "-1", "--format=%P", "main"]).stdout
        #expect(parents == "\(aTip) \(stockTip)", "\(parents)")
        try await ws.ok(["verify"])
        try await ws.ok(["push"])
        try await expectRemoteComplete(ws, bare: bare, storage: storage)
    }

    @Test(
        "SIGKILL during push at 10 instants never leaves the remote branch naming an LFS object giftless lacks",
        .enabled(if: haveGiftless, "needs giftless (scripts/setup.sh --test-tools) and git-lfs"))
    func killDuringPush() async throws {
        let ws = Workspace("remote-kill")
        let server = try #require(try await startGiftless(in: ws.temp))
        defer { server.stop() }
        let lfsURL = "http://127.0.0.1:\(server.port)/stac/demo.git/info/lfs"
        let storage = ws.temp.sub("giftless-storage")
        let bare = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)
        try await ws.initRepo(backend: "git")
        try await ws.ok([
            "remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path, "--lfs-url", lfsURL,
        ])
        var generator = SystemRandomNumberGenerator()
        var outcomes = [String]()
        for round in 0..<10 {
            let source = ws.temp.sub("src-\(round)")
            _ = try makeCatalog(at: source, collection: "c\(round)", items: 6, seed: round + 1, assetBytes: 400_000)
            try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
            let process = try startInBackground(
                Env.binary,
                ["push", "--repository", ws.repo.path],
                env: ws.env)
            await pause(microseconds: UInt32.random(in: 20_000...600_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)
            try await expectRemoteComplete(ws, bare: bare, storage: storage)
            let remoteTip = try await ws.git(
                ["--git-dir", bare.path, "rev-parse", "-q", "--verify", "main"], in: ws.temp.url)
            let localTip = try await ws.git(["rev-parse", "main"]).stdout
            outcomes.append(remoteTip.stdout == localTip ? "new" : "old")
        }
        // Which state each kill left (old or new tip) is printed for the log; the assertions are
        // in expectRemoteComplete, after every kill.
        print("push kills: remote branch after each SIGKILL: \(outcomes.joined(separator: ", "))")
        try await ws.ok(["push"])
        #expect(
            await try ws.git(["--git-dir", bare.path, "rev-parse", "main"], in: ws.temp.url).stdout
                == (try ws.git(["rev-parse", "main"]).stdout))
        try await expectRemoteComplete(ws, bare: bare, storage: storage)
    }

    @Test(
        "push errors are one sentence each: unreachable git remote, unreachable LFS server, auth refused, no batch API, 413"
    )
    func pushErrors() async throws {
        let ws = Workspace("remote-errors")
        let log = ws.temp.sub("requests.log")
        let script = ws.temp.sub("status-server.py")
        try """
        import http.server, sys
        port, log = int(sys.argv[1]), sys.argv[2]
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                with open(log, "a") as f:
                    f.write("%s|%s\\n" % (self.path, self.headers.get("Authorization", "")))
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                code = int(self.path.split("/")[2])
                body = b'{"message": "refused by the test server"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/vnd.git-lfs+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """.write(to: script, atomically: true, encoding: .utf8)
        let port = freePort()
        let server = try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3", arguments: [script.path, String(port), log.path],
            environment: ws.env, port: port, log: ws.temp.sub("status-server.out"))
        defer { server.stop() }

        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        _ = try makeCatalog(at: source, items: 1, assetBytes: 1000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let bare = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)

        func expectRefused(_ remote: String, _ lfsURL: String?, _ phrases: [String], token: String? = nil) async throws
        {
            var add = ["remote", "add", "--repository", ws.repo.path, remote, "file://" + bare.path]
            if let lfsURL { add += ["--lfs-url", lfsURL] }
            // Digits in a path are no HTTP status: "401" here must not read as "credentials refused".
            if remote == "gone" { add[5] = "file://" + ws.temp.sub("nowhere-401-403.git").path }
            try await ws.ok(add)
            let r = try await ws.tool(["push", remote], env: token.map { ["STAC_REPOSITORY_GIT_TOKEN": $0] } ?? [:])
            #expect(r.status == 1, "\(remote): \(r.stdout)")
            #expect(r.stderr.hasPrefix("error: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            for phrase in phrases { #expect(r.stderr.contains(phrase), "\(remote): \(r.stderr)") }
            if let token { #expect(!r.stderr.contains(token) && !r.stdout.contains(token)) }
            let branch = try await ws.git(
                ["--git-dir", bare.path, "rev-parse", "--verify", "-q", "main"], in: ws.temp.url)
            #expect(branch.status != 0, "\(remote): the remote branch was not created")
        }
        try await expectRefused("gone", nil, ["Cannot reach the remote gone"])
        try await expectRefused("closed", "http://127.0.0.1:\(freePort())/lfs", ["Cannot reach the Git LFS server"])
        try await expectRefused(
            "auth", "http://127.0.0.1:\(port)/status/401/lfs",
            ["refused the credentials", "STAC_REPOSITORY_GIT_TOKEN"],
            token: "tok-secret-123")
        try await expectRefused(
            "nobatch", "http://127.0.0.1:\(port)/status/404/lfs", ["answered 404", "no Git LFS Batch API"])
        try await expectRefused("big", "http://127.0.0.1:\(port)/status/413/lfs", ["413"])
        // http.extraHeader from git config goes to the LFS server too, and wins over the token.
        #expect(try await ws.git(["config", "http.extraHeader", "Authorization: Bearer from-config"]).status == 0)
        let header = try await ws.tool(["push", "auth"], env: ["STAC_REPOSITORY_GIT_TOKEN": "tok-secret-123"])
        #expect(header.status == 1 && !header.stderr.contains("from-config"), "\(header.stderr)")
        #expect(header.stderr.contains("http.extraHeader"), "names the credential sources tried")
        // The token went to the LFS server as HTTP basic authentication, and only there.
        let sent = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let basic = "Basic " + Data("x-access-token:tok-secret-123".utf8).base64EncodedString()
        #expect(sent.contains("/status/401/lfs/objects/batch|\(basic)"), "\(sent)")
        #expect(!sent.contains("/status/404/lfs/objects/batch|Basic"), "no token when none is set")
        #expect(sent.contains("/status/401/lfs/objects/batch|Bearer from-config"), "\(sent)")
    }

    /// Every LFS pointer in the bare repository's branch names an object giftless holds intact.
    private func expectRemoteComplete(_ ws: Workspace, bare: URL, storage: URL) async throws {
        let head = try await ws.git(["--git-dir", bare.path, "rev-parse", "--verify", "-q", "main"], in: ws.temp.url)
        // Nothing pushed yet (the branch does not exist): nothing can be missing.
        if head.status != 0 { return }
        let objects = giftlessObjects(storage)
        let files = try await ws.git(["--git-dir", bare.path, "ls-tree", "-r", "--name-only", "main"], in: ws.temp.url)
        for path in files.stdout.split(separator: "\n") where !path.hasSuffix(".json") && !path.hasPrefix(".git") {
            let blob = try await ws.git(["--git-dir", bare.path, "show", "main:\(path)"], in: ws.temp.url).stdout
            guard let line = blob.split(separator: "\n").first(where: { $0.hasPrefix("oid sha256:") }) else {
                continue
            }
            let oid = String(line.dropFirst("oid sha256:".count))
            let file = try #require(objects[oid], "\(path) (\(oid)) is missing from giftless")
            #expect(sha256Hex(try Data(contentsOf: file)) == oid)
        }
    }

    /// giftless's stored objects by oid (its local storage keeps `<org>/<repo>/<oid>`).
    private func giftlessObjects(_ storage: URL) -> [String: URL] {
        var out = [String: URL]()
        for path in (try? FileManager.default.subpathsOfDirectory(atPath: storage.path)) ?? [] {
            let name = (path as NSString).lastPathComponent
            if name.count == 64, name.allSatisfy(\.isHexDigit) { out[name] = storage.appendingPathComponent(path) }
        }
        return out
    }
}
