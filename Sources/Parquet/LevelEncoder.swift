/// The RLE / bit-packing hybrid encoding of Parquet's definition and repetition levels
/// (Encodings.md, "Run Length Encoding / Bit-Packing Hybrid").
///
/// A run of at least eight equal levels becomes an RLE run (`count << 1` then the value in
/// `ceil(bitWidth / 8)` bytes); anything else is bit-packed in groups of eight values, least
/// significant bit first (`groups << 1 | 1`, then `bitWidth` bytes per group). Only the last
/// group of the whole stream is padded: readers stop at the page's value count.
enum LevelEncoder {
    /// Bits needed to store levels up to `maxLevel`.
    static func bitWidth(_ maxLevel: Int) -> Int {
        maxLevel == 0 ? 0 : Int.bitWidth - maxLevel.leadingZeroBitCount
    }

    /// Longest bit-packed run: 63 groups of eight values, as other writers emit.
    static let maxGroupsPerRun = 63

    /// The hybrid encoding of `levels` (without the 4-byte length prefix of a data page).
    static func encode(_ levels: [UInt16], bitWidth: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(levels.count / 4 + 8)
        let n = levels.count
        var i = 0
        while i < n {
            let run = runLength(levels, from: i)
            if run >= 8 {
                appendRLE(&out, value: levels[i], count: run, bitWidth: bitWidth)
                i += run
                continue
            }
            // Bit-pack groups of eight until a long run starts at a group boundary (or the end).
            var end = i
            var groups = 0
            repeat {
                end = min(end + 8, n)
                groups += 1
            } while end < n && groups < maxGroupsPerRun && runLength(levels, from: end) < 8
            appendBitPacked(&out, levels[i..<end], groups: groups, bitWidth: bitWidth)
            i = end
        }
        return out
    }

    private static func runLength(_ levels: [UInt16], from start: Int) -> Int {
        let v = levels[start]
        var j = start + 1
        while j < levels.count && levels[j] == v { j += 1 }
        return j - start
    }

    private static func appendRLE(_ out: inout [UInt8], value: UInt16, count: Int, bitWidth: Int) {
        varint(&out, UInt64(count) << 1)
        let width = (bitWidth + 7) / 8
        for b in 0..<width { out.append(UInt8(truncatingIfNeeded: Int(value) >> (8 * b))) }
    }

    private static func appendBitPacked(
        _ out: inout [UInt8], _ values: ArraySlice<UInt16>, groups: Int, bitWidth: Int
    ) {
        varint(&out, UInt64(groups) << 1 | 1)
        var accumulator: UInt64 = 0
        var bits = 0
        var written = 0
        for v in values {
            accumulator |= UInt64(v) << UInt64(bits)
            bits += bitWidth
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                bits -= 8
                written += 1
            }
        }
        if bits > 0 {
            out.append(UInt8(truncatingIfNeeded: accumulator))
            written += 1
        }
        // Padding of the last group: zero values.
        while written < groups * bitWidth {
            out.append(0)
            written += 1
        }
    }

    static func varint(_ out: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}
