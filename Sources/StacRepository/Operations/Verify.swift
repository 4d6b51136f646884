public import AssetTransfer
import Foundation
import STAC

/// One problem `verify` found.
public struct VerifyProblem: Sendable, Codable {
    public var path: String
    public var message: String
}

/// What `verify` checked.
public struct VerifyReport: Sendable, Codable {
    public var jsonFiles = 0
    public var assets = 0
    public var bytesHashed: Int64 = 0
    /// With `quick`: stored asset files taken as unchanged because their stat data (device, inode,
    /// size, mtime, ctime) equals what it was when they were last hashed (`cache/asset-stat`).
    public var assetsTrustedByStat = 0
    public var problems: [VerifyProblem] = []
    /// Originals checked with `--origin`.
    public var originsChecked = 0
    /// How many of the problems are originals that changed or vanished (the stored copies are fine).
    public var originProblems = 0
    /// Work-tree files compared with the last commit (git backend, current version).
    public var workTreeFiles = 0
    /// What `--repair` put right (the problems it fixed, as they were reported).
    public var repaired: [VerifyProblem] = []
    /// Assets kept as references because their copy failed at ingest (Operations/FailedAssets.swift);
    /// reported, not problems: the catalog is complete, the copy is missing.
    public var failedAssets: [VerifyProblem] = []
    public var ok: Bool { problems.isEmpty }
}

extension Repository {
    /// Re-reads everything: every JSON parses as STAC, every structural link resolves, every
    /// local asset exists and matches its `file:size` and `file:checksum` (and, on git, its
    /// Git LFS pointer), and on git the work tree equals the last commit.
    public func verify(ref: String? = nil) throws -> VerifyReport {
        try verifyStored(ref: ref, quick: false, progress: nil).report
    }

    /// ``verify(ref:)``, and with `origin` also re-reads every `alternate.*` href (local,
    /// http(s), s3) and checks that it still has the recorded checksum: the source may have
    /// been deleted or changed since the ingest. With `quick`, only originals whose server (HEAD)
    /// or file (stat) no longer names the version recorded at ingest are re-read, and the
    /// repository's own asset files and work tree are re-hashed only where their stat data changed
    /// since they were last hashed (as `git status` does): every change made through the file
    /// system is caught, silent media corruption is not — that is what a full `verify` is for.
    ///
    /// With `repair` (current version only, with the writer lock): damaged or missing Git LFS
    /// objects (or, on the file backend, asset files) are restored from the work-tree copy or
    /// from the asset's `alternate.original` when it still has the recorded checksum, then the
    /// work tree is restored from the commit; the report lists what was repaired and keeps the
    /// problems that remain.
    public func verify(
        ref: String? = nil, origin: Bool, quick: Bool = false, repair: Bool = false,
        transfer: TransferConfiguration = .init(), progress: ProgressHandler? = nil
    ) async throws -> VerifyReport {
        guard repair else {
            return try await verifyAll(ref: ref, origin: origin, quick: quick, transfer: transfer, progress: progress)
        }
        if let ref {
            throw StacRepositoryError(
                .usage, "--repair mends the current catalog, not the one at \(ref); run it without --ref.")
        }
        return try await withLock(wait: false, purpose: "verify --repair") {
            let first = try verifyStored(ref: nil, quick: false, progress: progress)
            let repaired = try await repairDamage(first, transfer: transfer)
            var report = try await verifyAll(
                ref: nil, origin: origin, quick: quick, transfer: transfer, progress: progress)
            report.repaired = repaired
            return report
        }
    }

    private func verifyAll(
        ref: String?, origin: Bool, quick: Bool = false, transfer: TransferConfiguration, progress: ProgressHandler?
    ) async throws -> VerifyReport {
        let checked = try verifyStored(ref: ref, quick: quick, progress: progress)
        var report = checked.report
        if ref == nil { report.failedAssets = failedAssetReferences() }
        guard origin else { return report }
        // Every alternate.* entry, quick (HEAD first) or by re-hashing: Verify+Origin.swift.
        try await checkOrigins(ref: ref, quick: quick, transfer: transfer, report: &report)
        return report
    }

    /// An asset whose stored bytes are damaged or gone: its Git LFS object (git) or its file.
    struct DamagedAsset {
        var path: String
        var sha256: String
        var size: Int64
    }

    struct StoredCheck {
        var report = VerifyReport()
        var originals: [(path: String, href: String, checksum: String)] = []
        var damaged: [DamagedAsset] = []
        var workTree: [WorkTreeChange] = []
    }

