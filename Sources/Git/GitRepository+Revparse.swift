internal import CLibGit2

extension GitRepository {
    /// Resolves a revision to a commit id (`git_revparse_single`, then `git_object_peel`).
    ///
    /// Accepts what `git rev-parse` accepts: full or abbreviated commit ids, `HEAD`, `HEAD~2`,
    /// `main^`, branch and tag names (annotated tags are peeled), full reference names.
    ///
    /// - Throws: ``GitError`` `.notFound` when nothing matches, `.ambiguous` when an abbreviated
    ///   id matches several objects, `.invalidSpec`/`.peel` when it names something that is
    ///   not a commit (e.g. a tree or blob id).
    public func resolve(_ revspec: String) throws -> ObjectID {
        var object: OpaquePointer?
        do {
            try git("git_revparse_single") { git_revparse_single(&object, pointer, revspec) }
        } catch {
            switch error.code {
            case .notFound:
                throw GitError(
                    code: .notFound, function: "git_revparse_single",
                    message: "Revision \"\(revspec)\" was not found: give a commit id, a branch or tag name, or HEAD~N."
                )
            case .ambiguous:
                throw GitError(
                    code: .ambiguous, function: "git_revparse_single",
                    message: "Revision \"\(revspec)\" is ambiguous: give more digits of the commit id.")
            default:
                throw GitError(
                    code: error.code, function: error.function,
                    message: "Revision \"\(revspec)\" is not valid: \(error.message)")
            }
        }
        guard let object else {
            throw GitError(code: .notFound, function: "git_revparse_single", message: "no object returned")
        }
        let handle = ObjectHandle(taking: object, in: self)
        var peeled: OpaquePointer?
        do {
            try git("git_object_peel") { git_object_peel(&peeled, handle.pointer, GIT_OBJECT_COMMIT) }
        } catch {
            throw GitError(
                code: error.code, function: error.function,
                message: "Revision \"\(revspec)\" does not name a commit: \(error.message)")
        }
        guard let peeled else { throw GitError(code: .peel, function: "git_object_peel", message: "") }
        let commit = ObjectHandle(taking: peeled, in: self)
        return ObjectID(git_object_id(commit.pointer).pointee)
    }
}
