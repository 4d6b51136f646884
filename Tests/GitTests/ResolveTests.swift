import Foundation
import Git
import TestSupport
import Testing

@Suite(.offPool) struct ResolveTests {
    /// main: c0 - c1 - c2 - c3 (HEAD), tag v1 (annotated) on c1, tag light (lightweight) on c2,
    /// branch side on c0.
    @Test func revspecsResolveLikeGitRevParse() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        var commits = [ObjectID]()
        for index in 0..<4 {
            commits.append(
                try repository.commitOnBranch(
                    ["f\(index).json": "\(index)\n"], message: "c\(index)", time: 1_700_000_000 + index))
        }
        try repository.updateReference("refs/heads/side", to: commits[0], expected: nil, reflogMessage: "branch")
        try await scratch.git(["tag", "-a", "v1", "-m", "version 1", commits[1].hex], in: url)
        try await scratch.git(["tag", "light", commits[2].hex], in: url)

        let table: [(String, ObjectID)] = [
            ("HEAD", commits[3]),
            ("main", commits[3]),
            ("refs/heads/main", commits[3]),
            ("HEAD~1", commits[2]),
            ("HEAD~3", commits[0]),
            ("main^", commits[2]),
            ("main^^", commits[1]),
            ("side", commits[0]),
            ("v1", commits[1]),
            ("refs/tags/v1", commits[1]),
            ("light", commits[2]),
            (commits[2].hex, commits[2]),
            (String(commits[1].hex.prefix(10)), commits[1]),
            (commits[2].hex.uppercased(), commits[2]),
        ]
        for (revspec, expected) in table {
            #expect(try repository.resolve(revspec) == expected, "\(revspec)")
            let cli = try await scratch.git(["rev-parse", "--verify", "\(revspec)^{commit}"], in: url)
            #expect(cli.stdout == expected.hex + "\n", "git rev-parse \(revspec)")
        }
    }

    @Test func unknownRevisionsAreNotFound() throws {
        let scratch = try Scratch()
        let repository = try GitRepository.create(at: scratch.path("r"), bare: false)
        // Unborn HEAD first.
        expectGitError(.notFound) { try repository.resolve("HEAD") }
        try repository.commitOnBranch(["a": "a"], message: "one")
        for revspec in ["nope", "HEAD~5", "refs/heads/nope", "0000000000000000000000000000000000000001"] {
            #expect {
                _ = try repository.resolve(revspec)
            } throws: { error in
                guard let error = error as? GitError else { return false }
                return error.code == .notFound && error.message.contains("\"\(revspec)\"")
            }
        }
        #expect(throws: GitError.self) { try repository.resolve("main^{tree}:bad::") }
    }

    @Test func aTreeOrBlobIsNotACommit() throws {
        let scratch = try Scratch()
        let repository = try GitRepository.create(at: scratch.path("r"), bare: false)
        let head = try repository.commitOnBranch(["a": "a"], message: "one")
        let tree = try repository.commit(head).tree
        #expect {
            _ = try repository.resolve(tree.hex)
        } throws: { error in
            (error as? GitError)?.message.contains("does not name a commit") == true
        }
    }

    @Test func aShortIdSharedByTwoObjectsIsAmbiguous() throws {
        let scratch = try Scratch()
        let repository = try GitRepository.create(at: scratch.path("r"), bare: false)
        // 4-digit prefixes collide quickly among a few thousand blobs (birthday bound).
        var seen = [String: ObjectID]()
        var prefix: String?
        for index in 0..<5000 {
            let id = try repository.writeBlob(Array("blob \(index)\n".utf8))
            let key = String(id.hex.prefix(4))
            if seen[key] != nil {
                prefix = key
                break
            }
            seen[key] = id
        }
        let ambiguous = try #require(prefix)
        expectGitError(.ambiguous) { try repository.resolve(ambiguous) }
    }
}
