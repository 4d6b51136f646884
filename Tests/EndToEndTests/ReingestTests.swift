import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Re-ingest is exact: changed asset bytes and changed asset options are updates; an unchanged
/// re-ingest reads no asset bytes (stat cache).
@Suite("Re-ingest", .offPool, .offPool)
struct ReingestTests {
    static let backends = ["file", "git"]

    func setUp(_ backend: String, items: Int = 3) async throws -> (Workspace, URL, String) {
        let ws = Workspace("reingest")
        try await ws.initRepo(backend: backend)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: items)
        return (ws, source, source.appendingPathComponent("catalog.json").path)
    }

    @Test("one changed asset byte with the same JSON is an update and the new bytes are stored", arguments: backends)
    func changedAssetByte(backend: String) async throws {
        let (ws, source, catalog) = try await setUp(backend)
        try await ws.ok(["ingest", catalog])
        let asset = source.appendingPathComponent("coll/item-1/data.tif")
        var bytes = try Data(contentsOf: asset)
        bytes[10] ^= 0x01
        try bytes.write(to: asset)
        let again = try await ws.ok(["ingest", catalog])
        #expect(again.stdout.contains("0 added, 1 updated, 3 unchanged"), "\(again.stdout)")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path) == bytes)
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-1/item-1.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["file:checksum"] as? String == "1220" + sha256Hex(bytes))
    }

    @Test("changed asset options are applied: reference then copy, other --asset-keys", arguments: backends)
    func changedOptions(backend: String) async throws {
        let (ws, _, catalog) = try await setUp(backend)
        try await ws.ok(["ingest", catalog, "--assets", "reference"])
        #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path))
        let copy = try await ws.ok(["ingest", catalog])
        #expect(copy.stdout.contains("0 added, 3 updated"), "\(copy.stdout)")
        #expect(FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent("coll/item-1/data.tif").path))
        let same = try await ws.ok(["ingest", catalog])
        #expect(same.stdout.contains("0 added, 0 updated, 4 unchanged"), "\(same.stdout)")

        let (ws2, _, catalog2) = try await setUp(backend)
        try await ws2.ok(["ingest", catalog2, "--asset-keys", "data"])
        #expect(!FileManager.default.fileExists(atPath: ws2.repo.appendingPathComponent("coll/item-1/thumb.png").path))
        let all = try await ws2.ok(["ingest", catalog2])
        #expect(all.stdout.contains("0 added, 3 updated"), "\(all.stdout)")
        #expect(FileManager.default.fileExists(atPath: ws2.repo.appendingPathComponent("coll/item-1/thumb.png").path))
    }

    @Test("an unchanged re-ingest reads no asset bytes (stat cache)", arguments: backends)
    func statCache(backend: String) async throws {
        let (ws, _, catalog) = try await setUp(backend)
        // Files changed within 2 s of being hashed are not trusted (racily clean); let them age.
        await pause(microseconds: 2_200_000)
        try await ws.ok(["ingest", catalog])
        let again = try await ws.ok(["ingest", catalog, "-v"])
        #expect(again.stdout.contains("0 added, 0 updated, 4 unchanged"), "\(again.stdout)")
        #expect(again.stderr.contains("asset stat cache: 6 reused, 0 hashed"), "\(again.stderr)")
    }

    @Test("an asset kept as a reference after a failed copy is retried by the next ingest")
    func retriesReferences() async throws {
        let (ws, source, catalog) = try await setUp("git")
        let asset = source.appendingPathComponent("coll/item-2/thumb.png")
        let saved = try Data(contentsOf: asset)
        try FileManager.default.removeItem(at: asset)
        let first = try await ws.ok(["ingest", catalog, "--on-asset-error", "reference"])
        #expect(first.stdout.contains("kept as reference"), "\(first.stdout)")
        try saved.write(to: asset)
        let retry = try await ws.ok(["ingest", catalog])
        #expect(retry.stdout.contains("1 updated"), "\(retry.stdout)")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("coll/item-2/thumb.png").path) == saved)
    }

    @Test("a changed declared file:checksum is an update, checked against the bytes")
    func changedDeclaredChecksum() async throws {
        let (ws, source, catalog) = try await setUp("git")
        try await ws.ok(["ingest", catalog])
        let item = source.appendingPathComponent("coll/item-0/item-0.json")
        let other = "1220" + String(repeating: "ab", count: 32)
        let text = try String(contentsOf: item, encoding: .utf8).replacingOccurrences(
            of: "\"roles\": [\"data\"]}", with: "\"roles\": [\"data\"], \"file:checksum\": \"\(other)\"}")
        try text.write(to: item, atomically: true, encoding: .utf8)
        let r = try await ws.tool(["ingest", catalog])
        #expect(r.status == 1, "a declared checksum that the bytes do not match must not pass as unchanged")
        #expect(r.stderr.contains(String(other.dropFirst(4))) && r.stderr.contains("file:checksum"), "\(r.stderr)")
    }

    @Test("an oversized file:size literal is a clear error", arguments: backends)
    func oversizedFileSize(backend: String) async throws {
        let (ws, source, catalog) = try await setUp(backend)
        let item = source.appendingPathComponent("coll/item-0/item-0.json")
        let text = try String(contentsOf: item, encoding: .utf8).replacingOccurrences(
            of: "\"roles\": [\"data\"]}", with: "\"roles\": [\"data\"], \"file:size\": 12345678901234567890123}")
        try text.write(to: item, atomically: true, encoding: .utf8)
        let before = treeState(ws.repo)
        let r = try await ws.tool(["ingest", catalog])
        #expect(r.status == 1)
        #expect(r.stderr.contains("12345678901234567890123") && r.stderr.contains("file:size"), "\(r.stderr)")
        #expect(treeState(ws.repo) == before)
    }
}

