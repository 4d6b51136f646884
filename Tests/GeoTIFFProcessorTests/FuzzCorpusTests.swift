import Foundation
import TestSupport
import Testing

@testable import GeoTIFFProcessor

/// Replays the committed TIFF fuzz corpus (Tests/Fixtures/fuzz-corpus/tiff, docs/fuzzing.md):
/// every input gives a header or a ``TIFFError``, never a crash.
@Suite(.offPool) struct TIFFFuzzCorpusTests {
    @Test func everyInputGivesAHeaderOrATypedError() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz-corpus/tiff")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(!names.isEmpty)
        var parsed = 0
        for name in names {
            do throws(TIFFError) {
                _ = try GeoTIFFHeader(reading: dir.appendingPathComponent(name))
                parsed += 1
            } catch {
                #expect(!error.reason.isEmpty, "\(name)")
            }
        }
        #expect(parsed >= 1, "the seed GeoTIFFs parse")
    }
}
