/// Hex multihashes as written in STAC's `file:checksum`.
///
/// A multihash is `<varint algorithm code><varint digest length><digest>`; STAC writes it in hex.
public enum Multihash {
    /// The digest algorithms whose multihashes can be verified.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        /// SHA-256, code 0x12 (`1220…`).
        case sha2_256 = "sha2-256"
        /// SHA-512, code 0x13 (`1340…`).
        case sha2_512 = "sha2-512"
        /// SHA-1, code 0x11 (`1114…`).
        case sha1 = "sha1"
        /// MD5, code 0xd5 (`d50110…`).
        case md5 = "md5"

        /// The multicodec code.
        public var code: UInt64 {
            switch self {
            case .sha2_256: 0x12
            case .sha2_512: 0x13
            case .sha1: 0x11
            case .md5: 0xd5
            }
        }

        /// The digest length in bytes.
        public var digestLength: Int {
            switch self {
            case .sha2_256: 32
            case .sha2_512: 64
            case .sha1: 20
            case .md5: 16
            }
        }
    }

    /// Splits a hex multihash into its algorithm and lowercase hex digest.
    ///
    /// Returns nil when the text is not hex, is not a well-formed multihash, or names an algorithm
    /// other than sha2-256, sha2-512, sha1 or md5. As some catalogs write md5 as `d510…` (the code
    /// byte without its varint continuation), that form is accepted too.
    public static func parse(_ hex: String) -> (algorithm: Algorithm, digestHex: String)? {
        guard let bytes = decodeHex(hex) else { return nil }
        if let (code, length, digest) = split(bytes),
            let algorithm = Algorithm.allCases.first(where: { $0.code == code }),
            algorithm.digestLength == length
        {
            return (algorithm, encodeHex(digest))
        }
        // Lenient md5: "d5" "10" + 16 bytes.
        if bytes.count == 18, bytes[0] == 0xd5, bytes[1] == 0x10 {
            return (.md5, encodeHex(bytes[2...]))
        }
        return nil
    }

    /// Whether the text is a well-formed hex multihash, whatever its algorithm.
    static func isWellFormed(_ hex: String) -> Bool {
        guard let bytes = decodeHex(hex) else { return false }
        return split(bytes) != nil
    }

    /// The `file:checksum` multihash of a SHA-256 digest: `"1220"` followed by the hex digest.
    public static func sha256(_ hex: String) -> String {
        "1220" + hex.lowercased()
    }

    /// The multihash of a digest of any supported algorithm.
    public static func encode(_ algorithm: Algorithm, digestHex: String) -> String {
        var prefix: [UInt8] = []
        var code = algorithm.code
        repeat {
            var byte = UInt8(code & 0x7f)
            code >>= 7
            if code != 0 { byte |= 0x80 }
            prefix.append(byte)
        } while code != 0
        prefix.append(UInt8(algorithm.digestLength))
        return encodeHex(prefix[...]) + digestHex.lowercased()
    }

    private static func split(_ bytes: [UInt8]) -> (code: UInt64, length: Int, digest: ArraySlice<UInt8>)? {
        var index = 0
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while index < bytes.count, shift < 63 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        guard let code = varint(), let length = varint(), length > 0, bytes.count - index == Int(length) else {
            return nil
        }
        return (code, Int(length), bytes[index...])
    }
}

func decodeHex(_ hex: String) -> [UInt8]? {
    let utf8 = Array(hex.utf8)
    guard !utf8.isEmpty, utf8.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
        guard let high = nibble(utf8[i]), let low = nibble(utf8[i + 1]) else { return nil }
        bytes.append(high << 4 | low)
        i += 2
    }
    return bytes
}

func encodeHex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: out, as: UTF8.self)
}