    private func verifyStored(ref: String?, quick: Bool, progress: ProgressHandler?) throws -> StoredCheck {
        var check = StoredCheck()
        try recoverIfIdle()
        // Every asset file hashed here is remembered with its stat data, so that a later `--quick`
        // can trust the files nobody touched since; `--quick` re-hashes only the others.
        let stats = AssetStatCache(stateDirectory: backend.stateDirectory)
        defer { stats.save() }
        let snapshot = try backend.snapshot(at: ref)
        let files = Set(try snapshot.files())
        // Documents are the JSON files that are not Git LFS assets; a JSON file that an item
        // names as an asset (tilejson.json on the file backend) is checked as an asset only.
        var candidates: [String] = []
        for path in files.sorted() where path.hasSuffix(".json") {
            if try snapshot.isStoredAsAsset(path) { continue }
            candidates.append(path)
        }
        var parseProblems: [VerifyProblem] = []
        var assetTargets: Set<String> = []
        for (done, path) in candidates.enumerated() {
            progress?(
                OperationProgress(
                    phase: "verify", completed: done, total: candidates.count, bytes: check.report.bytesHashed,
                    unit: "documents"))
            guard let bytes = try snapshot.read(path) else { continue }
            let object: STACObject
            do {
                object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
            } catch {
                parseProblems.append(
                    .init(
                        path: path,
                        message:
                            "\(error); restore it with `stac-repository restore \(shellQuoted(path))`, `rollback` or a backup"
                    ))
                continue
            }
            for link in object.links where ["child", "item", "parent", "root", "collection"].contains(link.rel) {
                guard !link.href.contains("://"), !link.href.hasPrefix("/") else { continue }
                guard let target = CatalogIndex.resolveInside(link.href, from: path), files.contains(target) else {
                    check.report.problems.append(
                        .init(
                            path: path,
                            message:
                                "its \(link.rel) link \(link.href) points at nothing; restore the target with `rollback` or a backup"
                        ))
                    continue
                }
            }
            for (key, asset) in object.assets {
                guard !asset.href.contains("://"), !asset.href.hasPrefix("/") else { continue }
                guard let target = CatalogIndex.resolveInside(asset.href, from: path) else { continue }
                guard files.contains(target) else {
                    check.report.problems.append(
                        .init(
                            path: target,
                            message:
                                "asset \"\(key)\" of \(path) is missing; restore it with `stac-repository verify --repair`, `rollback` or a backup"
                        ))
                    if let original = asset["alternate"]?["original"], let href = original["href"]?.stringValue,
                        let checksum = original["file:checksum"]?.stringValue
                    {
                        check.originals.append((target, href, checksum))
                    }
                    if backend.versioning == nil, let checksum = asset["file:checksum"]?.stringValue,
                        checksum.hasPrefix("1220")
                    {
                        check.damaged.append(
                            DamagedAsset(
                                path: target, sha256: String(checksum.dropFirst(4)),
                                size: asset["file:size"]?.numberValue?.intValue.map(Int64.init) ?? -1))
                    }
                    continue
                }
                assetTargets.insert(target)
                if let original = asset["alternate"]?["original"], let href = original["href"]?.stringValue,
                    let checksum = original["file:checksum"]?.stringValue, checksum.hasPrefix("1220")
                {
                    check.originals.append((target, href, checksum))
                }
                check.report.assets += 1
                let recorded = asset["file:checksum"]?.stringValue.flatMap {
                    $0.hasPrefix("1220") ? String($0.dropFirst(4)) : nil
                }
                let recordedSize = asset["file:size"]?.numberValue?.intValue.map(Int64.init)
                let digest: (hex: String, size: Int64)
                var trusted = false
                // The current version must follow the attributes rule; older commits keep the
                // shape they were written in (their bytes are still read from the store).
                if ref == nil, try snapshot.needsFormatMigration(target) {
                    check.report.problems.append(
                        .init(
                            path: target,
                            message:
                                "is a Git LFS pointer that .gitattributes does not mark as LFS (written by an earlier version); run `stac-repository verify --repair` (or any write command) to migrate the repository"
                        ))
                    continue
                }
                switch try snapshot.source(target) {
                case .file(let url)?:
                    if quick, let known = stats.trusted(url.path) {
                        digest = (known.sha256, known.size)
                        check.report.assetsTrustedByStat += 1
                        trusted = true
                    } else {
                        digest = try stats.hash(url.path)
                    }
                    if let pointer = try snapshot.storedDigest(target), pointer.sha256 != digest.hex {
                        check.report.problems.append(
                            .init(
                                path: target,
                                message:
                                    "the Git LFS object does not match its pointer (oid \(pointer.sha256), content \(digest.hex)); run `stac-repository verify --repair` to fetch it again"
                            ))
                        check.damaged.append(DamagedAsset(path: target, sha256: pointer.sha256, size: pointer.size))
                        report(&check, bytes: digest.size)
                        continue
                    }
                case .bytes(let b)?:
                    digest = (sha256OfBytes(b), Int64(b.count))
                case .missingObject(let oid, let size)?:
                    check.report.problems.append(
                        .init(
                            path: target,
                            message:
                                "its Git LFS object \(oid) is missing from the store; run `stac-repository verify --repair` to fetch it again"
                        ))
                    check.damaged.append(DamagedAsset(path: target, sha256: oid, size: size))
                    continue
                case nil:
                    continue
                }
                if !trusted { report(&check, bytes: digest.size) }
                if let recordedSize, recordedSize != digest.size {
                    check.report.problems.append(
                        .init(
                            path: target,
                            message:
                                "size is \(digest.size) bytes but file:size says \(recordedSize); restore it with `stac-repository verify --repair` or from a backup"
                        ))
                }
                if let recorded, recorded != digest.hex {
                    check.report.problems.append(
                        .init(
                            path: target,
                            message:
                                "content hashes to 1220\(digest.hex) but file:checksum says 1220\(recorded); restore it with `stac-repository verify --repair`, `rollback` or a backup"
                        ))
                }
                if backend.versioning == nil, let recorded,
                    recorded != digest.hex || (recordedSize.map { $0 != digest.size } ?? false)
                {
                    check.damaged.append(DamagedAsset(path: target, sha256: recorded, size: recordedSize ?? -1))
                }
            }
        }
        for problem in parseProblems where !assetTargets.contains(problem.path) {
            check.report.problems.append(problem)
        }
        check.report.jsonFiles = candidates.filter { !assetTargets.contains($0) }.count
        progress?(
            OperationProgress(
                phase: "verify", completed: candidates.count, total: candidates.count, bytes: check.report.bytesHashed,
                unit: "documents"))
        // The work tree against the commit (git, current version): what users and their tools see.
        if ref == nil, let versioned = backend.versioning {
            let result = try versioned.workTreeChanges(
                paths: nil, trustStat: quick, untracked: false, progress: progress, phase: "verify work tree")
            check.report.workTreeFiles = result.checked
            for change in result.changes where change.kind != .untracked {
                check.workTree.append(change)
                let what =
                    change.kind == .missing
                    ? "was deleted from the work tree" : "the work-tree file differs from the last commit"
                check.report.problems.append(
                    .init(
                        path: change.path,
                        message:
                            "\(what); run `stac-repository restore \(shellQuoted(change.path))` (or `verify --repair`)"
                    ))
            }
        }
        return check
    }

