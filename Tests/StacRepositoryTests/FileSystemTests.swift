import Foundation
import TestSupport
import Testing

@testable import StacRepository

/// Files rewritten in place keep their inode, and never write through a link.
@Suite("File system helpers", .offPool)
struct FileSystemTests {
    func temporaryRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    func inode(_ path: String) -> UInt64? {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    @Test(
        "a regular file is rewritten in place (same inode, shorter text truncates); links and missing files are left to the caller"
    )
    func overwriteInPlace() throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = root + "/catalog.json"
        try FS.write(Array("a longer first version\n".utf8), to: file)
        let before = try #require(inode(file))
        #expect(try FS.overwriteInPlace(Array("short\n".utf8), at: file, sync: true))
        #expect(try FS.read(file) == Array("short\n".utf8))
        #expect(inode(file) == before)

        // A symbolic link to a file outside: neither the link nor its target is written.
        let outside = root + "/outside.txt"
        try FS.write(Array("the operator's file\n".utf8), to: outside)
        let link = root + "/linked.json"
        #expect(symlink(outside, link) == 0)
        #expect(try !FS.overwriteInPlace(Array("{}\n".utf8), at: link))
        #expect(try FS.read(outside) == Array("the operator's file\n".utf8))
        // A second name of a file: not written either (it may be a stored object).
        let hard = root + "/hard.json"
        #expect(Glibc.link(outside, hard) == 0)
        #expect(try !FS.overwriteInPlace(Array("{}\n".utf8), at: hard))
        #expect(try FS.read(outside) == Array("the operator's file\n".utf8))
        // A FIFO: refused at once, not waited on for a reader.
        let fifo = root + "/fifo.json"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(try !FS.overwriteInPlace(Array("{}\n".utf8), at: fifo))
        try FS.empty(fifo)
        #expect(inode(fifo) == nil)
        // Missing, or a directory.
        #expect(try !FS.overwriteInPlace(Array("{}\n".utf8), at: root + "/missing.json"))
        #expect(try !FS.overwriteInPlace(Array("{}\n".utf8), at: root))
        #expect(!FileManager.default.fileExists(atPath: root + "/missing.json"))
    }

    @Test("empty keeps a regular file as an empty file, removes a link (never its target), and ignores a missing file")
    func empty() throws {
        let root = try temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = root + "/journal.json"
        try FS.write(Array("{\"new\":\"abc\"}".utf8), to: file)
        let before = try #require(inode(file))
        try FS.empty(file)
        #expect(FS.fileSize(file) == 0)
        #expect(inode(file) == before)
        let outside = root + "/outside.txt"
        try FS.write(Array("kept\n".utf8), to: outside)
        let link = root + "/key"
        #expect(symlink(outside, link) == 0)
        try FS.empty(link)
        #expect(inode(link) == nil)
        #expect(try FS.read(outside) == Array("kept\n".utf8))
        try FS.empty(root + "/missing")
        #expect(!FileManager.default.fileExists(atPath: root + "/missing"))
    }
}
