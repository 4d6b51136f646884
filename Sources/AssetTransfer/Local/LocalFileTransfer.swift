import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Streams a local file into a ``ByteSink`` with POSIX `read` into one reused buffer.
enum LocalFileTransfer {
    /// 2 MiB: large enough for full speed (hashing runs at about 1.8 GB/s either way), small enough
    /// that `jobs` concurrent copies, three buffers each, stay below 50 MB.
    static let bufferSize = 2 << 20

    /// The size of a regular file, or nil.
    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// Copies the file at `path` into `sink` on the calling thread.
    static func copy(
        path: String, into sink: ByteSink, subject: TransferSubject, cancellation: CancellationFlag,
        progress: (Int64) -> Void
    ) -> Result<Void, TransferError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(openError(errno, path: path, subject: subject)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(readError(errno, path: path, subject: subject)) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            return .failure(
                subject.error(
                    .invalidSource, reason: "\(path) is a directory, not a file", fix: "point the href at a file"))
        }
        #if canImport(Glibc)
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif

        if sink.writesFile {
            return pipelinedCopy(
                fd: fd, path: path, into: sink, subject: subject, cancellation: cancellation, progress: progress)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var throttle = ProgressThrottle()
        while true {
            if cancellation.isCancelled { return .failure(cancelled(subject)) }
            let n = readSome(fd, into: buffer)
            if n < 0 { return .failure(readError(errno, path: path, subject: subject)) }
            if n == 0 { break }
            do {
                try sink.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            } catch {
                return .failure(subject.sinkFailure(error))
            }
            throttle.report(sink.count, to: progress)
        }
        progress(sink.count)
        return .success(())
    }

    /// Reads and hashes on this thread while a ``PipelinedWriter`` writes earlier chunks.
    private static func pipelinedCopy(
        fd: Int32, path: String, into sink: ByteSink, subject: TransferSubject, cancellation: CancellationFlag,
        progress: (Int64) -> Void
    ) -> Result<Void, TransferError> {
        let writer = PipelinedWriter(sink: sink, buffers: 3, size: bufferSize)
        var throttle = ProgressThrottle()
        var failure: TransferError?
        while failure == nil {
            if cancellation.isCancelled {
                failure = cancelled(subject)
                break
            }
            let (index, buffer) = writer.acquire()
            let n = readSome(fd, into: buffer)
            if n <= 0 {
                writer.release(index)
                if n < 0 { failure = readError(errno, path: path, subject: subject) }
                break
            }
            do {
                try sink.digest(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            } catch {
                writer.release(index)
                failure = subject.sinkFailure(error)
                break
            }
            writer.write(index, count: n)
            if let error = writer.error { failure = subject.sinkFailure(error) }
            throttle.report(sink.count, to: progress)
        }
        do {
            try writer.drain()
        } catch {
            failure = failure ?? subject.sinkFailure(error)
        }
        if let failure { return .failure(failure) }
        progress(sink.count)
        return .success(())
    }

    /// `read` that retries on EINTR; returns -1 with `errno` set on failure.
    private static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        while true {
            let n = read(fd, base, buffer.count)
            if n < 0, errno == EINTR { continue }
            return n
        }
    }

    private static func cancelled(_ subject: TransferSubject) -> TransferError {
        subject.error(.cancelled, reason: "the transfer was cancelled", fix: "run it again")
    }

    private static func openError(_ code: Int32, path: String, subject: TransferSubject) -> TransferError {
        switch code {
        case ENOENT, ENOTDIR:
            subject.error(.notFound, reason: "the file \(path) does not exist")
        case EACCES, EPERM:
            subject.error(
                .accessDenied, reason: "permission to read \(path) was denied", fix: "check the file's permissions")
        default:
            readError(code, path: path, subject: subject)
        }
    }

    private static func readError(_ code: Int32, path: String, subject: TransferSubject) -> TransferError {
        subject.error(
            .io, reason: "reading \(path) failed: \(String(cString: strerror(code)))",
            fix: "check the file and the disk")
    }
}

extension TransferSubject {
    /// The error for a failure of the local sink (temporary file or memory limit).
    func sinkFailure(_ error: SinkError) -> TransferError {
        switch error {
        case .io:
            self.error(.io, reason: error.reason, fix: "check that the destination exists, is writable and has space")
        case .tooLarge(let limit):
            self.error(.tooLarge(limit: limit), reason: error.reason, fix: "check that it is a STAC document")
        }
    }
}

/// Calls a progress callback at most every 100 ms.
struct ProgressThrottle {
    private var last: UInt64 = 0

    mutating func report(_ bytes: Int64, to progress: (Int64) -> Void) {
        let now = DispatchTime.now().uptimeNanoseconds
        if now - last > 100_000_000 {
            last = now
            progress(bytes)
        }
    }
}
