import Crypto
import Foundation

/// The SHA-256 of a file's contents (swift-crypto), read in 1 MiB chunks, as 64 hex digits.
func sha256HexDigest(ofFileAt url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var hash = SHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        hash.update(data: chunk)
    }
    return hash.finalize().map { String(format: "%02x", $0) }.joined()
}
