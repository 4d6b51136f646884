/// A Git LFS pointer: the small blob git stores in place of a large file, naming the file's
/// SHA-256 and size (spec v1).
///
/// ``bytes`` is byte-identical to what `git lfs pointer --file=` and `git lfs clean` write:
/// `version https://git-lfs.github.com/spec/v1\noid sha256:<hex>\nsize <n>\n`.
public struct LFSPointer: Sendable, Hashable {
    /// The version line's URL.
    public static let specURL = "https://git-lfs.github.com/spec/v1"

    /// The object's SHA-256, 64 lowercase hexadecimal digits; also its name in the LFS store.
    public var oid: String
    /// The object's size in bytes.
    public var size: Int64

    /// Creates a pointer; returns nil when `oid` is not 64 lowercase hexadecimal digits or
    /// `size` is negative.
    public init?(oid: String, size: Int64) {
        guard Self.isValidOID(oid), size >= 0 else { return nil }
        self.oid = oid
        self.size = size
    }

    /// Parses a pointer blob. Only the canonical form git-lfs writes is accepted: fewer than
    /// 1024 bytes, the version line, then `oid sha256:<64 lowercase hex>` and
    /// `size <decimal>` in that order, each ending in "\n", and nothing else. Anything
    /// else (a real file, a pointer with extension keys) gives nil.
    public init?(parsing bytes: [UInt8]) {
        guard bytes.count < 1024, bytes.last == UInt8(ascii: "\n") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.elementsEqual(bytes) else { return nil }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3, lines[0] == "version " + Self.specURL,
            lines[1].hasPrefix("oid sha256:"), lines[2].hasPrefix("size ")
        else { return nil }
        let oid = String(lines[1].dropFirst("oid sha256:".count))
        let sizeText = lines[2].dropFirst("size ".count)
        guard !sizeText.isEmpty, sizeText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            sizeText == "0" || !sizeText.hasPrefix("0"),
            let size = Int64(sizeText)
        else { return nil }
        self.init(oid: oid, size: size)
    }

    /// The pointer file's text.
    public var text: String {
        "version \(Self.specURL)\noid sha256:\(oid)\nsize \(size)\n"
    }

    /// The pointer file's bytes (UTF-8 of ``text``).
    public var bytes: [UInt8] { Array(text.utf8) }

    /// What git-lfs's clean filter stores in the git blob for this file: the pointer, except
    /// for an empty file, which git-lfs keeps as an empty blob (no pointer, no object). Store
    /// this, not ``bytes``, or `git status` reports empty assets as modified.
    public var gitBlobBytes: [UInt8] { size == 0 ? [] : bytes }

    /// Whether `oid` is 64 lowercase hexadecimal digits.
    public static func isValidOID(_ oid: String) -> Bool {
        oid.utf8.count == 64
            && oid.utf8.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
    }
}
