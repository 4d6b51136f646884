public import Foundation
internal import Git

/// The git + Git LFS backend (DESIGN §3, §7): the work tree is the catalog, every operation is a
/// commit on one branch, asset bytes are Git LFS objects in `.git/lfs/objects`.
///
/// Commit protocol: blobs and LFS objects are written first (content-addressed, harmless when
/// orphaned), then the new tree and commit, then a journal, then the compare-and-swap of the
/// branch ref (the commit point), then the work tree and index for the touched paths. The next
/// command finishes the work tree from the journal when a crash came after the commit point.
final class GitBackend: StorageBackend {
    let kind = BackendKind.git
    let crashes = CrashInjector()
    public let root: URL
    public let stateDirectory: URL
    public var stagingDirectory: URL { stateDirectory.appendingPathComponent("staging") }
    /// Reopened after a commit that wrote a pack (``releaseCaches()``).
    private(set) var repository: GitRepository
    let lfs: LFSStore
    /// The branch that holds the catalog, e.g. `main`.
    public let branch: String
    var branchRef: String { "refs/heads/" + branch }
    private var journalPath: String { stateDirectory.path + "/journal.json" }
    private var cachedHead: (commit: ObjectID, tree: ObjectID)?
    /// Set during a commit run (``beginCommitRun()``): the commits leave `.git/index` behind,
    /// and it is brought to the newest tree when the time since its last update is at least ten
    /// times what that update took, at ``catchUpCommitRun()`` and at the end of the run
    /// (docs/format.md, "The index after a commit").
    private var indexRun: IndexRun?
    private struct IndexRun {
        /// The work-tree files written since the last index update, and the tree they are of.
        var paths: Set<String> = []
        var tree: ObjectID?
        var lastUpdate = ContinuousClock.now
        var lastCost = Duration.zero
    }
    /// During a commit run: the stat data of each work-tree file the run wrote, taken right
    /// after writing it, and when it was taken. A file that still has it holds what the run
    /// committed, so the check for uncommitted edits
    /// (``workTreeChanges(paths:trustStat:untracked:progress:phase:)``) needs no index entry for
    /// it (the index is behind, and scanning it is O(N) per commit). As in git's index, stat
    /// data is trusted only for a file last changed ``AssetStatCache/racyWindow`` before it was
    /// taken; a more recent one is compared by content and then stamped again. At most
    /// ``runFilesLimit`` are kept (a long run's new items are never checked again; the
    /// containers it keeps touching are stamped again at their next write).
    var runFiles: [String: RunFile] = [:]
    static let runFilesLimit = 20_000
    struct RunFile {
        var stamp: AssetStatCache.Stamp
        /// When `stamp` was taken (nanoseconds since 1970).
        var taken: Int64

        /// Whether `stamp` can prove the file unchanged.
        var trusted: Bool { stamp.isTrustworthy(takenAt: taken) }
    }

    /// The root `.gitattributes` of a repository (one definition: ``LFSAttributes/rootFile``).
    public static var gitattributes: String { LFSAttributes.rootFile }

    init(root: URL) throws {
        self.root = root
        self.repository = try GitRepository.open(at: root)
        self.stateDirectory = repository.gitDirectory.appendingPathComponent("stac-repository")
        self.lfs = LFSStore(gitDirectory: repository.gitDirectory)
        self.branch = (try? repository.config("stac-repository.branch")) ?? nil ?? "main"
    }

    static func isStacRepository(_ root: URL) -> Bool {
        guard let bytes = try? FS.read(root.path + "/.git/config") else { return false }
        return String(decoding: bytes, as: UTF8.self).contains("[stac-repository]")
    }

