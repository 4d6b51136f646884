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
        let result = git_merge_base(&out, pointer, &a, &b)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_merge_base") { result }
        return ObjectID(out)
    }
}
