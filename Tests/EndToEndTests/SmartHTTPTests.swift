import Foundation
import TestSupport
import Testing

/// The git smart HTTP protocol against stock `git http-backend` (behind a small CGI server the
/// test writes, asking for HTTP basic authentication), with the credentials in `~/.netrc`, and
/// Git LFS on giftless: push, clone, pull through libgit2's HTTP transport, checked with stock git.
@Suite("Smart HTTP remotes with netrc", .offPool)
struct SmartHTTPTests {
    static let haveTools = giftlessFlask != nil && which("git-lfs") != nil && which("python3") != nil

    /// A CGI server for `git http-backend` on 127.0.0.1: every request must carry
    /// `Authorization: Basic alice:s3cret`; each request is logged as `METHOD PATH auth|anon`.
    static func startGitHTTP(_ ws: Workspace, root: URL) async throws -> (ServerProcess, URL) {
        let script = ws.temp.sub("git-http.py")
        let log = ws.temp.sub("git-http.requests")
        try #"""
        import base64, http.server, os, subprocess, sys
        port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        backend = os.path.join(subprocess.check_output(["git", "--exec-path"]).decode().strip(), "git-http-backend")
        expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().strip().split(b";")[0], 16)
                        if size == 0:
                            self.rfile.readline()
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def serve(self):
                data = self.body()
                authorized = self.headers.get("Authorization", "") == expected
                with open(log, "a") as f:
                    f.write(f"{self.command} {self.path} {'auth' if authorized else 'anon'}\n")
                if not authorized:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="catalog"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                    "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_USER": "alice",
                    "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(data)),
                }
                for name in ("Content-Encoding", "Git-Protocol"):
                    if self.headers.get(name):
                        env["HTTP_" + name.upper().replace("-", "_")] = self.headers[name]
                out = subprocess.run([backend], input=data, env=env, capture_output=True).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                if not _:
                    head, _, payload = out.partition(b"\n\n")
                status, headers = 200, []
                for line in head.decode().splitlines():
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.strip().split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = serve
            do_POST = serve

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#.write(to: script, atomically: true, encoding: .utf8)
        let port = freePort()
        let server = try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: [script.path, String(port), root.path, log.path],
            environment: ws.env, port: port, log: ws.temp.sub("git-http.out"))
        return (server, log)
    }

    @Test(
        "push, clone and pull over smart HTTP with the password in ~/.netrc; stock git clones what we pushed",
        .enabled(if: haveTools, "needs giftless (scripts/setup.sh --test-tools), git-lfs and python3"))
    func smartHTTPWithNetrc() async throws {
        let ws = Workspace("smart-http")
        let lfs = try #require(try await startGiftless(in: ws.temp))
        defer { lfs.stop() }
        let lfsURL = "http://127.0.0.1:\(lfs.port)/stac/demo.git/info/lfs"
        let root = ws.temp.sub("served")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        #expect(
            try await ws.git(
                ["init", "-q", "--bare", "-b", "main", root.appendingPathComponent("origin.git").path], in: ws.temp.url
            ).status == 0)
        let (server, requests) = try await Self.startGitHTTP(ws, root: root)
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/origin.git"

        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3, assetBytes: 20_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try await ws.ok(["remote", "add", "--repository", ws.repo.path, "origin", url, "--lfs-url", lfsURL])

        // Without credentials: one sentence, the remote branch not created.
        let refused = try await ws.tool(["push"])
        #expect(refused.status == 1, "\(refused.stdout)")
        #expect(refused.stderr.contains("refused the credentials"), "\(refused.stderr)")
        #expect(refused.stderr.contains("no credentials were configured"), "\(refused.stderr)")
        let served = root.appendingPathComponent("origin.git")
        #expect(
            try await ws.git(["--git-dir", served.path, "rev-parse", "-q", "--verify", "main"], in: ws.temp.url).status
                != 0)

        // With the password in ~/.netrc (HOME is the workspace): the push goes through.
        let netrc = ws.temp.sub(".netrc")
        try "machine 127.0.0.1\n  login alice\n  password s3cret\n".write(to: netrc, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: netrc.path)
        let pushed = try await ws.ok(["push", "--json"])
        #expect(!pushed.stdout.contains("s3cret") && !pushed.stderr.contains("s3cret"))
        let tip = try await ws.git(["rev-parse", "main"]).stdout
        #expect(try await ws.git(["--git-dir", served.path, "rev-parse", "main"], in: ws.temp.url).stdout == tip)
        let log = try String(contentsOf: requests, encoding: .utf8)
        #expect(log.contains("POST /origin.git/git-receive-pack auth"), "\(log)")

        // Stock git (which reads ~/.netrc too) + git-lfs clone what we pushed, byte for byte.
        let stock = ws.temp.sub("stock")
        let cloned = try await ws.git(["-c", "lfs.url=\(lfsURL)", "clone", "-q", url, stock.path], in: ws.temp.url)
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(try await ws.git(["-c", "lfs.url=\(lfsURL)", "lfs", "pull"], in: stock).status == 0)
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: stock.appendingPathComponent("coll/\(path)").path) == data)
        }

        // Our clone over HTTP, then a pull of a new commit.
        let clone = ws.temp.sub("clone")
        try await ws.ok(["clone", url, clone.path, "--lfs-url", lfsURL])
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: clone)
        let more = ws.temp.sub("more")
        _ = try makeCatalog(at: more, collection: "coll", items: 4, seed: 0, assetBytes: 20_000)
        try await ws.ok(["ingest", more.appendingPathComponent("catalog.json").path])
        try await ws.ok(["push"])
        try await ws.ok(["pull"], repo: clone)
        #expect(
            try await ws.git(["rev-parse", "main"], in: clone).stdout
                == (try await ws.git(["rev-parse", "main"]).stdout))
        try await ws.ok(["verify"], repo: clone)
    }
}

