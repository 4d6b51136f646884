/// An error of the Git LFS object store.
public struct LFSError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Hashable {
        /// An oid is not 64 lowercase hexadecimal digits.
        case invalidOID
        /// A file's size or hash is not what the caller said.
        case mismatch
        /// A file system call failed; the value is `errno`.
        case io(Int32)
    }

    /// What went wrong.
    public var code: Code
    /// A sentence naming the file or object and what to do.
    public var message: String

    /// Creates an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
