import Foundation
import Git
import TestSupport
import Testing

@Suite(.offPool) struct ReferenceTests {
    @Test func compareAndSwapRefusesAStaleExpectation() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        let first = try repository.commitFiles(["a": "1"], parent: nil, message: "one")
        let second = try repository.commitFiles(["a": "2"], parent: first, message: "two")
        let rival = try repository.commitFiles(["a": "3"], parent: first, message: "rival")

        try repository.updateReference("refs/heads/main", to: first, expected: nil, reflogMessage: "one")
        // Create-if-absent on an existing reference.
        expectGitError(.exists) {
            try repository.updateReference("refs/heads/main", to: second, expected: nil, reflogMessage: "again")
        }
        try repository.updateReference("refs/heads/main", to: second, expected: first, reflogMessage: "two")
        // A writer that still believes main is at `first` loses.
        expectGitError(.modified) {
            try repository.updateReference("refs/heads/main", to: rival, expected: first, reflogMessage: "rival")
        }
        #expect(try repository.reference("refs/heads/main") == second)
        #expect(try repository.reference("HEAD") == second)
        // Expecting a value of a reference that does not exist is a lost race too.
        expectGitError(.modified) {
            try repository.updateReference("refs/heads/gone", to: rival, expected: first, reflogMessage: "x")
        }
        // Someone else holds the lock.
        _ = FileManager.default.createFile(
            atPath: url.appendingPathComponent(".git/refs/heads/main.lock").path, contents: nil)
        expectGitError(.locked) {
            try repository.updateReference("refs/heads/main", to: rival, expected: second, reflogMessage: "x")
        }
        try FileManager.default.removeItem(at: url.appendingPathComponent(".git/refs/heads/main.lock"))
        expectGitError(.invalidSpec) {
            try repository.updateReference("refs/heads/bad..name", to: rival, expected: nil, reflogMessage: "x")
        }
        #expect(try await scratch.git(["rev-parse", "main"], in: url).stdout == second.hex + "\n")
    }

    @Test func referencesAreListedAndDeleted() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false)
        let one = try repository.commitOnBranch(["a": "1"], message: "one")
        let two = try repository.commitOnBranch(["a": "2"], message: "two")
        try repository.updateReference("refs/stac-repository/backup/2", to: two, expected: nil, reflogMessage: "b")
        try repository.updateReference("refs/stac-repository/backup/1", to: one, expected: nil, reflogMessage: "b")
        let listed = try repository.references(withPrefix: "refs/stac-repository/")
        #expect(listed.map(\.name) == ["refs/stac-repository/backup/1", "refs/stac-repository/backup/2"])
        #expect(listed.map(\.id) == [one, two])
        #expect(try repository.references().map(\.name).contains("refs/heads/main"))

        expectGitError(.modified) { try repository.deleteReference("refs/stac-repository/backup/1", expected: two) }
        try repository.deleteReference("refs/stac-repository/backup/1", expected: one)
        try repository.deleteReference("refs/stac-repository/backup/1")  // absent: nothing happens
        #expect(try repository.reference("refs/stac-repository/backup/1") == nil)
        let cli = try await scratch.git(["for-each-ref", "--format=%(refname)"], in: url)
        #expect(cli.stdout == "refs/heads/main\nrefs/stac-repository/backup/2\n")
    }

    @Test func headBranchFollowsHeadEvenWhenUnbornOrDetached() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let repository = try GitRepository.create(at: url, bare: false, initialBranch: "main")
        #expect(try repository.headBranch() == "main")
        #expect(try repository.symbolicTarget("HEAD") == "refs/heads/main")
        try repository.setHeadBranch("catalog")
        #expect(try repository.headBranch() == "catalog")
        let id = try repository.commitOnBranch(["a": "1"], branch: "refs/heads/catalog", message: "one")
        try await scratch.git(["checkout", "--detach", id.hex], in: url)
        #expect(try repository.headBranch() == nil)
        #expect(try repository.reference("HEAD") == id)
    }

    /// Several writers, each on its own thread with its own repository handle, commit on one
    /// branch through compare-and-swap, rebuilding on the new tip when they lose (`.modified`)
    /// or meet the lock (`.locked`); no commit may be lost.
    @Test func concurrentWritersLoseNoCommit() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        let initial = try GitRepository.create(at: url, bare: false).commitOnBranch(["README": "x"], message: "init")
        let writers = 4, commitsPerWriter = 25
        let results = WriterResults()
        let start = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for writer in 0..<writers {
            done.enter()
            let thread = Thread {
                defer { done.leave() }
                start.wait()
                do {
                    let repository = try GitRepository.open(at: url)
                    var retries = 0
                    for number in 0..<commitsPerWriter {
                        while true {
                            let parent = try repository.reference("refs/heads/main")
                            let id = try repository.commitFiles(
                                ["w\(writer)/c\(number).json": "\(writer) \(number)"], parent: parent,
                                message: "writer \(writer) commit \(number)")
                            do {
                                try repository.updateReference(
                                    "refs/heads/main", to: id, expected: parent, reflogMessage: "w\(writer) c\(number)")
                                break
                            } catch let error as GitError where error.code == .modified || error.code == .locked {
                                retries += 1
                                usleep(200)
                            }
                        }
                    }
                    results.record(retries: retries, error: nil)
                } catch {
                    results.record(retries: 0, error: error)
                }
            }
            thread.start()
        }
        for _ in 0..<writers { start.signal() }
        await waitFor(done)
        #expect(results.errors.isEmpty, "\(results.errors)")

        let repository = try GitRepository.open(at: url)
        let tip = try #require(try repository.reference("refs/heads/main"))
        let log = try repository.log(from: tip)
        #expect(log.count == writers * commitsPerWriter + 1)
        #expect(log.last?.id == initial)
        #expect(log.allSatisfy { $0.parents.count <= 1 })
        var files = 0
        try repository.walkTree(try repository.commit(tip).tree) { _, _ in files += 1 }
        #expect(files == writers * commitsPerWriter + 1)
        try await scratch.git(["fsck", "--strict", "--no-dangling"], in: url)
        print("CAS race: \(writers) writers x \(commitsPerWriter) commits, \(results.retries) retries")
    }
}

/// Collects what the writer threads report.
private final class WriterResults: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var retries = 0
    private(set) var errors = [any Error]()

    func record(retries: Int, error: (any Error)?) {
        lock.lock()
        defer { lock.unlock() }
        self.retries += retries
        if let error { errors.append(error) }
    }
}