    static func create(at root: URL, branch: String) throws -> GitBackend {
        do {
            let repo = try GitRepository.create(at: root, bare: false, initialBranch: branch)
            try repo.setConfig("stac-repository.backend", "git")
            try repo.setConfig("stac-repository.branch", branch)
            try repo.setConfig("stac-repository.format", currentFormat)
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage,
                "Could not create a git repository at \(root.path) (\(error.message)); check that the directory is writable.",
                underlying: error)
        }
        let backend = try GitBackend(root: root)
        try FS.makeDirectories(backend.stagingDirectory.path)
        try FS.makeDirectories(backend.lfs.temporaryDirectory.path)
        return backend
    }

    /// Makes the plain git repository at `root` a stac-repository one: the catalog is kept on the
    /// branch HEAD names (its history and files stay as they are).
    static func adopt(at root: URL) throws -> GitBackend {
        do {
            let repo = try GitRepository.open(at: root)
            guard let branch = try repo.headBranch() else {
                throw StacRepositoryError(
                    .invalidInput,
                    "The git repository \(root.path) has a detached HEAD; check out a branch (`git switch main`) and run init again."
                )
            }
            try repo.setConfig("stac-repository.backend", "git")
            try repo.setConfig("stac-repository.branch", branch)
        } catch let error as GitError {
            throw StacRepositoryError(
                .storage, "Could not adopt the git repository at \(root.path): \(error); check the directory.",
                underlying: error)
        }
        let backend = try GitBackend(root: root)
        try FS.makeDirectories(backend.stagingDirectory.path)
        try FS.makeDirectories(backend.lfs.temporaryDirectory.path)
        return backend
    }

    // MARK: Reading

    func head() throws -> (commit: ObjectID, tree: ObjectID)? {
        if let cachedHead { return cachedHead }
        guard let commit = try repository.reference(branchRef) else { return nil }
        let tree = try repository.commit(commit).tree
        cachedHead = (commit, tree)
        return cachedHead
    }

    public func layoutCacheKey() -> String? { (try? head())?.commit.hex }

    public func read(_ path: String) throws -> [UInt8]? {
        guard let head = try head() else { return nil }
        return try repository.readFile(path, inTree: head.tree)
    }

    public func list(under directory: String) throws -> [String] {
        guard let head = try head() else { return [] }
        var out: [String] = []
        if directory.isEmpty {
            try repository.walkTree(head.tree) { path, _ in
                if !path.hasPrefix("."), !Self.isAttributesFile(path) { out.append(path) }
            }
        } else {
            // Walk only the subtree, not the whole catalog.
            guard let entry = try repository.entry(at: directory, inTree: head.tree), entry.mode == .tree else {
                return []
            }
            try repository.walkTree(entry.oid, prefix: directory) { path, _ in out.append(path) }
        }
        return out.sorted()
    }

    public func assetFile(_ path: String) -> URL { root.appendingPathComponent(path) }

    public func snapshot(at ref: String?) throws -> any CatalogSnapshot {
        let commit: ObjectID
        if let ref {
            commit = try resolve(ref)
        } else {
            guard let head = try head() else {
                throw StacRepositoryError(
                    .notFound, "The branch \(branch) has no commits yet; run `stac-repository init` again.")
            }
            commit = head.commit
        }
        let tree = try repository.commit(commit).tree
        return GitSnapshot(repository: repository, lfs: lfs, commit: commit, tree: tree)
    }

    /// Resolves a user's revision (commit id, HEAD~N, branch, tag) to a commit.
    public func resolve(_ ref: String) throws -> ObjectID {
        do {
            return try repository.resolve(ref)
        } catch let error as GitError {
            throw StacRepositoryError(
                .notFound,
                "\"\(ref)\" names no commit of this repository (\(error.message)); see `stac-repository history` for commit ids.",
                underlying: error)
        }
    }

    // MARK: Committing

    private struct Journal: Codable {
        var old: String?
        var new: String
        var paths: [String]
    }

    @discardableResult
    public func commit(_ requested: [String: FileChange], record: OperationRecord, progress: ProgressHandler?) throws
        -> String?
    {
        let head = try head()
        let changes = try withAttributeFiles(requested, base: head?.tree)
        let counter = PhaseCounter("commit", total: changes.count, unit: "paths", handler: progress)
        // A large commit writes its objects into memory and then one pack, instead of one
        // loose file per object (which costs a file-system inode each).
        let writer = changes.count >= Self.packThreshold ? try GitRepository.openInMemoryWriter(at: root) : repository
        var updates: [TreeUpdate] = []
        for (path, change) in changes.sorted(by: { $0.key < $1.key }) {
            switch change {
            case .write(let bytes):
                updates.append(.upsert(path: path, blob: try writer.writeBlob(bytes), mode: .blob))
            case .asset(let staged, let sha, let size):
                try lfs.insert(file: staged, oid: sha, size: size)
                guard let pointer = LFSPointer(oid: sha, size: size) else {
                    throw StacRepositoryError(
                        .internal, "The asset \(path) has an invalid SHA-256 (\(sha)); run the command again.")
                }
                updates.append(.upsert(path: path, blob: try writer.writeBlob(pointer.gitBlobBytes), mode: .blob))
            case .storedAsset(let sha, let size):
                // A version this repository already stores (rollback): its object must be here.
                guard lfs.contains(oid: sha), let pointer = LFSPointer(oid: sha, size: size) else {
                    throw StacRepositoryError(
                        .integrity,
                        "The Git LFS object \(sha) of \(path) is missing from the store; fetch it (`stac-repository fetch --assets`) or repair it (`verify --repair`), then run the command again."
                    )
                }
                updates.append(.upsert(path: path, blob: try writer.writeBlob(pointer.gitBlobBytes), mode: .blob))
            case .delete:
                updates.append(.remove(path: path))
            }
            counter.step()
        }
        let tree = try writer.updateTree(base: head?.tree, updates)
        // A merge commit is written even when its tree is ours: it records the other parent.
        let mergeParents = (record.mergeParents ?? []).compactMap { ObjectID(hex: $0) }
        if let head, tree == head.tree, mergeParents.isEmpty { return head.commit.hex }
        let commit = try makeCommit(
            tree: tree, parents: (head.map { [$0.commit] } ?? []) + mergeParents, message: record.message,
            date: record.date, in: writer)
        if writer !== repository {
            try writer.writeMemoryObjects(of: commit)
        }
        try moveBranch(
            from: head?.commit, to: commit, tree: tree, paths: changes.keys.sorted(),
            reflog: "stac-repository \(record.operation): \(record.summary)", known: changes,
            progress: progress)
        if writer !== repository || packLooseObjectsIfMany() {
            rollUpPacks()
            releaseCaches()
        }
        return commit.hex
    }

    /// Drops this handle's libgit2 caches by opening a new one: the parsed trees it read and,
    /// once no other handle holds them, the packs with the delta bases each keeps (up to 16 MiB
    /// per pack, and a long ingest writes a pack per batch). Without it a streamed ingest grew
    /// by about 1 KB per stored item (heaptrack, 150,000 against 300,000 items). A failure
    /// keeps the old handle.
    private func releaseCaches() {
        if let fresh = try? GitRepository.open(at: root) { repository = fresh }
    }

    /// libgit2 never runs `git gc`, so small commits would pile up loose objects for ever.
    /// Like `git gc --auto`, estimate their number from one fan-out directory and pack them
    /// when there are more than `gc.auto` (setting `stac-repository.gc.auto`; default 6700,
    /// 0 turns it off). Packing first writes the pack, then deletes the loose copies, so a
    /// crash in between only leaves duplicates.
    /// Returns whether it wrote a pack.
    @discardableResult
    func packLooseObjectsIfMany() -> Bool {
        guard let limit = housekeepingLimit else { return false }
        let objects = repository.gitDirectory.appendingPathComponent("objects").path
        func count(_ fanOut: String) -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: objects + "/" + fanOut)) ?? []).count
        }
        // git's own estimate: objects/17 holds about 1/256 of the loose objects. A small limit
        // (tests, tiny repositories) is checked by counting them all.
        let estimate =
            limit < 1024
            ? (0..<256).reduce(0) { $0 + count(String(format: "%02x", $1)) }
            : count("17") * 256
        guard estimate > limit else { return false }
        return ((try? repository.repackLooseObjects()) ?? 0) > 0
    }

    /// `stac-repository.gc.auto` (default 6700), nil when 0 turns housekeeping off.
    private var housekeepingLimit: Int? {
        let limit = ((try? configValue("gc.auto")) ?? nil).flatMap { Int($0) } ?? 6700
        return limit > 0 ? limit : nil
    }

    /// After a commit that wrote a pack: the smallest packs rolled up into one
    /// (``PackMerge/mergeGeometrically(packDirectory:factor:)``), so that every object lookup
    /// searches O(log n) packs, not one per batch ever committed (202 after a streamed
    /// 1,000,000-item ingest). Off with the loose-object packing (`gc.auto` 0). A merge that
    /// fails (a damaged pack, a full disk) leaves every pack as it was and the commit stands;
    /// `verify` reports a damaged pack.
    func rollUpPacks() {
        guard housekeepingLimit != nil else { return }
        _ = try? PackMerge.mergeGeometrically(
            packDirectory: repository.gitDirectory.appendingPathComponent("objects/pack").path)
    }

    func makeCommit(tree: ObjectID, parents: [ObjectID], message: String, date: Date, in writer: GitRepository? = nil)
        throws -> ObjectID
    {
        let name = (try? repository.config("user.name")) ?? nil
        let email = (try? repository.config("user.email")) ?? nil
        let signature = Signature(
            name: name ?? "stac-repository", email: email ?? "stac-repository@localhost", time: date)
        return try (writer ?? repository).createCommit(
            tree: tree, parents: parents, message: message, author: signature, committer: signature)
    }

    /// Commits with at least this many changed paths write one pack instead of loose objects.
    static let packThreshold = 128

    /// The commit point: journal, compare-and-swap of the branch, then the work tree.
    /// Blocking (fsync, a short retry sleep while another ref lock is held): callers run it on a
    /// dedicated thread (``Repository/withTransaction(wait:purpose:force:progress:_:)``, the CLI's `offPool`).
    func moveBranch(
        from old: ObjectID?, to new: ObjectID, tree: ObjectID, paths: [String], reflog: String,
        known: [String: FileChange] = [:], progress: ProgressHandler? = nil
    ) throws {
        // Durability (docs/format.md), batched: libgit2 flushes nothing, and transfers rename
        // Git LFS objects into the store unflushed. One syncfs makes every object of the new
        // commit (git objects, packs, LFS objects and their directory entries) durable before
        // the journal names it; one more after the ref moved makes the ref durable before the
        // command says "committed".
        try FS.syncFileSystem(containing: repository.gitDirectory.path)
        // The journal file is kept, empty between commits, and rewritten in place: a new file and
        // a removed one per commit slowed a long run of one-item commits (FS.overwriteInPlace).
        // An empty or partial journal was never followed by a moved ref: it is flushed first.
        let journal = Array(try JSONEncoder().encode(Journal(old: old?.hex, new: new.hex, paths: paths)))
        try FS.rewrite(journal, at: journalPath, sync: true)
        try crashes.point("git-journal-written")
        var attempts = 0
        while true {
            do {
                try repository.updateReference(branchRef, to: new, expected: old, reflogMessage: reflog)
                break
            } catch let error as GitError where error.code == .locked && attempts < 50 {
                attempts += 1
                usleep(20_000)
            } catch let error as GitError where error.code == .modified || error.code == .exists {
                try? FS.removeFile(journalPath)
                throw StacRepositoryError(
                    .conflict,
                    "The branch \(branch) was changed by another program during this operation; nothing was committed, run the command again.",
                    underlying: error)
            }
        }
        cachedHead = (new, tree)
        try FS.syncFileSystem(containing: repository.gitDirectory.path)
        try crashes.point("git-ref-updated")
        try updateWorkTree(tree: tree, paths: paths, known: known, progress: progress, deferIndex: indexRun != nil)
        try FS.empty(journalPath)
    }

    public func beginCommitRun() {
        if indexRun == nil { indexRun = IndexRun() }
    }

    public func catchUpCommitRun() throws {
        guard let run = indexRun, let tree = run.tree else { return }
        let start = ContinuousClock.now
        try resetIndex(toTree: tree, refreshingStatFor: run.paths.sorted(), incremental: true)
        let end = ContinuousClock.now
        indexRun = IndexRun(lastUpdate: end, lastCost: end - start)
    }

    public func endCommitRun() throws {
        defer {
            indexRun = nil
            runFiles = [:]
        }
        try catchUpCommitRun()
    }

    /// Makes the work tree files at `paths` and the index equal to `tree`. `known` holds the
    /// content of paths the caller just committed, which saves reading them back from the tree.
    /// Tells `progress` (phase "work tree", unit "files") how many paths it has written.
    ///
    /// With `deferIndex` (a commit run), the index is left to ``catchUpCommitRun()`` unless its
    /// last update is long enough ago.
    func updateWorkTree(
        tree: ObjectID, paths: [String], known: [String: FileChange] = [:], progress: ProgressHandler? = nil,
        deferIndex: Bool = false
    ) throws {
        try FS.makeDirectories(stagingDirectory.path)
        var attributes = AttributesCache(repository: repository, tree: tree)
        let counter = PhaseCounter("work tree", total: paths.count, unit: "files", handler: progress)
        for path in paths {
            defer { counter.step() }
            let target = root.path + "/" + path
            switch known[path] {
            case .write(let bytes)?:
                // A document that is there is rewritten in place (the journal names it until
                // it is written); a new one, or a link, gets a new file.
                try FS.rewrite(bytes, at: target, tempDirectory: stagingDirectory.path)
                try crashes.point("git-worktree-file")
                continue
            case .asset(_, let sha, let size)? where size > 0, .storedAsset(let sha, let size)? where size > 0:
                // A copy (reflink where the file system has it), never a hard link: an edit
                // in place of the work-tree file must not change the stored object.
                try FS.cloneFile(lfs.objectURL(oid: sha).path, target, tempDirectory: stagingDirectory.path)
                try crashes.point("git-worktree-file")
                continue
            case .delete?:
                try FS.removeFile(target)
                FS.removeEmptyDirectories(from: (target as NSString).deletingLastPathComponent, stopAt: root.path)
                try crashes.point("git-worktree-file")
                continue
            default:
                break
            }
            if let entry = try repository.entry(at: path, inTree: tree) {
                let blob = try repository.readBlob(entry.oid)
                // An LFS pointer, also one an old-format commit stores without an attributes
                // line (a STAC document never parses as one): the work tree gets the real bytes.
                if let pointer = LFSPointer(parsing: blob),
                    try attributes.isLFS(path) || LFSAttributes.needsOwnLine(LFSAttributes.split(path).name)
                {
                    let object = lfs.objectURL(oid: pointer.oid)
                    if FS.exists(object.path) {
                        try FS.cloneFile(object.path, target, tempDirectory: stagingDirectory.path)
                    } else {
                        try FS.writeAtomically(blob, to: target, tempDirectory: stagingDirectory.path)
                    }
                } else {
                    try FS.writeAtomically(blob, to: target, tempDirectory: stagingDirectory.path)
                }
            } else {
                try FS.removeFile(target)
                FS.removeEmptyDirectories(from: (target as NSString).deletingLastPathComponent, stopAt: root.path)
            }
            try crashes.point("git-worktree-file")
        }
        if deferIndex, var run = indexRun {
            if runFiles.count + paths.count > Self.runFilesLimit { runFiles = [:] }
            for path in paths {
                let taken = AssetStatCache.now()
                if let stamp = AssetStatCache.Stamp(path: root.path + "/" + path) {
                    runFiles[path] = RunFile(stamp: stamp, taken: taken)
                } else {
                    runFiles.removeValue(forKey: path)
                }
            }
            run.paths.formUnion(paths)
            run.tree = tree
            indexRun = run
            if !TestHooks.holdIndexInCommitRuns, ContinuousClock.now - run.lastUpdate >= run.lastCost * 10 {
                try catchUpCommitRun()
            }
            return
        }
        // Only the entries that changed since the index was written (else a full rebuild).
        try resetIndex(toTree: tree, refreshingStatFor: paths, incremental: true)
    }

    /// Readers recover a dead writer's commit (a journal), and bring an index a dead commit run
    /// left behind up to date, when the lock is free.
    public func lockForRecoveryIfIdle() throws -> AnyObject? {
        guard hasJournal || indexIsBehind() else { return nil }
        return try? FileLock(
            path: stateDirectory.path + "/lock", wait: false, holderDescription: FileLock.recoveryPurpose)
    }

    /// Whether a commit left a journal (a file that is not empty: it is kept empty between commits).
    private var hasJournal: Bool { (FS.fileSize(journalPath) ?? 0) > 0 }

    /// Whether `.git/index` was last made from a tree other than the branch's (its record says
    /// so): a commit run that died between two index updates.
    private func indexIsBehind() -> Bool {
        guard let head = try? head(), let recorded = repository.indexRecordedTree() else { return false }
        return recorded != head.tree
    }

    public func recover() throws {
        cachedHead = nil
        FS.removeTree(stagingDirectory.path)
        try FS.makeDirectories(stagingDirectory.path)
        try finishInterruptedCommit()
        if indexIsBehind(), let head = try head() {
            try resetIndex(toTree: head.tree, refreshingStatFor: [], incremental: true)
        }
    }

    private func finishInterruptedCommit() throws {
        guard let bytes = try FS.read(journalPath), !bytes.isEmpty else { return }
        guard let journal = try? JSONDecoder().decode(Journal.self, from: Data(bytes)) else {
            try FS.removeFile(journalPath)
            return
        }
        // A process killed while writing the index leaves `index.lock` behind. One made after
        // our journal was made by the interrupted commit (we hold the writer lock, so no other
        // stac-repository runs): remove it, or the index could never be repaired.
        let indexLock = repository.gitDirectory.path + "/index.lock"
        if let lockTime = FS.modificationTime(indexLock), let journalTime = FS.modificationTime(journalPath),
            lockTime >= journalTime
        {
            try FS.removeFile(indexLock)
        }
        let current = try repository.reference(branchRef)
        if let current, current.hex == journal.new {
            // The commit point was passed: finish the work tree.
            try updateWorkTree(tree: try repository.commit(current).tree, paths: journal.paths)
        }
        try FS.empty(journalPath)
    }

    // MARK: History

    public func history(limit: Int?) throws -> [HistoryEntry] {
        guard let head = try head() else { return [] }
        return try repository.log(from: head.commit, limit: limit).map { commit in
            let record =
                OperationRecord.parse(message: commit.message, date: commit.time)
                ?? OperationRecord(operation: "git", summary: commit.summary, products: [], date: commit.time)
            return HistoryEntry(id: commit.id.hex, record: record)
        }
    }

    // MARK: Config

    public func configValue(_ key: String) throws -> String? { try repository.config("stac-repository." + key) }

    public func setConfigValue(_ key: String, _ value: String?) throws {
        if let value {
            try repository.setConfig("stac-repository." + key, value)
        } else {
            try repository.removeConfig("stac-repository." + key)
        }
    }

    public func configEntries() throws -> [(String, String)] {
        try repository.configEntries(withPrefix: "stac-repository.").map {
            (String($0.0.dropFirst("stac-repository.".count)), $0.1)
        }
    }
}

