import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Documents as an attacker would write them (docs/security.md): reserved names, references that
/// leave the source, credentials sent where the document says. Every attack: exit 1, one sentence
/// naming the thing, a byte-identical repository and nothing written outside it.
@Suite("Security", .offPool, .offPool)
struct SecurityTests {
    static let backends = ["file", "git"]

    // MARK: Fixtures

    /// A STAC item with the given assets (key -> href).
    static func item(_ id: String, collection: String? = nil, assets: [(String, String)] = []) -> String {
        let assetText = assets.map { "\"\($0.0)\": {\"href\": \"\($0.1)\", \"roles\": [\"data\"]}" }
            .joined(separator: ", ")
        let collectionField = collection.map { "\"collection\": \"\($0)\", " } ?? ""
        return """
            {"type": "Feature", "stac_version": "1.1.0", "id": "\(id)", \(collectionField)"geometry": null,
             "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [], "assets": {\(assetText)}}
            """
    }

    static func collection(_ id: String, items: [String] = []) -> String {
        let links = items.map { "{\"rel\": \"item\", \"href\": \"\($0)\"}" }.joined(separator: ", ")
        return """
            {"type": "Collection", "stac_version": "1.1.0", "id": "\(id)", "description": "d", "license": "CC0-1.0",
             "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[null, null]]}},
             "links": [\(links)]}
            """
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// A repository with some content, so that "unchanged" means something.
    static func populated(_ backend: String, _ name: String) async throws -> Workspace {
        let ws = Workspace(name)
        try await ws.initRepo(backend: backend)
        let src = ws.temp.sub("seed")
        try makeCatalog(at: src, items: 1)
        try await ws.ok(["ingest", src.appendingPathComponent("catalog.json").path])
        return ws
    }

    /// Runs a command that must be refused: exit 1, one `error:` line naming `mentions`, repository
    /// unchanged, and the workspace outside the repository unchanged too.
    static func expectRefused(
        _ ws: Workspace, _ args: [String], mentions: [String], env: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let before = treeState(ws.repo)
        let outside = treeState(ws.temp.url).filter { !$0.key.hasPrefix("repo/") && !$0.key.hasSuffix(".log") }
        let r = try await ws.tool(args, env: env)
        #expect(r.status == 1, "\(args): exit \(r.status), \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "one sentence: \(r.stderr)", sourceLocation: sourceLocation)
        for m in mentions {
            #expect(r.stderr.contains(m), "the message should name \(m): \(r.stderr)", sourceLocation: sourceLocation)
        }
        #expect(treeState(ws.repo) == before, "the repository changed", sourceLocation: sourceLocation)
        let after = treeState(ws.temp.url).filter { !$0.key.hasPrefix("repo/") && !$0.key.hasSuffix(".log") }
        #expect(after == outside, "something was written outside the repository", sourceLocation: sourceLocation)
    }

    // MARK: Reserved names

    static let reservedIDs = [".stac-repository", ".git", ".GIT", ".gitattributes", ".Stac-Repository", "catalog.json"]

    @Test(
        "a reserved item or collection id is refused and changes nothing",
        arguments: backends.flatMap { b in reservedIDs.map { (b, $0) } })
    func reservedID(backend: String, id: String) async throws {
        let ws = try await Self.populated(backend, "resid")
        let dir = ws.temp.sub("bad")
        let itemFile = dir.appendingPathComponent("item.json")
        try Self.write(Self.item(id), to: itemFile)
        try await Self.expectRefused(ws, ["ingest", itemFile.path], mentions: ["\"\(id)\"", "reserved", "item"])
        let collectionFile = dir.appendingPathComponent("c/collection.json")
        try Self.write(Self.collection(id), to: collectionFile)
        try await Self.expectRefused(
            ws, ["ingest", collectionFile.path], mentions: ["\"\(id)\"", "reserved", "collection"])
    }

    @Test(
        "assets named like the tool's state, git's files or the item's own document are kept under safe names",
        arguments: backends)
    func reservedAssetNames(backend: String) async throws {
        let ws = try await Self.populated(backend, "resasset")
        let src = ws.temp.sub("src")
        let names = [".gitattributes", ".git", ".GIT", ".stac-repository", ".lfsconfig", "config.json", "log.ndjson"]
        for (i, name) in names.enumerated() {
            try Data("payload \(i)\n".utf8).write(
                to: { () -> URL in
                    try? FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
                    return src.appendingPathComponent(name)
                }())
        }
        try Self.write("own document impostor", to: src.appendingPathComponent("sub/victim.json"))
        var assets = names.enumerated().map { ("a\($0.offset)", "./\($0.element)") }
        assets.append(("own", "./sub/victim.json"))
        let itemFile = src.appendingPathComponent("victim-item.json")
        try Self.write(Self.item("victim", assets: assets), to: itemFile)
        let rootAttributes = FileManager.default.contents(atPath: ws.repo.appendingPathComponent(".gitattributes").path)
        let stateBefore = treeState(ws.repo).filter { $0.key.hasPrefix(".stac-repository/config") }

        try await ws.ok(["ingest", itemFile.path])
        let dir = ws.repo.appendingPathComponent("victim")
        let stored = Set((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
        for forbidden in [".git", ".GIT", ".stac-repository", ".lfsconfig"] {
            #expect(!stored.contains(forbidden), "\(forbidden) was written as is: \(stored)")
        }
        // On git the item folder may hold the tool's own attributes file (its JSON-named assets
        // are Git LFS objects, docs/format.md), never the asset's bytes.
        let attributes = dir.appendingPathComponent(".gitattributes")
        if backend == "git" && stored.contains(".gitattributes") {
            let text = String(decoding: FileManager.default.contents(atPath: attributes.path) ?? Data(), as: UTF8.self)
            #expect(!text.contains("payload"), "the asset named .gitattributes was written as the attributes file")
            #expect(text.contains("filter=lfs"), "\(text)")
        } else {
            #expect(!stored.contains(".gitattributes"), ".gitattributes was written as is: \(stored)")
        }
        #expect(stored.contains("_gitattributes") && stored.contains("_stac-repository"), "\(stored)")
        let item = try #require(readJSON(dir.appendingPathComponent("victim.json")))
        #expect(item["id"] as? String == "victim", "the item document is the item, not the impostor asset")
        let itemAssets = try #require(item["assets"] as? [String: [String: Any]])
        #expect(itemAssets.count == names.count + 1)
        for (key, asset) in itemAssets {
            let href = try #require(asset["href"] as? String)
            let file = dir.appendingPathComponent(String(href.dropFirst(2)))
            #expect(FileManager.default.fileExists(atPath: file.path), "\(key): \(href) is not stored")
        }
        #expect(
            Set(itemAssets.values.compactMap { $0["href"] as? String }).count == itemAssets.count,
            "every asset has its own file")
        // The tool's state is untouched: the backend stays what it was and keeps recording history.
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent(".gitattributes").path)
                == rootAttributes)
        #expect(treeState(ws.repo).filter { $0.key.hasPrefix(".stac-repository/config") } == stateBefore)
        if backend == "git" {
            #expect(!FileManager.default.fileExists(atPath: ws.repo.appendingPathComponent(".stac-repository").path))
        }
        let next = ws.temp.sub("next")
        try makeCatalog(at: next, collection: "later", items: 1)
        try await ws.ok(["ingest", next.appendingPathComponent("catalog.json").path])
        let history = try await ws.ok(["history", "--json"])
        let entries = try #require(jsonObject(history.stdout) as? [[String: Any]])
        #expect(entries.map { $0["operation"] as? String } == ["ingest", "ingest", "ingest", "init"])
        if backend == "git" {
            let log = try await ws.git(["log", "--format=%s"])
            #expect(log.stdout.split(separator: "\n").count == 4, "\(log.stdout)")
        }
    }

