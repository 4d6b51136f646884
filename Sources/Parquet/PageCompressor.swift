internal import CZstd

/// Compresses page bodies with the file's codec; one per writer (libzstd's `ZSTD_CCtx` is
/// reused across pages and freed with the writer).
final class PageCompressor {
    let compression: ParquetCompression
    private let context: OpaquePointer?

    init(_ compression: ParquetCompression) throws {
        self.compression = compression
        if case .zstd = compression {
            guard let cctx = ZSTD_createCCtx() else { throw ParquetError("libzstd could not allocate a context") }
            context = cctx
        } else {
            context = nil
        }
    }

    deinit { if let context { ZSTD_freeCCtx(context) } }

    /// The compressed form of `body` (`body` itself when uncompressed). Calls `ZSTD_compressCCtx`.
    func compress(_ body: [UInt8]) throws -> [UInt8] {
        guard case .zstd(let level) = compression, let context else { return body }
        let bound = ZSTD_compressBound(body.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            body.withUnsafeBytes { src in
                ZSTD_compressCCtx(context, dst.baseAddress, bound, src.baseAddress, body.count, level)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw ParquetError("zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        out.removeSubrange(written...)
        return out
    }
}