/// The catalog at one commit.
final class GitSnapshot: CatalogSnapshot {
    /// Reopened after a commit that wrote a pack (``releaseCaches()``).
    private(set) var repository: GitRepository
    let lfs: LFSStore
    let commit: ObjectID
    let tree: ObjectID
    var version: String? { commit.hex }
    /// Every file's blob, read from the tree once (path lookups would walk the trees each time).
    private var blobs: [String: ObjectID]?
    private lazy var attributes = AttributesCache(repository: repository, tree: tree)

    init(repository: GitRepository, lfs: LFSStore, commit: ObjectID, tree: ObjectID) {
        self.repository = repository
        self.lfs = lfs
        self.commit = commit
        self.tree = tree
    }

    private func allBlobs() throws -> [String: ObjectID] {
        if let blobs { return blobs }
        var out: [String: ObjectID] = [:]
        try repository.walkTree(tree) { path, entry in out[path] = entry.oid }
        blobs = out
        return out
    }

    /// Every catalog file; the `.gitattributes` files are the tool's, not the catalog's.
    func files() throws -> [String] { try allBlobs().keys.filter { !GitBackend.isAttributesFile($0) }.sorted() }

    /// Whether `path` is stored as a Git LFS pointer (``LFSAttributes/isLFS(path:listedInDirectory:)``).
    func isLFS(_ path: String) throws -> Bool { try attributes.isLFS(path) }
    func isStoredAsAsset(_ path: String) throws -> Bool { try isLFS(path) }
    func needsFormatMigration(_ path: String) throws -> Bool { unmarkedPointer(path) != nil }

