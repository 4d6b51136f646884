import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// AWS access keys; the secret never leaves the signer (descriptions and mirrors hide it).
struct AWSCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?

    var description: String { "AWSCredentials(\(accessKeyID), secret: REDACTED)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID], displayStyle: .struct) }
}

/// AWS Signature Version 4 for S3 requests without a body (GET), as botocore's `S3SigV4Auth` does it.
///
/// S3 differs from other services in two ways: the path is encoded once (not twice) and not
/// normalised. Every header passed in is signed, along with `host`, `x-amz-date`,
/// `x-amz-content-sha256` and, with temporary credentials, `x-amz-security-token`.
struct SigV4Signer: Sendable {
    var credentials: AWSCredentials
    var region: String
    var service = "s3"

    /// SHA-256 of the empty body, the payload hash of a GET.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to add to the request, `Authorization` last.
    ///
    /// - Parameters:
    ///   - host: the `Host` header value, with `:port` when the port is not the scheme's default.
    ///   - canonicalPath: the request path exactly as sent, already percent-encoded.
    ///   - canonicalQuery: ``canonicalQuery(_:)`` of the query, which must also be what is sent.
    ///   - headers: other headers to send and sign (e.g. `range`, `x-amz-request-payer`).
    func sign(
        method: String = "GET", host: String, canonicalPath: String, canonicalQuery: String = "",
        headers: [String: String] = [:], payloadHash: String = emptyPayloadHash, date: Date
    ) -> [(name: String, value: String)] {
        let (amzDate, day) = Self.timestamps(date)
        var added: [(name: String, value: String)] = [
            ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
        ]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }

        var signed: [String: String] = ["host": host]
        for (name, value) in headers { signed[name.lowercased()] = value }
        for (name, value) in added { signed[name] = value }
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(Self.trimAll(signed[$0] ?? ""))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, encodeHex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = encodeHex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        added.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                    + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return added
    }

    /// `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd` in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let day = String(
            format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        let time = String(format: "%02d%02d%02d", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        return ("\(day)T\(time)Z", day)
    }

    /// Sorted `name=value` pairs, each RFC 3986-encoded (so `/` is `%2F`), joined with `&`.
    static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        let encoded: [(String, String)] = items.map { item in
            (uriEncode(item.name, keepSlash: false), uriEncode(item.value, keepSlash: false))
        }
        let sorted = encoded.sorted { lhs, rhs in lhs.0 == rhs.0 ? lhs.1 < rhs.1 : lhs.0 < rhs.0 }
        return sorted.map { pair in pair.0 + "=" + pair.1 }.joined(separator: "&")
    }

    /// Percent-encodes every byte but the unreserved `A-Z a-z 0-9 - . _ ~` (and `/` when asked).
    static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: true  // A-Z a-z 0-9
        case 0x2D, 0x2E, 0x5F, 0x7E: true  // - . _ ~
        default: false
        }
    }

    /// Trims and collapses runs of spaces, as SigV4 requires of header values.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
