import Foundation

/// A minimal TIFF/BigTIFF writer for test fixtures: uncompressed pixels in one strip or in
/// tiles, optional overview directories, and the GeoTIFF tags the processor reads.
struct TestTIFF: Sendable {
    enum Layout: Sendable {
        case strips
        case tiles(size: Int)
    }

    var width = 4
    var height = 4
    var littleEndian = true
    var bigTIFF = false
    var layout = Layout.strips
    var bitsPerSample = 8
    /// 1 unsigned integer, 2 signed integer, 3 IEEE float.
    var sampleFormat = 1
    var samplesPerPixel = 1
    /// Reduced-resolution directories chained after the main image (NewSubfileType = 1).
    var overviews = 0
    /// A mask directory after the overviews (NewSubfileType = 4), which is not an overview.
    var mask = false
    var pixelScale: [Double]?
    var tiepoint: [Double]?
    var transformation: [Double]?
    /// The GeoKeyDirectory as written (see ``geoKeys(model:raster:geographic:projected:)``).
    var geoKeyDirectory: [UInt16]?
    var noData: String?
    var dateTime: String?

    /// A GeoKeyDirectory: model type (1 projected, 2 geographic), raster type (1 area, 2 point),
    /// and the EPSG codes.
    static func geoKeys(model: UInt16, raster: UInt16 = 1, geographic: UInt16? = nil, projected: UInt16? = nil)
        -> [UInt16]
    {
        var keys: [(UInt16, UInt16)] = [(1024, model), (1025, raster)]
        if let geographic { keys.append((2048, geographic)) }
        if let projected { keys.append((3072, projected)) }
        return [1, 1, 0, UInt16(keys.count)] + keys.flatMap { [$0.0, 0, 1, $0.1] }
    }

    /// A north-up grid: the upper-left corner at (x, y), square pixels of `size` model units.
    mutating func grid(x: Double, y: Double, size: Double) {
        tiepoint = [0, 0, 0, x, y, 0]
        pixelScale = [size, size, 0]
    }

    func write(to url: URL) throws {
        try Data(bytes()).write(to: url)
    }

    // MARK: Encoding

    private enum Value {
        case shorts([UInt16])
        case longs([UInt64])  // LONG in classic TIFF, LONG8 in BigTIFF
        case doubles([Double])
        case ascii(String)
    }

    private struct Image {
        var width: Int
        var height: Int
        var subfileType: Int?
        var geo: Bool
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        if littleEndian { out += [0x49, 0x49] } else { out += [0x4D, 0x4D] }
        if bigTIFF {
            out += encode(43, size: 2) + encode(8, size: 2) + encode(0, size: 2) + encode(0, size: 8)
        } else {
            out += encode(42, size: 2) + encode(0, size: 4)
        }
        var pointerToPatch = bigTIFF ? 8 : 4

        var images = [Image(width: width, height: height, subfileType: nil, geo: true)]
        var (w, h) = (width, height)
        for _ in 0..<overviews {
            (w, h) = (max(1, (w + 1) / 2), max(1, (h + 1) / 2))
            images.append(Image(width: w, height: h, subfileType: 1, geo: false))
        }
        if mask { images.append(Image(width: width, height: height, subfileType: 4, geo: false)) }

        // Pixel data first, then the directories, each followed by its out-of-line values.
        var blocks: [[(offset: UInt64, count: UInt64)]] = []
        for image in images {
            var list: [(UInt64, UInt64)] = []
            for blockBytes in blockSizes(of: image) {
                list.append((UInt64(out.count), UInt64(blockBytes)))
                out += (0..<blockBytes).map { UInt8(truncatingIfNeeded: $0 % 251) }
            }
            blocks.append(list)
        }
        for (image, imageBlocks) in zip(images, blocks) {
            if out.count % 2 == 1 { out.append(0) }
            patch(&out, at: pointerToPatch, value: UInt64(out.count), size: bigTIFF ? 8 : 4)
            pointerToPatch = writeDirectory(entries(for: image, blocks: imageBlocks), into: &out)
        }
        return out
    }

