import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension FS {
    /// Linux `FICLONE` (`_IOW(0x94, 9, int)`): share the extents of another file, copy-on-write.
    static let ficlone: UInt = 0x4004_9409

    /// Puts a copy of `from` at `to` through a temporary file and a rename: a reflink
    /// (`ioctl(FICLONE)`, copy-on-write, no bytes copied) where the file system has them (btrfs,
    /// XFS, bcachefs…), else an in-kernel copy (`sendfile`). Never a hard link: the work tree
    /// is edited by users and their tools, and an edit in place of a hard link would change
    /// the stored object, so history, for every commit and path that shares it.
    static func cloneFile(_ from: String, _ to: String, tempDirectory: String? = nil) throws {
        let directory = (to as NSString).deletingLastPathComponent
        try makeDirectories(directory)
        let tmp = (tempDirectory ?? directory) + "/.tmp-" + UUID().uuidString
        let src = open(from, O_RDONLY | O_CLOEXEC)
        if src < 0 { throw storageError("open", from) }
        defer { close(src) }
        let dst = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if dst < 0 { throw storageError("create", tmp) }
        var failed: Int32 = 0
        if ioctl(dst, ficlone, src) != 0 {
            failed = copyContents(from: src, to: dst)
        }
        close(dst)
        if failed != 0 {
            unlink(tmp)
            throw storageError("copy \(from) to", to, failed)
        }
        if Glibc.rename(tmp, to) != 0 {
            let code = errno
            unlink(tmp)
            throw storageError("replace", to, code)
        }
    }
}