    @Test("a collection asset and a later item of the same name never overwrite each other", arguments: backends)
    func collectionAssetVersusItem(backend: String) async throws {
        let ws = Workspace("member")
        try await ws.initRepo(backend: backend)
        let src = ws.temp.sub("src")
        try Self.write("collection asset\n", to: src.appendingPathComponent("c/item-x"))
        let collection = Self.collection("c").replacingOccurrences(
            of: "\"links\": []", with: "\"links\": [], \"assets\": {\"x\": {\"href\": \"./item-x\"}}")
        try Self.write(collection, to: src.appendingPathComponent("c/collection.json"))
        try await ws.ok(["ingest", src.appendingPathComponent("c/collection.json").path])
        let item = ws.temp.sub("item/item-x.json")
        try Self.write(Self.item("item-x", collection: "c"), to: item)
        try await Self.expectRefused(ws, ["ingest", item.path], mentions: ["\"item-x\""])
    }

    @Test("ids in NFC and NFD form are one product and one file", arguments: backends)
    func unicodeForms(backend: String) async throws {
        let ws = Workspace("nfc")
        try await ws.initRepo(backend: backend)
        let nfd = ws.temp.sub("nfd.json")
        let nfc = ws.temp.sub("nfc.json")
        try Self.write(Self.item("cafe\u{301}"), to: nfd)
        try Self.write(Self.item("caf\u{E9}").replacingOccurrences(of: "2024-01-01", with: "2024-02-02"), to: nfc)
        let first = try await ws.ok(["ingest", nfd.path])
        #expect(first.stdout.contains("1 added"), "\(first.stdout)")
        let second = try await ws.ok(["ingest", nfc.path])
        #expect(second.stdout.contains("1 updated"), "\(second.stdout)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: ws.repo.path).filter { $0.hasPrefix("caf") }
        #expect(entries.count == 1, "\(entries)")
        #expect(entries.first.map { Array($0.utf8) } == Array("caf\u{E9}".utf8))
    }

