public import Foundation
import Git
import STAC

/// Which side's version `pull` keeps for a product both sides changed differently.
public enum MergePreference: String, Sendable, Codable, CaseIterable {
    /// This repository's version (`pull --ours`).
    case ours
    /// The remote's version (`pull --theirs`).
    case theirs
}

/// A product both sides of a merge changed to different content.
public struct MergeConflict: Sendable, Codable, Hashable {
    public var id: String
    /// "item", "collection" or "catalog".
    public var kind: String
    /// Its JSON file, repository-relative.
    public var path: String
}

/// The product-level merge of a remote commit into the branch (`pull` when both sides committed).
///
/// Paths changed since the merge base are grouped by product: an item is its folder (its JSON
/// and its assets), a catalog or collection its JSON and the files of its folder that belong
/// to no member. Products only the remote changed are taken from it; products both sides changed
/// to the same content stay; different content is a conflict that `prefer` resolves, or that
/// stops the merge before anything is written. Container JSON is never text-merged: its
/// `child`/`item` links are recomputed from the products the merged catalog holds, the way
/// ingest and prune regenerate them (existing links kept in order, new ones appended), and its
/// other fields come from the side that changed them.
struct ProductMerge {
    let git: GitBackend
    let ours: (commit: ObjectID, tree: ObjectID)
    let theirs: ObjectID
    let prefer: MergePreference?

    /// One product: its folder, its JSON file and what kind it is.
    struct Product {
        var directory: String
        var path: String
        var isItem: Bool
        var id: String
        var kind: String
    }

    /// What the merge decided: the change set (read through `tx`), the products taken from the
    /// remote, and the Git LFS objects their assets need.
    struct Outcome {
        var tx: Transaction
        var taken: [ProductChange]
        var pointers: [LFSPointer]
        var conflicts: [MergeConflict]
        var base: ObjectID
    }

