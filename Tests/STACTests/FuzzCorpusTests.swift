import Foundation
import STAC
import TestSupport
import Testing

/// Replays the committed fuzz corpus (Tests/Fixtures/fuzz-corpus, see docs/fuzzing.md): every
/// input gives a value or a typed error, never a crash, and the invariants the fuzz targets check
/// hold.
@Suite(.offPool) struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz-corpus")

    static func inputs(_ target: String) -> [URL] {
        let dir = corpus.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    @Test func corpusIsPresent() {
        for target in ["json", "stac", "href", "tiff"] {
            #expect(!Self.inputs(target).isEmpty, "no \(target) inputs in \(Self.corpus.path)")
        }
    }

    @Test func jsonInputsParseOrFailWithATypedError() throws {
        for url in Self.inputs("json") {
            let bytes = Array(try Data(contentsOf: url))
            do {
                let value = try JSONValue.parse(bytes: bytes)
                let again = try JSONValue.parse(bytes: value.serialized())
                #expect(again == value, "\(url.lastPathComponent): the round trip changed the value")
            } catch {
                #expect(!error.description.isEmpty, "\(url.lastPathComponent)")
            }
        }
    }

    @Test func stacInputsGiveObjectsWithSafeNamesOrTypedErrors() throws {
        for url in Self.inputs("stac") {
            let data = try Data(contentsOf: url)
            let document: STACDocument
            do {
                document = try STACDocument.parse(data, source: url.lastPathComponent)
            } catch let error as JSONParseError {
                #expect(!error.description.isEmpty)
                continue
            } catch let error as STACError {
                #expect(!error.description.isEmpty)
                continue
            }
            let objects: [STACObject]
            switch document {
            case .object(let o): objects = [o]
            case .itemCollection(let items): objects = items
            }
            for object in objects {
                #expect(ReservedNames.reasonIDIsReserved(object.id) == nil)
                var used = ReservedNames.namesTaken(byItem: object.id)
                for (key, asset) in object.assets {
                    let name = ReservedNames.assetFileName(asset.href, key: key, itemID: object.id, used: &used)
                    #expect(!name.isEmpty && !name.hasPrefix(".") && !name.contains("/"), "\(name)")
                    #expect(ReservedNames.reasonFileNameIsReserved(name, itemID: object.id) == nil, "\(name)")
                }
            }
        }
    }

    @Test func hrefInputsResolveWithoutUserinfoLeaks() throws {
        for url in Self.inputs("href") {
            let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            let href = String(parts[0])
            let base = parts.count > 1 ? String(parts[1]) : "/data/catalog.json"
            let resolved = Href.resolve(href, against: base)
            let stripped = Href.withoutUserinfo(resolved)
            #expect(Href.userinfo(of: stripped) == nil, "\(url.lastPathComponent)")
            #expect(Href.withoutUserinfo(stripped) == stripped)
            let slash = UInt8(ascii: "/")
            if case .file = Href.scheme(of: href), base.utf8.first == slash, !href.utf8.starts(with: [slash, slash]) {
                #expect(resolved.utf8.first == slash, "\(url.lastPathComponent): resolved to a relative path")
                #expect(!Array(resolved.utf8).split(separator: slash).contains { $0.elementsEqual("..".utf8) })
            }
            _ = Href.relative(from: href, to: base)
        }
    }
}
