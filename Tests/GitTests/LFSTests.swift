import Foundation
import Git
import TestSupport
import Testing

@Suite(.offPool) struct LFSPointerTests {
    @Test func pointerIsByteIdenticalToGitLFSPointer() async throws {
        let scratch = try Scratch()
        // git lfs clean needs a repository to run in.
        try await scratch.git(["init", "-q", scratch.path("cli").path], in: scratch.url)
        for size in [0, 1, 1024, 100_000] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let file = scratch.path("asset-\(size).bin")
            try Data(bytes).write(to: file)
            let store = LFSStore(gitDirectory: scratch.path("repo.git"))
            let pointer = try store.insert(copying: file)
            let expectedOID = try await sha256Hex(bytes, scratch: scratch)
            #expect(pointer.oid == expectedOID)
            #expect(pointer.size == Int64(size))
            let cli = try await scratch.git(["lfs", "pointer", "--file=\(file.path)"], in: scratch.url)
            // What the clean filter stores; for an empty file that is an empty blob.
            let clean = try await scratch.git(
                ["lfs", "clean", "--", "asset-\(size).bin"], in: scratch.path("cli"), stdin: file)
            #expect(Array(clean.stdout.utf8) == pointer.gitBlobBytes)
            if size == 0 {
                #expect(cli.stdout == "")
                continue
            }
            #expect(cli.stdout == pointer.text)
            #expect(LFSPointer(parsing: Array(cli.stdout.utf8)) == pointer)
            #expect(LFSPointer(parsing: pointer.bytes) == pointer)
        }
    }

    @Test(arguments: [
        "",
        "hello world\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n",
        "version https://git-lfs.github.com/spec/v1\nsize 1\noid sha256:\(String(repeating: "a", count: 64))\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(String(repeating: "A", count: 64))\nsize 1\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(String(repeating: "a", count: 64))\nsize -1\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(String(repeating: "a", count: 64))\nsize 01\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(String(repeating: "a", count: 64))\nsize 1",
        "version https://git-lfs.github.com/spec/v2\noid sha256:\(String(repeating: "a", count: 64))\nsize 1\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:\(String(repeating: "a", count: 64))\nsize 1\nextra\n",
    ])
    func invalidPointersAreRejected(_ text: String) {
        #expect(LFSPointer(parsing: Array(text.utf8)) == nil)
    }

    @Test func largeFilesAreNotPointers() {
        var bytes = Array("version https://git-lfs.github.com/spec/v1\n".utf8)
        bytes += [UInt8](repeating: 65, count: 2000)
        #expect(LFSPointer(parsing: bytes) == nil)
    }
}

@Suite(.offPool) struct LFSStoreTests {
    @Test func objectsLiveWhereGitLFSPutsThem() throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        let store = LFSStore(gitDirectory: repository.gitDirectory)
        let bytes = Array("some asset bytes\n".utf8)
        let pointer = try store.insert(bytes: bytes)
        let oid = pointer.oid
        let expected = repository.gitDirectory.appendingPathComponent(
            "lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        #expect(store.objectURL(oid: oid).standardizedFileURL.path == expected.standardizedFileURL.path)
        #expect(store.contains(oid: oid))
        #expect(store.size(oid: oid) == Int64(bytes.count))
        #expect(try store.verify(oid: oid))
        #expect(try store.verify(oid: oid, size: pointer.size))
        #expect(try !store.verify(oid: oid, size: 3))
        #expect(try !store.verify(oid: String(repeating: "0", count: 64)))
        // Inserting again is harmless.
        #expect(try store.insert(bytes: bytes) == pointer)
        // A rotten object is detected.
        try Data("rotten".utf8).write(to: store.objectURL(oid: oid))
        #expect(try !store.verify(oid: oid))
    }

    @Test func insertMovesAHashedFileOrDropsADuplicate() async throws {
        let scratch = try Scratch()
        let store = LFSStore(gitDirectory: scratch.path("g"))
        let bytes = Array("payload".utf8)
        let oid = try await sha256Hex(bytes, scratch: scratch)
        try FileManager.default.createDirectory(at: store.temporaryDirectory, withIntermediateDirectories: true)
        let first = store.temporaryDirectory.appendingPathComponent("one")
        try Data(bytes).write(to: first)
        try store.insert(file: first, oid: oid, size: Int64(bytes.count))
        #expect(!FileManager.default.fileExists(atPath: first.path))
        #expect(try store.verify(oid: oid))
        let second = store.temporaryDirectory.appendingPathComponent("two")
        try Data(bytes).write(to: second)
        try store.insert(file: second, oid: oid, size: Int64(bytes.count))
        #expect(!FileManager.default.fileExists(atPath: second.path))

        let wrongSize = store.temporaryDirectory.appendingPathComponent("three")
        try Data(bytes).write(to: wrongSize)
        #expect(throws: LFSError.self) { try store.insert(file: wrongSize, oid: oid, size: 99) }
        #expect(throws: LFSError.self) { try store.insert(file: wrongSize, oid: "not-an-oid", size: 7) }
    }

    @Test func objectsCopyToAnotherStore() throws {
        let scratch = try Scratch()
        let source = LFSStore(gitDirectory: scratch.path("a"))
        let backup = LFSStore(gitDirectory: scratch.path("b"))
        let pointer = try source.insert(bytes: Array("asset".utf8))
        try source.copy(oid: pointer.oid, to: backup)
        try source.copy(oid: pointer.oid, to: backup)
        #expect(try backup.verify(oid: pointer.oid, size: pointer.size))
    }

    @Test func gitattributesMakeAssetsLFSAndJSONPlainText() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        _ = try GitRepository.create(at: url, bare: false)
        try writeFile(LFSAttributes.rootFile, to: ".gitattributes", under: url)
        let output = try await scratch.git(
            ["check-attr", "filter", "diff", "merge", "text", "--", "a.tif", "c/i/i.json", ".gitattributes", "README"],
            in: url
        ).stdout
        #expect(
            output == """
                a.tif: filter: lfs
                a.tif: diff: lfs
                a.tif: merge: lfs
                a.tif: text: unset
                c/i/i.json: filter: unspecified
                c/i/i.json: diff: unspecified
                c/i/i.json: merge: unspecified
                c/i/i.json: text: set
                .gitattributes: filter: unspecified
                .gitattributes: diff: unspecified
                .gitattributes: merge: unspecified
                .gitattributes: text: set
                README: filter: lfs
                README: diff: lfs
                README: merge: lfs
                README: text: unset

                """)
    }
}
