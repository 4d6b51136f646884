internal import CLibGit2
public import Foundation

extension GitRepository {
    /// Opens a second handle on the repository at `url` whose object writes go to memory
    /// (`git_mempack_new`, added to the object database with the highest priority), for a
    /// large commit: call ``writePack(reachableFrom:excluding:)`` after creating the commit,
    /// then drop the handle.
    ///
    /// Thousands of new objects then cost one pack file instead of one file each.
    ///
    /// - Throws: ``GitError`` when the repository cannot be opened or the backend added.
    public static func openInMemoryWriter(at url: URL) throws -> GitRepository {
        let repository = try open(at: url)
        let odb = try ObjectDatabaseHandle(of: repository)
        var backend: UnsafeMutablePointer<git_odb_backend>?
        try git("git_mempack_new") { git_mempack_new(&backend) }
        guard let backend else { throw GitError(code: .generic, function: "git_mempack_new", message: "") }
        // The odb owns the backend from here on.
        try git("git_odb_add_backend") { git_odb_add_backend(odb.pointer, backend, 1000) }
        return repository
    }

    /// Writes every object reachable from the commit `new` and not from `old` into one pack in
    /// `objects/pack` (`git_packbuilder_insert_walk` over a revwalk that hides `old`), so that
    /// objects held in memory by ``openInMemoryWriter(at:)`` reach the disk.
    ///
    /// - Throws: ``GitError`` when an object cannot be read or the pack written.
    public func writePack(reachableFrom new: ObjectID, excluding old: ObjectID?) throws {
        try writePack(reachableFrom: new, excludingAll: old.map { [$0] } ?? [])
    }

    /// ``writePack(reachableFrom:excluding:)`` for a commit with several parents the
    /// repository already stores (a merge): none of their history goes into the pack.
    public func writePack(reachableFrom new: ObjectID, excludingAll old: [ObjectID]) throws {
        let walk = try RevwalkHandle(in: self)
        var newOID = new.oid
        try git("git_revwalk_push") { git_revwalk_push(walk.pointer, &newOID) }
        for parent in old {
            var oldOID = parent.oid
            try git("git_revwalk_hide") { git_revwalk_hide(walk.pointer, &oldOID) }
        }
        let builder = try PackBuilderHandle(in: self)
        git_packbuilder_set_threads(builder.pointer, 0)
        try git("git_packbuilder_insert_walk") { git_packbuilder_insert_walk(builder.pointer, walk.pointer) }
        let packDirectory = gitDirectory.appendingPathComponent("objects/pack").path
        try git("git_packbuilder_write") { git_packbuilder_write(builder.pointer, packDirectory, 0, nil, nil) }
    }
}
