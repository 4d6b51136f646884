/// The three kinds of STAC object, with their JSON `type` values.
public enum STACType: String, Sendable, Hashable, CaseIterable {
    /// `"type": "Catalog"`.
    case catalog = "Catalog"
    /// `"type": "Collection"`.
    case collection = "Collection"
    /// `"type": "Feature"`: a STAC Item.
    case item = "Feature"
}

/// A STAC Catalog, Collection or Item: a view over its JSON object.
///
/// The object is kept whole in ``json`` (key order, unknown fields, extensions, literal numbers),
/// so one that is not modified serialises back to the same bytes. The properties below read and
/// write the usual fields in place; a new field is appended at the end unless said otherwise.
public struct STACObject: Sendable, Hashable {
    /// The whole JSON object.
    public var json: JSONObject

    /// The type found valid when the object was created; used if ``json`` loses its `type`.
    private let validatedType: STACType

    /// Checks that `value` is a STAC object and wraps it.
    ///
    /// The value must be a JSON object with a string `type` of `Catalog`, `Collection` or
    /// `Feature` and a string `id` that is a safe path component (see
    /// ``Identifier/validate(_:kind:source:)``). A GeoJSON `FeatureCollection` is not a STAC
    /// object; parse it with ``STACDocument``.
    ///
    /// - Parameters:
    ///   - value: The parsed JSON.
    ///   - source: The file it came from, named in error messages.
    /// - Throws: ``STACError`` with a sentence that names the source and the problem.
    public init(_ value: JSONValue, source: String? = nil) throws(STACError) {
        let subject = source ?? "The JSON value"
        guard case .object(let object) = value else {
            throw STACError("\(subject) is not a STAC object: it is \(value.kindDescription), not a JSON object.")
        }
        guard let typeValue = object["type"] else {
            throw STACError(
                "\(subject) is not a STAC object: it has no \"type\"; a STAC object has \"type\": \"Catalog\", "
                    + "\"Collection\" or \"Feature\".")
        }
        guard let typeName = typeValue.stringValue else {
            throw STACError(
                "\(subject) is not a STAC object: its \"type\" is \(typeValue.kindDescription), not a string.")
        }
        guard let type = STACType(rawValue: typeName) else {
            let hint =
                typeName == "FeatureCollection"
                ? "it is an ItemCollection (a GeoJSON FeatureCollection) of items, not a single object"
                : "its \"type\" is \(Identifier.quoted(typeName)), but a STAC object has \"type\": \"Catalog\", "
                    + "\"Collection\" or \"Feature\""
            throw STACError("\(subject) is not a STAC object: \(hint).")
        }
        guard let id = object["id"]?.stringValue else {
            throw STACError("\(subject) is not a STAC \(type.noun): it has no string \"id\"; give it one.")
        }
        try Identifier.validate(id, kind: type, source: source)
        var json = object
        // Ids become paths: one Unicode form (NFC) for one product, whatever form the source used.
        let normalized = ReservedNames.nfc(id)
        if !ReservedNames.sameBytes(normalized, id) { json["id"] = JSONValue.string(normalized) }
        self.json = json
        self.validatedType = type
    }

    /// Catalog, Collection or Item.
    public var type: STACType {
        json["type"]?.stringValue.flatMap(STACType.init(rawValue:)) ?? validatedType
    }

    /// The `id`.
    ///
    /// Setting it does not validate; check a new id with ``Identifier/validate(_:kind:source:)``.
    public var id: String {
        get { json["id"]?.stringValue ?? "" }
        set { json["id"] = .string(newValue) }
    }

    /// `stac_version`; setting `nil` removes it.
    public var stacVersion: String? {
        get { json["stac_version"]?.stringValue }
        set { json.setString("stac_version", newValue) }
    }

    /// The extension schema URLs in `stac_extensions`; empty if absent.
    ///
    /// Setting replaces the array, creating it right after `stac_version` when absent (and
    /// leaving it absent when setting an empty list).
    public var stacExtensions: [String] {
        get { json.strings("stac_extensions") }
        set {
            if newValue.isEmpty, json["stac_extensions"] == nil { return }
            insertAfterVersion("stac_extensions", .array(newValue.map(JSONValue.string)))
        }
    }

    /// Declares an extension: appends `url` to `stac_extensions` unless it is already there,
    /// creating the array right after `stac_version` when absent.
    public mutating func addExtension(_ url: String) {
        var extensions = json["stac_extensions"]?.arrayValue ?? []
        guard !extensions.contains(.string(url)) else { return }
        extensions.append(.string(url))
        insertAfterVersion("stac_extensions", .array(extensions))
    }

    private mutating func insertAfterVersion(_ key: String, _ value: JSONValue) {
        if json[key] == nil, json["stac_version"] == nil, json["type"] != nil {
            json.set(key, value, after: "type")
        } else {
            json.set(key, value, after: "stac_version")
        }
    }