    func plan() throws -> Outcome {
        let repo = git.repository
        guard let base = try repo.mergeBase(ours.commit, theirs) else {
            throw StacRepositoryError(
                .conflict,
                "This repository's branch \(git.branch) (\(ours.commit.shortHex)) and the remote's (\(theirs.shortHex)) share no commit, so they cannot be merged and nothing changed; clone the remote again."
            )
        }
        let baseTree = try repo.commit(base).tree
        let theirsTree = try repo.commit(theirs).tree
        let baseSnap = GitSnapshot(repository: repo, lfs: git.lfs, commit: base, tree: baseTree)
        let oursSnap = GitSnapshot(repository: repo, lfs: git.lfs, commit: ours.commit, tree: ours.tree)
        let theirsSnap = GitSnapshot(repository: repo, lfs: git.lfs, commit: theirs, tree: theirsTree)
        let baseIndex = try CatalogIndex.load { try baseSnap.read($0) }
        let oursIndex = try CatalogIndex.load { try oursSnap.read($0) }
        let theirsIndex = try CatalogIndex.load { try theirsSnap.read($0) }

        // Every product folder any of the three versions knows.
        var products: [String: Product] = [:]
        for index in [baseIndex, oursIndex, theirsIndex] {
            for item in index.items.values where products[item.directory] == nil {
                products[item.directory] = Product(
                    directory: item.directory, path: item.path, isItem: true, id: item.id, kind: "item")
            }
            for c in index.containers.values where products[c.directory] == nil {
                products[c.directory] = Product(
                    directory: c.directory, path: c.path, isItem: false, id: c.id, kind: c.type.kindName)
            }
        }
        func owner(_ path: String) -> String {
            var dir = parentDirectory(path)
            while !dir.isEmpty, products[dir] == nil { dir = parentDirectory(dir) }
            return dir
        }
        func grouped(_ changes: [PathChange]) -> [String: [String]] {
            var out: [String: [String]] = [:]
            for c in changes where !GitBackend.isAttributesFile(c.path) {
                out[owner(c.path), default: []].append(c.path)
            }
            return out
        }
        let oursChanges = try repo.changedPaths(from: baseTree, to: ours.tree)
        let theirsChanges = try repo.changedPaths(from: baseTree, to: theirsTree)
        let oursByProduct = grouped(oursChanges)
        let theirsByProduct = grouped(theirsChanges)

        func entry(_ path: String, _ tree: ObjectID) throws -> TreeEntry? { try repo.entry(at: path, inTree: tree) }
        /// A container's JSON without its member links: what a side changed besides membership.
        func containerBody(_ path: String, _ snap: GitSnapshot) throws -> [UInt8]? {
            guard let bytes = try snap.read(path) else { return nil }
            var object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
            object.removeLinks { $0.rel == "child" || $0.rel == "item" }
            return JSONValue.object(object.json).serialized()
        }

        var takePaths: [String] = []
        var touchedContainers: Set<String> = []
        var taken: [ProductChange] = []
        var conflicts: [MergeConflict] = []
        func conflict(_ p: Product) { conflicts.append(MergeConflict(id: p.id, kind: p.kind, path: p.path)) }
        func change(_ p: Product) throws -> ProductChangeKind {
            let inOurs = try oursSnap.read(p.path) != nil
            let inTheirs = try theirsSnap.read(p.path) != nil
            return inTheirs ? (inOurs ? .updated : .added) : .removed
        }
        /// A side that deleted a container while the other still writes inside it.
        func orphans(_ dir: String, deletedIn deleted: GitSnapshot, _ path: String, other: [PathChange]) throws -> Bool
        {
            guard try baseSnap.read(path) != nil, try deleted.read(path) == nil else { return false }
            let prefix = dir.isEmpty ? "" : dir + "/"
            return other.contains { $0.path.hasPrefix(prefix) && $0.kind != .deleted }
        }

        for dir in theirsByProduct.keys.sorted() {
            let theirPaths = theirsByProduct[dir] ?? []
            let product =
                products[dir]
                ?? Product(
                    directory: "", path: CatalogIndex.rootPath, isItem: false, id: oursIndex.root?.id ?? "",
                    kind: "catalog")
            guard let ourPaths = oursByProduct[dir] else {
                // Only the remote changed it, unless it deleted a container this repository writes into.
                if !product.isItem,
                    try orphans(dir, deletedIn: theirsSnap, product.path, other: oursChanges)
                {
                    if prefer == nil { conflict(product) }
                    if prefer != .theirs { continue }
                }
                takePaths += theirPaths
                if !product.isItem { touchedContainers.insert(product.path) }
                if product.isItem || theirPaths.contains(product.path) {
                    taken.append(ProductChange(id: product.id, kind: product.kind, change: try change(product)))
                }
                continue
            }
            let all = Array(Set(theirPaths + ourPaths)).sorted()
            if product.isItem {
                let same = try all.allSatisfy { try entry($0, ours.tree) == entry($0, theirsTree) }
                if same { continue }
                if prefer == nil { conflict(product) }
                guard prefer == .theirs else { continue }
                takePaths += all
                taken.append(ProductChange(id: product.id, kind: product.kind, change: try change(product)))
                continue
            }
            // A container both sides changed: path by path, its JSON without member links.
            if try orphans(dir, deletedIn: theirsSnap, product.path, other: oursChanges)
                || orphans(dir, deletedIn: oursSnap, product.path, other: theirsChanges)
            {
                if prefer == nil { conflict(product) }
                if prefer == .theirs {
                    takePaths += all
                    taken.append(ProductChange(id: product.id, kind: product.kind, change: try change(product)))
                }
                continue
            }
            var conflicting = false
            var fromTheirs: [String] = []
            let ourSet = Set(ourPaths)
            for path in Set(theirPaths).sorted() {
                if path == product.path {
                    let (b, o, t) = (
                        try containerBody(path, baseSnap), try containerBody(path, oursSnap),
                        try containerBody(path, theirsSnap)
                    )
                    if o == t || t == b { continue }
                    if o == b { fromTheirs.append(path) } else { conflicting = true }
                } else if !ourSet.contains(path) {
                    fromTheirs.append(path)
                } else if try entry(path, ours.tree) != entry(path, theirsTree) {
                    conflicting = true
                }
            }
            touchedContainers.insert(product.path)
            if conflicting {
                if prefer == nil { conflict(product) }
                guard prefer == .theirs else { continue }
                fromTheirs = all
            }
            takePaths += fromTheirs
            if fromTheirs.contains(product.path) {
                taken.append(ProductChange(id: product.id, kind: product.kind, change: try change(product)))
            }
        }
        let tx = Transaction(backend: git)
        guard conflicts.isEmpty else {
            return Outcome(tx: tx, taken: [], pointers: [], conflicts: conflicts, base: base)
        }

        // The remote's bytes for every path taken from it.
        var pointers: [String: LFSPointer] = [:]
        for path in Set(takePaths).sorted() {
            let there = try entry(path, theirsTree)
            if there == (try entry(path, ours.tree)) { continue }
            guard there != nil else {
                tx.delete(path)
                continue
            }
            if let digest = try theirsSnap.storedDigest(path) {
                tx.restoreStoredAsset(path, sha256: digest.sha256, size: digest.size)
                if let pointer = LFSPointer(oid: digest.sha256, size: digest.size) { pointers[pointer.oid] = pointer }
            } else if let bytes = try theirsSnap.read(path) {
                tx.write(path, bytes)
            }
        }

        // Member links of the containers around what changed, recomputed from what the merged
        // catalog holds.
        var parents: Set<String> = touchedContainers
        for path in takePaths {
            let dir = owner(path)
            guard let p = products[dir] else { continue }
            for index in [oursIndex, theirsIndex] {
                if p.isItem, let parent = index.items[p.path]?.parent { parents.insert(parent) }
                if !p.isItem, let parent = index.containers[p.path]?.parent { parents.insert(parent) }
            }
        }
        for path in parents.sorted() {
            try recomputeMemberLinks(path, tx: tx, indexes: [oursIndex, theirsIndex])
        }
        return Outcome(
            tx: tx, taken: taken, pointers: pointers.keys.sorted().compactMap { pointers[$0] }, conflicts: [],
            base: base)
    }

