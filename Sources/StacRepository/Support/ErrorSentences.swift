import Foundation
import Git

extension StacRepositoryError {
    /// A sentence with a fix for a lower-level error that reached the surface without one
    /// (libgit2's `GitError`, `LFSError`); nil for errors that are not of those kinds.
    public static func sentence(for error: any Error) -> StacRepositoryError? {
        if let error = error as? StacRepositoryError { return error }
        if let error = error as? GitError { return StacRepositoryError(git: error) }
        if let error = error as? LFSError {
            return StacRepositoryError(
                .storage,
                "The Git LFS store failed: \(error.message.trimmingCharacters(in: CharacterSet(charactersIn: "."))); check the permissions and free space of .git/lfs, then run `stac-repository verify`.",
                underlying: error)
        }
        return nil
    }

    /// A sentence naming what git was doing, libgit2's reason, and the way out.
    init(git error: GitError) {
        let reason = error.message.isEmpty ? "\(error.code)" : error.message
        let what: String
        switch error.function {
        case let f where f.hasPrefix("git_reference") || f.contains("Reference"): what = "update a branch or reference"
        case let f where f.hasPrefix("git_index") || f.contains("Index"): what = "write the index (.git/index)"
        case let f where f.hasPrefix("git_odb") || f.hasPrefix("git_blob") || f.hasPrefix("git_tree"):
            what = "read or write git objects"
        case let f where f.hasPrefix("git_commit"): what = "read or write a commit"
        case let f where f.hasPrefix("git_config"): what = "read or write .git/config"
        case let f where f.hasPrefix("git_remote") || f.hasPrefix("git_push") || f.hasPrefix("git_clone"):
            what = "talk to the other repository"
        default: what = "complete the operation"
        }
        let fix: String
        switch error.code {
        case .locked:
            fix =
                "another git program is writing the repository; retry when it has finished, or remove the named .lock file if no git program is running"
        case .modified, .exists:
            fix = "another program changed the repository at the same time; run the command again"
        case .notFound:
            fix = "check the name you gave, or run `stac-repository verify` to check the repository"
        case .notOwned:
            fix = "run the command as the repository's owner, or add it to git's safe.directory"
        default:
            fix = "check the permissions and free space of the repository, then run `stac-repository verify`"
        }
        let trimmed = reason.trimmingCharacters(in: CharacterSet(charactersIn: ". \n"))
        self.init(.storage, "git could not \(what) (\(trimmed)); \(fix).", underlying: error)
    }
}
