import Foundation

/// Random access to the bytes of a TIFF file, bounds-checked against the file's size.
///
/// Only the bytes asked for are read (`FileHandle` seeks), so a multi-gigabyte GeoTIFF costs a few
/// kilobytes of I/O to inspect.
final class TIFFByteSource {
    /// The file being read, for error messages.
    let url: URL
    /// The file's size in bytes.
    let size: UInt64
    private let handle: FileHandle

    /// Opens `url` for reading.
    ///
    /// - Throws: ``TIFFError`` when the file cannot be opened or its size cannot be read.
    init(url: URL) throws(TIFFError) {
        self.url = url
        do {
            handle = try FileHandle(forReadingFrom: url)
            size = try handle.seekToEnd()
        } catch {
            throw TIFFError("cannot be opened for reading (\(error.localizedDescription))")
        }
    }

    deinit {
        try? handle.close()
    }

    /// Reads exactly `count` bytes at `offset`.
    ///
    /// - Throws: ``TIFFError`` when the range lies (partly) past the end of the file.
    func read(at offset: UInt64, count: Int, what: @autoclosure () -> String) throws(TIFFError) -> [UInt8] {
        guard count >= 0 else { throw TIFFError("has a negative length for \(what())") }
        if count == 0 { return [] }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else {
            throw TIFFError(
                "is truncated or corrupt: \(what()) at byte \(offset) (\(count) bytes) lies past the end of the file (\(size) bytes)"
            )
        }
        do {
            try handle.seek(toOffset: offset)
            let data = try handle.read(upToCount: count) ?? Data()
            guard data.count == count else {
                throw TIFFError("is truncated: read \(data.count) of \(count) bytes of \(what()) at byte \(offset)")
            }
            return [UInt8](data)
        } catch let error as TIFFError {
            throw error
        } catch {
            throw TIFFError("could not be read at byte \(offset) (\(error.localizedDescription))")
        }
    }
}

/// A problem with a TIFF file's structure; the processor prefixes it with the file's path.
struct TIFFError: Error, Equatable, CustomStringConvertible {
    /// The second half of a sentence whose subject is the file ("is truncated ...").
    var reason: String

    init(_ reason: String) { self.reason = reason }

    var description: String { reason }
}
