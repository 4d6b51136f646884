import Foundation

/// The one rule for names the repository turns into paths: product ids and asset file names.
///
/// Every path component the tool writes comes from an id or an asset file name, and both go
/// through this type, so that no document can address the tool's own state, git's files or
/// another product's files:
///
/// - Names are compared after Unicode NFC normalisation, case folding and removal of what
///   file systems ignore (trailing dots and spaces, which NTFS drops; zero-width characters,
///   which HFS+ drops), so `.GIT`, `.git.`, `.g\u{200C}it` and an NFD form all count as `.git`.
/// - **Reserved everywhere** (``reserved``): `.stac-repository` (file-backend state), `.git`,
///   `.gitattributes`, `.gitignore`, `.gitmodules` (git's own files) and `.lfsconfig` (Git LFS).
/// - **Container documents** (``containerDocuments``): `catalog.json` and `collection.json` may
///   not be ids (the directory would collide with the container file next to it) nor asset file
///   names (an item's folder would look like a container).
/// - **An item's own document**: an asset may not be named `<id>.json` of its item.
///
/// An id that breaks the rule is refused (``Identifier/validate(_:kind:source:)``); an asset file
/// name that breaks it is replaced by a safe name (``assetFileName(_:key:itemID:used:)``), so the
/// asset is still kept.
public enum ReservedNames {
    /// Names no id or asset file may have, in their canonical (folded) form.
    public static let reserved: [String] = [
        ".stac-repository", ".git", ".gitattributes", ".gitignore", ".gitmodules", ".lfsconfig",
    ]

    /// The container documents of the layout.
    public static let containerDocuments: [String] = ["catalog.json", "collection.json"]

    /// `name` in Unicode NFC, the form every path the tool writes uses.
    public static func nfc(_ name: String) -> String {
        // ASCII is its own NFC; the Foundation call costs more than the rest of indexing an item.
        if name.utf8.allSatisfy({ $0 < 0x80 }) { return name }
        return name.precomposedStringWithCanonicalMapping
    }

    /// Whether two spellings are the same bytes (Swift's `==` ignores normalisation differences).
    public static func sameBytes(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// The form in which names are compared: NFC, lowercased, without characters file systems
    /// ignore (zero-width joiners and marks, byte-order marks) and without trailing dots and spaces.
    public static func folded(_ name: String) -> String {
        let ignorable: Set<UInt32> = [
            0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x206A, 0x206B, 0x206C,
            0x206D, 0x206E, 0x206F, 0xFEFF,
        ]
        var scalars = String.UnicodeScalarView()
        for scalar in nfc(name).lowercased().unicodeScalars where !ignorable.contains(scalar.value) {
            scalars.append(scalar)
        }
        var text = String(scalars)
        while let last = text.last, last == "." || last == " ", text != "." && text != ".." {
            text.removeLast()
        }
        return text
    }

    /// Why `name` may not be an id, or nil when it may.
    public static func reasonIDIsReserved(_ name: String) -> String? {
        let key = folded(name)
        if let match = reserved.first(where: { $0 == key }) {
            return match == ".stac-repository"
                ? "'.stac-repository' is the tool's own state folder"
                : "'\(match)' is a file git or Git LFS reads (in any letter case)"
        }
        if let match = containerDocuments.first(where: { $0 == key }) {
            return "'\(match)' is the name of a container document of the layout"
        }
        return nil
    }

    /// Why `name` may not be the file name of an asset of item `itemID`, or nil when it may.
    public static func reasonFileNameIsReserved(_ name: String, itemID: String) -> String? {
        if let reason = reasonIDIsReserved(name) { return reason }
        if folded(name) == folded(itemID + ".json") { return "it is the item's own document" }
        return nil
    }

    /// The file name an asset is stored under, next to the item `itemID`.
    ///
    /// `proposed` (the last component of the asset's href) is made safe: control characters,
    /// `/` and `\` become `_`, it is NFC-normalised and cut to 200 characters. A reserved name, a
    /// name that starts with `.` (hidden files, and all of git's), `.` / `..` or an empty name is
    /// replaced deterministically: `_` followed by the name without its leading dots
    /// (`.gitattributes` → `_gitattributes`), or the asset key when nothing is left. A name
    /// already used by the item (compared folded, so `A.tif` and `a.tif` are one name) gets the
    /// key as a prefix (`<key>-<name>`), then a counter (`2-<name>`, `3-<name>`, …).
    ///
    /// - Parameter used: the folded names already taken in the item's folder; the result is added.
    public static func assetFileName(_ proposed: String, key: String, itemID: String, used: inout Set<String>)
        -> String
    {
        var name = safeComponent(proposed)
        if name.hasPrefix(".") || reasonFileNameIsReserved(name, itemID: itemID) != nil {
            let rest = String(name.drop { $0 == "." })
            name = rest.isEmpty ? "" : "_" + rest
        }
        if name.isEmpty || reasonFileNameIsReserved(name, itemID: itemID) != nil {
            name = safeComponent(key)
            if name.isEmpty || name.hasPrefix(".") || reasonFileNameIsReserved(name, itemID: itemID) != nil {
                name = "asset-" + String(name.drop { $0 == "." })
            }
        }
        var candidate = name
        if used.contains(folded(candidate)) { candidate = safeComponent(key) + "-" + name }
        var n = 2
        while used.contains(folded(candidate)) || reasonFileNameIsReserved(candidate, itemID: itemID) != nil {
            candidate = "\(n)-" + name
            n += 1
        }
        used.insert(folded(candidate))
        return candidate
    }

    /// The folded names an item's folder starts with: its own document and the container documents.
    public static func namesTaken(byItem itemID: String) -> Set<String> {
        Set([folded(itemID + ".json")] + containerDocuments + reserved)
    }

    /// `text` as one path component: `/`, `\` and control characters become `_`; NFC; at most 200
    /// characters.
    public static func safeComponent(_ text: String) -> String {
        String(
            nfc(text).unicodeScalars.map { c in
                (c == "/" || c == "\\" || c.value < 0x20 || c.value == 0x7F) ? "_" : Character(c)
            }.prefix(200))
    }
}
