public import Foundation

/// Who made a commit and when.
public struct Signature: Sendable, Hashable {
    /// The person's name; must not contain `<` or `>`.
    public var name: String
    /// The e-mail address; must not contain `<` or `>`.
    public var email: String
    /// When; stored with one-second precision.
    public var time: Date
    /// The offset of the local time zone from UTC, in minutes (`+0200` is 120).
    public var timeZoneOffsetMinutes: Int

    /// Creates a signature.
    public init(name: String, email: String, time: Date = Date(), timeZoneOffsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.timeZoneOffsetMinutes = timeZoneOffsetMinutes
    }
}

/// A commit, copied out of libgit2 so it can cross actor boundaries.
public struct Commit: Sendable, Hashable {
    /// The commit's id.
    public var id: ObjectID
    /// The root tree.
    public var tree: ObjectID
    /// Parent commits, first parent first.
    public var parents: [ObjectID]
    /// The full message, as stored (normally ending in "\n").
    public var message: String
    /// The first paragraph of the message, on one line (`git_commit_summary`).
    public var summary: String
    /// The author's name.
    public var authorName: String
    /// The author's e-mail address.
    public var authorEmail: String
    /// The author time.
    public var time: Date
    /// The author's time zone offset from UTC, in minutes.
    public var timeZoneOffsetMinutes: Int
    /// The committer.
    public var committer: Signature
}
