public import Foundation

/// What ``Repository`` needs to know about one backend: how to recognise, open and create a
/// repository of it. Each backend defines its descriptor in its own folder.
public struct BackendDescriptor: Sendable {
    public let kind: BackendKind
    /// One line for `show-backends`.
    public let summary: String
    /// Whether the directory (an absolute path) holds a repository of this backend.
    let detect: @Sendable (String) -> Bool
    /// A sentence refusing to create a repository of this backend in the directory, if it must
    /// be refused for a reason of its own (checked before anything is written).
    let refuseCreate: @Sendable (String) -> StacRepositoryError?
    /// Opens the repository in the directory (``detect`` said yes).
    let open: @Sendable (URL) throws -> any StorageBackend
    /// Creates the backend's state in the directory and returns the backend and the files its
    /// first commit needs besides the root catalog.
    let create: @Sendable (URL, Repository.CreateOptions) throws -> (any StorageBackend, [String: FileChange])

    init(
        kind: BackendKind, summary: String, detect: @escaping @Sendable (String) -> Bool,
        refuseCreate: @escaping @Sendable (String) -> StacRepositoryError? = { _ in nil },
        open: @escaping @Sendable (URL) throws -> any StorageBackend,
        create: @escaping @Sendable (URL, Repository.CreateOptions) throws -> (any StorageBackend, [String: FileChange])
    ) {
        self.kind = kind
        self.summary = summary
        self.detect = detect
        self.refuseCreate = refuseCreate
        self.open = open
        self.create = create
    }
}

/// The backends this build knows, in the order `show-backends` lists them (the first is the
/// default of `init`). Adding a backend: a folder under `Backends/` that defines a
/// `descriptor`, and one line here.
public enum BackendRegistry {
    public static let backends: [BackendDescriptor] = [
        GitBackend.descriptor,
        FileBackend.descriptor,
    ]

    /// The descriptor of `kind`, nil for an unknown name.
    public static func descriptor(_ kind: BackendKind) -> BackendDescriptor? {
        backends.first { $0.kind == kind }
    }

    /// The default backend of `init`.
    public static var defaultKind: BackendKind { backends[0].kind }

    /// The backend whose repository is in `directory`, if any.
    static func detect(_ directory: String) -> BackendDescriptor? {
        backends.first { $0.detect(directory) }
    }
}
