import Foundation
import STAC

extension IngestPlanner {
    /// Takes over products a planner of the whole ingest already placed (``place(_:)`` decided
    /// their paths and whether they changed), for one batch of `ingest --batch-size`: the catalog
    /// index of this batch's transaction learns them, in the order they were placed (a container
    /// before its members), so that the containers this batch touches link exactly the members
    /// committed so far and this batch's.
    ///
    /// Layout templates: `placed` is the whole ingest's index. An item of a templated collection
    /// is placed again here, so that this batch's transaction creates the sub-catalogs it needs
    /// (and moves an item whose template values changed); a collection new in this batch takes
    /// its layout the way the whole planner gave it.
    mutating func adopt(_ entries: [Planned], placedIn placed: CatalogIndex) throws {
        for e in entries where e.change != .unchanged {
            let object = e.source.object
            var parentPath = e.parentPath
            var path = e.path
            if object.type == .item, placed.isLayoutCatalog(e.parentPath),
                let collection = placed.owningCollection(of: e.parentPath)
            {
                parentPath = try layoutParent(for: e.source, under: collection.path)
                path = CatalogIndex.itemPath(id: object.id, parentDirectory: parentDirectory(parentPath))
            }
            planned.append(Planned(source: e.source, path: path, parentPath: parentPath, change: e.change))
            let record = ProductChange(id: object.id, kind: e.source.kindName, change: e.change)
            if e.change == .added { report.added.append(record) } else { report.updated.append(record) }
            if object.type == .item {
                if index.items[path] == nil {
                    index.insert(CatalogIndex.ItemEntry(id: object.id, path: path, parent: parentPath))
                }
            } else {
                let isNew = index.containers[path] == nil
                if isNew {
                    index.insert(
                        CatalogIndex.Container(
                            id: object.id, type: object.type, path: path, directory: parentDirectory(path),
                            parent: parentPath, children: [], items: []))
                }
                if let layout = placed.containers[path]?.layout, index.containers[path]?.layout != layout {
                    index.setLayout(layout, of: path)
                }
            }
            touchedContainers.insert(parentPath)
            if object.type != .item { touchedContainers.insert(path) }
        }
        try removeEmptiedLayoutCatalogs()
    }
}