    // MARK: Source confinement, local

    /// A local catalog whose item references `href`; also a file outside the source folder.
    static func localAttack(_ ws: Workspace, href: String) throws -> URL {
        let src = ws.temp.sub("src")
        let outside = ws.temp.sub("outside")
        try Self.write("secret outside the source\n", to: outside.appendingPathComponent("secret.txt"))
        try Self.write(
            Self.item("attacker", collection: "c", assets: [("data", href)]),
            to: src.appendingPathComponent("c/attacker/attacker.json"))
        try Self.write(
            Self.collection("c", items: ["./attacker/attacker.json"]),
            to: src.appendingPathComponent("c/collection.json"))
        return src.appendingPathComponent("c/collection.json")
    }

    @Test(
        "a local catalog cannot make the tool read files outside its folder",
        arguments: backends.flatMap { b in
            [
                "file:///etc/passwd", "/etc/hostname", "../../../outside/secret.txt", "symlink", "symlinked-folder",
            ].map { (b, $0) }
        })
    func localOutside(backend: String, href: String) async throws {
        let ws = try await Self.populated(backend, "confine")
        var written = href
        if href == "symlink" { written = "./link.tif" }
        if href == "symlinked-folder" { written = "./folder/secret.txt" }
        let source = try Self.localAttack(ws, href: written)
        if href == "symlink" {
            try FileManager.default.createSymbolicLink(
                atPath: ws.temp.sub("src/c/attacker/link.tif").path,
                withDestinationPath: ws.temp.sub("outside/secret.txt").path)
        }
        if href == "symlinked-folder" {
            try FileManager.default.createSymbolicLink(
                atPath: ws.temp.sub("src/c/attacker/folder").path, withDestinationPath: "../../../outside")
        }
        var mentions = ["\"attacker\"", "\"data\"", "--allow-path", written]
        if href == "symlink" { mentions += ["symbolic link", "link.tif", "outside/secret.txt"] }
        if href == "symlinked-folder" { mentions += ["symbolic link", "attacker/folder", "outside/secret.txt"] }
        try await Self.expectRefused(ws, ["ingest", source.path], mentions: mentions)
        try await Self.expectRefused(ws, ["ingest", source.path, "--assets", "reference"], mentions: mentions)
    }

