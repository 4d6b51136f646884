/// A STAC document that is valid JSON but not acceptable STAC (wrong `type`, missing or unsafe
/// `id`, an ItemCollection that holds a non-item, ...).
///
/// The ``message`` is one sentence that names the file (when known) and what to change.
public struct STACError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One sentence: what is wrong, where, and what to do.
    public var message: String

    /// An error with the given sentence.
    public init(_ message: String) {
        self.message = message
    }

    /// The ``message``.
    public var description: String { message }
}
