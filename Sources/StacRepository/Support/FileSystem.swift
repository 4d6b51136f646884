import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small POSIX helpers: atomic writes with fsync, renames, listing. Paths are absolute.
enum FS {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Modification time in nanoseconds since the epoch.
    static func modificationTime(_ path: String) -> Int64? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    static func errnoMessage(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func storageError(_ what: String, _ path: String, _ code: Int32 = errno) -> StacRepositoryError {
        StacRepositoryError(
            .storage,
            "Could not \(what) \(path): \(errnoMessage(code)); check the permissions and free space of the repository.")
    }

    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST { throw storageError("create the directory", path) }
    }

    static func read(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw storageError("open", path)
        }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        var result = [UInt8]()
        result.reserveCapacity(Int(st.st_size))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw storageError("read", path)
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    /// Writes `bytes` to `path` through a temporary file and a rename, fsyncing the file when asked.
    /// Temporary files go to `tempDirectory` (same filesystem) when given, so that a crash
    /// leaves no stray file next to the target.
    static func writeAtomically(_ bytes: [UInt8], to path: String, sync: Bool = false, tempDirectory: String? = nil)
        throws
    {
        let dir = (path as NSString).deletingLastPathComponent
        try makeDirectories(dir)
        let tmp = (tempDirectory ?? dir) + "/.tmp-" + UUID().uuidString
        do {
            try write(bytes, to: tmp, sync: sync)
        } catch {
            // A full disk (ENOSPC) must not leave an empty or partial temporary file behind.
            unlink(tmp)
            throw error
        }
        if Glibc.rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw storageError("replace", path, e)
        }
        if sync { syncDirectory(dir) }
    }

    /// Rewrites the file at `path` in place, keeping its inode, when it is a regular file with
    /// one name (not a symbolic link, not a hard link of something else); false when it is not
    /// (missing, a link, a directory), and the caller writes a new file instead. Readers may see
    /// a partial file while it is written: only for files a journal or a key guards.
    ///
    /// Each new file is a new inode and each replaced one a deleted inode; ext4 without a
    /// journal scans the recently deleted inodes of a group on every file it creates, so a run
    /// of one-item commits that replaced four files each slowed down with every commit
    /// (docs/benchmarks.md, "Files rewritten in place").
    static func overwriteInPlace(_ bytes: [UInt8], at path: String, sync: Bool = false) throws -> Bool {
        guard let fd = openSoleRegularFile(path) else { return false }
        defer { close(fd) }
        var off = 0
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while off < raw.count {
                let n = pwrite(fd, base + off, raw.count - off, off_t(off))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw storageError("write", path)
                }
                off += n
            }
        }
        if ftruncate(fd, off_t(bytes.count)) != 0 { throw storageError("write", path) }
        if sync, fsync(fd) != 0 { throw storageError("sync", path) }
        return true
    }

    /// Writes `bytes` to `path` in place when it is a regular file with one name
    /// (``overwriteInPlace(_:at:sync:)``), else as a new file (``writeAtomically(_:to:sync:tempDirectory:)``).
    static func rewrite(_ bytes: [UInt8], at path: String, sync: Bool = false, tempDirectory: String? = nil) throws {
        if try !overwriteInPlace(bytes, at: path, sync: sync) {
            try writeAtomically(bytes, to: path, sync: sync, tempDirectory: tempDirectory)
        }
    }

    /// `path` opened for writing when it is a regular file with one name, else nil (errno set
    /// when the open failed). Non-blocking: opening a FIFO planted at the path must not wait
    /// for a reader.
    private static func openSoleRegularFile(_ path: String) -> Int32? {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_nlink == 1 else {
            close(fd)
            errno = 0
            return nil
        }
        return fd
    }

    /// Empties the file at `path` in place (see ``overwriteInPlace(_:at:sync:)``), or removes it
    /// when it cannot be emptied so; nothing when it is missing.
    static func empty(_ path: String) throws {
        guard let fd = openSoleRegularFile(path) else {
            if errno != ENOENT { try removeFile(path) }
            return
        }
        defer { close(fd) }
        if ftruncate(fd, 0) != 0 { try removeFile(path) }
    }

    static func write(_ bytes: [UInt8], to path: String, sync: Bool = false) throws {
        try write(bytes, to: path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, sync: sync)
    }

    /// Opens `path` with `flags` (mode 0644), writes all of `bytes` (retrying on EINTR), and
    /// fsyncs when asked.
    static func write(_ bytes: [UInt8], to path: String, flags: Int32, sync: Bool) throws {
        let fd = open(path, flags, 0o644)
        if fd < 0 { throw storageError("create", path) }
        defer { close(fd) }
        var off = 0
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while off < raw.count {
                let n = Glibc.write(fd, base + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw storageError("write", path)
                }
                off += n
            }
        }
        if sync, fsync(fd) != 0 { throw storageError("sync", path) }
    }

    static func syncFile(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Flushes every written file and directory entry of the file system that holds `path`
    /// (`syncfs`): one call makes a whole transaction's staged files, or all of its renames,
    /// durable, instead of an fsync per file and per directory.
    static func syncFileSystem(containing path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw storageError("open", path) }
        defer { close(fd) }
        if glibcSyncfs(fd) != 0 { throw storageError("flush the file system of", path) }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw storageError("move \(from) to", to) }
    }

    static func removeFile(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT { throw storageError("remove", path) }
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes `dir` and its parents up to (not including) `stop` while they are empty.
    static func removeEmptyDirectories(from dir: String, stopAt stop: String) {
        var d = dir
        while d.count > stop.count, d.hasPrefix(stop) {
            if rmdir(d) != 0 { return }
            d = (d as NSString).deletingLastPathComponent
        }
    }

    /// Copies a file, hard-linking when possible and `link` is true.
    /// With `atomic` false the file is written in place (for new files in a fresh export),
    /// which saves a temporary name and a rename.
    static func copyFile(_ from: String, _ to: String, link: Bool, tempDirectory: String? = nil, atomic: Bool = true)
        throws
    {
        try makeDirectories((to as NSString).deletingLastPathComponent)
        let tmp =
            atomic ? (tempDirectory ?? (to as NSString).deletingLastPathComponent) + "/.tmp-" + UUID().uuidString : to
        if !atomic {
            // Never write through an existing name: it may be a hard link to a stored object
            // (an earlier `export --assets link`), which truncating would destroy.
            unlink(to)
            if link, Glibc.link(from, to) == 0 { return }
        }
        if link, Glibc.link(from, tmp) == 0 {
            do { try rename(tmp, to) } catch {
                unlink(tmp)
                throw error
            }
            return
        }
        let src = open(from, O_RDONLY | O_CLOEXEC)
        if src < 0 { throw storageError("open", from) }
        defer { close(src) }
        let dst = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if dst < 0 { throw storageError("create", tmp) }
        let failed = copyContents(from: src, to: dst)
        close(dst)
        if failed != 0 {
            unlink(tmp)
            throw storageError("copy \(from) to", to, failed)
        }
        if atomic {
            do { try rename(tmp, to) } catch {
                unlink(tmp)
                throw error
            }
        }
    }

    /// Copies all bytes from one descriptor to another: in the kernel with `sendfile` when it
    /// can, else through a small buffer. Returns 0 or an errno.
    static func copyContents(from src: Int32, to dst: Int32) -> Int32 {
        while true {
            let n = sendfile(dst, src, nil, 1 << 30)
            if n > 0 { continue }
            if n == 0 { return 0 }
            if errno == EINTR { continue }
            if errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP { break }
            return errno
        }
        // Fallback (e.g. across file systems on old kernels): read and write through 1 MiB.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(src, buffer, 1 << 20)
            if n < 0 { if errno == EINTR { continue }; return errno }
            if n == 0 { return 0 }
            var off = 0
            while off < n {
                let w = Glibc.write(dst, buffer + off, n - off)
                if w < 0 { if errno == EINTR { continue }; return errno }
                off += w
            }
        }
    }

    /// Regular files under `dir`, as paths relative to `dir`, sorted; hidden entries skipped when asked.
    static func listFiles(under dir: String, skipHidden: Bool) -> [String] {
        var result: [String] = []
        func walk(_ abs: String, _ rel: String) {
            guard let d = opendir(abs) else { return }
            defer { closedir(d) }
            while let e = readdir(d) {
                let name = withUnsafePointer(to: e.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name == "." || name == ".." { continue }
                if skipHidden, name.hasPrefix(".") { continue }
                let childAbs = abs + "/" + name
                let childRel = rel.isEmpty ? name : rel + "/" + name
                if isDirectory(childAbs) {
                    walk(childAbs, childRel)
                } else {
                    result.append(childRel)
                }
            }
        }
        walk(dir, "")
        return result.sorted()
    }
}

/// glibc's `syncfs(2)` (Linux 2.6.39+), which the Glibc module hides behind `_GNU_SOURCE`.
@_silgen_name("syncfs")
private func glibcSyncfs(_ fd: Int32) -> Int32
