import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Streaming SHA-256 of a file: reads in 4 MiB chunks, never the whole file.
func sha256OfFile(_ path: String) throws -> (hex: String, size: Int64) {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw FS.storageError("open", path) }
    defer { close(fd) }
    var hasher = SHA256()
    var size: Int64 = 0
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 22, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n < 0 {
            if errno == EINTR { continue }
            throw FS.storageError("read", path)
        }
        if n == 0 { break }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        size += Int64(n)
    }
    return (hexString(hasher.finalize()), size)
}

func sha256OfBytes(_ bytes: [UInt8]) -> String {
    hexString(SHA256.hash(data: bytes))
}

func hexString(_ digest: some Sequence<UInt8>) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in digest {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Streaming SHA-256 of files, for processors: the same code the repository hashes assets with.
public enum FileDigest {
    /// The lowercase hex SHA-256 of the file at `path`, read 4 MiB at a time.
    /// - Throws: ``StacRepositoryError`` when the file cannot be read.
    public static func sha256(ofFileAt path: String) throws -> String {
        try sha256OfFile(path).hex
    }
}
