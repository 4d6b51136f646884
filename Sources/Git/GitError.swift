internal import CLibGit2

/// An error reported by libgit2, or by this module when it refuses an input.
///
/// Match on the code with `catch let error as GitError where error.code == .modified`, or with
/// the pattern `catch GitError.Code.modified`.
public struct GitError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in Swift terms (libgit2's `git_error_code`).
    public enum Code: Sendable, Hashable, CustomStringConvertible {
        /// A generic error (`GIT_ERROR`).
        case generic
        /// The object, reference, path or key does not exist (`GIT_ENOTFOUND`).
        case notFound
        /// The object or reference already exists (`GIT_EEXISTS`).
        case exists
        /// A short id or revspec matches more than one object (`GIT_EAMBIGUOUS`).
        case ambiguous
        /// The operation is not allowed on a bare repository (`GIT_EBAREREPO`).
        case bareRepository
        /// HEAD names a branch that has no commit yet (`GIT_EUNBORNBRANCH`).
        case unbornBranch
        /// A reference update was not a fast-forward (`GIT_ENONFASTFORWARD`).
        case nonFastForward
        /// A name, reference name or revspec is malformed (`GIT_EINVALIDSPEC`).
        case invalidSpec
        /// Checkout conflicts prevented the operation (`GIT_ECONFLICT`).
        case conflict
        /// A lock file prevented the operation; someone else is writing (`GIT_ELOCKED`).
        case locked
        /// A compare-and-swap failed: the reference no longer has the expected value (`GIT_EMODIFIED`).
        case modified
        /// The requested peel is not possible, e.g. a tree to a commit (`GIT_EPEEL`).
        case peel
        /// Invalid operation or input (`GIT_EINVALID`).
        case invalid
        /// The operation is not valid for a directory (`GIT_EDIRECTORY`).
        case directory
        /// An object's content does not match its id (`GIT_EMISMATCH`).
        case mismatch
        /// The repository belongs to another user and is not listed in `safe.directory` (`GIT_EOWNER`).
        case notOwned
        /// Any other libgit2 code, kept verbatim.
        case other(Int32)

        /// Maps a negative libgit2 return code to a ``Code``.
        init(rawValue: Int32) {
            switch rawValue {
            case GIT_ERROR.rawValue: self = .generic
            case GIT_ENOTFOUND.rawValue: self = .notFound
            case GIT_EEXISTS.rawValue: self = .exists
            case GIT_EAMBIGUOUS.rawValue: self = .ambiguous
            case GIT_EBAREREPO.rawValue: self = .bareRepository
            case GIT_EUNBORNBRANCH.rawValue: self = .unbornBranch
            case GIT_ENONFASTFORWARD.rawValue: self = .nonFastForward
            case GIT_EINVALIDSPEC.rawValue: self = .invalidSpec
            case GIT_ECONFLICT.rawValue: self = .conflict
            case GIT_ELOCKED.rawValue: self = .locked
            case GIT_EMODIFIED.rawValue: self = .modified
            case GIT_EPEEL.rawValue: self = .peel
            case GIT_EINVALID.rawValue: self = .invalid
            case GIT_EDIRECTORY.rawValue: self = .directory
            case GIT_EMISMATCH.rawValue: self = .mismatch
            case GIT_EOWNER.rawValue: self = .notOwned
            default: self = .other(rawValue)
            }
        }

        /// A few words naming the code, as used in ``GitError/description``.
        public var description: String {
            switch self {
            case .generic: "error"
            case .notFound: "not found"
            case .exists: "exists"
            case .ambiguous: "ambiguous"
            case .bareRepository: "bare repository"
            case .unbornBranch: "unborn branch"
            case .nonFastForward: "not a fast-forward"
            case .invalidSpec: "invalid spec"
            case .conflict: "conflict"
            case .locked: "locked"
            case .modified: "modified"
            case .peel: "cannot peel"
            case .invalid: "invalid"
            case .directory: "is a directory"
            case .mismatch: "hash mismatch"
            case .notOwned: "owned by another user"
            case .other(let raw): "code \(raw)"
            }
        }

        /// Lets `catch GitError.Code.modified` match a thrown ``GitError``.
        public static func ~= (code: Code, error: any Error) -> Bool {
            (error as? GitError)?.code == code
        }
    }

    /// What went wrong.
    public var code: Code
    /// The libgit2 function (or the method of this module) that failed.
    public var function: String
    /// libgit2's own message (`git_error_last()`), or a sentence written by this module; may be empty.
    public var message: String

    /// Creates an error; used by this module for errors it detects itself.
    public init(code: Code, function: String, message: String) {
        self.code = code
        self.function = function
        self.message = message
    }

    /// "<function> failed (<code>): <message>".
    public var description: String {
        let detail = message.isEmpty ? "" : ": \(message)"
        return "\(function) failed (\(code))\(detail)"
    }
}

/// The one funnel for libgit2 calls: runs `body`, and turns a negative return code into a
/// ``GitError`` that carries the code, the function name and `git_error_last()`'s message.
///
/// The message is read at once, on the calling thread, because libgit2 keeps it thread-local
/// (and may have none: `git_error_last()` can return NULL in 1.5).
///
/// - Returns: the non-negative result of `body` (some calls return a count or a boolean).
@discardableResult
func git(_ function: String, _ body: () -> Int32) throws(GitError) -> Int32 {
    let result = body()
    guard result < 0 else { return result }
    throw GitError(code: GitError.Code(rawValue: result), function: function, message: lastErrorMessage())
}

/// libgit2's last error message on this thread, or "" when there is none.
func lastErrorMessage() -> String {
    guard let error = git_error_last(), let message = error.pointee.message else { return "" }
    return String(cString: message)
}