    private func blockSizes(of image: Image) -> [Int] {
        let pixelBytes = samplesPerPixel * bitsPerSample / 8
        switch layout {
        case .strips:
            return [image.width * image.height * pixelBytes]
        case .tiles(let size):
            let across = (image.width + size - 1) / size, down = (image.height + size - 1) / size
            return Array(repeating: size * size * pixelBytes, count: across * down)
        }
    }

    private func entries(for image: Image, blocks: [(offset: UInt64, count: UInt64)]) -> [(UInt16, Value)] {
        var entries: [(UInt16, Value)] = []
        if let subfileType = image.subfileType { entries.append((254, .longs([UInt64(subfileType)]))) }
        entries += [
            (256, .longs([UInt64(image.width)])),
            (257, .longs([UInt64(image.height)])),
            (258, .shorts(Array(repeating: UInt16(bitsPerSample), count: samplesPerPixel))),
            (259, .shorts([1])),
            (262, .shorts([samplesPerPixel >= 3 ? 2 : 1])),
            (277, .shorts([UInt16(samplesPerPixel)])),
            (284, .shorts([1])),
            (339, .shorts(Array(repeating: UInt16(sampleFormat), count: samplesPerPixel))),
        ]
        switch layout {
        case .strips:
            entries += [
                (273, .longs(blocks.map(\.offset))), (278, .longs([UInt64(image.height)])),
                (279, .longs(blocks.map(\.count))),
            ]
        case .tiles(let size):
            entries += [
                (322, .longs([UInt64(size)])), (323, .longs([UInt64(size)])),
                (324, .longs(blocks.map(\.offset))), (325, .longs(blocks.map(\.count))),
            ]
        }
        if image.geo {
            if let dateTime { entries.append((306, .ascii(dateTime))) }
            if let pixelScale { entries.append((33550, .doubles(pixelScale))) }
            if let tiepoint { entries.append((33922, .doubles(tiepoint))) }
            if let transformation { entries.append((34264, .doubles(transformation))) }
            if let geoKeyDirectory { entries.append((34735, .shorts(geoKeyDirectory))) }
            if let noData { entries.append((42113, .ascii(noData))) }
        }
        return entries.sorted { $0.0 < $1.0 }
    }

    /// Appends a directory and its values; returns the position of its next-directory pointer.
    private func writeDirectory(_ entries: [(UInt16, Value)], into out: inout [UInt8]) -> Int {
        let countSize = bigTIFF ? 8 : 2, entrySize = bigTIFF ? 20 : 12, pointerSize = bigTIFF ? 8 : 4
        let start = out.count
        var external = start + countSize + entries.count * entrySize + pointerSize
        var tail: [UInt8] = []
        out += encode(UInt64(entries.count), size: countSize)
        for (tag, value) in entries {
            let (type, count, data) = encoded(value)
            out +=
                encode(UInt64(tag), size: 2) + encode(UInt64(type), size: 2) + encode(UInt64(count), size: pointerSize)
            if data.count <= pointerSize {
                out += data + Array(repeating: 0, count: pointerSize - data.count)
            } else {
                out += encode(UInt64(external), size: pointerSize)
                tail += data
                if tail.count % 2 == 1 { tail.append(0) }
                external = start + countSize + entries.count * entrySize + pointerSize + tail.count
            }
        }
        let pointer = out.count
        out += encode(0, size: pointerSize)
        out += tail
        return pointer
    }

    private func encoded(_ value: Value) -> (type: Int, count: Int, data: [UInt8]) {
        switch value {
        case .shorts(let values):
            return (3, values.count, values.flatMap { encode(UInt64($0), size: 2) })
        case .longs(let values):
            return (bigTIFF ? 16 : 4, values.count, values.flatMap { encode($0, size: bigTIFF ? 8 : 4) })
        case .doubles(let values):
            return (12, values.count, values.flatMap { encode($0.bitPattern, size: 8) })
        case .ascii(let text):
            let bytes = Array(text.utf8) + [0]
            return (2, bytes.count, bytes)
        }
    }

    private func encode(_ value: UInt64, size: Int) -> [UInt8] {
        let littleEndianBytes = (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        return littleEndian ? littleEndianBytes : littleEndianBytes.reversed()
    }

    private func patch(_ out: inout [UInt8], at position: Int, value: UInt64, size: Int) {
        out.replaceSubrange(position..<position + size, with: encode(value, size: size))
    }
}
