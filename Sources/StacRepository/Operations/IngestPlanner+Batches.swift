import Foundation
import STAC

extension IngestPlanner {
    /// Takes over products a planner of the whole ingest already placed (``place(_:)`` decided
    /// their paths and whether they changed), for one batch of `ingest --batch-size`: the catalog
    /// index of this batch's transaction learns them, in the order they were placed (a container
    /// before its members), so that the containers this batch touches link exactly the members
    /// committed so far and this batch's.
    mutating func adopt(_ entries: [Planned]) {
        for e in entries where e.change != .unchanged {
            let object = e.source.object
            planned.append(Planned(source: e.source, path: e.path, parentPath: e.parentPath, change: e.change))
            let record = ProductChange(id: object.id, kind: e.source.kindName, change: e.change)
            if e.change == .added { report.added.append(record) } else { report.updated.append(record) }
            if object.type == .item {
                if index.items[e.path] == nil {
                    index.insert(CatalogIndex.ItemEntry(id: object.id, path: e.path, parent: e.parentPath))
                }
            } else if index.containers[e.path] == nil {
                index.insert(
                    CatalogIndex.Container(
                        id: object.id, type: object.type, path: e.path, directory: parentDirectory(e.path),
                        parent: e.parentPath, children: [], items: []))
            }
            touchedContainers.insert(e.parentPath)
            if object.type != .item { touchedContainers.insert(e.path) }
        }
    }
}