    @Test("a child link that leaves the source folder is refused", arguments: backends)
    func localChildOutside(backend: String) async throws {
        let ws = try await Self.populated(backend, "child")
        let outside = ws.temp.sub("elsewhere/x/x.json")
        try Self.write(Self.item("x"), to: outside)
        let catalog = ws.temp.sub("src/catalog.json")
        try Self.write(
            """
            {"type": "Catalog", "stac_version": "1.1.0", "id": "src", "description": "d",
             "links": [{"rel": "item", "href": "../elsewhere/x/x.json"}]}
            """, to: catalog)
        try await Self.expectRefused(
            ws, ["ingest", catalog.path], mentions: ["../elsewhere/x/x.json", "--allow-path"])
    }

    @Test(
        "--allow-path and symlinks inside the source still work; the target is recorded and the mode is the repository's",
        arguments: backends)
    func allowedLocal(backend: String) async throws {
        let ws = try await Self.populated(backend, "allowed")
        let source = try Self.localAttack(ws, href: "../../../outside/secret.txt")
        let r = try await ws.ok(["ingest", source.path, "--allow-path", ws.temp.sub("outside").path])
        #expect(r.stdout.contains("2 added"), "\(r.stdout)")
        let stored = ws.repo.appendingPathComponent("c/attacker/secret.txt")
        #expect(FileManager.default.contents(atPath: stored.path) == Data("secret outside the source\n".utf8))

        // A symlink inside the source, to a file inside it with mode 0600: the target is recorded,
        // and the copy gets the repository's mode.
        let src2 = ws.temp.sub("src2")
        let real = src2.appendingPathComponent("real/data.bin")
        try Self.write("inside\n", to: real)
        chmod(real.path, 0o600)
        try FileManager.default.createDirectory(at: src2.appendingPathComponent("i"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: src2.appendingPathComponent("i/link.bin").path, withDestinationPath: "../real/data.bin")
        try Self.write(
            Self.item("linked", assets: [("data", "./i/link.bin")]), to: src2.appendingPathComponent("linked.json"))
        try await ws.ok(["ingest", src2.appendingPathComponent("linked.json").path])
        let item = try #require(readJSON(ws.repo.appendingPathComponent("linked/linked.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        let original = (data["alternate"] as? [String: Any])?["original"] as? [String: Any]
        let realPath = try #require(Self.realPath(real.path))
        #expect(original?["href"] as? String == realPath)
        let href = try #require(data["href"] as? String)
        let copy = ws.repo.appendingPathComponent("linked/" + href.dropFirst(2))
        var info = stat()
        #expect(lstat(copy.path, &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFREG, "the copy is a regular file, not a link")
        #expect(info.st_mode & 0o777 == 0o644 & ~Self.umaskValue(), "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    static func umaskValue() -> mode_t {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("Umask:") {
            return mode_t(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) ?? 0o022
        }
        return 0o022
    }

    // MARK: Remote sources and credentials

    /// A Python server on 127.0.0.1 that serves `root`, logs `path|Authorization|X-Api-Key` of every
    /// request to `log`, and redirects `/to-other/P` to `other` + `/P`.
    static func startServer(_ ws: Workspace, root: URL, log: URL, other: String = "") async throws -> ServerProcess {
        let script = ws.temp.sub("server.py")
        if !FileManager.default.fileExists(atPath: script.path) {
            try """
            import functools, http.server, sys
            port, root, log, other = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
            class Handler(http.server.SimpleHTTPRequestHandler):
                def do_GET(self):
                    with open(log, "a") as f:
                        f.write("%s|%s|%s\\n" % (self.path, self.headers.get("Authorization", ""), self.headers.get("X-Api-Key", "")))
                    if self.path.startswith("/to-other/"):
                        self.send_response(302)
                        self.send_header("Location", other + self.path[len("/to-other"):])
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    super().do_GET()
                def log_message(self, *args):
                    pass
            handler = functools.partial(Handler, directory=root)
            http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
            """.write(to: script, atomically: true, encoding: .utf8)
        }
        let port = freePort()
        return try await ServerProcess(
            executable: which("python3") ?? "/usr/bin/python3",
            arguments: [script.path, String(port), root.path, log.path, other], environment: ws.env, port: port,
            log: ws.temp.sub("server-\(port).log"))
    }

