internal import CLibGit2

/// The 20-byte SHA-1 name of a git object (a commit, tree, blob or tag).
public struct ObjectID: Hashable, Sendable, CustomStringConvertible {
    /// The raw bytes, in order.
    public let bytes: [UInt8]

    /// The id of the empty tree, `4b825dc642cb6eb9a060e54bf8d69288fbee4904`.
    ///
    /// libgit2 does not know this object unless it was written; the methods of
    /// ``GitRepository`` that take a tree write it on demand.
    // The literal is valid, so the fallback can never be taken; it only avoids a force-unwrap.
    public static let emptyTree =
        ObjectID(hex: "4b825dc642cb6eb9a060e54bf8d69288fbee4904")
        ?? ObjectID(unchecked: [UInt8](repeating: 0, count: 20))

    /// Parses 40 hexadecimal digits (either case); returns nil for anything else.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 40 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        for index in stride(from: 0, to: 40, by: 2) {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// Wraps 20 raw bytes; returns nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 20 else { return nil }
        self.bytes = bytes
    }

    private init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The 40 lowercase hexadecimal digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(40)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first 7 hexadecimal digits, as `git log --oneline` prints them.
    public var shortHex: String { String(hex.prefix(7)) }

    /// The 40 hexadecimal digits.
    public var description: String { hex }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension ObjectID {
    /// Copies a libgit2 oid.
    init(_ oid: git_oid) {
        var copy = oid
        self.bytes = withUnsafeBytes(of: &copy.id) { Array($0) }
    }

    /// Copies a libgit2 oid from a pointer libgit2 returned; nil stays nil.
    init?(_ pointer: UnsafePointer<git_oid>?) {
        guard let pointer else { return nil }
        self.init(pointer.pointee)
    }

    /// The libgit2 form of this id.
    var oid: git_oid {
        var oid = git_oid()
        withUnsafeMutableBytes(of: &oid.id) { raw in
            raw.copyBytes(from: bytes)
        }
        return oid
    }
}