    private func report(_ check: inout StoredCheck, bytes: Int64) { check.report.bytesHashed += bytes }

    /// Puts back what can be put back (see ``verify(ref:origin:repair:transfer:progress:)``).
    private func repairDamage(_ check: StoredCheck, transfer: TransferConfiguration) async throws -> [VerifyProblem] {
        var repaired: [VerifyProblem] = []
        let originals = Dictionary(check.originals.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var done: Set<String> = []
        let versioned = backend.versioning
        let temporary = versioned?.assetTemporaryDirectory.path ?? backend.stagingDirectory.path
        try FS.makeDirectories(temporary)
        for damage in check.damaged where !done.contains(damage.sha256) {
            // 1. The work-tree copy (git), when it still has the right bytes.
            if versioned != nil {
                let copy = root.path + "/" + damage.path
                if FS.isRegularFile(copy), let digest = try? sha256OfFile(copy), digest.hex == damage.sha256 {
                    let staged = temporary + "/.repair-" + UUID().uuidString
                    try FS.cloneFile(copy, staged)
                    try replaceStored(damage, with: staged, versioned: versioned)
                    done.insert(damage.sha256)
                    repaired.append(.init(path: damage.path, message: "stored bytes restored from the work-tree copy"))
                    continue
                }
            }
            // 2. The original, when it still has the recorded checksum.
            guard let original = originals[damage.path], original.checksum == "1220" + damage.sha256 else { continue }
            let engine = AssetTransferEngine(configuration: transfer)
            let results = await engine.fetch(
                [AssetRequest(name: "the original of \(damage.path)", source: original.href)],
                into: URL(fileURLWithPath: temporary))
            guard case .success(let fetched)? = results.first, let file = fetched.file else { continue }
            guard fetched.sha256 == damage.sha256 else {
                try? FS.removeFile(file.path)
                continue
            }
            try replaceStored(damage, with: file.path, versioned: versioned)
            done.insert(damage.sha256)
            repaired.append(.init(path: damage.path, message: "stored bytes fetched again from \(original.href)"))
        }
        if let versioned {
            let paths = check.workTree.map(\.path)
            let failed = Set(try versioned.restoreWorkTree(paths).map(\.path))
            for path in paths where !failed.contains(path) {
                repaired.append(.init(path: path, message: "work-tree file restored from the last commit"))
            }
        }
        return repaired
    }

    /// Moves `file` (verified to hash to `damage.sha256`) over the damaged stored bytes.
    private func replaceStored(_ damage: DamagedAsset, with file: String, versioned: (any VersionedBackend)?) throws {
        if let versioned {
            try versioned.replaceStoredAsset(sha256: damage.sha256, with: file)
        } else {
            try FS.rename(file, backend.assetFile(damage.path).path)
        }
    }
}