    /// Rewrites the `child`/`item` links of the container at `path` (as the transaction sees it)
    /// to the members either side lists that the merged catalog holds: the links it has stay in
    /// their order, missing ones are appended (children, then items), in this repository's
    /// order and then the remote's, as ingest appends new members.
    private func recomputeMemberLinks(_ path: String, tx: Transaction, indexes: [CatalogIndex]) throws {
        guard let bytes = try tx.read(path) else { return }
        var object = try STACObject(JSONValue.parse(bytes: bytes, source: path), source: path)
        var children: [String] = []
        var items: [String] = []
        var known: Set<String> = []
        for index in indexes {
            guard let c = index.containers[path] else { continue }
            for child in c.children where known.insert(child).inserted { children.append(child) }
            for item in c.items where known.insert(item).inserted { items.append(item) }
        }
        var held: [String: Bool] = [:]
        func holds(_ member: String) throws -> Bool {
            if let h = held[member] { return h }
            let h = try tx.read(member) != nil
            held[member] = h
            return h
        }
        var present: Set<String> = []
        var links: [Link] = []
        for link in object.links {
            if link.rel == "child" || link.rel == "item" {
                guard let target = CatalogIndex.resolveInside(link.href, from: path), try holds(target),
                    present.insert(target).inserted
                else { continue }
            }
            links.append(link)
        }
        for child in children where !present.contains(child) {
            guard try holds(child) else { continue }
            links.append(Link(rel: "child", href: Href.relative(from: path, to: child), type: "application/json"))
        }
        for item in items where !present.contains(item) {
            guard try holds(item) else { continue }
            links.append(Link(rel: "item", href: Href.relative(from: path, to: item), type: "application/geo+json"))
        }
        object.links = links
        let out = JSONValue.object(object.json).serialized()
        if out != bytes { tx.write(path, out) }
    }
}

extension GitBackend {
    /// The sentence for products both sides changed differently (at most `shown` named).
    func mergeConflictError(
        _ conflicts: [MergeConflict], ours: ObjectID, theirs: ObjectID, remote: String, shown: Int = 10
    ) -> StacRepositoryError {
        let named = conflicts.prefix(shown).map { "\($0.kind) \"\($0.id)\"" }.joined(separator: ", ")
        let more = conflicts.count > shown ? " and \(conflicts.count - shown) more" : ""
        return StacRepositoryError(
            .conflict,
            "\(plural(conflicts.count, "product")) changed differently here (\(ours.shortHex)) and on \(remote)/\(branch) (\(theirs.shortHex)): \(named)\(more), so nothing changed; run `stac-repository pull --theirs` to take the remote's versions or `pull --ours` to keep these."
        )
    }
}
