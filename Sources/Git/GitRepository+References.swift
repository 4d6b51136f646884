internal import CLibGit2

extension GitRepository {
    /// The object a reference points to, following symbolic references
    /// (`git_reference_name_to_id`); nil when it does not exist or its branch is unborn.
    ///
    /// Takes a full name (`refs/heads/main`, `HEAD`); tags are not peeled.
    ///
    /// - Throws: ``GitError`` `.invalidSpec` for a malformed name.
    public func reference(_ name: String) throws -> ObjectID? {
        var oid = git_oid()
        let result = git_reference_name_to_id(&oid, pointer, name)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_reference_name_to_id") { result }
        return ObjectID(oid)
    }

    /// The short name of the branch HEAD points to (`main`), even when that branch has no
    /// commit yet; nil when HEAD is detached.
    ///
    /// - Throws: ``GitError`` when HEAD cannot be read.
    public func headBranch() throws -> String? {
        guard let target = try symbolicTarget("HEAD") else { return nil }
        let prefix = "refs/heads/"
        return target.hasPrefix(prefix) ? String(target.dropFirst(prefix.count)) : target
    }

    /// The full reference name a symbolic reference points to (`refs/heads/main` for HEAD),
    /// or nil when `name` is absent or not symbolic.
    ///
    /// - Throws: ``GitError`` `.invalidSpec` for a malformed name.
    public func symbolicTarget(_ name: String) throws -> String? {
        var reference: OpaquePointer?
        let result = git_reference_lookup(&reference, pointer, name)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_reference_lookup") { result }
        guard let reference else { return nil }
        let handle = ReferenceHandle(taking: reference, in: self)
        guard git_reference_type(handle.pointer) == GIT_REFERENCE_SYMBOLIC,
            let target = git_reference_symbolic_target(handle.pointer)
        else { return nil }
        return String(cString: target)
    }

    /// Points HEAD at the branch `name` (`git_repository_set_head` with `refs/heads/<name>`),
    /// which may be unborn.
    ///
    /// - Throws: ``GitError`` `.invalidSpec` for a malformed branch name.
    public func setHeadBranch(_ name: String) throws {
        try git("git_repository_set_head") { git_repository_set_head(pointer, "refs/heads/" + name) }
    }

    /// Moves (or creates) the direct reference `name` to `target` as a **compare-and-swap**:
    ///
    /// - with `expected`, only if the reference still points to `expected`
    ///   (`git_reference_create_matching`);
    /// - without, only if the reference does not exist yet (`git_reference_create`, no force).
    ///
    /// The reflog gets `reflogMessage` (and HEAD's reflog too when HEAD points here). Nothing is
    /// retried: a caller that loses a race decides whether to rebuild its commit and try again.
    ///
    /// - Throws: ``GitError`` `.modified` when the reference moved (or vanished) since
    ///   `expected` was read; `.exists` when it was expected absent but exists; `.locked` when
    ///   another writer holds its lock file right now (worth retrying); `.invalidSpec` for a
    ///   malformed name.
    public func updateReference(_ name: String, to target: ObjectID, expected: ObjectID?, reflogMessage: String) throws
    {
        var newOID = target.oid
        var reference: OpaquePointer?
        if let expected {
            var expectedOID = expected.oid
            let result = git_reference_create_matching(
                &reference, pointer, name, &newOID, 1, &expectedOID, reflogMessage)
            // An absent reference does not match an expected value either.
            if result == GIT_ENOTFOUND.rawValue {
                throw GitError(
                    code: .modified, function: "git_reference_create_matching",
                    message: "Reference \"\(name)\" no longer exists; expected it at \(expected.shortHex).")
            }
            try git("git_reference_create_matching") { result }
        } else {
            try git("git_reference_create") {
                git_reference_create(&reference, pointer, name, &newOID, 0, reflogMessage)
            }
        }
        if let reference { git_reference_free(reference) }
    }

    /// Deletes the reference `name` (`git_reference_delete`); with `expected`, only if it still
    /// points there. Deleting an absent reference does nothing when `expected` is nil.
    ///
    /// - Throws: ``GitError`` `.modified` when the reference moved or vanished since
    ///   `expected` was read, `.locked` when another writer holds its lock.
    public func deleteReference(_ name: String, expected: ObjectID? = nil) throws {
        var reference: OpaquePointer?
        let result = git_reference_lookup(&reference, pointer, name)
        if result == GIT_ENOTFOUND.rawValue {
            guard let expected else { return }
            throw GitError(
                code: .modified, function: "git_reference_lookup",
                message: "Reference \"\(name)\" no longer exists; expected it at \(expected.shortHex).")
        }
        try git("git_reference_lookup") { result }
        guard let reference else { return }
        let handle = ReferenceHandle(taking: reference, in: self)
        if let expected {
            let current = ObjectID(git_reference_target(handle.pointer))
            guard current == expected else {
                throw GitError(
                    code: .modified, function: "deleteReference",
                    message:
                        "Reference \"\(name)\" points to \(current?.shortHex ?? "nothing"), not \(expected.shortHex).")
            }
        }
        // git_reference_delete itself fails with GIT_EMODIFIED if the ref changed since lookup.
        try git("git_reference_delete") { git_reference_delete(handle.pointer) }
    }

    /// Every reference whose full name starts with `prefix` (e.g. `refs/heads/`), resolved to
    /// the object it points to, sorted by name. Symbolic references to unborn branches are
    /// left out.
    ///
    /// - Throws: ``GitError`` when the references cannot be listed.
    public func references(withPrefix prefix: String = "refs/") throws -> [(name: String, id: ObjectID)] {
        var iterator: OpaquePointer?
        try git("git_reference_iterator_new") { git_reference_iterator_new(&iterator, pointer) }
        defer { git_reference_iterator_free(iterator) }
        var names = [String]()
        var name: UnsafePointer<CChar>?
        while true {
            let result = git_reference_next_name(&name, iterator)
            if result == GIT_ITEROVER.rawValue { break }
            try git("git_reference_next_name") { result }
            guard let name else { continue }
            let string = String(cString: name)
            if string.hasPrefix(prefix) { names.append(string) }
        }
        var result = [(name: String, id: ObjectID)]()
        for name in names.sorted() {
            if let id = try reference(name) { result.append((name, id)) }
        }
        return result
    }
}
