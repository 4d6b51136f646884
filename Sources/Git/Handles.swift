internal import CLibGit2
internal import Foundation

// One class per owned libgit2 pointer, freed in deinit. A child keeps the repository that owns
// it alive, so a tree can never outlive its git_repository. None of these is Sendable: they stay
// on the thread (task) of the GitRepository that made them.

/// Owns a `git_tree`.
final class TreeHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    /// Looks up a tree (`git_tree_lookup`); writes the empty tree first if that is the one asked for.
    init(_ id: ObjectID, in repository: GitRepository) throws(GitError) {
        if id == .emptyTree { try repository.writeEmptyTree() }
        var oid = id.oid
        var tree: OpaquePointer?
        try git("git_tree_lookup") { git_tree_lookup(&tree, repository.pointer, &oid) }
        guard let tree else { throw GitError(code: .notFound, function: "git_tree_lookup", message: "") }
        self.pointer = tree
        self.repository = repository
    }

    deinit { git_tree_free(pointer) }
}

/// Owns a `git_commit`.
final class CommitHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    /// Looks up a commit (`git_commit_lookup`).
    init(_ id: ObjectID, in repository: GitRepository) throws(GitError) {
        var oid = id.oid
        var commit: OpaquePointer?
        try git("git_commit_lookup") { git_commit_lookup(&commit, repository.pointer, &oid) }
        guard let commit else { throw GitError(code: .notFound, function: "git_commit_lookup", message: "") }
        self.pointer = commit
        self.repository = repository
    }

    deinit { git_commit_free(pointer) }
}

/// Owns a `git_object` of any type.
final class ObjectHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    /// Takes ownership of an object libgit2 returned.
    init(taking pointer: OpaquePointer, in repository: GitRepository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_object_free(pointer) }
}

/// Owns a `git_tree_entry` returned by `git_tree_entry_bypath`.
final class TreeEntryHandle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { git_tree_entry_free(pointer) }
}

/// Owns a `git_reference`.
final class ReferenceHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(taking pointer: OpaquePointer, in repository: GitRepository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_reference_free(pointer) }
}

/// Owns a `git_revwalk`.
final class RevwalkHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(in repository: GitRepository) throws(GitError) {
        var walk: OpaquePointer?
        try git("git_revwalk_new") { git_revwalk_new(&walk, repository.pointer) }
        guard let walk else { throw GitError(code: .generic, function: "git_revwalk_new", message: "") }
        self.pointer = walk
        self.repository = repository
    }

    deinit { git_revwalk_free(pointer) }
}

/// Owns a `git_index`, either the repository's or a standalone one opened on a file.
final class IndexHandle {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    /// Opens a standalone index file (`git_index_open`); an absent file gives an empty index.
    convenience init(standaloneAt path: String) throws(GitError) {
        ensureLibGit2Initialized()
        var index: OpaquePointer?
        try git("git_index_open") { git_index_open(&index, path) }
        guard let index else { throw GitError(code: .generic, function: "git_index_open", message: "") }
        self.init(taking: index)
    }

    deinit { git_index_free(pointer) }
}

/// Owns a `git_diff`.
final class DiffHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(taking pointer: OpaquePointer, in repository: GitRepository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_diff_free(pointer) }
}

/// Owns a `git_config` (the repository's stack, a snapshot of it, or one level of it).
final class ConfigHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(taking pointer: OpaquePointer, in repository: GitRepository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_config_free(pointer) }
}

/// Owns a `git_remote`.
final class RemoteHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(taking pointer: OpaquePointer, in repository: GitRepository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_remote_free(pointer) }
}

/// Owns a `git_packbuilder`.
final class PackBuilderHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(in repository: GitRepository) throws(GitError) {
        var builder: OpaquePointer?
        try git("git_packbuilder_new") { git_packbuilder_new(&builder, repository.pointer) }
        guard let builder else { throw GitError(code: .generic, function: "git_packbuilder_new", message: "") }
        self.pointer = builder
        self.repository = repository
    }

    deinit { git_packbuilder_free(pointer) }
}

/// Owns a `git_odb` (the repository's object database).
final class ObjectDatabaseHandle {
    let pointer: OpaquePointer
    let repository: GitRepository

    init(of repository: GitRepository) throws(GitError) {
        var odb: OpaquePointer?
        try git("git_repository_odb") { git_repository_odb(&odb, repository.pointer) }
        guard let odb else { throw GitError(code: .generic, function: "git_repository_odb", message: "") }
        self.pointer = odb
        self.repository = repository
    }

    deinit { git_odb_free(pointer) }
}

/// Owns a `git_signature`.
final class SignatureHandle {
    let pointer: UnsafeMutablePointer<git_signature>

    /// Makes a signature (`git_signature_new`).
    init(_ signature: Signature) throws(GitError) {
        ensureLibGit2Initialized()
        var out: UnsafeMutablePointer<git_signature>?
        let seconds = git_time_t(signature.time.timeIntervalSince1970.rounded(.down))
        try git("git_signature_new") {
            git_signature_new(&out, signature.name, signature.email, seconds, Int32(signature.timeZoneOffsetMinutes))
        }
        guard let out else { throw GitError(code: .generic, function: "git_signature_new", message: "") }
        self.pointer = out
    }

    deinit { git_signature_free(pointer) }
}

/// Keeps an array of C strings alive for a libgit2 call that takes a `git_strarray` or `char **`.
final class CStringArray {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) }
    }

    /// Calls `body` with a `git_strarray` that borrows these strings.
    func withStrarray<R>(_ body: (UnsafePointer<git_strarray>) throws -> R) rethrows -> R {
        let count = pointers.count
        return try pointers.withUnsafeMutableBufferPointer { buffer in
            var array = git_strarray(strings: buffer.baseAddress, count: count)
            return try body(&array)
        }
    }

    deinit {
        for pointer in pointers { free(pointer) }
    }
}
