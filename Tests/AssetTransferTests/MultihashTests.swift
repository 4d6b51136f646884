import TestSupport
import Testing

@testable import AssetTransfer

@Suite("Multihash and source redaction", .offPool)
struct MultihashTests {
    @Test func parsesTheFourSupportedAlgorithms() throws {
        let sha256 = "1220" + String(repeating: "ab", count: 32)
        #expect(Multihash.parse(sha256)?.algorithm == .sha2_256)
        #expect(Multihash.parse(sha256)?.digestHex == String(repeating: "ab", count: 32))
        #expect(Multihash.parse("1340" + String(repeating: "0", count: 128))?.algorithm == .sha2_512)
        #expect(Multihash.parse("1114" + String(repeating: "0", count: 40))?.algorithm == .sha1)
        #expect(Multihash.parse("d50110" + String(repeating: "0", count: 32))?.algorithm == .md5)
        #expect(Multihash.parse("d510" + String(repeating: "0", count: 32))?.algorithm == .md5)
        #expect(
            Multihash.parse("1220" + String(repeating: "AB", count: 32))?.digestHex
                == String(repeating: "ab", count: 32))
    }

    @Test func rejectsWrongLengthsAndUnknownAlgorithms() {
        #expect(Multihash.parse("1220abcd") == nil)
        #expect(Multihash.parse("zz") == nil)
        #expect(Multihash.parse("") == nil)
        // blake2b-256 (0xb220) is a well-formed multihash that cannot be verified.
        let blake = "a0e40220" + String(repeating: "0", count: 64)
        #expect(Multihash.parse(blake) == nil)
        #expect(Multihash.isWellFormed(blake))
    }

    @Test func encodesAsItParses() {
        for algorithm in Multihash.Algorithm.allCases {
            let digest = String(repeating: "5", count: algorithm.digestLength * 2)
            let encoded = Multihash.encode(algorithm, digestHex: digest)
            #expect(Multihash.parse(encoded)?.algorithm == algorithm)
            #expect(Multihash.parse(encoded)?.digestHex == digest)
        }
        #expect(Multihash.sha256("AB") == "1220ab")
    }

    @Test func redactsUserInfoAndSignatures() {
        #expect(
            SourceRedaction.redact("https://user:pw@h.example/x.tif?X-Amz-Signature=abc&X-Amz-Credential=AK%2F&a=1#f")
                == "https://REDACTED@h.example/x.tif?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&a=1#f")
        #expect(
            SourceRedaction.redact("https://acct.blob.core.windows.net/c/b.tif?st=1&se=2&sp=r&sig=SECRET")
                == "https://acct.blob.core.windows.net/c/b.tif?st=1&se=2&sp=r&sig=REDACTED")
        #expect(SourceRedaction.redact("/data/a.tif") == "/data/a.tif")
        #expect(SourceRedaction.redact("s3://bucket/key.tif") == "s3://bucket/key.tif")
    }
}
