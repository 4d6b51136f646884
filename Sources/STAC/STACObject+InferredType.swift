import Foundation

/// Typing of pre-1.0 STAC objects that have no `type` field (STAC 0.x, Earth Search v0).
///
/// `type` became required for every STAC object in 1.0.0-rc.1; before that, only items had one
/// (`"Feature"`, from GeoJSON). Objects older than that are typed the way pystac's
/// `identify_stac_object_type` does it: a Collection has an `extent` or a `license`, an Item has
/// a `geometry` or `properties`, and anything else with `links` is a Catalog. An object without a
/// `stac_version`, or of version 1.0.0-rc.1 or later, is never typed this way.
extension STACObject {
    /// The type a pre-1.0 object without `type` has, or nil when it is not such an object.
    public static func inferredType(of object: JSONObject) -> STACType? {
        guard object["type"] == nil, let version = object["stac_version"]?.stringValue,
            isBeforeTypeField(version)
        else { return nil }
        if object["extent"] != nil || object["license"] != nil { return .collection }
        if object["geometry"] != nil || object["properties"] != nil { return .item }
        if object["links"]?.arrayValue != nil { return .catalog }
        return nil
    }

    /// `value` with the inferred `type` added as its first member, and that type; `value`
    /// unchanged and nil when it has a `type` or cannot be typed.
    public static func addingInferredType(to value: JSONValue) -> (value: JSONValue, type: STACType?) {
        guard case .object(let object) = value, let type = inferredType(of: object) else { return (value, nil) }
        var pairs: [(String, JSONValue)] = [("type", .string(type.rawValue))]
        for (key, member) in object { pairs.append((key, member)) }
        return (.object(JSONObject(pairs)), type)
    }

    /// Whether `version` is older than 1.0.0-rc.1, the first version whose objects all have `type`.
    static func isBeforeTypeField(_ version: String) -> Bool {
        let trimmed = version.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = trimmed.split(separator: "-", maxSplits: 1)
        let numbers = (parts.first ?? "").split(separator: ".").map { Int($0) ?? 0 }
        let major = numbers.first ?? 0
        let minor = numbers.count > 1 ? numbers[1] : 0
        let patch = numbers.count > 2 ? numbers[2] : 0
        if major < 1 { return true }
        guard major == 1, minor == 0, patch == 0, parts.count == 2 else { return false }
        // 1.0.0-beta.N came before 1.0.0-rc.1.
        return parts[1].hasPrefix("beta") || parts[1].hasPrefix("alpha")
    }
}
