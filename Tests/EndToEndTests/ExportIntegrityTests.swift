import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `export` is verified and atomic: damaged bytes fail it naming the asset, a killed export is
/// never mistaken for a complete one, and nothing is written through a link in the destination.
@Suite("Export integrity", .offPool, .serialized)
struct ExportIntegrityTests {
    func repository(_ backend: String, items: Int = 3) async throws -> (Workspace, URL) {
        let ws = Workspace("export-integrity")
        try await ws.initRepo(backend: backend)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: items)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path, "-q"])
        return (ws, source)
    }

    /// The Git LFS object holding the bytes of `path` in the repository.
    func lfsObject(_ ws: Workspace, _ path: String) async throws -> URL {
        let pointer = try await ws.git(["show", "HEAD:\(path)"]).stdout
        let oid = try #require(
            pointer.split(separator: "\n").first { $0.hasPrefix("oid sha256:") }.map { String($0.dropFirst(11)) })
        return ws.repo.appendingPathComponent(
            ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
    }

    func flipByte(_ url: URL, at offset: UInt64 = 100) throws {
        let handle = try FileHandle(forUpdating: url)
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: Data([byte ^ 0xFF]))
    }

    func expectFailedExport(_ ws: Workspace, naming fragment: String, label: String) async throws {
        let out = ws.temp.sub("out-\(UUID().uuidString.prefix(6))")
        let r = try await ws.tool(["export", out.path])
        #expect(r.status == 1, "\(label): export must fail, exit \(r.status): \(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains(fragment), "\(label): the error must name \(fragment): \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "\(label): a failed export must leave nothing")
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: ws.temp.path)) ?? []
        #expect(!siblings.contains { $0.contains(".stac-export-") }, "\(label): temporary sibling left: \(siblings)")
    }

    @Test("a flipped byte in a Git LFS object fails the export naming the asset")
    func flippedLFSByte() async throws {
        let (ws, _) = try await repository("git")
        try flipByte(try await lfsObject(ws, "coll/item-1/data.tif"))
        try await expectFailedExport(ws, naming: "coll/item-1/data.tif", label: "flipped LFS byte")
    }

    @Test("a truncated item JSON fails the export on the file backend")
    func truncatedItem() async throws {
        let (ws, _) = try await repository("file")
        let item = ws.repo.appendingPathComponent("coll/item-2/item-2.json")
        let bytes = try Data(contentsOf: item)
        try bytes.prefix(bytes.count / 2).write(to: item)
        try await expectFailedExport(ws, naming: "coll/item-2/item-2.json", label: "truncated item")
    }

    @Test("a missing or changed asset fails the export on the file backend")
    func missingAsset() async throws {
        let (ws, _) = try await repository("file")
        try FileManager.default.removeItem(at: ws.repo.appendingPathComponent("coll/item-0/thumb.png"))
        try await expectFailedExport(ws, naming: "coll/item-0/thumb.png", label: "missing asset")
        let (ws2, _) = try await repository("file")
        try flipByte(ws2.repo.appendingPathComponent("coll/item-1/data.tif"))
        try await expectFailedExport(ws2, naming: "coll/item-1/data.tif", label: "flipped asset byte")
    }

    @Test("export --assets none writes the original hrefs", arguments: ["file", "git"])
    func noneWritesOriginals(backend: String) async throws {
        let (ws, source) = try await repository(backend)
        let out = ws.temp.sub("json-only")
        try await ws.ok(["export", out.path, "--assets", "none"])
        let item = try #require(readJSON(out.appendingPathComponent("coll/item-1/item-1.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        #expect(data["href"] as? String == source.appendingPathComponent("coll/item-1/data.tif").path)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("coll/item-1/data.tif").path))
    }

    @Test("export --force replaces symbolic links in the destination and writes nothing outside it")
    func symlinksInDestination() async throws {
        let (ws, _) = try await repository("file")
        let outside = ws.temp.sub("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let out = ws.temp.sub("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // The destination holds a link named like a directory the export writes, and one like a file.
        try FileManager.default.createSymbolicLink(at: out.appendingPathComponent("coll"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(
            at: out.appendingPathComponent("catalog.json"), withDestinationURL: outside.appendingPathComponent("c.json")
        )
        try await ws.ok(["export", out.path, "--force"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: outside.path)) ?? []).isEmpty)
        let attributes = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("coll").path)
        #expect(attributes[.type] as? FileAttributeType == .typeDirectory)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("coll/item-1/data.tif").path))
        let verify = try await ws.ok(["export", out.path, "--force"])
        #expect(verify.status == 0)
    }

    @Test("an export killed at random instants is never mistaken for a complete one", arguments: ["file", "git"])
    func killedExports(backend: String) async throws {
        let (ws, _) = try await repository(backend, items: 60)
        let reference = ws.temp.sub("reference")
        let started = Date()
        try await ws.ok(["export", reference.path])
        let duration = Date().timeIntervalSince(started)
        let complete = treeState(reference)
        #expect(complete.count > 180)
        var rng = SplitMix(seed: backend == "git" ? 3 : 5)
        var outcomes: [String: Int] = [:]
        for round in 0..<10 {
            let out = ws.temp.sub("killed-\(round)")
            let force = round % 2 == 1
            if force { try await ws.ok(["export", out.path, "--assets", "none"]) }
            let oldState = force ? treeState(out) : [:]
            let process = try startInBackground(
                Env.binary,
                ["export", "--repository", ws.repo.path, out.path, "-q"] + (force ? ["--force"] : []),
                env: ws.env)
            await pause(microseconds: UInt32(Double(rng.next() % 1000) / 1000 * duration * 1.2 * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(process)
            let state = FileManager.default.fileExists(atPath: out.path) ? treeState(out) : nil
            let which =
                state == nil ? "absent" : state == complete ? "complete" : state == oldState && force ? "old" : "torn"
            outcomes[which, default: 0] += 1
            #expect(which != "torn", "round \(round): the destination is neither absent, old nor complete")
            // Without --force: a complete or old destination is refused, an absent one is written.
            let again = try await ws.tool(["export", out.path])
            if state == nil {
                #expect(again.status == 0, "round \(round): \(again.stderr)")
                #expect(treeState(out) == complete)
            } else {
                #expect(again.status == 1 && again.stderr.contains("--force"), "round \(round): \(again.stderr)")
            }
            try await ws.ok(["export", out.path, "--force"])
            #expect(treeState(out) == complete, "round \(round): export --force did not give the complete export")
            let siblings = (try? FileManager.default.contentsOfDirectory(atPath: ws.temp.path)) ?? []
            #expect(!siblings.contains { $0.hasPrefix(".killed-\(round).stac-export-") }, "stale sibling: \(siblings)")
        }
        #expect(outcomes.values.reduce(0, +) == 10, "\(outcomes)")
        print("killed exports (\(backend)): \(outcomes), one export takes \(duration) s")
    }
}
