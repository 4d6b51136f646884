/// The mode of an entry in a git tree.
public enum FileMode: UInt32, Sendable, Hashable {
    /// A regular file (`100644`).
    case blob = 0o100644
    /// An executable file (`100755`).
    case executable = 0o100755
    /// A directory (`040000`).
    case tree = 0o040000
    /// A symbolic link (`120000`); the blob holds the target.
    case link = 0o120000
    /// A submodule commit (`160000`).
    case gitlink = 0o160000

    /// Whether the entry is a file-like blob (regular, executable or link).
    public var isBlob: Bool { self == .blob || self == .executable || self == .link }
}

/// One entry of a tree: the object it names and how.
public struct TreeEntry: Sendable, Hashable {
    /// The blob, tree or commit id.
    public var oid: ObjectID
    /// The entry's mode.
    public var mode: FileMode

    /// Creates an entry.
    public init(oid: ObjectID, mode: FileMode) {
        self.oid = oid
        self.mode = mode
    }
}

/// One change to apply with ``GitRepository/updateTree(base:_:)``.
public enum TreeUpdate: Sendable, Hashable {
    /// Adds or replaces the file at `path` (slash-separated, from the root; parents are created).
    case upsert(path: String, blob: ObjectID, mode: FileMode)
    /// Removes the file or the whole directory at `path`; nothing happens when it is absent.
    case remove(path: String)

    /// The path the update applies to.
    public var path: String {
        switch self {
        case .upsert(let path, _, _), .remove(let path): path
        }
    }
}

/// A file that differs between two trees, from ``GitRepository/changedPaths(from:to:)``.
public struct PathChange: Sendable, Hashable {
    /// How the file changed.
    public enum Kind: Sendable, Hashable {
        /// The file is only in the new tree.
        case added
        /// The file's blob or mode changed.
        case modified
        /// The file is only in the old tree.
        case deleted
    }

    /// How the file changed.
    public var kind: Kind
    /// The file's path from the root.
    public var path: String
    /// The blob before the change, nil when added.
    public var oldID: ObjectID?
    /// The blob after the change, nil when deleted.
    public var newID: ObjectID?
    /// The mode before the change, nil when added.
    public var oldMode: FileMode?
    /// The mode after the change, nil when deleted.
    public var newMode: FileMode?

    /// Creates a change.
    public init(
        kind: Kind, path: String, oldID: ObjectID?, newID: ObjectID?, oldMode: FileMode?, newMode: FileMode?
    ) {
        self.kind = kind
        self.path = path
        self.oldID = oldID
        self.newID = newID
        self.oldMode = oldMode
        self.newMode = newMode
    }
}
