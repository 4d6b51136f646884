// libFuzzer target: the STAC document reader (STACDocument, STACObject, Identifier, ReservedNames).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTAC(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: count))
    guard let document = try? STACDocument.parse(bytes, source: "fuzz.json") else { return 0 }
    let objects: [STACObject]
    switch document {
    case .object(let o): objects = [o]
    case .itemCollection(let items): objects = items
    }
    for object in objects {
        // A parsed object has a safe id: it must pass validation again and never be reserved.
        if (try? Identifier.validate(object.id, kind: object.type, source: nil)) == nil {
            fatalError("a parsed object has an invalid id")
        }
        if ReservedNames.reasonIDIsReserved(object.id) != nil { fatalError("a reserved id was accepted") }
        var used = ReservedNames.namesTaken(byItem: object.id)
        for (key, asset) in object.assets {
            let name = ReservedNames.assetFileName(asset.href, key: key, itemID: object.id, used: &used)
            if name.isEmpty || name.hasPrefix(".") || name.contains("/")
                || ReservedNames.reasonFileNameIsReserved(name, itemID: object.id) != nil
            {
                fatalError("unsafe asset file name \(name)")
            }
        }
        _ = object.links.map(\.href)
        _ = JSONValue.object(object.json).serialized()
    }
    return 0
}
