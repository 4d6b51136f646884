/// A STAC asset: a view over its JSON object that keeps every field, known or not
/// (`file:checksum`, `eo:bands`, `alternate`, ...).
public struct Asset: Sendable, Hashable {
    /// The asset's JSON object, all fields in order.
    public var json: JSONObject

    /// Wraps an existing asset object.
    public init(json: JSONObject) {
        self.json = json
    }

    /// A new asset with fields in the usual order: `href`, `type`, `title`, `roles`.
    public init(href: String, type: String? = nil, title: String? = nil, roles: [String] = []) {
        json = ["href": .string(href)]
        if let type { json["type"] = .string(type) }
        if let title { json["title"] = .string(title) }
        if !roles.isEmpty { json["roles"] = .array(roles.map(JSONValue.string)) }
    }

    /// Where the bytes are, as written (often relative); `""` if absent.
    public var href: String {
        get { json["href"]?.stringValue ?? "" }
        set { json["href"] = .string(newValue) }
    }

    /// The media type; setting `nil` removes it.
    public var type: String? {
        get { json["type"]?.stringValue }
        set { json.setString("type", newValue) }
    }

    /// A human-readable title; setting `nil` removes it.
    public var title: String? {
        get { json["title"]?.stringValue }
        set { json.setString("title", newValue) }
    }

    /// The roles (`data`, `thumbnail`, `metadata`, ...); empty if absent. Setting an empty list
    /// removes the field.
    public var roles: [String] {
        get { json.strings("roles") }
        set {
            if newValue.isEmpty {
                json.removeValue(forKey: "roles")
            } else {
                json["roles"] = .array(newValue.map(JSONValue.string))
            }
        }
    }

    /// Any field by name (`file:checksum`, `alternate`, ...); setting `nil` removes it.
    public subscript(field: String) -> JSONValue? {
        get { json[field] }
        set {
            if let newValue {
                json[field] = newValue
            } else {
                json.removeValue(forKey: field)
            }
        }
    }
}
