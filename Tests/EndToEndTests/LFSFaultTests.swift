import Foundation
import TestSupport
import Testing

/// Git LFS server faults: giftless (local storage) behind the fault-injecting proxy of
/// Tests/Fixtures/lfs-fault-proxy.py, which answers 5xx instead of giftless or cuts a
/// connection after some bytes. `push`, `clone` and `fetch` retry (bounded, with back-off),
/// re-send an upload from its first byte, and never leave a branch naming an object the server
/// lacks; afterwards every object giftless stores hashes to its oid.
@Suite("Git LFS server faults", .offPool)
struct LFSFaultTests {
    static let haveTools = giftlessFlask != nil && which("python3") != nil

    /// giftless, the proxy in front of it, a bare origin over file:// and a git repository
    /// whose remote `origin` uses the proxy as its LFS URL.
    struct Setup {
        let giftless: ServerProcess
        let proxy: FaultProxy
        let storage: URL
        let bare: URL
        let lfsURL: String

        func stop() {
            proxy.stop()
            giftless.stop()
        }
    }

    func setUp(_ ws: Workspace) async throws -> Setup {
        let giftless = try #require(try await startGiftless(in: ws.temp))
        let proxy = try await FaultProxy(upstream: giftless.port, in: ws.temp)
        let lfsURL = "http://127.0.0.1:\(proxy.port)/stac/demo.git/info/lfs"
        let bare = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)
        try await ws.initRepo(backend: "git")
        try await ws.ok([
            "remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path, "--lfs-url", lfsURL,
        ])
        return Setup(
            giftless: giftless, proxy: proxy, storage: ws.temp.sub("giftless-storage"), bare: bare, lfsURL: lfsURL)
    }

    /// Every file giftless stores is named by a sha-256 oid and hashes to it; returns the oids
    /// with their sizes.
    func expectEveryStoredObjectIntact(_ storage: URL, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> [String: Int]
    {
        var sizes = [String: Int]()
        let files = try FileManager.default.subpathsOfDirectory(atPath: storage.path)
        for path in files {
            let url = storage.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let name = url.lastPathComponent
            let data = try Data(contentsOf: url)
            #expect(name.count == 64 && name.allSatisfy(\.isHexDigit), "\(path)", sourceLocation: sourceLocation)
            #expect(sha256Hex(data) == name, "\(path): a corrupt object on the server", sourceLocation: sourceLocation)
            sizes[name] = data.count
        }
        return sizes
    }

    func remoteTip(_ ws: Workspace, _ setup: Setup) async throws -> String {
        try await ws.git(["--git-dir", setup.bare.path, "rev-parse", "-q", "--verify", "main"], in: ws.temp.url).stdout
    }

    @Test(
        "500 then 200 on the batch request, an upload PUT, verify and a download GET: push and clone retry and succeed",
        .enabled(if: haveTools, "needs giftless (scripts/setup.sh --test-tools) and python3"))
    func serverErrorsThenSuccess() async throws {
        let ws = Workspace("lfs-fault-5xx")
        let setup = try await setUp(ws)
        defer { setup.stop() }
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3, assetBytes: 150_000)
        let oids = Set(assets.values.map(sha256Hex))
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])

        try setup.proxy.setRules([
            ["method": "POST", "path": "/objects/batch", "fault": "status", "status": 500, "times": 1],
            ["method": "PUT", "fault": "status", "status": 503, "times": 2],
            ["method": "POST", "path": "/verify", "fault": "status", "status": 502, "times": 1],
        ])
        let pushed = jsonObject(try await ws.ok(["push", "--json"]).stdout) as? [String: Any] ?? [:]
        #expect(pushed["lfsObjectsUploaded"] as? Int == oids.count, "\(pushed)")
        let log = setup.proxy.log
        #expect(log.filter { $0.contains("/objects/batch status 500") }.count == 1, "\(log)")
        #expect(log.filter { $0.hasPrefix("PUT ") && $0.hasSuffix(" status 503") }.count == 2, "\(log)")
        #expect(log.filter { $0.contains("/verify status 502") }.count == 1, "\(log)")
        for oid in oids {
            #expect(log.contains { $0.hasPrefix("PUT ") && $0.contains(oid) && $0.contains(" pass ") }, "\(oid)")
        }
        let stored = try expectEveryStoredObjectIntact(setup.storage)
        #expect(Set(stored.keys) == oids)
        #expect(try await remoteTip(ws, setup) == (try await ws.git(["rev-parse", "main"]).stdout))

        // Download side: the batch, two GETs answered 500, and one GET cut mid-body.
        let big = sha256Hex(try #require(assets["item-1/data.tif"]))
        try setup.proxy.setRules([
            ["method": "POST", "path": "/objects/batch", "fault": "status", "status": 502, "times": 1],
            ["method": "GET", "path": "/objects/storage/", "fault": "status", "status": 500, "times": 2],
            ["method": "GET", "path": big, "fault": "cut", "after": 40_000, "times": 1],
        ])
        let clone = ws.temp.sub("clone")
        let cloned = jsonObject(
            try await ws.ok([
                "clone", "file://" + setup.bare.path, clone.path, "--lfs-url", setup.lfsURL, "--json",
            ]).stdout)
        #expect(
            (cloned as? [String: Any])?["lfsObjectsDownloaded"] as? Int == oids.count, "\(String(describing: cloned))")
        let after = setup.proxy.log.dropFirst(log.count)
        #expect(after.filter { $0.contains("/objects/batch status 502") }.count == 1, "\(after)")
        #expect(after.filter { $0.hasPrefix("GET ") && $0.hasSuffix(" status 500") }.count == 2, "\(after)")
        #expect(after.contains { $0.hasPrefix("GET ") && $0.contains(big) && $0.hasSuffix(" cut 40000") }, "\(after)")
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: clone)
    }

    @Test(
        "a connection cut mid-upload is retried from the first byte; a push out of attempts leaves the branch alone, the next push replaces the partial object",
        .enabled(if: haveTools, "needs giftless (scripts/setup.sh --test-tools) and python3"))
    func connectionCutMidUpload() async throws {
        let ws = Workspace("lfs-fault-cut")
        let setup = try await setUp(ws)
        defer { setup.stop() }
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 3, assetBytes: 300_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])

        // Two uploads cut after 100,000 of their 300,000 bytes: retried within the same push.
        try setup.proxy.setRules([["method": "PUT", "fault": "cut", "after": 100_000, "times": 2]])
        try await ws.ok(["push"])
        #expect(setup.proxy.log.filter { $0.hasPrefix("PUT ") && $0.hasSuffix(" cut 100000") }.count == 2)
        var stored = try expectEveryStoredObjectIntact(setup.storage)
        #expect(Set(stored.keys) == Set(assets.values.map(sha256Hex)))
        let firstTip = try await remoteTip(ws, setup)
        #expect(firstTip == (try await ws.git(["rev-parse", "main"]).stdout))

        // Every upload of one object cut: the push gives up after its attempts with one
        // sentence, and the branch is not moved (objects before refs).
        let more = ws.temp.sub("more")
        let moreAssets = try makeCatalog(at: more, collection: "c2", items: 2, seed: 5, assetBytes: 300_000)
        try await ws.ok(["ingest", more.appendingPathComponent("catalog.json").path])
        let doomed = sha256Hex(try #require(moreAssets["item-0/data.tif"]))
        try setup.proxy.setRules([["method": "PUT", "path": doomed, "fault": "cut", "after": 100_000, "times": 100]])
        let failed = try await ws.tool(["push"])
        #expect(failed.status == 1, "\(failed.stdout)")
        #expect(
            failed.stderr.hasPrefix("error: ") && failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("Cannot reach the Git LFS server of origin"), "\(failed.stderr)")
        #expect(failed.stderr.contains("6 attempts"), "\(failed.stderr)")
        #expect(!failed.stderr.contains("jwt"), "no pre-authorized URL in the message: \(failed.stderr)")
        #expect(setup.proxy.log.filter { $0.contains(doomed) && $0.hasSuffix(" cut 100000") }.count == 6)
        #expect(try await remoteTip(ws, setup) == firstTip)
        // giftless writes an upload in place, so the cut left a partial object under the oid.
        let partial =
            try? FileManager.default.attributesOfItem(
                atPath: setup.storage.appendingPathComponent("stac/demo/\(doomed)").path)[.size] as? Int
        #expect(
            partial.map { $0 < 300_000 } ?? false, "giftless holds a partial upload: \(String(describing: partial))")

        // The faults gone, the next push uploads it again in full and moves the branch.
        try setup.proxy.setRules([])
        try await ws.ok(["push"])
        #expect(try await remoteTip(ws, setup) == (try await ws.git(["rev-parse", "main"]).stdout))
        stored = try expectEveryStoredObjectIntact(setup.storage)
        #expect(stored[doomed] == 300_000)
        #expect(Set(stored.keys) == Set((Array(assets.values) + Array(moreAssets.values)).map(sha256Hex)))
        let clone = ws.temp.sub("clone")
        try await ws.ok(["clone", "file://" + setup.bare.path, clone.path, "--lfs-url", setup.lfsURL])
        try await ws.ok(["verify"], repo: clone)
        for (path, data) in moreAssets {
            #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("c2/\(path)").path) == data)
        }
    }

    @Test(
        "a 4xx other than 429 is not retried: one request, one sentence",
        .enabled(if: haveTools, "needs giftless (scripts/setup.sh --test-tools) and python3"))
    func clientErrorsAreNotRetried() async throws {
        let ws = Workspace("lfs-fault-4xx")
        let setup = try await setUp(ws)
        defer { setup.stop() }
        let source = ws.temp.sub("source")
        _ = try makeCatalog(at: source, items: 1, assetBytes: 10_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try setup.proxy.setRules([["method": "POST", "fault": "status", "status": 422, "times": 10]])
        let failed = try await ws.tool(["push"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("answered HTTP 422") && !failed.stderr.contains("times"), "\(failed.stderr)")
        #expect(setup.proxy.log.filter { $0.hasSuffix(" status 422") }.count == 1, "\(setup.proxy.log)")
        #expect(try await remoteTip(ws, setup).isEmpty)
        // 503 on every attempt: retried, then one sentence that says how often it was tried.
        try setup.proxy.setRules([["method": "POST", "fault": "status", "status": 503, "times": 10]])
        let busy = try await ws.tool(["push"])
        #expect(busy.status == 1)
        #expect(busy.stderr.contains("answered HTTP 503") && busy.stderr.contains("6 times"), "\(busy.stderr)")
        #expect(busy.stderr.split(separator: "\n").count == 1)
        #expect(try await remoteTip(ws, setup).isEmpty)
    }
}
