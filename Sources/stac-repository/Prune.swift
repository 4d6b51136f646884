import ArgumentParser
import Foundation
import StacRepository

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove items, or collections with everything under them, and their links.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Product ids (PARENT-ID/ID when an id is used more than once).")
    var ids: [String]

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("Name at least one product id to prune.") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let result = try await repository.prune(ids, wait: wait)
        if global.json {
            struct Out: Encodable { var removed: [ProductChange]; var version: String? }
            try Output.json(Out(removed: result.removed, version: result.version))
            return
        }
        for p in result.removed { Output.line("- \(p.kind) \(p.id)") }
        Output.line("prune: \(result.removed.count) removed")
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the operations (commits), newest first.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Show at most N operations.")
    var limit: Int?

    @Option(help: "Only operations that touched this product id.")
    var product: String?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1.") }
    }

    func run() async throws {
        let repository = try global.openRepository()
        let entries = try repository.history(limit: limit, product: product)
        if global.json {
            struct Out: Encodable {
                var id: String; var date: Date; var operation: String; var summary: String
                var products: [ProductChange]; var trailers: [String: String]
            }
            try Output.json(entries.map {
                Out(id: $0.id, date: $0.record.date, operation: $0.record.operation, summary: $0.record.summary,
                    products: $0.record.products, trailers: $0.record.trailers)
            })
            return
        }
        let formatter = ISO8601DateFormatter()
        for e in entries {
            let id = e.id.count > 12 ? String(e.id.prefix(12)) : e.id
            Output.line("\(id)  \(formatter.string(from: e.record.date))  \(e.record.operation): \(e.record.summary)")
            for p in e.record.products.prefix(global.verbose ? Int.max : 10) {
                Output.line("    \(p.change == .added ? "+" : p.change == .removed ? "-" : "~") \(p.kind) \(p.id)")
            }
            if !global.verbose && e.record.products.count > 10 {
                Output.line("    … and \(e.record.products.count - 10) more (-v shows all)")
            }
        }
    }
}

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the catalog equal to the one at REF: a new commit, or with --hard move the branch (git backend).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "A commit id (full or short), HEAD~N, a branch or a tag.")
    var ref: String

    @Flag(help: "Move the branch to REF instead of adding a commit; the old tip is kept under refs/stac-repository/backup/.")
    var hard = false

    @Flag(help: "Wait for another writer to finish instead of failing.")
    var wait = false

    func run() async throws {
        let repository = try global.openRepository()
        let result = try repository.rollback(to: ref, hard: hard, wait: wait)
        if global.json {
            try Output.json(["commit": result.commit, "backupRef": result.backupRef ?? ""])
            return
        }
        if let backup = result.backupRef {
            Output.line("rollback --hard: branch now at \(result.commit.prefix(12)); the old tip is saved as \(backup)")
        } else {
            Output.line("rollback: new commit \(result.commit.prefix(12)) restores the catalog of \(ref)")
        }
    }
}

struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained static catalog (relative links, assets materialised) to DIR.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The destination directory (must be empty unless --force).")
    var directory: String

    @Option(help: "Export the catalog as it was at this commit (git backend).")
    var ref: String?

    @Option(help: "copy: real files; link: hard links to the repository's files; none: JSON only.")
    var assets: ExportAssetMode = .copy

    @Flag(help: "Write into a non-empty directory.")
    var force = false

    func run() async throws {
        let repository = try global.openRepository()
        let report = try repository.export(to: URL(fileURLWithPath: directory), ref: ref, assets: assets, force: force)
        if global.json { try Output.json(report); return }
        Output.line("export: \(report.jsonFiles) JSON files and \(report.assetFiles) assets (\(Output.bytes(report.bytes))) written to \(report.directory)")
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write or update a standalone bare repository with the Git LFS objects it needs, then verify it.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup directory (new, empty, or an earlier backup to update).")
    var destination: String

    @Option(help: "Back up the branch up to this commit (default: the tip).")
    var ref: String?

    func run() async throws {
        let repository = try global.openRepository()
        let report = try repository.backup(to: URL(fileURLWithPath: destination), ref: ref)
        if global.json { try Output.json(report); return }
        Output.line("backup: \(report.incremental ? "updated" : "wrote") \(report.destination) at \(report.commit.prefix(12)); \(report.lfsObjectsCopied) LFS objects copied (\(Output.bytes(report.lfsBytesCopied))), \(report.lfsObjectsPresent) already there; verified")
    }
}

struct Clone: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore a repository from a backup (or copy a repository).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The backup or repository to clone.")
    var source: String

    @Argument(help: "The new repository's directory.")
    var directory: String

    func run() async throws {
        global.bootstrapLogging()
        let repository = try Repository.clone(from: URL(fileURLWithPath: source), to: URL(fileURLWithPath: directory))
        if global.json { try Output.json(["path": repository.root.path]); return }
        Output.line("clone: restored \(source) into \(repository.root.path)")
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash every asset and check every JSON file, link and checksum.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Verify the catalog as it was at this commit (git backend).")
    var ref: String?

    @Flag(help: "Also re-read every asset's original (alternate.original href) and check it still has the recorded checksum.")
    var origin = false

    @OptionGroup var transfer: TransferOptions

    func run() async throws {
        let repository = try global.openRepository()
        let report = try await repository.verify(ref: ref, origin: origin, transfer: transfer.configuration)
        if global.json {
            try Output.json(report)
        } else {
            for p in report.problems { Output.line("FAIL \(p.path): \(p.message)") }
            var line = "verify: \(report.jsonFiles) JSON files, \(report.assets) assets (\(Output.bytes(report.bytesHashed)) hashed)"
            if origin { line += ", \(report.originsChecked) originals checked" }
            Output.line(line + ", \(report.problems.count) problems")
        }
        if !report.ok {
            if report.problems.count == report.originProblems {
                throw StacRepositoryError(.integrity, "verify found \(report.originProblems) original(s) changed or gone at their source; the repository's own copies are intact, which is what they are for.")
            }
            throw StacRepositoryError(.integrity, "verify found \(report.problems.count) problem(s); restore the damaged files with `rollback` or from a backup.")
        }
    }
}

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Products added, updated and removed between two versions (git backend).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The older version.")
    var from: String

    @Argument(help: "The newer version (default: HEAD).")
    var to: String = "HEAD"

    func run() async throws {
        let repository = try global.openRepository()
        try repository.requireHistory("diff")
        let diffs = try repository.diff(from: from, to: to)
        if global.json { try Output.json(diffs); return }
        for d in diffs {
            let symbol = d.change == .added ? "+" : d.change == .removed ? "-" : "~"
            Output.line("\(symbol) \(d.kind) \(d.id)")
            if !d.changedFields.isEmpty { Output.line("    fields: \(d.changedFields.joined(separator: ", "))") }
            for a in d.changedAssets { Output.line("    asset \(a.key): \(a.old ?? "(none)") -> \(a.new ?? "(none)")") }
        }
        let counts = [ProductChangeKind.added, .updated, .removed].map { k in diffs.filter { $0.change == k }.count }
        Output.line("diff: \(counts[0]) added, \(counts[1]) updated, \(counts[2]) removed")
    }
}
