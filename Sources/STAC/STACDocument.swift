public import Foundation

/// What a STAC input file or stream holds: one STAC object, or a list of items.
public enum STACDocument: Sendable, Hashable {
    /// One Catalog, Collection or Item.
    case object(STACObject)
    /// Items from an ItemCollection (a GeoJSON `FeatureCollection`) or from newline-delimited
    /// JSON, in input order.
    case itemCollection([STACObject])

    /// Every STAC object in the document, in order.
    public var objects: [STACObject] {
        switch self {
        case .object(let object): [object]
        case .itemCollection(let items): items
        }
    }

    /// Parses a single STAC object, an ItemCollection, or newline-delimited JSON items.
    ///
    /// - A single JSON value is a STAC object, or a `FeatureCollection` whose `features` are all
    ///   STAC items (its other fields, such as `links` or `context`, are not kept).
    /// - Several JSON values, each on its own line(s) and no two on one line, are newline-delimited
    ///   JSON: each must be a STAC item. (A newline-delimited file with a single item is therefore
    ///   returned as `.object`; use ``objects`` to treat both cases alike.)
    ///
    /// - Parameters:
    ///   - data: UTF-8 JSON text.
    ///   - source: A name for the text (a path, or `stdin`), used in error messages.
    ///   - firstLine: The line number of the text's first line in messages (a chunk of a
    ///     stream starts further on).
    ///   - onInferredType: when given, pre-1.0 objects without `type` are typed (see
    ///     ``STACObject/inferredType(of:)``), get that `type`, and are reported here.
    /// - Throws: ``JSONParseError`` (with line and column) when the text is not JSON, or
    ///   ``STACError`` when it is JSON but not acceptable STAC.
    public static func parse(
        _ data: Data, source: String? = nil, firstLine: Int = 1, onInferredType: ((STACType) -> Void)? = nil
    ) throws -> STACDocument {
        let values: [(value: JSONValue, line: Int)]
        do {
            values = try JSONValue.parseLines(data, source: source).map { ($0.value, $0.line + firstLine - 1) }
        } catch {
            var shifted = error
            shifted.line += firstLine - 1
            throw shifted
        }
        func typed(_ value: JSONValue) -> JSONValue {
            guard let onInferredType else { return value }
            let (result, type) = STACObject.addingInferredType(to: value)
            if let type { onInferredType(type) }
            return result
        }
        if values.count == 1, let only = values.first {
            if only.value["type"]?.stringValue == "FeatureCollection" {
                let features = only.value["features"]?.arrayValue.map { JSONValue.array($0.map(typed)) }
                var collection = only.value.objectValue ?? JSONObject()
                if let features { collection["features"] = features }
                return .itemCollection(try items(ofFeatureCollection: .object(collection), source: source))
            }
            return .object(try STACObject(typed(only.value), source: source))
        }
        var items: [STACObject] = []
        items.reserveCapacity(values.count)
        for (value, line) in values {
            let place = "\(source ?? "newline-delimited JSON") (line \(line))"
            let item = try STACObject(typed(value), source: place)
            guard item.type == .item else {
                throw STACError(
                    "\(place) is a \(item.type.noun), but newline-delimited JSON may only hold items; "
                        + "put each catalog or collection in its own file.")
            }
            items.append(item)
        }
        return .itemCollection(items)
    }

    private static func items(ofFeatureCollection value: JSONValue, source: String?) throws(STACError)
        -> [STACObject]
    {
        let name = source ?? "The ItemCollection"
        guard let features = value["features"]?.arrayValue else {
            throw STACError("\(name) is a FeatureCollection without a \"features\" array; add one (it may be empty).")
        }
        var items: [STACObject] = []
        items.reserveCapacity(features.count)
        for (index, feature) in features.enumerated() {
            let place = "\(name) (feature \(index + 1) of \(features.count))"
            let item = try STACObject(feature, source: place)
            guard item.type == .item else {
                throw STACError("\(place) is a \(item.type.noun), but an ItemCollection may only hold items.")
            }
            items.append(item)
        }
        return items
    }
}
