import Foundation

/// Standard input read a number of lines at a time, for `ingest - --batch-size N`: a stream of
/// newline-delimited items is ingested while it is read, holding one chunk of documents in
/// memory instead of the whole input (issue 11, "Streaming").
///
/// Reads block, so callers run them on a dedicated thread (``DedicatedThread``).
final class StandardInputChunks: @unchecked Sendable {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// The line number (from 1) of the first line the next chunk holds.
    private(set) var nextLine = 1

    init(descriptor: Int32 = 0) {
        self.descriptor = descriptor
    }

    /// Up to `lines` complete lines (with their newlines; the last line of the input may lack
    /// one) and the number of the first, or nil once the input is exhausted.
    ///
    /// - Throws: ``StacRepositoryError`` when standard input cannot be read.
    func next(lines: Int) throws -> (data: Data, firstLine: Int)? {
        var found = 0
        var cursor = start
        while true {
            while found < lines, let newline = buffer[cursor...].firstIndex(of: 0x0A) {
                found += 1
                cursor = newline + 1
            }
            if found == lines || atEnd { break }
            try fill()
        }
        if atEnd, found < lines { cursor = buffer.count }
        guard cursor > start else { return nil }
        let chunk = Data(buffer[start..<cursor])
        let first = nextLine
        nextLine += chunk.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        start = cursor
        if start > 1 << 22 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        return (chunk, first)
    }

    /// Everything not read yet.
    func rest() throws -> Data {
        while !atEnd { try fill() }
        let data = Data(buffer[start...])
        start = buffer.count
        return data
    }

    private func fill() throws {
        var block = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = block.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                let reason = String(cString: strerror(errno))
                throw StacRepositoryError(
                    .invalidInput, "Could not read standard input: \(reason); pass the items as a file.")
            }
            if count == 0 { atEnd = true } else { buffer.append(contentsOf: block[0..<count]) }
            return
        }
    }
}
