internal import CLibGit2
internal import Foundation

extension GitRepository {
    /// Reads the commit `id` (`git_commit_lookup`).
    ///
    /// - Throws: ``GitError`` `.notFound` when there is no such commit.
    public func commit(_ id: ObjectID) throws -> Commit {
        let handle = try CommitHandle(id, in: self)
        return Commit(handle)
    }

    /// Writes a commit object without moving any reference (`git_commit_create` with a NULL ref).
    ///
    /// The message is stored as given, plus a final "\n" when it lacks one (as git does); no
    /// `encoding` header is written. Move the branch afterwards with
    /// ``updateReference(_:to:expected:reflogMessage:)``.
    ///
    /// - Throws: ``GitError`` `.notFound` when the tree or a parent does not exist; `.invalid`
    ///   for a bad signature (angle brackets, empty name).
    public func createCommit(
        tree: ObjectID, parents: [ObjectID], message: String, author: Signature, committer: Signature
    ) throws -> ObjectID {
        let treeHandle = try TreeHandle(tree, in: self)
        let parentHandles = try parents.map { id throws(GitError) in try CommitHandle(id, in: self) }
        let authorHandle = try SignatureHandle(author)
        let committerHandle = try SignatureHandle(committer)
        let text = message.hasSuffix("\n") ? message : message + "\n"
        var parentPointers: [OpaquePointer?] = parentHandles.map { $0.pointer }
        let count = parentPointers.count
        let oid = try parentPointers.withUnsafeMutableBufferPointer { buffer throws(GitError) in
            var oid = git_oid()
            try git("git_commit_create") {
                git_commit_create(
                    &oid, pointer, nil, authorHandle.pointer, committerHandle.pointer, nil, text,
                    treeHandle.pointer, count, buffer.baseAddress)
            }
            return oid
        }
        withExtendedLifetime(parentHandles) {}
        return ObjectID(oid)
    }

    /// The commits reachable from `start`, newest first (`git_revwalk`, topological and time
    /// order), at most `limit` of them.
    ///
    /// - Throws: ``GitError`` `.notFound` when `start` is not a commit or history is incomplete.
    public func log(from start: ObjectID, limit: Int? = nil, firstParentOnly: Bool = false) throws -> [Commit] {
        var commits = [Commit]()
        try walkHistory(from: start, firstParentOnly: firstParentOnly) { commit in
            if let limit, commits.count >= limit { return false }
            commits.append(commit)
            return true
        }
        return commits
    }

    /// Streams the commits reachable from `start`, newest first, to `visit`, until it returns
    /// false; for histories too long to hold in memory.
    ///
    /// - Throws: ``GitError`` from libgit2, or whatever `visit` throws.
    public func walkHistory(
        from start: ObjectID, firstParentOnly: Bool = false, _ visit: (Commit) throws -> Bool
    ) throws {
        let walk = try RevwalkHandle(in: self)
        try git("git_revwalk_sorting") {
            git_revwalk_sorting(walk.pointer, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_TIME.rawValue)
        }
        if firstParentOnly {
            try git("git_revwalk_simplify_first_parent") { git_revwalk_simplify_first_parent(walk.pointer) }
        }
        var startOID = start.oid
        try git("git_revwalk_push") { git_revwalk_push(walk.pointer, &startOID) }
        var oid = git_oid()
        while true {
            let result = git_revwalk_next(&oid, walk.pointer)
            if result == GIT_ITEROVER.rawValue { return }
            try git("git_revwalk_next") { result }
            guard try visit(commit(ObjectID(oid))) else { return }
        }
    }
}

extension Commit {
    /// Copies everything out of a libgit2 commit.
    init(_ handle: CommitHandle) {
        let commit = handle.pointer
        id = ObjectID(git_commit_id(commit).pointee)
        tree = ObjectID(git_commit_tree_id(commit).pointee)
        parents = (0..<git_commit_parentcount(commit)).compactMap { ObjectID(git_commit_parent_id(commit, $0)) }
        message = git_commit_message(commit).map { String(cString: $0) } ?? ""
        summary = git_commit_summary(commit).map { String(cString: $0) } ?? ""
        let author = Signature(git_commit_author(commit))
        authorName = author.name
        authorEmail = author.email
        time = author.time
        timeZoneOffsetMinutes = author.timeZoneOffsetMinutes
        committer = Signature(git_commit_committer(commit))
    }
}

extension Signature {
    /// Copies a libgit2 signature; a missing one becomes an empty signature at the epoch.
    init(_ signature: UnsafePointer<git_signature>?) {
        guard let signature = signature?.pointee else {
            self.init(name: "", email: "", time: Date(timeIntervalSince1970: 0))
            return
        }
        self.init(
            name: signature.name.map { String(cString: $0) } ?? "",
            email: signature.email.map { String(cString: $0) } ?? "",
            time: Date(timeIntervalSince1970: TimeInterval(signature.when.time)),
            timeZoneOffsetMinutes: Int(signature.when.offset))
    }
}
