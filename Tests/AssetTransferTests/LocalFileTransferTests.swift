import Crypto
import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

@Suite("Local file sources", .offPool)
struct LocalFileTransferTests {
    @Test func copiesBytesIntoATemporaryFileAndHashesThem() async throws {
        let source = try TemporaryDirectory()
        let destination = try TemporaryDirectory()
        // Larger than the 4 MiB read buffer, not a multiple of it.
        let data = testBytes(9 << 20 + 12345)
        let file = try source.write(data, to: "scene.tif")
        let engine = AssetTransferEngine(configuration: testConfiguration())
        let events = Locked<[String]>([])

        let results = await engine.fetch(
            [
                AssetRequest(
                    name: #"asset "visual" of item "a""#, source: file.path,
                    expectedChecksum: Multihash.sha256(sha256Hex(data)), expectedSize: Int64(data.count))
            ], into: destination.url,
            events: { event in
                events.withLock {
                    switch event {
                    case .started(_, let expected): $0.append("started \(expected ?? -1)")
                    case .finished: $0.append("finished")
                    case .failed: $0.append("failed")
                    case .progress, .retrying: break
                    }
                }
            })

        let asset = try #require(results.first?.value())
        #expect(asset.sha256 == sha256Hex(data))
        #expect(asset.size == Int64(data.count))
        #expect(asset.multihash == "1220" + sha256Hex(data))
        let copy = try #require(asset.file)
        #expect(copy.deletingLastPathComponent().path == destination.url.path)
        #expect(try sha256Hex(ofFile: copy) == sha256Hex(data))
        #expect(events.current == ["started \(data.count)", "finished"])
    }

    @Test func acceptsFileURLsWithPercentEscapes() async throws {
        let source = try TemporaryDirectory()
        let data = testBytes(1000)
        let file = try source.write(data, to: "with space.json")
        let engine = AssetTransferEngine(configuration: testConfiguration())
        let url = "file://" + file.path.replacingOccurrences(of: " ", with: "%20")

        let document = try await engine.readDocument(url)
        #expect(document == data)
    }

    @Test func missingFileIsNotFoundAndNamesThePath() async throws {
        let destination = try TemporaryDirectory()
        let engine = AssetTransferEngine(configuration: testConfiguration())
        let missing = destination.url.appendingPathComponent("nope/missing.tif").path

        let results = await engine.fetch(
            [AssetRequest(name: #"asset "data" of item "b""#, source: missing)], into: destination.url)

        let error = try #require(results.first?.error())
        #expect(error.kind == .notFound)
        #expect(error.message.contains(missing))
        #expect(error.message.contains(#"asset "data" of item "b""#))
        #expect(error.message.hasSuffix("check the href or use --on-asset-error reference."))
        #expect(try destination.contents().isEmpty, "no temporary file may be left behind")
    }

    @Test(arguments: [Multihash.Algorithm.sha2_512, .sha1, .md5])
    func verifiesDeclaredChecksumsOfOtherAlgorithms(_ algorithm: Multihash.Algorithm) async throws {
        let directory = try TemporaryDirectory()
        let data = testBytes(3 << 20 + 7)
        let file = try directory.write(data, to: "asset.bin")
        let digest: String =
            switch algorithm {
            case .sha2_512: SHA512.hash(data: data).map { String(format: "%02x", $0) }.joined()
            case .sha1: Insecure.SHA1.hash(data: data).map { String(format: "%02x", $0) }.joined()
            case .md5: Insecure.MD5.hash(data: data).map { String(format: "%02x", $0) }.joined()
            case .sha2_256: sha256Hex(data)
            }
        let good = Multihash.encode(algorithm, digestHex: digest)
        // Flip the last hex digit for a wrong declaration of the same algorithm.
        let wrongDigit: Character = digest.last == "0" ? "1" : "0"
        let bad = Multihash.encode(algorithm, digestHex: String(digest.dropLast()) + String(wrongDigit))
        let engine = AssetTransferEngine(configuration: testConfiguration())

        let results = await engine.measure([
            AssetRequest(name: "good", source: file.path, expectedChecksum: good),
            AssetRequest(name: "bad", source: file.path, expectedChecksum: bad),
        ])

        let measured = try #require(results[0].value())
        #expect(measured.sha256 == sha256Hex(data))
        #expect(measured.file == nil)
        let error = try #require(results[1].error())
        guard case .checksumMismatch(let expected, let actual) = error.kind else {
            Issue.record("expected a checksum mismatch, got \(error.kind)")
            return
        }
        #expect(expected == bad)
        #expect(actual == good)
        #expect(error.message.contains(algorithm.rawValue))
        #expect(error.message.contains(digest), "the message names the actual digest")
    }

    @Test func md5InTheShortFormIsVerifiedToo() async throws {
        let directory = try TemporaryDirectory()
        let data = Data("hello\n".utf8)
        let file = try directory.write(data, to: "hello.txt")
        let engine = AssetTransferEngine(configuration: testConfiguration())
        // md5("hello\n") = b1946ac92492d2347c6235b4d2611184
        let results = await engine.measure([
            AssetRequest(name: "short", source: file.path, expectedChecksum: "d510b1946ac92492d2347c6235b4d2611184"),
            AssetRequest(name: "varint", source: file.path, expectedChecksum: "d50110b1946ac92492d2347c6235b4d2611184"),
        ])
        #expect(results[0].value()?.size == 6)
        #expect(results[1].value()?.size == 6)
    }

    @Test func wrongSizeFailsAndRemovesTheTemporaryFile() async throws {
        let source = try TemporaryDirectory()
        let destination = try TemporaryDirectory()
        let file = try source.write(testBytes(5000), to: "a.bin")
        let engine = AssetTransferEngine(configuration: testConfiguration())

        let results = await engine.fetch(
            [AssetRequest(name: "a", source: file.path, expectedSize: 4999)], into: destination.url)

        let error = try #require(results.first?.error())
        #expect(error.kind == .sizeMismatch(expected: 4999, actual: 5000))
        #expect(error.message.contains("expected 4999 bytes but got 5000 bytes"))
        #expect(try destination.contents().isEmpty)
    }

    @Test func malformedChecksumIsRejectedBeforeReading() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(Data("x".utf8), to: "x")
        let engine = AssetTransferEngine(configuration: testConfiguration())
        let results = await engine.measure([AssetRequest(name: "x", source: file.path, expectedChecksum: "not-hex")])
        #expect(results.first?.error()?.kind == .invalidChecksum)
    }

    @Test func relativeSourcesAreRejected() async throws {
        let engine = AssetTransferEngine(configuration: testConfiguration())
        let results = await engine.measure([AssetRequest(name: "rel", source: "./relative.tif")])
        let error = try #require(results.first?.error())
        #expect(error.kind == .invalidSource)
        #expect(error.message.contains("./relative.tif"))
    }

    @Test func documentsLargerThanTheLimitAreRefused() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write(testBytes(2000), to: "big.json")
        let engine = AssetTransferEngine(configuration: testConfiguration())
        await #expect(throws: TransferError.self) {
            _ = try await engine.readDocument(file.path, limit: 1000)
        }
        do {
            _ = try await engine.readDocument(file.path, limit: 1000)
        } catch {
            #expect(error.kind == .tooLarge(limit: 1000))
        }
    }
}
