internal import CLibGit2
public import Foundation

extension GitRepository {
    /// Opens a second handle on the repository at `url` whose object writes go to memory
    /// (`git_mempack_new`, added to the object database with the highest priority), for a
    /// large commit: call ``writeMemoryObjects(of:)`` after creating the commit,
    /// then drop the handle.
    ///
    /// Thousands of new objects then cost one pack file instead of one file each.
    ///
    /// - Throws: ``GitError`` when the repository cannot be opened or the backend added.
    public static func openInMemoryWriter(at url: URL) throws -> GitRepository {
        let repository = try open(at: url)
        let odb = try ObjectDatabaseHandle(of: repository)
        // Every new object written would rescan `objects/pack` (PackRefreshGate): the rescan
        // now runs only when the folder changed. Only a repository without alternates, whose
        // one rescanning backend is its own pack folder.
        let alternates = repository.gitDirectory.appendingPathComponent("objects/info/alternates").path
        var rescanning: [UnsafeMutablePointer<git_odb_backend>] = []
        for n in 0..<git_odb_num_backends(odb.pointer) {
            var disk: UnsafeMutablePointer<git_odb_backend>?
            if git_odb_get_backend(&disk, odb.pointer, n) == 0, let disk, disk.pointee.refresh != nil {
                rescanning.append(disk)
            }
        }
        if rescanning.count == 1, !FileManager.default.fileExists(atPath: alternates) {
            PackRefreshGate.install(
                on: rescanning[0], packFolder: repository.gitDirectory.appendingPathComponent("objects/pack").path)
        }
        // The pack of a batch is written without a delta search, as `repackLooseObjects` does:
        // the search was a fifth of a long ingest's CPU time (300,000 streamed items: 350 s →
        // 272 s), at the price of packs about 1.7 times as large until `git gc` deltifies them
        // (a sub-catalog's previous versions are in older packs, out of a pack-local search's
        // reach; restricted to objects of at most 8 KiB it kept the size and not the time).
        try repository.addConfigurationLevel(Self.packingWithoutDeltas)
        var backend: UnsafeMutablePointer<git_odb_backend>?
        try git("git_mempack_new") { git_mempack_new(&backend) }
        guard let backend else { throw GitError(code: .generic, function: "git_mempack_new", message: "") }
        // The odb owns the backend from here on.
        try git("git_odb_add_backend") { git_odb_add_backend(odb.pointer, backend, 1000) }
        repository.memoryBackend = backend
        return repository
    }

    /// Writes the objects of the commit `commit` that a handle from ``openInMemoryWriter(at:)``
    /// holds in memory into one pack and its index in `objects/pack`, and empties the memory
    /// store.
    ///
    /// The new objects are found by walking down from the commit through the trees the memory
    /// store holds only: a tree the repository already stored holds nothing new, so its
    /// subtrees are not read. The cost is the new objects. libgit2's own ways cost the whole
    /// catalog on every batch of a long ingest: a pack of what the commit reaches and its parent
    /// does not (`git_packbuilder_insert_walk`) reads every tree of the parent, and
    /// `git_mempack_dump` (1.5) packs every object of the commit's tree, old ones included.
    ///
    /// - Throws: ``GitError`` when an object cannot be read or the pack written.
    public func writeMemoryObjects(of commit: ObjectID) throws {
        guard let backend = memoryBackend, let exists = backend.pointee.exists else {
            throw GitError(code: .generic, function: "git_packbuilder_insert", message: "not an in-memory writer")
        }
        func isNew(_ id: git_oid) -> Bool {
            var oid = id
            return exists(backend, &oid) != 0
        }
        let builder = try PackBuilderHandle(in: self)
        git_packbuilder_set_threads(builder.pointer, 1)
        func insert(_ id: git_oid) throws {
            var oid = id
            try git("git_packbuilder_insert") { git_packbuilder_insert(builder.pointer, &oid, nil) }
        }
        try insert(commit.oid)
        let handle = try CommitHandle(commit, in: self)
        var trees: [git_oid] = []
        if let root = git_commit_tree_id(handle.pointer)?.pointee, isNew(root) { trees.append(root) }
        while let id = trees.popLast() {
            try insert(id)
            let tree = try TreeHandle(ObjectID(id), in: self)
            for n in 0..<git_tree_entrycount(tree.pointer) {
                guard let entry = git_tree_entry_byindex(tree.pointer, n),
                    let child = git_tree_entry_id(entry)?.pointee,
                    isNew(child)
                else { continue }
                if git_tree_entry_type(entry) == GIT_OBJECT_TREE { trees.append(child) } else { try insert(child) }
            }
        }
        let packDirectory = gitDirectory.appendingPathComponent("objects/pack").path
        try git("git_packbuilder_write") { git_packbuilder_write(builder.pointer, packDirectory, 0, nil, nil) }
        try git("git_mempack_reset") { git_mempack_reset(backend) }
    }
}
