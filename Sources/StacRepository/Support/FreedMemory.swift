#if canImport(Glibc)
    import Glibc
#endif

/// glibc's malloc keeps the pages of freed blocks in each thread's arena; a long run that
/// allocates a batch, frees it and allocates the next (a streamed ingest) would hold the high
/// water mark of every arena. Between batches, this hands the free pages back to the kernel
/// (`malloc_trim`, found at run time: it is glibc's, and `<malloc.h>` is not in Swift's Glibc module).
public enum FreedMemory {
    #if canImport(Glibc)
        private typealias Trim = @convention(c) (Int) -> Int32
        private static let trim: Trim? = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: Trim.self)
        }()
        private typealias Option = @convention(c) (Int32, Int32) -> Int32
        private static let option: Option? = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return nil }
            return unsafeBitCast(symbol, to: Option.self)
        }()
        /// `M_ARENA_MAX` of `<malloc.h>`.
        private static let arenaMax: Int32 = -8
    #endif

    static func release() {
        #if canImport(Glibc)
            _ = trim?(0)
        #endif
    }

    /// Called once at the start of the command-line tool, before it starts threads: every
    /// thread allocates from one malloc arena. glibc gives each new thread an arena of its own
    /// (up to 8 per core), and the commit threads and transfer workers of a long ingest each
    /// kept the high-water mark of theirs: a 300,000-item streamed ingest peaked at 469 MB with
    /// them and at 366 MB with one, and ran 5 % faster (docs/benchmarks.md, "One malloc arena").
    /// `MALLOC_ARENA_MAX` in the environment still decides when it is set.
    public static func useOneArena() {
        #if canImport(Glibc)
            guard getenv("MALLOC_ARENA_MAX") == nil else { return }
            _ = option?(arenaMax, 1)
        #endif
    }
}
