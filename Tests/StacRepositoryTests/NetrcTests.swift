import Foundation
import TestSupport
import Testing

@testable import StacRepository

@Suite("netrc", .offPool)
struct NetrcTests {
    static let text = """
        # team credentials
        machine git.example.org login alice password s3cret
        machine LFS.Example.org
            login bob
            password hunter2
        macdef init
            cd /pub
            machine evil.example.org login mallory password stolen

        default login anonymous password guest
        """

    @Test("machine, multi-line and default entries; macdef bodies are skipped")
    func parses() {
        let netrc = Netrc(parsing: Self.text, path: "/home/u/.netrc")
        #expect(netrc.machines["git.example.org"] == .init(login: "alice", password: "s3cret"))
        #expect(netrc.machines["lfs.example.org"] == .init(login: "bob", password: "hunter2"))
        #expect(netrc.machines["evil.example.org"] == nil)
        #expect(netrc.fallback == .init(login: "anonymous", password: "guest"))
    }

    @Test("an entry is used only for its own host, over http(s)")
    func scopedToItsHost() {
        let netrc = Netrc(parsing: "machine git.example.org login alice password s3cret\n", path: nil)
        #expect(netrc.entry(for: "https://git.example.org/team/catalog.git")?.login == "alice")
        #expect(netrc.entry(for: "https://GIT.example.org:8443/x")?.login == "alice")
        #expect(netrc.entry(for: "https://git.example.org.evil.net/x") == nil)
        #expect(netrc.entry(for: "https://lfs.example.org/x") == nil)
        #expect(netrc.entry(for: "ssh://git.example.org/x") == nil)
        #expect(netrc.entry(for: "/srv/catalog.git") == nil)
    }

    @Test("$NETRC names the file; without one there are no entries")
    func location() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netrc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("creds")
        try Data("machine h login u password p\n".utf8).write(to: file)
        #expect(Netrc.load(environment: ["NETRC": file.path]).entry(for: "http://h/")?.password == "p")
        #expect(Netrc.load(environment: ["HOME": dir.path]).entry(for: "http://h/") == nil)
    }
}