extension SmartHTTPTests {
    /// The file:// concurrency test of MergeSyncTests (4 clones × 25 items × 3 rounds) over
    /// smart HTTP with Git LFS on giftless: every round's syncs push through `git http-backend`
    /// at once; the losers are refused ("failed to update ref" or not a fast-forward), merge
    /// and retry.
    @Test(
        "4 clones ingest 25 items each and sync over smart HTTP + giftless at once, 3 rounds: all 300 items, no commit lost",
        .enabled(if: haveTools, "needs giftless (scripts/setup.sh --test-tools), git-lfs and python3"))
    func concurrentSyncOverHTTP() async throws {
        let ws = Workspace("smart-http-sync")
        let lfs = try #require(try await startGiftless(in: ws.temp))
        defer { lfs.stop() }
        let lfsURL = "http://127.0.0.1:\(lfs.port)/stac/demo.git/info/lfs"
        let root = ws.temp.sub("served")
        let bare = root.appendingPathComponent("origin.git")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)
        let (server, requests) = try await Self.startGitHTTP(ws, root: root)
        defer { server.stop() }
        let netrc = ws.temp.sub(".netrc")
        try "machine 127.0.0.1\n  login alice\n  password s3cret\n".write(to: netrc, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: netrc.path)
        let url = "http://127.0.0.1:\(server.port)/origin.git"
        let items = MergeSyncTests()

        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", try items.writeItems(ws.temp.sub("base"), ids: ["base"], seed: 1)])
        try await ws.ok(["remote", "add", "--repository", ws.repo.path, "origin", url, "--lfs-url", lfsURL])
        try await ws.ok(["sync"])
        let (clones, perClone, rounds) = ((0..<4).map { ws.temp.sub("clone-\($0)") }, 25, 3)
        for clone in clones { try await ws.ok(["clone", url, clone.path, "--lfs-url", lfsURL]) }
        var tips: [String] = []
        var retried = 0
        for round in 0..<rounds {
            for (k, clone) in clones.enumerated() {
                let ids = (0..<perClone).map { "c\(k)-r\(round)-i\($0)" }
                try await ws.ok(
                    ["ingest", try items.writeItems(ws.temp.sub("src-\(round)-\(k)"), ids: ids, seed: round * 10 + k)],
                    repo: clone)
                tips.append(
                    try await ws.git(["rev-parse", "main"], in: clone).stdout.trimmingCharacters(
                        in: .whitespacesAndNewlines))
            }
            let (env, cwd) = (ws.env, ws.temp.url)
            let results = try await withThrowingTaskGroup(of: RunResult.self) { group in
                for clone in clones {
                    group.addTask {
                        try await run(
                            Env.binary.path, ["sync", "--repository", clone.path, "--json"], cwd: cwd, env: env)
                    }
                }
                var out: [RunResult] = []
                for try await r in group { out.append(r) }
                return out
            }
            for r in results {
                #expect(r.status == 0, "sync failed: \(r.stderr)")
                if (jsonObject(r.stdout) as? [String: Any])?["attempts"] as? Int ?? 0 > 1 { retried += 1 }
            }
        }
        print(
            "concurrent sync over smart HTTP: \(retried) of \(clones.count * rounds) syncs needed more than one attempt"
        )
        let log = try String(contentsOf: requests, encoding: .utf8)
        #expect(log.contains("POST /origin.git/git-receive-pack auth"), "the pushes went over smart HTTP")
        for tip in tips {
            let contained = try await ws.git(
                ["--git-dir", bare.path, "merge-base", "--is-ancestor", tip, "main"], in: ws.temp.url)
            #expect(contained.status == 0, "commit \(tip) was lost")
        }
        let subjects = try await ws.git(["--git-dir", bare.path, "log", "--format=%s", "main"], in: ws.temp.url)
        #expect(
            subjects.stdout.split(separator: "\n").filter { $0.hasPrefix("ingest: \(perClone) added") }.count
                == clones.count * rounds, "\(subjects.stdout)")
        let fresh = ws.temp.sub("fresh")
        try await ws.ok(["clone", url, fresh.path, "--lfs-url", lfsURL])
        try await ws.ok(["verify"], repo: fresh)
        let listed = try await ws.ok(["list", "--json"], repo: fresh)
        let ids = Set(((jsonObject(listed.stdout) as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String })
        for k in clones.indices {
            for round in 0..<rounds {
                for i in 0..<perClone { #expect(ids.contains("c\(k)-r\(round)-i\(i)"), "c\(k)-r\(round)-i\(i)") }
            }
        }
        let collection = readJSON(fresh.appendingPathComponent("coll/collection.json"))
        let itemLinks = (collection?["links"] as? [[String: Any]] ?? []).filter { $0["rel"] as? String == "item" }
        #expect(itemLinks.count == clones.count * rounds * perClone + 1)
        let fsck = try await ws.git(["--git-dir", bare.path, "fsck"], in: ws.temp.url)
        #expect(fsck.status == 0, "\(fsck.stderr)")
        // Every LFS object the branch names is on giftless, intact.
        let storage = ws.temp.sub("giftless-storage")
        let stored = Set(
            ((try? FileManager.default.subpathsOfDirectory(atPath: storage.path)) ?? []).map {
                ($0 as NSString).lastPathComponent
            })
        let pointers = try await ws.git(["lfs", "ls-files", "--long"], in: fresh)
        #expect(pointers.status == 0, "\(pointers.stderr)")
        let named = pointers.stdout.split(separator: "\n").compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
        #expect(named.count == clones.count * rounds * perClone + 1, "\(pointers.stdout)")
        for oid in named { #expect(stored.contains(oid), "\(oid) is missing from giftless") }
    }
}
