import Crypto
import Foundation
public import STAC

/// A collection's layout template (docs/format.md "Layout templates"): where its items go below
/// the collection's folder, one sub-catalog per template segment.
///
/// A template is one to eight segments separated by `/`; a segment is literal text and
/// placeholders:
///
/// | placeholder | value |
/// |---|---|
/// | `${year}`, `${month}`, `${day}` | the item's `datetime` (`start_datetime` when it is null), in UTC, `2024`, `05`, `07` |
/// | `${id:hash:N}` | the first N (1–64) hex digits of the SHA-256 of the item id's UTF-8 bytes (NFC) |
/// | `${properties.NAME}` | the item property NAME (`${properties.grid:code}`): a string, number or boolean |
///
/// A value that is missing, null or not a scalar is ``unknownSegment``; every value is made one
/// safe path component by ``ReservedNames/layoutSegment(_:)``.
public struct LayoutTemplate: Sendable, Hashable, CustomStringConvertible {
    /// The collection field the template is recorded in (committed with the collection).
    public static let field = "stac_repository:layout"
    /// The segment of an item that lacks the value a placeholder asks for.
    public static let unknownSegment = "_unknown"
    /// How many items a collection without a template holds in its own folder before ingest
    /// warns and names `relayout`.
    public static let flatThreshold = 5_000
    /// The most segments a template may have.
    public static let maximumSegments = 8

    enum Part: Sendable, Hashable {
        case literal(String)
        case year, month, day
        case idHash(Int)
        case property(String)
    }

    /// The template text as given.
    public let text: String
    let segments: [[Part]]

    public var description: String { text }
    public var depth: Int { segments.count }

