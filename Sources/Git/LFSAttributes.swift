internal import Foundation

/// Which files of a catalog repository are Git LFS objects, written as `.gitattributes` files
/// that stock git and git-lfs read the same way as this module.
///
/// The rule (docs/format.md, "Git LFS attributes"):
/// - the root `.gitattributes` (``rootFile``) makes every file LFS except `*.json` and the
///   `.gitattributes` files themselves;
/// - a directory that holds an asset whose name ends in `.json` (Landsat `*_MTL.json`,
///   `tilejson.json`, `tileInfo.json`…) has its own `.gitattributes` with one anchored,
///   escaped line per such asset (`/tilejson.json filter=lfs diff=lfs merge=lfs -text`), so the
///   STAC documents next to it stay plain text and no attributes file grows with the catalog.
///
/// ``isLFS(path:listedInDirectory:)`` is the one function that answers "is this path an LFS
/// pointer" for the tree, the work tree, exports, backups and verify.
public enum LFSAttributes {
    /// The name of an attributes file.
    public static let fileName = ".gitattributes"

    /// The root `.gitattributes`: everything but JSON is Git LFS. JSON (and the attributes files)
    /// go back to git's defaults with `!attr`, so that `git diff` and `git log -p` show them as
    /// text (`-diff` would mark them binary).
    public static let rootFile = """
        * filter=lfs diff=lfs merge=lfs -text
        *.json !filter !diff !merge text
        .gitattributes !filter !diff !merge text

        """

    /// The attributes of one LFS line.
    static let lfsAttributes = "filter=lfs diff=lfs merge=lfs -text"

    /// The first line of a per-directory file, so readers know who wrote it.
    static let header = "# Git LFS for JSON-named assets in this directory (written by stac-repository)"

    /// Whether an LFS file named `name` needs its own line (the root file leaves it out of LFS).
    public static func needsOwnLine(_ name: String) -> Bool {
        name.hasSuffix(".json") && name != fileName
    }

    /// Whether the file at `path` is stored as a Git LFS pointer. `listed` gives the names that
    /// the `.gitattributes` of a directory ("" for the root) marks as LFS; it is called only for
    /// names that ``needsOwnLine(_:)``.
    public static func isLFS(path: String, listedInDirectory listed: (_ directory: String) throws -> Set<String>)
        rethrows -> Bool
    {
        let (directory, name) = split(path)
        if name == fileName { return false }
        guard needsOwnLine(name) else { return true }
        return try listed(directory).contains(name)
    }

    /// The directory ("" for the root) and file name of a repository-relative path.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// The pattern that matches exactly the file `name` in the attributes file's directory:
    /// anchored with `/`, glob characters (`\ * ? [ ]`) escaped with a backslash, and white
    /// space written as `[[:space:]]` (as `git lfs track` does), because git splits a line at
    /// white space and git-lfs reads no C-quoted patterns. A leading `!` or `#` needs nothing:
    /// the pattern starts with `/`.
    public static func pattern(for name: String) -> String {
        var out = "/"
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\\", "*", "?", "[", "]": out += "\\" + String(scalar)
            case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}": out += "[[:space:]]"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The name a pattern written by ``pattern(for:)`` matches, or nil for any other pattern.
    static func name(fromPattern pattern: String) -> String? {
        guard pattern.hasPrefix("/") else { return nil }
        var out = ""
        var rest = Substring(pattern.dropFirst())
        while let first = rest.first {
            if rest.hasPrefix("[[:space:]]") {
                out += " "
                rest = rest.dropFirst("[[:space:]]".count)
            } else if first == "\\", let next = rest.dropFirst().first {
                out.append(next)
                rest = rest.dropFirst(2)
            } else if "*?[]".contains(first) || first == "/" {
                return nil  // a real glob or a deeper path: not one of ours
            } else {
                out.append(first)
                rest = rest.dropFirst()
            }
        }
        return out.isEmpty ? nil : out
    }

    /// The per-directory `.gitattributes` for LFS files `names` (sorted, one line each).
    public static func directoryFile(names: some Sequence<String>) -> [UInt8] {
        var text = header + "\n"
        for name in Set(names).sorted() { text += pattern(for: name) + " " + lfsAttributes + "\n" }
        return Array(text.utf8)
    }

    /// The root `.gitattributes` with lines for LFS files `names` at the root.
    public static func rootFile(names: some Sequence<String>) -> [UInt8] {
        var text = rootFile
        for name in Set(names).sorted() { text += pattern(for: name) + " " + lfsAttributes + "\n" }
        return Array(text.utf8)
    }

    /// The names an attributes file marks as LFS with lines of the form ``directoryFile(names:)``
    /// writes (other lines, e.g. hand-written globs, are ignored).
    public static func listedNames(in bytes: [UInt8]) -> Set<String> {
        var names: Set<String> = []
        for rawLine in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let space = line.firstIndex(of: " ") else { continue }
            let attributes = line[line.index(after: space)...].split(separator: " ")
            guard attributes.contains("filter=lfs"), let name = name(fromPattern: String(line[..<space])) else {
                continue
            }
            names.insert(name)
        }
        return names
    }
}
