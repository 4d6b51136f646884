import Foundation
import TestSupport
import Testing

@testable import StacRepository

/// The stat cache is kept in 256 shards: a command reads and writes only the shards it uses.
@Suite("Asset stat cache shards", .offPool)
struct AssetStatCacheTests {
    @Test("entries survive a save in their own shard; a lookup reads one shard; the old single file is replaced")
    func shards() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("stat-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let state = root.appendingPathComponent("state")
        let files = root.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        // An earlier version's single cache file, with an entry that must not be trusted any more.
        try FileManager.default.createDirectory(
            at: state.appendingPathComponent("cache"), withIntermediateDirectories: true)
        try Data((AssetStatCache.header + "\n").utf8).write(to: state.appendingPathComponent("cache/asset-stat"))
        var paths: [String] = []
        for n in 0..<40 {
            let url = files.appendingPathComponent("asset-\(n).tif")
            try Data("bytes \(n)".utf8).write(to: url)
            paths.append(url.path)
        }
        // Files changed within 2 s of being hashed are not remembered (racily clean).
        Thread.sleep(forTimeInterval: 2.2)
        let cache = AssetStatCache(stateDirectory: state)
        for path in paths { _ = try cache.hash(path) }
        cache.save()
        let directory = state.appendingPathComponent("cache/asset-stat")
        var isDirectory: ObjCBool = false
        #expect(
            FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) && isDirectory.boolValue)
        let shardFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let expected = Set(paths.map { String(format: "%02x", AssetStatCache.shard(of: $0)) })
        #expect(Set(shardFiles) == expected)
        #expect(expected.count > 20, "40 paths in \(expected.count) shards")

        let again = AssetStatCache(stateDirectory: state)
        let first = try #require(again.trusted(paths[0]))
        #expect(first.sha256 == sha256OfBytes(Array("bytes 0".utf8)))
        #expect(first.size == 7)
        // A changed file is not trusted; the others still are.
        try Data("other 1".utf8).write(to: URL(fileURLWithPath: paths[1]))
        #expect(again.trusted(paths[1]) == nil)
        #expect(again.trusted(paths[2])?.sha256 == sha256OfBytes(Array("bytes 2".utf8)))
        #expect(AssetStatCache.shard(of: paths[0]) == AssetStatCache.shard(of: paths[0]))
    }
}