    /// Parses a template; the error (``StacRepositoryError/Kind/usage``) names the bad part.
    public init(parsing text: String) throws {
        self.text = text
        func bad(_ part: String, _ why: String) -> StacRepositoryError {
            StacRepositoryError(
                .usage,
                "Layout template \"\(text)\": \(part) \(why); use segments such as ${year}/${month}, ${id:hash:2} or ${properties.NAME}, separated by '/'."
            )
        }
        if text.isEmpty { throw bad("it", "is empty") }
        let rawSegments = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if rawSegments.count > Self.maximumSegments {
            throw bad("it", "has \(rawSegments.count) segments, more than \(Self.maximumSegments)")
        }
        var segments: [[Part]] = []
        for raw in rawSegments {
            if raw.isEmpty { throw bad("an empty segment", "(\"//\" or a leading or trailing '/')") }
            var parts: [Part] = []
            var rest = Substring(raw)
            var literal = ""
            while !rest.isEmpty {
                if rest.hasPrefix("${") {
                    guard let close = rest.firstIndex(of: "}") else {
                        throw bad("\"\(rest)\"", "has no closing '}'")
                    }
                    let name = String(rest[rest.index(rest.startIndex, offsetBy: 2)..<close])
                    let whole = "${" + name + "}"
                    if !literal.isEmpty { parts.append(.literal(literal)) }
                    literal = ""
                    parts.append(try Self.placeholder(name, whole: whole, bad: bad))
                    rest = rest[rest.index(after: close)...]
                } else {
                    let c = rest.removeFirst()
                    if c == "$" || c == "{" || c == "}" || c == "\\"
                        || c.unicodeScalars.contains(where: { $0.value < 0x20 })
                    {
                        throw bad("the character '\(c)' in segment \"\(raw)\"", "is not allowed outside a placeholder")
                    }
                    literal.append(c)
                }
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            if parts.allSatisfy({ if case .literal = $0 { true } else { false } }) {
                let value = parts.map { if case .literal(let s) = $0 { s } else { "" } }.joined()
                if value == "." || value == ".." || value.hasPrefix(".")
                    || ReservedNames.reasonIDIsReserved(value) != nil
                {
                    throw bad("the segment \"\(raw)\"", "is not a usable folder name")
                }
            }
            segments.append(parts)
        }
        self.segments = segments
    }

    private static func placeholder(
        _ name: String, whole: String, bad: (String, String) -> StacRepositoryError
    ) throws -> Part {
        switch name {
        case "year": return .year
        case "month": return .month
        case "day": return .day
        default: break
        }
        if name.hasPrefix("id:hash:") {
            let digits = name.dropFirst("id:hash:".count)
            guard let n = Int(digits), (1...64).contains(n), digits.allSatisfy(\.isASCII) else {
                throw bad("\"\(whole)\"", "needs a hash length from 1 to 64 (e.g. ${id:hash:2})")
            }
            return .idHash(n)
        }
        if name.hasPrefix("properties.") {
            let property = String(name.dropFirst("properties.".count))
            if property.isEmpty { throw bad("\"\(whole)\"", "names no property") }
            return .property(property)
        }
        throw bad("the placeholder \"\(whole)\"", "is unknown")
    }

    /// The folder names (one per segment) an item goes below, every one a safe path component.
    public func segments(forItem item: JSONObject, id: String) -> [String] {
        let properties = item["properties"]?.objectValue ?? JSONObject()
        var date: DateComponents??  // computed once, when a date placeholder needs it
        func utc() -> DateComponents? {
            if let date { return date }
            let value = Self.dateComponents(properties)
            date = .some(value)
            return value
        }
        return segments.map { parts in
            var text = ""
            var unknown = false
            for part in parts {
                switch part {
                case .literal(let s): text += s
                case .year:
                    if let y = utc()?.year { text += String(format: "%04d", y) } else { unknown = true }
                case .month:
                    if let m = utc()?.month { text += String(format: "%02d", m) } else { unknown = true }
                case .day:
                    if let d = utc()?.day { text += String(format: "%02d", d) } else { unknown = true }
                case .idHash(let n):
                    let digest = SHA256.hash(data: Array(ReservedNames.nfc(id).utf8))
                    text += String(digest.map { String(format: "%02x", $0) }.joined().prefix(n))
                case .property(let name):
                    switch properties[name] {
                    case .string(let s)?: text += s
                    case .number(let n)?: text += n.literal
                    case .bool(let b)?: text += b ? "true" : "false"
                    default: unknown = true
                    }
                }
            }
            return unknown ? Self.unknownSegment : ReservedNames.layoutSegment(text)
        }
    }

    /// Year, month and day in UTC of `datetime`, or of `start_datetime` when `datetime` is null or absent.
    static func dateComponents(_ properties: JSONObject) -> DateComponents? {
        let text = properties["datetime"]?.stringValue ?? properties["start_datetime"]?.stringValue
        guard let text, let date = parseRFC3339(text) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar.dateComponents([.year, .month, .day], from: date)
    }

    /// An RFC 3339 date-time (`2024-05-07T10:00:00Z`, fractions and offsets allowed), or a bare date.
    static func parseRFC3339(_ text: String) -> Date? {
        let s = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= s.count else { return nil }
            var n = 0
            for b in s[from..<(from + count)] {
                guard b >= 48, b <= 57 else { return nil }
                n = n * 10 + Int(b - 48)
            }
            return n
        }
        guard let year = number(0, 4), s.count >= 10, s[4] == 45, let month = number(5, 2), s[7] == 45,
            let day = number(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var components = DateComponents(year: year, month: month, day: day, hour: 0, minute: 0, second: 0)
        var offset = 0
        if s.count > 10 {
            guard s[10] == 84 || s[10] == 116 || s[10] == 32, let h = number(11, 2), s.count > 13, s[13] == 58,
                let m = number(14, 2)
            else { return nil }
            components.hour = h
            components.minute = m
            var i = 16
            if i < s.count, s[i] == 58, let sec = number(i + 1, 2) {
                components.second = min(sec, 59)
                i += 3
            }
            if i < s.count, s[i] == 46 {
                i += 1
                while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
            }
            guard i < s.count else { return nil }
            if s[i] == 90 || s[i] == 122 {
                guard i + 1 == s.count else { return nil }
            } else if s[i] == 43 || s[i] == 45, let oh = number(i + 1, 2), i + 3 < s.count, s[i + 3] == 58,
                let om = number(i + 4, 2), i + 6 == s.count
            {
                offset = (oh * 3600 + om * 60) * (s[i] == 45 ? -1 : 1)
            } else {
                return nil
            }
        }
        components.timeZone = TimeZone(secondsFromGMT: offset)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar.date(from: components)
    }

    // MARK: Sub-catalogs

    /// The id of the sub-catalog at `segments` below collection `collectionID`:
    /// `<collection-id>-<segment>-…` (`sentinel-2-2024-05`).
    public static func catalogID(collectionID: String, segments: [String]) -> String {
        ([collectionID] + segments).joined(separator: "-")
    }

    /// The document of a new sub-catalog: links `root` and `parent`; `child`/`item` links are
    /// added by whoever places members in it.
    static func catalogDocument(
        id: String, collection: STACObject?, collectionID: String, segments: [String], path: String, parent: String
    ) -> STACObject? {
        var json = JSONObject()
        json["type"] = "Catalog"
        json["id"] = .string(id)
        json["stac_version"] = .string(collection?.stacVersion ?? "1.0.0")
        json["description"] = .string("Items of collection \(collectionID) in \(segments.joined(separator: "/")).")
        json["links"] = .array([
            .object(
                Link(rel: "root", href: Href.relative(from: path, to: CatalogIndex.rootPath), type: "application/json")
                    .json),
            .object(Link(rel: "parent", href: Href.relative(from: path, to: parent), type: "application/json").json),
        ])
        return try? STACObject(.object(json), source: path)
    }
}

extension ReservedNames {
    /// A layout template's value as one folder name: ``safeComponent(_:)``, white space and
    /// characters outside letters, digits, `-`, `_`, `.`, `+`, `=`, `@` and `,` become `_`, at
    /// most 64 characters, a leading `.` becomes `_`, and a reserved name or an empty value
    /// becomes `_<value>` / ``LayoutTemplate/unknownSegment``.
    public static func layoutSegment(_ value: String) -> String {
        let allowed = Set("-_.+=@,")
        var text = String(
            safeComponent(value).map { c in
                (c.isLetter || c.isNumber || allowed.contains(c)) ? c : "_"
            }.prefix(64))
        if text.hasPrefix(".") { text = "_" + text.drop { $0 == "." } }
        if value.isEmpty || text.isEmpty { return LayoutTemplate.unknownSegment }
        if reasonIDIsReserved(text) != nil { text = "_" + text }
        return text
    }
}
