import Foundation
import TestSupport
import Testing

/// `verify` finds what rotted: stored assets, Git LFS objects, and (with --origin) originals.
@Suite("Verify", .offPool, .offPool)
struct VerifyTests {
    @Test("a stored asset whose bytes changed is reported, naming the file", arguments: ["file", "git"])
    func tamperedAsset(backend: String) async throws {
        let ws = Workspace("verify")
        try await ws.initRepo(backend: backend)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 2)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try await ws.ok(["verify"])
        let stored = ws.repo.appendingPathComponent("coll/item-1/data.tif")
        if backend == "git" {
            // The work tree file is a hard link to the LFS object: damage the object itself.
            let oid = sha256Hex(try Data(contentsOf: stored))
            let object = ws.repo.appendingPathComponent(
                ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: object.path)
            try Data(repeating: 1, count: 2048).write(to: object)
        } else {
            try Data(repeating: 1, count: 2048).write(to: stored)
        }
        let r = try await ws.tool(["verify"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAIL coll/item-1/data.tif"), "\(r.stdout)")
        #expect(r.stderr.contains("rollback"), "\(r.stderr)")
    }

    @Test("verify --origin reports originals that changed or vanished, and says the copies are intact")
    func originCheck() async throws {
        let ws = Workspace("origin")
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 3)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let clean = try await ws.ok(["verify", "--origin", "--json"])
        let report = try #require(jsonObject(clean.stdout) as? [String: Any])
        #expect(report["originsChecked"] as? Int == 6)

        try Data(repeating: 9, count: 10).write(to: source.appendingPathComponent("coll/item-0/data.tif"))
        try FileManager.default.removeItem(at: source.appendingPathComponent("coll/item-2/thumb.png"))
        let r = try await ws.tool(["verify", "--origin"])
        #expect(r.status == 1)
        #expect(
            r.stdout.contains("FAIL coll/item-0/data.tif: its original") && r.stdout.contains("has changed"),
            "\(r.stdout)")
        #expect(r.stdout.contains("FAIL coll/item-2/thumb.png: its original cannot be read"), "\(r.stdout)")
        #expect(r.stderr.contains("copies are intact"), "\(r.stderr)")
        // Without --origin the repository itself is fine.
        try await ws.ok(["verify"])
    }
}
