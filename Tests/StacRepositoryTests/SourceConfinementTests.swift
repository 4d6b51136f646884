import Foundation
import TestSupport
import Testing

@testable import StacRepository

/// The rule for what a source document may reference (docs/security.md).
@Suite(.offPool) final class SourceConfinementTests {
    let dir: URL
    let root: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("confine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("src/sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: dir.appendingPathComponent("src/sub/a.tif"))
        try Data("y".utf8).write(to: dir.appendingPathComponent("out/b.tif"))
        try FileManager.default.createSymbolicLink(
            atPath: dir.appendingPathComponent("src/in.tif").path, withDestinationPath: "sub/a.tif")
        try FileManager.default.createSymbolicLink(
            atPath: dir.appendingPathComponent("src/out.tif").path, withDestinationPath: "../out/b.tif")
        root = SourceConfinement.realPath(dir.appendingPathComponent("src").path)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func confinement(_ allowed: [String] = []) throws -> SourceConfinement {
        try SourceConfinement(allowedPaths: allowed, allowUserinfo: false, workingDirectory: dir.path)
    }

    @Test func localReferencesStayBelowTheSourceRoot() throws {
        let c = try confinement()
        let document = root + "/item.json"
        let inside = try c.check(
            root + "/sub/a.tif", href: "./sub/a.tif", document: document, roots: [root], subject: "A")
        #expect(inside.record == root + "/sub/a.tif")
        // A link inside is replaced by its target.
        let link = try c.check(root + "/in.tif", href: "./in.tif", document: document, roots: [root], subject: "A")
        #expect(link.record == root + "/sub/a.tif" && link.fetch == link.record)
        for target in [root + "/out.tif", SourceConfinement.parentOf(root) + "/out/b.tif", "/etc/passwd"] {
            #expect(throws: StacRepositoryError.self) {
                try c.check(target, href: target, document: document, roots: [root], subject: "A")
            }
        }
        // --allow-path widens it.
        let widened = try confinement([dir.appendingPathComponent("out").path])
        let allowed = try widened.check(
            root + "/out.tif", href: "./out.tif", document: document, roots: [root], subject: "A")
        #expect(allowed.record.hasSuffix("/out/b.tif"))
    }

    @Test func remoteDocumentsReferenceNoLocalFile() throws {
        let c = try confinement()
        do {
            _ = try c.check(
                "/etc/passwd", href: "file:///etc/passwd", document: "https://h.example/c/item.json", roots: [],
                subject: "Asset \"data\" of item \"x\"")
            Issue.record("a remote document must not reference a local file")
        } catch let error as StacRepositoryError {
            #expect(error.message.contains("Asset \"data\" of item \"x\" has href file:///etc/passwd"))
            #expect(error.message.contains("--allow-path /etc"))
        }
        let url = try c.check(
            "https://u:p@h.example/x.tif", href: "https://u:p@h.example/x.tif", document: "https://h.example/i.json",
            roots: [], subject: "A")
        #expect(url.record == "https://h.example/x.tif" && url.fetch == url.record)
    }

    @Test func anAllowedPathMustExist() {
        #expect(throws: StacRepositoryError.self) {
            try SourceConfinement(allowedPaths: ["/no/such/folder"], allowUserinfo: false, workingDirectory: "/")
        }
    }
}
