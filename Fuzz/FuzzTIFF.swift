// libFuzzer target: the TIFF/BigTIFF and GeoTIFF header reader (Processors/GeoTIFF/TIFF). The
// reader works on files, so each input is written to one scratch file first.
import Foundation

/// A scratch file in memory (/dev/shm) when there is one: a disk write per input is the bottleneck.
private let scratch: URL = {
    let base =
        FileManager.default.fileExists(atPath: "/dev/shm")
        ? URL(fileURLWithPath: "/dev/shm") : FileManager.default.temporaryDirectory
    let directory = base.appendingPathComponent("stac-repository-fuzz-tiff-\(getpid())")
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("input.tif")
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTIFF(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: count))
    guard (try? bytes.write(to: scratch)) != nil else { return 0 }
    do {
        _ = try GeoTIFFHeader(reading: scratch)
    } catch {
        _ = error.reason
    }
    return 0
}
