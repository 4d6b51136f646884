internal import CLibGit2

extension GitRepository {
    /// The best common ancestor of two commits (`git_merge_base`), nil when their histories
    /// share no commit.
    ///
    /// - Throws: ``GitError`` when a commit is missing or history is incomplete.
    public func mergeBase(_ one: ObjectID, _ two: ObjectID) throws -> ObjectID? {
        var out = git_oid()
        var a = one.oid
        var b = two.oid
        do {
            try git("git_merge_base") { git_merge_base(&out, pointer, &a, &b) }
        } catch where error.code == .notFound {
            return nil
        }
        return ObjectID(out)
    }
}
