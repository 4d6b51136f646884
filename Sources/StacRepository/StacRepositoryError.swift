/// An error a user can act on: one sentence that names the thing and says what to do next.
///
/// The CLI prints `message` and exits with 1 (or 64 for ``Code/usage``).
public struct StacRepositoryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable {
        case usage
        case invalidInput
        case notFound
        case alreadyExists
        case conflict
        case locked
        case unsupported
        case integrity
        case transfer
        case processor
        case storage
        case `internal`
    }

    /// The kind of failure.
    public var code: Code
    /// One sentence naming the offending thing and the fix.
    public var message: String
    /// The lower-level error, if any (never printed verbatim when it could hold secrets).
    public var underlyingError: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlyingError = underlying
    }

    public var description: String { message }
}