    static func lines(_ url: URL) -> [String] {
        ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test(
        "a catalog served over http cannot reference local files",
        arguments: backends.flatMap { b in
            ["file:///etc/passwd", "/etc/hostname", "file:///etc/hostname"].map { (b, $0) }
        })
    func remoteLocal(backend: String, href: String) async throws {
        let ws = try await Self.populated(backend, "remote-local")
        let site = ws.temp.sub("site")
        try Self.write(
            Self.item("attacker", collection: "c", assets: [("data", href)]),
            to: site.appendingPathComponent("c/attacker/attacker.json"))
        try Self.write(
            Self.collection("c", items: ["./attacker/attacker.json"]),
            to: site.appendingPathComponent("c/collection.json"))
        let server = try await Self.startServer(ws, root: site, log: ws.temp.sub("a.log"))
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/c/collection.json"
        if href.hasPrefix("/") {
            // An absolute path in a remote document is a path on that server (RFC 3986), never a local file.
            try await Self.expectRefused(
                ws, ["ingest", url, "--retries", "0"],
                mentions: ["\"attacker\"", "404", "http://127.0.0.1:\(server.port)\(href)"])
            return
        }
        try await Self.expectRefused(
            ws, ["ingest", url], mentions: ["\"attacker\"", "\"data\"", href, "remote document", "--allow-path"])
    }

    @Test("a catalog served over http cannot link local documents", arguments: backends)
    func remoteLocalLink(backend: String) async throws {
        let ws = try await Self.populated(backend, "remote-link")
        let local = ws.temp.sub("private/p/p.json")
        try Self.write(Self.item("private"), to: local)
        let site = ws.temp.sub("site")
        try Self.write(
            Self.collection("c", items: ["file://" + local.path, "../up/../x.json"]),
            to: site.appendingPathComponent("c/collection.json"))
        let server = try await Self.startServer(ws, root: site, log: ws.temp.sub("a.log"))
        defer { server.stop() }
        try await Self.expectRefused(
            ws, ["ingest", "http://127.0.0.1:\(server.port)/c/collection.json"],
            mentions: ["file://" + local.path, "remote document"])
    }

    @Test("a relative href that climbs out of a served catalog stays on the server", arguments: backends)
    func remoteDotDot(backend: String) async throws {
        let ws = try await Self.populated(backend, "remote-dotdot")
        let site = ws.temp.sub("site/inner")
        try Self.write("outside the served folder", to: ws.temp.sub("site/x"))
        try Self.write(
            Self.item("attacker", collection: "c", assets: [("data", "../../../../x")]),
            to: site.appendingPathComponent("c/attacker/attacker.json"))
        try Self.write(
            Self.collection("c", items: ["./attacker/attacker.json"]),
            to: site.appendingPathComponent("c/collection.json"))
        let server = try await Self.startServer(ws, root: site, log: ws.temp.sub("a.log"))
        defer { server.stop() }
        try await Self.expectRefused(
            ws, ["ingest", "http://127.0.0.1:\(server.port)/c/collection.json", "--retries", "0"],
            mentions: ["404", "http://127.0.0.1:\(server.port)/x"])
    }

    @Test(
        "--bearer-token and --header go only to the source's host, not to another port nor across a redirect",
        arguments: backends)
    func credentialsScoped(backend: String) async throws {
        let ws = try await Self.populated(backend, "creds")
        let siteB = ws.temp.sub("siteB")
        try Self.write("bytes on b\n", to: siteB.appendingPathComponent("data.tif"))
        try Self.write("direct on b\n", to: siteB.appendingPathComponent("direct.tif"))
        let logA = ws.temp.sub("a.log")
        let logB = ws.temp.sub("b.log")
        let b = try await Self.startServer(ws, root: siteB, log: logB)
        defer { b.stop() }
        let siteA = ws.temp.sub("siteA")
        let a = try await Self.startServer(ws, root: siteA, log: logA, other: "http://127.0.0.1:\(b.port)")
        defer { a.stop() }
        try Self.write("own bytes\n", to: siteA.appendingPathComponent("c/i/own.tif"))
        try Self.write(
            Self.item(
                "i", collection: "c",
                assets: [
                    ("own", "./own.tif"), ("redirected", "http://127.0.0.1:\(a.port)/to-other/data.tif"),
                    ("direct", "http://127.0.0.1:\(b.port)/direct.tif"),
                ]), to: siteA.appendingPathComponent("c/i/i.json"))
        try Self.write(
            Self.collection("c", items: ["./i/i.json"]), to: siteA.appendingPathComponent("c/collection.json"))
        let url = "http://127.0.0.1:\(a.port)/c/collection.json"
        let credentials = ["--bearer-token", "tok-SECRET", "--header", "X-Api-Key: key-SECRET"]
        let r = try await ws.ok(["ingest", url] + credentials)
        #expect(!r.stdout.contains("SECRET") && !r.stderr.contains("SECRET"))
        let seenA = Self.lines(logA)
        let seenB = Self.lines(logB)
        #expect(seenA.count >= 4 && seenA.allSatisfy { $0.hasSuffix("|Bearer tok-SECRET|key-SECRET") }, "\(seenA)")
        #expect(seenB.count == 2 && seenB.allSatisfy { !$0.contains("SECRET") }, "B must see no credential: \(seenB)")
        #expect(
            FileManager.default.contents(atPath: ws.repo.appendingPathComponent("c/i/data.tif").path)
                == Data("bytes on b\n".utf8))
        #expect(!treeState(ws.repo).isEmpty)
        for (path, _) in treeState(ws.repo) where !path.hasPrefix(".git/") {
            let text = String(
                decoding: FileManager.default.contents(atPath: ws.repo.appendingPathComponent(path).path) ?? Data(),
                as: UTF8.self)
            #expect(!text.contains("SECRET"), "\(path) holds a credential")
        }

        // --auth-host names the second host: now it gets them too.
        try FileManager.default.removeItem(at: logB)
        try Self.write(
            Self.item("i2", collection: "c", assets: [("direct", "http://127.0.0.1:\(b.port)/direct.tif")]),
            to: siteA.appendingPathComponent("c/i2/i2.json"))
        try Self.write(
            Self.collection("c", items: ["./i/i.json", "./i2/i2.json"]),
            to: siteA.appendingPathComponent("c/collection.json"))
        try await ws.ok(["ingest", url, "--auth-host", "127.0.0.1:\(b.port)"] + credentials)
        let seenB2 = Self.lines(logB)
        #expect(!seenB2.isEmpty && seenB2.allSatisfy { $0.hasSuffix("|Bearer tok-SECRET|key-SECRET") }, "\(seenB2)")
    }

