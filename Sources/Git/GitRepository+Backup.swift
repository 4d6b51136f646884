internal import CLibGit2
public import Foundation

extension GitRepository {
    /// Pushes `refs` (full names; nil means every direct reference under `refs/`) to the bare
    /// repository at `destination`, creating it when absent, with forced refspecs
    /// `+ref:ref` over libgit2's local transport (`git_remote_create_anonymous` +
    /// `git_remote_push`). Only objects the destination lacks are sent, so a second push is
    /// incremental. References deleted here are not deleted there.
    ///
    /// A new destination gets HEAD on this repository's branch, so `git clone` of it checks
    /// that branch out. Git LFS objects are not git objects: copy them with ``LFSStore``.
    ///
    /// - Throws: ``GitError`` when the destination cannot be created or the push fails or a
    ///   reference is rejected.
    public func pushMirror(to destination: URL, refs: [String]? = nil) throws {
        let names: [String]
        if let refs {
            names = refs
        } else {
            names = try references(withPrefix: "refs/").map(\.name).filter { try symbolicTarget($0) == nil }
        }
        if (try? GitRepository.open(at: destination)) == nil {
            _ = try GitRepository.create(at: destination, bare: true, initialBranch: try headBranch() ?? "main")
        }
        guard !names.isEmpty else { return }

        var remote: OpaquePointer?
        try git("git_remote_create_anonymous") {
            git_remote_create_anonymous(&remote, pointer, destination.path)
        }
        guard let remote else { throw GitError(code: .generic, function: "git_remote_create_anonymous", message: "") }
        let remoteHandle = RemoteHandle(taking: remote, in: self)

        var options = git_push_options()
        try git("git_push_options_init") { git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)) }
        let rejections = PushRejections()
        options.callbacks.push_update_reference = { name, status, payload in
            // A non-NULL status is the remote's reason for refusing this reference.
            guard let status, let payload else { return 0 }
            let rejections = Unmanaged<PushRejections>.fromOpaque(payload).takeUnretainedValue()
            rejections.messages.append("\(name.map { String(cString: $0) } ?? "?"): \(String(cString: status))")
            return 0
        }
        options.callbacks.payload = Unmanaged.passUnretained(rejections).toOpaque()
        let refspecs = CStringArray(names.map { "+\($0):\($0)" })
        let result = withExtendedLifetime(rejections) {
            refspecs.withStrarray { array in git_remote_push(remoteHandle.pointer, array, &options) }
        }
        try git("git_remote_push") { result }
        guard rejections.messages.isEmpty else {
            throw GitError(
                code: .generic, function: "git_remote_push",
                message:
                    "The backup at \"\(destination.path)\" refused: \(rejections.messages.joined(separator: "; ")).")
        }
    }

    /// Reads every object in the object database back, which checks its hash
    /// (libgit2's strict hash verification), then walks every reference's history and trees
    /// and checks that each object they name is present.
    ///
    /// - Returns: the number of objects read.
    /// - Throws: ``GitError`` `.mismatch` for a corrupt object, `.notFound` naming a missing
    ///   one, or another error libgit2 reports for an unreadable object.
    @discardableResult
    public func verifyObjects() throws -> Int {
        let odb = try ObjectDatabaseHandle(of: self)
        let ids = try allObjectIDs(odb)
        for id in ids {
            var oid = id.oid
            var object: OpaquePointer?
            let result = git_odb_read(&object, odb.pointer, &oid)
            if let object { git_odb_object_free(object) }
            try git("git_odb_read(\(id.hex))") { result }
        }

        // Connectivity: every reachable commit, tree and blob must be there.
        let walk = try RevwalkHandle(in: self)
        var tips = try references(withPrefix: "refs/").map(\.id)
        if let head = try reference("HEAD") { tips.append(head) }
        for tip in Set(tips) {
            guard let commit = try peelToCommit(tip) else { continue }
            var oid = commit.oid
            try git("git_revwalk_push") { git_revwalk_push(walk.pointer, &oid) }
        }
        var seenTrees = Set<ObjectID>()
        var next = git_oid()
        while true {
            let result = git_revwalk_next(&next, walk.pointer)
            if result == GIT_ITEROVER.rawValue { break }
            try git("git_revwalk_next") { result }
            let commit = try self.commit(ObjectID(next))
            try verifyTree(commit.tree, odb: odb, seen: &seenTrees)
        }
        return ids.count
    }

    /// Packs every loose object into one new pack in `objects/pack` (`git_packbuilder_insert` +
    /// `git_packbuilder_write`), then deletes the loose copies; libgit2 itself never packs, so
    /// a busy repository otherwise accumulates one file per object.
    ///
    /// Safe with concurrent readers (libgit2 and git look in packs when a loose object is gone).
    ///
    /// - Returns: the number of objects packed (0 when there were none).
    /// - Throws: ``GitError`` when an object cannot be read or the pack written; nothing is
    ///   deleted then.
    @discardableResult
    public func repackLooseObjects() throws -> Int {
        let objects = gitDirectory.appendingPathComponent("objects")
        var loose = [(id: ObjectID, file: URL)]()
        let fileManager = FileManager.default
        for directory in (try? fileManager.contentsOfDirectory(atPath: objects.path)) ?? [] {
            guard directory.count == 2, ObjectID(hex: directory + String(repeating: "0", count: 38)) != nil else {
                continue
            }
            let folder = objects.appendingPathComponent(directory)
            for name in (try? fileManager.contentsOfDirectory(atPath: folder.path)) ?? [] {
                guard name.count == 38, let id = ObjectID(hex: directory + name) else { continue }
                loose.append((id, folder.appendingPathComponent(name)))
            }
        }
        guard !loose.isEmpty else { return 0 }

        // Packed without a delta search: the point is fewer files, and the search over a few
        // thousand similar JSON documents was about a third of a run of one-item commits at
        // 1,000,000 items; `git gc` deltifies them later. libgit2's packbuilder only reads that
        // limit from the configuration (1.5 reads its big-file threshold from
        // `pack.deltaCacheSize`), so a handle of its own gets one that sets both keys.
        let packer = try Self.open(at: gitDirectory)
        try packer.useConfiguration(Self.packingWithoutDeltas)
        let builder = try PackBuilderHandle(in: packer)
        git_packbuilder_set_threads(builder.pointer, 1)
        for object in loose {
            var oid = object.id.oid
            try git("git_packbuilder_insert") { git_packbuilder_insert(builder.pointer, &oid, nil) }
        }
        let packDirectory = objects.appendingPathComponent("pack").path
        try git("git_packbuilder_write") { git_packbuilder_write(builder.pointer, packDirectory, 0, nil, nil) }
        // The pack is durable before the loose copies go (libgit2 flushes nothing).
        if let name = git_packbuilder_name(builder.pointer).map({ String(cString: $0) }) {
            try PackMerge.syncFile(packDirectory + "/pack-" + name + ".pack")
            try PackMerge.syncFile(packDirectory + "/pack-" + name + ".idx")
            try PackMerge.syncDirectory(packDirectory)
        }
        let odb = try ObjectDatabaseHandle(of: self)
        try git("git_odb_refresh") { git_odb_refresh(odb.pointer) }
        for object in loose {
            try? fileManager.removeItem(at: object.file)
        }
        for directory in Set(loose.map { $0.file.deletingLastPathComponent() }) {
            // Only succeeds when the fan-out folder is empty.
            rmdir(directory.path)
        }
        return loose.count
    }

    /// The configuration of a pack written without a delta search: libgit2 1.5's packbuilder
    /// reads its big-file threshold (objects above it are never deltified) from
    /// `pack.deltaCacheSize`, so both keys are set.
    static let packingWithoutDeltas = "[pack]\n\tdeltaCacheSize = 1\n\tbigFileThreshold = 1\n"

    /// Writes `text` to a file in the `.git` directory (once) and returns its path.
    private func packingConfigurationFile(_ text: String) throws -> String {
        let path = gitDirectory.appendingPathComponent("stac-repository-packing.config").path
        guard FileManager.default.contents(atPath: path) != Data(text.utf8) else { return path }
        // Through a temporary name and a rename, unflushed: a copy lost to a power failure is
        // written again by the next handle that needs it. Not Foundation's `createFile` or
        // atomic `write`: both fsync, one more flush in the first large commit of a repository
        // (DurabilityTests counts them).
        let temporary = path + ".tmp"
        let bytes = Array(text.utf8)
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let written = fd >= 0 ? bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } : -1
        if fd >= 0 { Glibc.close(fd) }
        guard written == bytes.count, Glibc.rename(temporary, path) == 0 else {
            Glibc.unlink(temporary)
            throw GitError(code: .generic, function: "rename", message: "Cannot write \"\(path)\".")
        }
        return path
    }

    /// Gives this handle a configuration of `text` only (written to a file in the `.git`
    /// directory), for a handle that does one thing (`git_repository_set_config`).
    private func useConfiguration(_ text: String) throws {
        let path = try packingConfigurationFile(text)
        var config: OpaquePointer?
        try git("git_config_new") { git_config_new(&config) }
        guard let config else { throw GitError(code: .generic, function: "git_config_new", message: "") }
        defer { git_config_free(config) }
        try git("git_config_add_file_ondisk") {
            git_config_add_file_ondisk(config, path, GIT_CONFIG_LEVEL_APP, pointer, 1)
        }
        try git("git_repository_set_config") { git_repository_set_config(pointer, config) }
    }

    /// Adds `text` (written to a file in the `.git` directory) to this handle's configuration
    /// above every other level, in memory only: the repository's files are not changed.
    func addConfigurationLevel(_ text: String) throws {
        let path = try packingConfigurationFile(text)
        var config: OpaquePointer?
        try git("git_repository_config") { git_repository_config(&config, pointer) }
        guard let config else { throw GitError(code: .generic, function: "git_repository_config", message: "") }
        defer { git_config_free(config) }
        try git("git_config_add_file_ondisk") {
            git_config_add_file_ondisk(config, path, GIT_CONFIG_LEVEL_APP, pointer, 1)
        }
    }

    private func allObjectIDs(_ odb: ObjectDatabaseHandle) throws(GitError) -> [ObjectID] {
        let collector = ObjectCollector()
        let result = withExtendedLifetime(collector) {
            git_odb_foreach(
                odb.pointer,
                { oid, payload in
                    guard let oid, let payload else { return 0 }
                    Unmanaged<ObjectCollector>.fromOpaque(payload).takeUnretainedValue().ids.append(
                        ObjectID(oid.pointee))
                    return 0
                }, Unmanaged.passUnretained(collector).toOpaque())
        }
        try git("git_odb_foreach") { result }
        return collector.ids
    }

    private func peelToCommit(_ id: ObjectID) throws(GitError) -> ObjectID? {
        var oid = id.oid
        var object: OpaquePointer?
        try git("git_object_lookup(\(id.hex))") { git_object_lookup(&object, pointer, &oid, GIT_OBJECT_ANY) }
        guard let object else { return nil }
        let handle = ObjectHandle(taking: object, in: self)
        var peeled: OpaquePointer?
        let result = git_object_peel(&peeled, handle.pointer, GIT_OBJECT_COMMIT)
        guard result == 0, let peeled else { return nil }
        let commit = ObjectHandle(taking: peeled, in: self)
        return ObjectID(git_object_id(commit.pointer).pointee)
    }

    private func verifyTree(_ id: ObjectID, odb: ObjectDatabaseHandle, seen: inout Set<ObjectID>) throws(GitError) {
        guard seen.insert(id).inserted else { return }
        let tree = try TreeHandle(id, in: self)
        for index in 0..<git_tree_entrycount(tree.pointer) {
            guard let entry = git_tree_entry_byindex(tree.pointer, index) else { continue }
            let entryID = ObjectID(git_tree_entry_id(entry).pointee)
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                try verifyTree(entryID, odb: odb, seen: &seen)
            case GIT_OBJECT_BLOB:
                var oid = entryID.oid
                guard git_odb_exists(odb.pointer, &oid) == 1 else {
                    let name = String(cString: git_tree_entry_name(entry))
                    throw GitError(
                        code: .notFound, function: "verifyObjects",
                        message:
                            "Blob \(entryID.hex) (\"\(name)\" in tree \(id.hex)) is missing from the object database.")
                }
            default:
                continue
            }
        }
    }
}

/// Collects the references a push refused (callback payload).
private final class PushRejections {
    var messages = [String]()
}

/// Collects object ids from `git_odb_foreach` (callback payload).
private final class ObjectCollector {
    var ids = [ObjectID]()
}
