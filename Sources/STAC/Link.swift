/// A STAC link: a view over its JSON object that keeps unknown fields (`method`, `body`, ...).
public struct Link: Sendable, Hashable {
    /// The link's JSON object, all fields in order.
    public var json: JSONObject

    /// Wraps an existing link object.
    public init(json: JSONObject) {
        self.json = json
    }

    /// A new link with fields in the usual order: `rel`, `href`, `type`, `title`.
    public init(rel: String, href: String, type: String? = nil, title: String? = nil) {
        json = ["rel": .string(rel), "href": .string(href)]
        if let type { json["type"] = .string(type) }
        if let title { json["title"] = .string(title) }
    }

    /// The relation (`self`, `root`, `parent`, `child`, `item`, `collection`, ...); `""` if absent.
    public var rel: String {
        get { json["rel"]?.stringValue ?? "" }
        set { json["rel"] = .string(newValue) }
    }

    /// The target, as written (often relative); `""` if absent.
    public var href: String {
        get { json["href"]?.stringValue ?? "" }
        set { json["href"] = .string(newValue) }
    }

    /// The media type of the target; setting `nil` removes it.
    public var type: String? {
        get { json["type"]?.stringValue }
        set { json.setString("type", newValue) }
    }

    /// A human-readable title; setting `nil` removes it.
    public var title: String? {
        get { json["title"]?.stringValue }
        set { json.setString("title", newValue) }
    }
}

extension JSONObject {
    /// Sets a string member, or removes it when `value` is `nil`.
    mutating func setString(_ key: String, _ value: String?) {
        if let value {
            self[key] = .string(value)
        } else {
            removeValue(forKey: key)
        }
    }

    /// The string elements of an array member (other elements are skipped); empty if absent.
    func strings(_ key: String) -> [String] {
        self[key]?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}
