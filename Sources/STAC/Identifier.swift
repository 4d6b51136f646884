/// Rules for STAC ids, which the repository uses as file and directory names.
public enum Identifier {
    /// The longest id in UTF-8 bytes: the longest file name most file systems allow.
    public static let maximumByteCount = 255

    /// The longest item id in UTF-8 bytes: an item is stored as `<id>/<id>.json`, and the file
    /// name must stay within ``maximumByteCount`` bytes.
    public static let maximumItemByteCount = maximumByteCount - ".json".utf8.count

    /// Checks that `id` can be used as one path component on any POSIX file system and in git.
    ///
    /// Rejected: the empty string, `.` and `..`, ids containing `/`, `\`, NUL or any other control
    /// character (U+0000–U+001F, U+007F), the names ``ReservedNames`` reserves (`.stac-repository`,
    /// `.git`, `.gitattributes`, … and `catalog.json`/`collection.json`, in any letter case and
    /// Unicode form), and ids longer than 255 UTF-8 bytes in NFC (250 for items, whose file is
    /// `<id>.json`).
    ///
    /// - Parameters:
    ///   - id: The id to check.
    ///   - kind: What the id names, for the message (`Catalog`, `Collection`, `Item`); `nil` for
    ///     an object of unknown kind.
    ///   - source: The file the id comes from, for the message.
    /// - Throws: ``STACError`` with a sentence that quotes the id and says how to fix it.
    public static func validate(_ id: String, kind: STACType?, source: String?) throws(STACError) {
        let noun = kind?.noun ?? "object"
        let subject = "\(kind?.noun.capitalizedFirst ?? "STAC") id \(quoted(id))\(source.map { " in \($0)" } ?? "")"
        if id.isEmpty {
            throw STACError("\(subject) is empty; give the \(noun) a non-empty id.")
        }
        let unsafe =
            id == "." || id == ".."
            || id.unicodeScalars.contains { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
        if unsafe {
            throw STACError(
                "\(subject) is not a valid path component: ids may not contain '/' or '\\', control characters, "
                    + "or be '.' or '..'; rename the \(noun).")
        }
        if let reason = ReservedNames.reasonIDIsReserved(id) {
            throw STACError("\(subject) is reserved: \(reason); rename the \(noun).")
        }
        let limit = kind == .item ? maximumItemByteCount : maximumByteCount
        let length = ReservedNames.nfc(id).utf8.count
        if length > limit {
            let why =
                kind == .item
                ? "item ids may be at most \(limit) UTF-8 bytes, so that the file name '<id>.json' fits in \(maximumByteCount)"
                : "ids may be at most \(limit) UTF-8 bytes, the longest file name file systems allow"
            throw STACError("\(subject) is \(length) bytes long: \(why); shorten the id.")
        }
    }

    /// The id in double quotes with control characters, quotes and backslashes escaped, shortened
    /// when very long, so that a message stays on one readable line.
    static func quoted(_ id: String) -> String {
        var text = ""
        var count = 0
        for scalar in id.unicodeScalars {
            if count == 80 {
                text += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        return "\"" + text + "\""
    }
}

extension STACType {
    /// The lowercase noun for messages: `catalog`, `collection`, `item`.
    var noun: String {
        switch self {
        case .catalog: "catalog"
        case .collection: "collection"
        case .item: "item"
        }
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
