internal import CLibGit2
public import Foundation

/// A git repository opened through libgit2: objects, trees, commits, references, the index,
/// configuration and backups.
///
/// A `GitRepository` owns one `git_repository` and is not `Sendable`: open one per thread or
/// task (libgit2 objects are per handle). Values it returns (``ObjectID``, ``Commit``,
/// ``TreeEntry``) are `Sendable` and may cross actor boundaries.
public final class GitRepository {
    let pointer: OpaquePointer
    /// The in-memory object store of a handle from ``openInMemoryWriter(at:)`` (owned by its
    /// object database), nil otherwise.
    var memoryBackend: UnsafeMutablePointer<git_odb_backend>?

    private init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { git_repository_free(pointer) }

    /// Opens the repository at `url`: a work tree (with `.git` inside), a `.git` directory, or
    /// a bare repository. Parent directories are not searched.
    ///
    /// Calls `git_repository_open_ext` with `GIT_REPOSITORY_OPEN_NO_SEARCH`.
    ///
    /// - Throws: ``GitError`` with code `.notFound` when `url` is not a git repository.
    public static func open(at url: URL) throws -> GitRepository {
        ensureLibGit2Initialized()
        var repository: OpaquePointer?
        do {
            try git("git_repository_open_ext") {
                git_repository_open_ext(&repository, url.path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
            }
        } catch {
            if error.code == .notFound {
                throw GitError(
                    code: .notFound, function: "git_repository_open_ext",
                    message: "\"\(url.path)\" is not a git repository (no .git directory, not a bare repository).")
            }
            throw error
        }
        guard let repository else {
            throw GitError(code: .generic, function: "git_repository_open_ext", message: "no repository returned")
        }
        return GitRepository(taking: repository)
    }

    /// Creates a new repository at `url` (and any missing parent directories), with HEAD on the
    /// unborn branch `initialBranch`.
    ///
    /// Calls `git_repository_init_ext` with `GIT_REPOSITORY_INIT_MKPATH` (and `BARE` when asked).
    /// A non-bare repository gets its `.git` directory inside `url`.
    ///
    /// - Throws: ``GitError``, e.g. when the directory cannot be created.
    public static func create(at url: URL, bare: Bool, initialBranch: String = "main") throws -> GitRepository {
        ensureLibGit2Initialized()
        var options = git_repository_init_options()
        try git("git_repository_init_options_init") {
            git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
        }
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | (bare ? GIT_REPOSITORY_INIT_BARE.rawValue : 0)
        var repository: OpaquePointer?
        try initialBranch.withCString { branch in
            options.initial_head = branch
            try git("git_repository_init_ext") { git_repository_init_ext(&repository, url.path, &options) }
        }
        guard let repository else {
            throw GitError(code: .generic, function: "git_repository_init_ext", message: "no repository returned")
        }
        return GitRepository(taking: repository)
    }

    /// The `.git` directory (or the bare repository's directory).
    public var gitDirectory: URL {
        URL(fileURLWithPath: String(cString: git_repository_path(pointer)), isDirectory: true)
    }

    /// The work tree, or nil for a bare repository.
    public var workTree: URL? {
        guard let path = git_repository_workdir(pointer) else { return nil }
        return URL(fileURLWithPath: String(cString: path), isDirectory: true)
    }

    /// Whether the repository has no work tree.
    public var isBare: Bool { git_repository_is_bare(pointer) == 1 }
}