    func read(_ path: String) throws -> [UInt8]? {
        if let blobs { return try blobs[path].map { try repository.readBlob($0) } }
        return try repository.readFile(path, inTree: tree)
    }

    func lfsPointer(_ path: String) -> LFSPointer? {
        guard let blob = try? read(path) else { return nil }
        if (try? isLFS(path)) == true { return LFSPointer(parsing: blob) }
        return unmarkedPointer(path, blob)
    }

    /// The pointer of a JSON-named asset that a commit written before the attributes rule
    /// stores without an attributes line (docs/format.md, "Migration"). A STAC document never
    /// parses as a pointer, so its bytes are still read from the LFS store, not exported as
    /// pointer text.
    func unmarkedPointer(_ path: String, _ blob: [UInt8]? = nil) -> LFSPointer? {
        guard LFSAttributes.needsOwnLine(LFSAttributes.split(path).name), (try? isLFS(path)) == false,
            let bytes = blob ?? (try? read(path)), bytes.count < 1024
        else { return nil }
        return LFSPointer(parsing: bytes)
    }

    func source(_ path: String) throws -> FileSource? {
        guard let blob = try read(path) else { return nil }
        if let pointer = try isLFS(path) ? LFSPointer(parsing: blob) : unmarkedPointer(path, blob) {
            let url = lfs.objectURL(oid: pointer.oid)
            return FS.exists(url.path) ? .file(url) : .missingObject(oid: pointer.oid, size: pointer.size)
        }
        return .bytes(blob)
    }

    func storedDigest(_ path: String) throws -> (sha256: String, size: Int64)? {
        // The same rule as source(_:): a path is a Git LFS pointer when it is marked LFS and
        // parses as one, or is an unmarked pointer of an earlier version.
        guard let blob = try read(path),
            let pointer = try isLFS(path) ? LFSPointer(parsing: blob) : unmarkedPointer(path, blob)
        else { return nil }
        return (pointer.oid, pointer.size)
    }
}
