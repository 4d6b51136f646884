import Foundation
import TestSupport
import Testing

/// A round trip through a real Git LFS server (giftless) on 127.0.0.1.
@Suite("Git LFS server round trip", .offPool, .offPool)
struct LFSServerTests {
    @Test(
        "git lfs push to giftless, then git clone + git lfs pull, gives byte-identical assets",
        .enabled(
            if: giftlessFlask != nil,
            "giftless is not installed (.build-tools/giftless, made by `./scripts/setup.sh --test-tools`)"))
    func giftlessRoundTrip() async throws {
        let ws = Workspace("lfs")
        let server = try #require(try await startGiftless(in: ws.temp))
        defer { server.stop() }
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3, assetBytes: 100_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])

        let lfsURL = "http://127.0.0.1:\(server.port)/stac/demo.git/info/lfs"
        let origin = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", origin.path], in: ws.temp.url).status == 0)
        #expect(try await ws.git(["remote", "add", "origin", origin.path]).status == 0)
        #expect(try await ws.git(["config", "lfs.url", lfsURL]).status == 0)
        #expect(try await ws.git(["config", "lfs.locksverify", "false"]).status == 0)
        let push = try await ws.git(["lfs", "push", "--all", "origin"])
        #expect(push.status == 0, "git lfs push: \(push.stdout)\(push.stderr)")
        #expect(try await ws.git(["push", "-q", "origin", "main"]).status == 0)
        let stored = FileManager.default.enumerator(atPath: ws.temp.sub("giftless-storage").path)?.allObjects.count ?? 0
        #expect(stored >= 6, "giftless holds the LFS objects")

        let clone = ws.temp.sub("clone")
        var env = ws.env
        env["GIT_LFS_SKIP_SMUDGE"] = "1"
        #expect(
            try await run(which("git")!, ["clone", "-q", origin.path, clone.path], cwd: ws.temp.url, env: env).status
                == 0)
        #expect(try await ws.git(["config", "lfs.url", lfsURL], in: clone).status == 0)
        let pull = try await ws.git(["lfs", "pull"], in: clone)
        #expect(pull.status == 0, "git lfs pull: \(pull.stderr)")
        for (path, data) in assets {
            #expect(
                FileManager.default.contents(atPath: clone.appendingPathComponent("coll/\(path)").path) == data,
                "\(path)")
        }
        #expect(try await ws.git(["lfs", "fsck"], in: clone).status == 0)
    }
}
