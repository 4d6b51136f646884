import Foundation
import Git
import TestSupport
import Testing

/// The attributes rule, checked against the real `git check-attr`.
@Suite("LFS attributes", .offPool, .offPool)
struct LFSAttributesTests {
    static let awkward = [
        "tilejson.json", "LC09_L2SP_042034_20231005_20231006_02_T1_MTL.json", "name with space.json",
        "odd#name [1].json", "star*name.json", "q?.json", "back\\slash.json", "!bang.json", "#hash.json",
        "café ñ 東京.json", "tab\there.json",
    ]

    @Test("only JSON names need their own line; the attributes files never are LFS")
    func rule() {
        #expect(LFSAttributes.needsOwnLine("tilejson.json"))
        #expect(!LFSAttributes.needsOwnLine("a.tif"))
        #expect(!LFSAttributes.needsOwnLine("a.JSON"), "git matches case-sensitively: *.json misses it, * takes it")
        #expect(!LFSAttributes.isLFS(path: "c/i/.gitattributes") { _ in [] })
        #expect(LFSAttributes.isLFS(path: "c/i/a.tif") { _ in [] })
        #expect(!LFSAttributes.isLFS(path: "c/i/i.json") { _ in ["tilejson.json"] })
        #expect(LFSAttributes.isLFS(path: "c/i/tilejson.json") { $0 == "c/i" ? ["tilejson.json"] : [] })
        #expect(LFSAttributes.isLFS(path: "top.json") { $0 == "" ? ["top.json"] : [] })
    }

    @Test("patterns read back as the names they were written for", arguments: awkward)
    func roundTrip(name: String) {
        let listed = LFSAttributes.listedNames(in: LFSAttributes.directoryFile(names: [name]))
        // White space other than a space comes back as a space ([[:space:]] matches both).
        #expect(listed == [name.replacingOccurrences(of: "\t", with: " ")])
    }

    @Test("git check-attr marks exactly the listed names as LFS, in that directory only")
    func gitAgrees() async throws {
        let scratch = try Scratch()
        let url = scratch.path("r")
        _ = try GitRepository.create(at: url, bare: false)
        try writeFile(LFSAttributes.rootFile, to: ".gitattributes", under: url)
        try writeFile(LFSAttributes.directoryFile(names: Self.awkward), to: "c/i/.gitattributes", under: url)
        let others = ["c/i/i.json", "c/i/name-with-space.json", "c/i/starXname.json", "c/i/qx.json", "c/i/o.json"]
        let deeper = ["c/i/sub/tilejson.json", "c/tilejson.json"]
        let paths = Self.awkward.map { "c/i/" + $0 } + others + deeper
        let output = try await scratch.git(["check-attr", "-z", "filter", "--"] + paths, in: url).stdout
        // -z: path NUL attribute NUL value NUL
        let fields = output.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        var values: [String: String] = [:]
        var index = 0
        while index + 2 < fields.count {
            values[fields[index]] = fields[index + 2]
            index += 3
        }
        for name in Self.awkward { #expect(values["c/i/" + name] == "lfs", "\(name): \(values["c/i/" + name] ?? "-")") }
        for path in others + deeper { #expect(values[path] == "unspecified", "\(path): \(values[path] ?? "-")") }
    }
}