    /// An item's `collection` field (the id of its collection); setting `nil` removes it.
    public var collectionID: String? {
        get { json["collection"]?.stringValue }
        set { json.setString("collection", newValue) }
    }

    /// An item's `properties` object; `nil` if absent or not an object. Setting `nil` removes it.
    public var properties: JSONObject? {
        get { json["properties"]?.objectValue }
        set {
            if let newValue {
                json["properties"] = .object(newValue)
            } else {
                json.removeValue(forKey: "properties")
            }
        }
    }

    /// The title: `title` of a catalog or collection, `properties.title` of an item (STAC common
    /// metadata). Setting `nil` removes it.
    public var title: String? {
        get { commonMetadata("title") }
        set { setCommonMetadata("title", newValue) }
    }

    /// The description: `description` of a catalog or collection, `properties.description` of an
    /// item. Setting `nil` removes it.
    public var description: String? {
        get { commonMetadata("description") }
        set { setCommonMetadata("description", newValue) }
    }

    private func commonMetadata(_ key: String) -> String? {
        type == .item ? properties?[key]?.stringValue : json[key]?.stringValue
    }

    private mutating func setCommonMetadata(_ key: String, _ value: String?) {
        if type == .item {
            var properties = self.properties ?? JSONObject()
            properties.setString(key, value)
            self.properties = properties
        } else {
            json.setString(key, value)
        }
    }

    // MARK: - Links

    /// The `links`, in order; empty if absent. Entries that are not objects are skipped.
    ///
    /// Setting replaces the `links` array (created at the end when absent).
    public var links: [Link] {
        get { json["links"]?.arrayValue?.compactMap { $0.objectValue.map(Link.init(json:)) } ?? [] }
        set { json["links"] = .array(newValue.map { .object($0.json) }) }
    }

    /// The links with relation `rel`, in order.
    public func links(rel: String) -> [Link] {
        links.filter { $0.rel == rel }
    }

    /// Removes the links for which `shouldRemove` returns true, keeping the others in order
    /// (and keeping entries that are not link objects untouched).
    public mutating func removeLinks(where shouldRemove: (Link) throws -> Bool) rethrows {
        guard let entries = json["links"]?.arrayValue else { return }
        var kept: [JSONValue] = []
        kept.reserveCapacity(entries.count)
        for entry in entries {
            if let object = entry.objectValue, try shouldRemove(Link(json: object)) { continue }
            kept.append(entry)
        }
        json["links"] = .array(kept)
    }

    /// Appends a link at the end of `links` (creating the array at the end when absent).
    public mutating func appendLink(_ link: Link) {
        var entries = json["links"]?.arrayValue ?? []
        entries.append(.object(link.json))
        json["links"] = .array(entries)
    }

    // MARK: - Assets

    /// The `assets` with their keys, in order; empty if absent. Entries that are not objects are
    /// skipped.
    ///
    /// Setting replaces the `assets` object (created at the end when absent); setting an empty
    /// list writes `"assets": {}` if the field was present and leaves it absent otherwise.
    public var assets: [(key: String, asset: Asset)] {
        get {
            guard let object = json["assets"]?.objectValue else { return [] }
            return object.compactMap { member in member.value.objectValue.map { (member.key, Asset(json: $0)) } }
        }
        set {
            if newValue.isEmpty, json["assets"] == nil { return }
            json["assets"] = .object(JSONObject(newValue.map { ($0.key, JSONValue.object($0.asset.json)) }))
        }
    }

    /// The asset under `key`, if present.
    public func asset(forKey key: String) -> Asset? {
        json["assets"]?[key]?.objectValue.map(Asset.init(json:))
    }

    /// Replaces or adds (at the end) the asset under `key`; `nil` removes it.
    public mutating func setAsset(_ asset: Asset?, forKey key: String) {
        var object = json["assets"]?.objectValue ?? JSONObject()
        if let asset {
            object[key] = .object(asset.json)
        } else {
            guard object[key] != nil else { return }
            object.removeValue(forKey: key)
        }
        json["assets"] = .object(object)
    }

    // MARK: - Serialisation

    /// The object as a JSON value.
    public var jsonValue: JSONValue { .object(json) }

    /// The repository's canonical JSON text for this object (see ``JSONValue/serialized()``).
    public func serialized() -> [UInt8] {
        JSONValue.object(json).serialized()
    }
}

extension JSONValue {
    /// `a JSON array`, `the string "x"`, ... for messages.
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool(let b): "the boolean \(b)"
        case .number(let n): "the number \(n.literal)"
        case .string(let s): "the string \(Identifier.quoted(s))"
        case .array: "a JSON array"
        case .object: "a JSON object"
        }
    }
}
