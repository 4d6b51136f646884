import Foundation
import Git
import TestSupport
import Testing

@Suite(.offPool) struct RepositoryTests {
    @Test func createdRepositoriesOpenAgainWithTheirShape() async throws {
        let scratch = try Scratch()
        let work = try GitRepository.create(at: scratch.path("work"), bare: false, initialBranch: "trunk")
        #expect(!work.isBare)
        #expect(work.workTree?.standardizedFileURL.path == scratch.path("work").standardizedFileURL.path)
        #expect(work.gitDirectory.standardizedFileURL.path == scratch.path("work/.git").standardizedFileURL.path)
        #expect(try work.headBranch() == "trunk")
        #expect(try work.reference("HEAD") == nil)

        let bare = try GitRepository.create(at: scratch.path("bare.git"), bare: true, initialBranch: "main")
        #expect(bare.isBare)
        #expect(bare.workTree == nil)

        let reopened = try GitRepository.open(at: scratch.path("work"))
        #expect(try reopened.headBranch() == "trunk")
        #expect(try GitRepository.open(at: scratch.path("bare.git")).isBare)
        // The real git agrees.
        let head = try await scratch.git(["symbolic-ref", "HEAD"], in: scratch.path("work"))
        #expect(head.stdout == "refs/heads/trunk\n")
    }

    @Test func openingSomethingElseSaysItIsNotARepository() throws {
        let scratch = try Scratch()
        #expect {
            _ = try GitRepository.open(at: scratch.path("home"))
        } throws: { error in
            guard let error = error as? GitError else { return false }
            return error.code == .notFound && error.message.contains("is not a git repository")
        }
    }

    @Test func blobsRoundTripAndMatchGitCatFile() async throws {
        let scratch = try Scratch()
        let repository = try GitRepository.create(at: scratch.path("r"), bare: false)
        let bytes: [UInt8] = Array("hello\n".utf8) + [0, 255, 1]
        let id = try repository.writeBlob(bytes)
        #expect(try repository.writeBlob(Data(bytes)) == id)
        #expect(try bytes.withUnsafeBytes { try repository.writeBlob($0) } == id)
        #expect(try repository.readBlob(id) == bytes)
        #expect(try repository.blobExists(id))
        #expect(try repository.hasObject(id))
        #expect(try repository.objectKind(id) == .blob)
        let absent = try #require(ObjectID(hex: String(repeating: "1", count: 40)))
        #expect(try !repository.hasObject(absent))
        #expect(try !repository.blobExists(absent))
        try writeFile(bytes, to: "blob.bin", under: scratch.url)
        let hashed = try await scratch.git(["hash-object", scratch.path("blob.bin").path], in: scratch.path("r"))
        #expect(hashed.stdout == id.hex + "\n")
        let real = try await scratch.git(["cat-file", "-s", id.hex], in: scratch.path("r"))
        #expect(real.stdout == "\(bytes.count)\n")
        #expect(try repository.readBlob(repository.writeBlob([])) == [])
    }

    @Test func commitsAreWhatGitLogShows() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        let first = try repository.commitOnBranch(
            ["catalog.json": "{}\n"], message: "init: empty catalog", time: 1_700_000_000)
        let message = "ingest: 2 added\n\n+ a\n+ b\n\nStac-Repository-Operation: ingest"
        let second = try repository.commitOnBranch(
            ["c/a/a.json": "{\"id\":\"a\"}\n", "c/b/b.json": "{\"id\":\"b\"}\n"], message: message, time: 1_700_000_100)

        let commit = try repository.commit(second)
        #expect(commit.parents == [first])
        #expect(commit.message == message + "\n")
        #expect(commit.summary == "ingest: 2 added")
        #expect(commit.authorName == "Test Writer")
        #expect(commit.authorEmail == "writer@example.com")
        #expect(commit.time == Date(timeIntervalSince1970: 1_700_000_100))
        #expect(commit.timeZoneOffsetMinutes == 0)
        #expect(try repository.readFile("c/a/a.json", inTree: commit.tree) == Array("{\"id\":\"a\"}\n".utf8))
        #expect(try repository.readFile("c/zzz.json", inTree: commit.tree) == nil)
        #expect(throws: GitError.self) { try repository.readFile("c", inTree: commit.tree) }

        let log = try repository.log(from: second)
        #expect(log.map(\.id) == [second, first])
        #expect(try repository.log(from: second, limit: 1).map(\.id) == [second])

        let cli = try await scratch.git(["log", "--format=%H%n%an <%ae> %at%n%B%x00", "main"], in: url)
        let records = cli.stdout.split(separator: "\0\n", omittingEmptySubsequences: true).map(String.init)
        #expect(records.count == 2)
        #expect(records[0] == "\(second.hex)\nTest Writer <writer@example.com> 1700000100\n\(message)\n")
        #expect(records[1] == "\(first.hex)\nTest Writer <writer@example.com> 1700000000\ninit: empty catalog\n")
        // No encoding header; git's own format.
        let raw = try await scratch.git(["cat-file", "-p", second.hex], in: url)
        #expect(!raw.stdout.contains("encoding"))
        #expect(raw.stdout.hasSuffix("\n\n\(message)\n"))
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: url)
        // The reflog got the messages (libgit2 folds newlines into spaces there).
        let reflog = try await scratch.git(["reflog", "--format=%gs", "main"], in: url)
        let folded = message.replacingOccurrences(of: "\n", with: " ")
        #expect(reflog.stdout == "commit: \(folded)\ncommit: init: empty catalog\n")
    }

    @Test func commitOnTheEmptyTreeWorks() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: true)
        let id = try repository.createCommit(
            tree: .emptyTree, parents: [], message: "empty", author: .test(), committer: .test())
        try repository.updateReference("refs/heads/main", to: id, expected: nil, reflogMessage: "init")
        #expect(try repository.commit(id).tree == .emptyTree)
        #expect(try repository.updateTree(base: nil, []) == .emptyTree)
        try await scratch.git(["fsck", "--strict"], in: url)
    }

    @Test func badSignaturesAreRefused() throws {
        let scratch = try Scratch()
        let repository = try GitRepository.create(at: scratch.path("r"), bare: true)
        let bad = Signature(name: "Evil <x>", email: "e@example.com")
        #expect(throws: GitError.self) {
            _ = try repository.createCommit(tree: .emptyTree, parents: [], message: "m", author: bad, committer: bad)
        }
    }
}