    @Test("netrc credentials go only to the source's host and port", arguments: backends)
    func netrcScoped(backend: String) async throws {
        let ws = try await Self.populated(backend, "netrc")
        let siteB = ws.temp.sub("siteB")
        try Self.write("on b\n", to: siteB.appendingPathComponent("b.tif"))
        let logA = ws.temp.sub("a.log")
        let logB = ws.temp.sub("b.log")
        let b = try await Self.startServer(ws, root: siteB, log: logB)
        defer { b.stop() }
        let siteA = ws.temp.sub("siteA")
        let a = try await Self.startServer(ws, root: siteA, log: logA)
        defer { a.stop() }
        try Self.write(
            Self.item("n", assets: [("b", "http://127.0.0.1:\(b.port)/b.tif")]),
            to: siteA.appendingPathComponent("n.json"))
        let netrc = ws.temp.sub("netrc")
        try "machine 127.0.0.1 login bob password n3trc-SECRET\n".write(to: netrc, atomically: true, encoding: .utf8)
        let r = try await ws.tool(
            ["ingest", "http://127.0.0.1:\(a.port)/n.json", "--netrc"], env: ["NETRC": netrc.path])
        #expect(r.status == 0, "\(r.stderr)")
        let basic = "Basic " + Data("bob:n3trc-SECRET".utf8).base64EncodedString()
        #expect(Self.lines(logA).allSatisfy { $0.contains(basic) } && !Self.lines(logA).isEmpty, "\(Self.lines(logA))")
        #expect(
            !Self.lines(logB).isEmpty && Self.lines(logB).allSatisfy { !$0.contains("Basic") }, "\(Self.lines(logB))")
    }

    @Test("user:password@ in an asset href is never stored, printed or sent unless allowed", arguments: backends)
    func userinfo(backend: String) async throws {
        let ws = try await Self.populated(backend, "userinfo")
        let site = ws.temp.sub("site")
        let log = ws.temp.sub("a.log")
        let server = try await Self.startServer(ws, root: site, log: log)
        defer { server.stop() }
        try Self.write("protected bytes\n", to: site.appendingPathComponent("c/i/data.tif"))
        try Self.write(
            Self.item(
                "i", collection: "c", assets: [("data", "http://alice:pa55w0rd@127.0.0.1:\(server.port)/c/i/data.tif")]),
            to: site.appendingPathComponent("c/i/i.json"))
        try Self.write(
            Self.collection("c", items: ["./i/i.json"]), to: site.appendingPathComponent("c/collection.json"))
        let url = "http://127.0.0.1:\(server.port)/c/collection.json"
        let r = try await ws.ok(["ingest", url, "-v"])
        #expect(!(r.stdout + r.stderr).contains("pa55w0rd"))
        #expect(Self.lines(log).allSatisfy { $0.hasSuffix("||") }, "no Basic credentials were sent: \(Self.lines(log))")
        let item = try #require(readJSON(ws.repo.appendingPathComponent("c/i/i.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        let original = (data["alternate"] as? [String: Any])?["original"] as? [String: Any]
        #expect(original?["href"] as? String == "http://127.0.0.1:\(server.port)/c/i/data.tif")
        let history = try await ws.ok(["history", "--json"])
        #expect(!history.stdout.contains("pa55w0rd"))
        let export = ws.temp.sub("export")
        try await ws.ok(["export", export.path])
        for dir in [ws.repo, export] {
            for (path, _) in treeState(dir) where !path.hasPrefix(".git/objects") {
                let bytes = FileManager.default.contents(atPath: dir.appendingPathComponent(path).path) ?? Data()
                #expect(!String(decoding: bytes, as: UTF8.self).contains("pa55w0rd"), "\(path) holds the password")
            }
        }
        if backend == "git" {
            let log = try await ws.git(["log", "-p", "--format=%B"])
            #expect(!log.stdout.contains("pa55w0rd"))
        }

        // --allow-userinfo fetches with it (and still stores none).
        try FileManager.default.removeItem(at: log)
        try Self.write(
            Self.item(
                "i", collection: "c", assets: [("data", "http://alice:pa55w0rd@127.0.0.1:\(server.port)/c/i/data.tif")]
            )
            .replacingOccurrences(of: "2024-01-01", with: "2024-03-03"),
            to: site.appendingPathComponent("c/i/i.json"))
        try await ws.ok(["ingest", url, "--allow-userinfo"])
        let basic = "Basic " + Data("alice:pa55w0rd".utf8).base64EncodedString()
        #expect(Self.lines(log).contains { $0.hasPrefix("/c/i/data.tif|\(basic)") }, "\(Self.lines(log))")
        let text = String(
            decoding: FileManager.default.contents(atPath: ws.repo.appendingPathComponent("c/i/i.json").path) ?? Data(),
            as: UTF8.self)
        #expect(!text.contains("pa55w0rd"))
    }
}
