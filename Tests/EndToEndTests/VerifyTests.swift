import Foundation
import TestSupport
import Testing

/// `verify` finds what rotted: stored assets, Git LFS objects, and (with --origin) originals.
@Suite("Verify", .offPool)
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

    @Test(
        "verify --quick trusts only the stored files whose stat data is unchanged since a verify hashed them, and catches a same-size rewrite",
        arguments: ["file", "git"])
    func quickTrustsStat(backend: String) async throws {
        let ws = Workspace("verify-quick")
        try await ws.initRepo(backend: backend)
        let source = ws.temp.sub("source")
        try makeCatalog(at: source, items: 3)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        // A file changed within 2 s of being hashed is never trusted (racy-clean, as git says).
        await pause(microseconds: 2_500_000)
        let full = try #require(jsonObject(try await ws.ok(["verify", "--json"]).stdout) as? [String: Any])
        let assets = try #require(full["assets"] as? Int)
        #expect(assets == 6)
        #expect(full["assetsTrustedByStat"] as? Int == 0)
        #expect((full["bytesHashed"] as? Int ?? 0) > 0)

        let quick = try await ws.ok(["verify", "--quick", "--json"])
        let report = try #require(jsonObject(quick.stdout) as? [String: Any])
        #expect(report["assetsTrustedByStat"] as? Int == assets, "\(quick.stdout)")
        #expect(report["bytesHashed"] as? Int == 0, "\(quick.stdout)")
        #expect(try await ws.ok(["verify", "--quick"]).stdout.contains("6 unchanged by stat"))

        // Same size, same modification time put back: the inode's ctime still tells.
        let stored = ws.repo.appendingPathComponent("coll/item-1/data.tif")
        var target = stored
        if backend == "git" {
            let oid = sha256Hex(try Data(contentsOf: stored))
            target = ws.repo.appendingPathComponent(
                ".git/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: target.path)
        let size = try #require((attributes[.size] as? NSNumber)?.intValue)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: target.path)
        try Data(repeating: 7, count: size).write(to: target)
        try FileManager.default.setAttributes(
            [.modificationDate: try #require(attributes[.modificationDate])], ofItemAtPath: target.path)
        let r = try await ws.tool(["verify", "--quick"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAIL coll/item-1/data.tif"), "\(r.stdout)")
        #expect(r.stdout.contains("5 unchanged by stat"), "\(r.stdout)")
    }
}
