import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Copies that hash the bytes as they go, atomic directory swaps and a tree removal that never
/// follows symbolic links: what `export`, `backup` and `clone` build their guarantees on.
extension FS {
    /// Copies `from` to the new file `to` (which must not exist: it is created with `O_EXCL`, so a
    /// symbolic link planted at `to` is never followed), hashing the bytes while they are copied.
    /// With `link` true a hard link is made when the file systems allow it, and the source is read
    /// once to hash it. With `sync` the copy is flushed to disk before returning.
    ///
    /// - Returns: the SHA-256 (lowercase hex) and size of the bytes written.
    /// - Throws: ``StacRepositoryError`` `.storage` when a file cannot be read or written; a partial
    ///   `to` is removed.
    static func copyHashing(
        from: String, to: String, link: Bool = false, sync: Bool = false, progress: ((Int64) -> Void)? = nil
    ) throws -> (sha256: String, size: Int64) {
        if link, Glibc.link(from, to) == 0 {
            let digest = try sha256OfFile(from)
            progress?(digest.size)
            return (digest.hex, digest.size)
        }
        let src = open(from, O_RDONLY | O_CLOEXEC)
        if src < 0 { throw storageError("open", from) }
        defer { close(src) }
        let dst = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if dst < 0 { throw storageError("create", to) }
        var ok = false
        defer {
            close(dst)
            if !ok { unlink(to) }
        }
        var hasher = SHA256()
        var size: Int64 = 0
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(src, buffer, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw storageError("read", from)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: n))
            var off = 0
            while off < n {
                let w = Glibc.write(dst, buffer + off, n - off)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw storageError("write", to)
                }
                off += w
            }
            size += Int64(n)
            progress?(Int64(n))
        }
        if sync, fsync(dst) != 0 { throw storageError("sync", to) }
        ok = true
        return (hexString(hasher.finalize()), size)
    }

    /// Writes `bytes` to the new file `to` (created with `O_EXCL`, never through a link).
    static func writeNew(_ bytes: [UInt8], to path: String) throws {
        try write(bytes, to: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, sync: false)
    }

    /// Creates `path` and its missing parents below `base` (which must exist), refusing to pass
    /// through a symbolic link: every component is checked with `lstat`.
    static func makeDirectoriesNoFollow(_ relative: String, under base: String) throws {
        var current = base
        for component in relative.split(separator: "/") where !component.isEmpty {
            current += "/" + component
            var st = stat()
            if lstat(current, &st) == 0 {
                guard (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw StacRepositoryError(
                        .storage, "\(current) is not a directory (a link or a file is in the way); remove it.")
                }
                continue
            }
            if mkdir(current, 0o755) != 0, errno != EEXIST { throw storageError("create the directory", current) }
        }
    }

    /// Swaps two directory entries atomically (`renameat2(RENAME_EXCHANGE)`); false when the
    /// kernel or file system cannot (the caller then falls back to two renames).
    static func exchange(_ a: String, _ b: String) -> Bool {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        // RTLD_DEFAULT is the null handle in glibc; renameat2 is not visible to Swift without _GNU_SOURCE.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let exchangeFlag: UInt32 = 1 << 1  // RENAME_EXCHANGE
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, exchangeFlag) == 0
    }

    /// Removes a file or directory tree without ever following a symbolic link: a link is
    /// removed, never what it points at.
    static func removeTreeNoFollow(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let d = opendir(path) {
                var names: [String] = []
                while let e = readdir(d) {
                    let name = withUnsafePointer(to: e.pointee.d_name) {
                        $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(d)
                for name in names { removeTreeNoFollow(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Whether `path` itself is a symbolic link.
    static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }
}
