#if canImport(Glibc)
    import Glibc
#endif

/// glibc's malloc keeps the pages of freed blocks in each thread's arena; a long run that
/// allocates a batch, frees it and allocates the next (a streamed ingest) would hold the high
/// water mark of every arena. Between batches, this hands the free pages back to the kernel
/// (`malloc_trim`, found at run time: it is glibc's, and `<malloc.h>` is not in Swift's Glibc module).
enum FreedMemory {
    #if canImport(Glibc)
        private typealias Trim = @convention(c) (Int) -> Int32
        private static let trim: Trim? = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: Trim.self)
        }()
    #endif

    static func release() {
        #if canImport(Glibc)
            _ = trim?(0)
        #endif
    }
}
