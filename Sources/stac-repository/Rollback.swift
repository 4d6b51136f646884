import ArgumentParser
import Foundation
import StacRepository

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract:
            "Make the catalog equal to the one at REF: a new commit, or with --hard move the branch (git backend).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A commit id (full or short), HEAD~N, a branch or a tag.")
    var ref: String

    @Flag(
        help:
            "Move the branch to REF instead of adding a commit; the old tip is kept under refs/stac-repository/backup/."
    )
    var hard = false

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    @Flag(help: "Overwrite uncommitted work-tree changes to the files the rollback changes.")
    var force = false

    func run() async throws {
        let repository = try global.openRepository()
        // The core runs libgit2 work and a --wait lock on threads of their own, off the pool.
        let result = try await repository.rollback(to: ref, hard: hard, wait: wait, force: force)
        if global.json {
            try Output.json(["commit": result.commit, "backupRef": result.backupRef ?? ""])
            return
        }
        if let backup = result.backupRef {
            Output.line("rollback --hard: branch now at \(result.commit.prefix(12)); the old tip is saved as \(backup)")
        } else {
            Output.line("rollback: new commit \(result.commit.prefix(12)) restores the catalog of \(ref)")
        }
    }
}