/// Whether this process may mount a tmpfs (root in a system that allows it).
enum TmpfsSupport {
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-probe-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard (try? runBlocking("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]))?.status == 0 else {
            return false
        }
        _ = try? runBlocking("/bin/umount", [dir])
        return true
    }()
}

/// The file backend on a full disk: a real 1 MiB tmpfs.
@Suite("Full disk", .offPool, .serialized, .enabled(if: TmpfsSupport.canMount, "needs root and tmpfs mounts"))
struct FullDiskTests {

    @Test("ENOSPC leaves no temporary files and an unchanged repository")
    func noTemporaryFilesAfterENOSPC() async throws {
        let ws = Workspace("enospc")
        let mountPoint = ws.temp.sub("disk")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let mounted = try await run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.path])
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer { _ = umount(mountPoint.path) }  // the syscall: a defer cannot await a child process
        let repo = mountPoint.appendingPathComponent("repo")
        try await ws.initRepo(backend: "file", at: repo)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 3, assetBytes: 8192)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path], repo: repo)
        let before = treeState(repo)
        // Fill the disk to the last block, then ingest more.
        _ = try await run("/bin/dd", ["if=/dev/zero", "of=\(mountPoint.path)/filler", "bs=4096"])
        let more = ws.temp.sub("more")
        try makeCatalog(at: more, items: 10, seed: 3, assetBytes: 8192)
        let r = try await ws.tool(["ingest", more.appendingPathComponent("catalog.json").path], repo: repo)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let leftovers = (FileManager.default.enumerator(atPath: repo.path)?.allObjects as? [String] ?? []).filter {
            ($0 as NSString).lastPathComponent.hasPrefix(".tmp-") || $0.hasPrefix(".stac-repository/tx")
        }
        #expect(leftovers.isEmpty, "temporary files left after ENOSPC: \(leftovers)")
        #expect(treeState(repo) == before)
        try FileManager.default.removeItem(atPath: mountPoint.path + "/filler")
        try await ws.ok(["ingest", more.appendingPathComponent("catalog.json").path], repo: repo)
    }
}
