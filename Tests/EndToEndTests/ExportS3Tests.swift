import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `export s3://bucket/prefix/` against moto on 127.0.0.1 with signature checking (issue 14):
/// the bucket holds what a folder export writes, a re-run uploads nothing, a kill never leaves
/// a document whose link is missing, and every other destination is refused in one sentence.
@Suite("Export to S3 (moto)", .serialized, .offPool)
struct ExportS3Tests {
    static var hasMoto: Bool { which("moto_server") != nil }
    static let fixtures = Env.packageRoot.appendingPathComponent("Tests/Fixtures/real-world")

    /// A moto server that verifies signatures, with a bucket `dst` and the keys of a user allowed s3:*.
    final class Moto {
        let server: ServerProcess
        let endpoint: String
        let env: [String: String]

        init(_ ws: Workspace) async throws {
            let moto = try #require(which("moto_server"))
            let port = freePort()
            var serverEnv = ws.env
            // After these 4 setup calls moto checks every signature.
            serverEnv["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
            server = try await ServerProcess(
                executable: moto, arguments: ["-H", "127.0.0.1", "-p", String(port)], environment: serverEnv,
                port: port, log: ws.temp.sub("moto.log"))
            endpoint = "http://127.0.0.1:\(port)"
            let setup = """
                import boto3, json, sys
                kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
                iam = boto3.client("iam", **kw)
                iam.create_user(UserName="publisher")
                key = iam.create_access_key(UserName="publisher")["AccessKey"]
                iam.put_user_policy(UserName="publisher", PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
                boto3.client("s3", **kw).create_bucket(Bucket="dst")
                print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"]]))
                """
            let out = try await run(try #require(which("python3")), ["-c", setup, endpoint], env: ws.env)
            guard out.status == 0, let keys = jsonObject(out.stdout) as? [String], keys.count == 2 else {
                server.stop()
                throw ServerError(message: "moto setup failed: \(out.stderr)")
            }
            env = [
                "AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint,
            ]
        }

        deinit { server.stop() }

        /// Runs `bucket_check.py MODE ARGS…` (boto3, signed) and returns its JSON answer.
        func check(_ ws: Workspace, _ arguments: [String]) async throws -> [String: Any] {
            var e = ws.env
            for (k, v) in env { e[k] = v }
            let r = try await run(
                try #require(which("python3")), ["-c", ExportS3Tests.checker] + arguments, env: e)
            guard r.status == 0, let answer = jsonObject(r.stdout) as? [String: Any] else {
                throw ServerError(message: "bucket check \(arguments.first ?? "") failed: \(r.stderr)\(r.stdout)")
            }
            return answer
        }
    }

    /// boto3 reads the bucket back: `compare PREFIX DIR` (keys and bytes equal a folder export,
    /// every x-amz-meta-sha256 right), `links PREFIX` (every child/item link and relative asset
    /// href of every document exists), `pystac PREFIX` (pystac walks the catalog through the
    /// endpoint), `object KEY FILE` (bytes and ETag of one object).
    static let checker = """
        import boto3, hashlib, json, os, sys, posixpath
        from urllib.parse import unquote
        mode, args = sys.argv[1], sys.argv[2:]
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        s3 = boto3.client("s3", endpoint_url=endpoint)
        def keys(prefix):
            out = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="dst", Prefix=prefix):
                for o in page.get("Contents", []):
                    out[o["Key"]] = o
            return out
        def body(key):
            return s3.get_object(Bucket="dst", Key=key)["Body"].read()
        if mode == "compare":
            prefix, root = args
            local = {}
            for d, _, files in os.walk(root):
                for f in files:
                    p = os.path.join(d, f)
                    local[prefix + os.path.relpath(p, root)] = p
            remote = keys(prefix)
            problems = []
            if set(local) != set(remote):
                problems.append({"only_local": sorted(set(local) - set(remote)), "only_bucket": sorted(set(remote) - set(local))})
            def one(k):
                data = open(local[k], "rb").read()
                answer = s3.get_object(Bucket="dst", Key=k)
                got, meta = answer["Body"].read(), answer["Metadata"].get("sha256")
                found = []
                if got != data: found.append({"bytes": k})
                elif k.endswith(".json") and json.loads(got) != json.loads(data): found.append({"json": k})
                if meta != hashlib.sha256(data).hexdigest(): found.append({"sha256": k, "meta": meta})
                return found
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(8) as pool:
                for found in pool.map(one, sorted(set(local) & set(remote))): problems += found
            print(json.dumps({"objects": len(remote), "problems": problems}))
        elif mode == "links":
            prefix = args[0]
            remote = keys(prefix)
            missing = []
            for k in remote:
                if not k.endswith(".json"): continue
                try: doc = json.loads(body(k))
                except Exception: continue
                if not isinstance(doc, dict) or "stac_version" not in doc: continue
                base = posixpath.dirname(k)
                targets = [l["href"] for l in doc.get("links", []) if l.get("rel") in ("child", "item")]
                targets += [a.get("href", "") for a in doc.get("assets", {}).values()]
                for h in targets:
                    if h.startswith(endpoint + "/dst/"): t = unquote(h[len(endpoint + "/dst/"):])
                    elif "://" in h: continue
                    else: t = posixpath.normpath(posixpath.join(base, h))
                    if t not in remote: missing.append(k + " -> " + h)
            print(json.dumps({"objects": len(remote), "missing": missing}))
        elif mode == "pystac":
            import pystac
            from pystac.stac_io import DefaultStacIO
            class BucketIO(DefaultStacIO):
                def read_text(self, source, *a, **kw):
                    href = str(source)
                    if href.startswith(endpoint + "/dst/"):
                        return body(unquote(href[len(endpoint + "/dst/"):])).decode("utf-8")
                    return super().read_text(source, *a, **kw)
            cat = pystac.Catalog.from_file(endpoint + "/dst/" + args[0] + "catalog.json", stac_io=BucketIO())
            items = list(cat.get_items(recursive=True))
            hrefs = sorted(a.get_absolute_href() for i in items for a in i.assets.values())
            print(json.dumps({"items": len(items), "ids": sorted(i.id for i in items), "asset_hrefs": hrefs}))
        elif mode == "object":
            key, path = args
            head = s3.head_object(Bucket="dst", Key=key)
            print(json.dumps({"equal": body(key) == open(path, "rb").read(), "etag": head["ETag"]}))
        """

    static func problems(_ answer: [String: Any]) -> [Any] { answer["problems"] as? [Any] ?? ["no answer"] }
    static func missing(_ answer: [String: Any]) -> [String] { answer["missing"] as? [String] ?? ["no answer"] }

    /// The `--json` report of an s3 export.
    func exportS3(_ ws: Workspace, _ moto: Moto, _ arguments: [String]) async throws -> [String: Any] {
        let r = try await ws.tool(["export"] + arguments + ["--json"], env: moto.env)
        #expect(r.status == 0, "export \(arguments): \(r.stderr)")
        return jsonObject(r.stdout) as? [String: Any] ?? [:]
    }

    @Test(
        "the real-shaped sample catalog in a bucket equals its folder export, pystac reads it, a re-run uploads nothing, --href-base makes it absolute",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func sampleCatalog() async throws {
        let ws = Workspace("s3-sample")
        let moto = try await Moto(ws)
        let source = ws.temp.sub("source")
        try FileManager.default.copyItem(at: Self.fixtures, to: source)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        let folder = ws.temp.sub("folder")
        try await ws.ok(["export", folder.path])

        let first = try await ws.tool(["export", "s3://dst/cat/"], env: moto.env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("s3://dst/cat/: uploaded"), "\(first.stdout)")
        let compared = try await moto.check(ws, ["compare", "cat/", folder.path])
        #expect(Self.problems(compared).isEmpty, "\(compared)")
        #expect(compared["objects"] as? Int == treeState(folder).count)
        #expect(Self.missing(try await moto.check(ws, ["links", "cat/"])).isEmpty)
        let read = try await moto.check(ws, ["pystac", "cat/"])
        #expect(read["items"] as? Int == 3, "\(read)")

        let again = try await exportS3(ws, moto, ["s3://dst/cat/"])
        #expect(again["uploaded"] as? Int == 0, "\(again)")
        #expect(again["skipped"] as? Int == treeState(folder).count, "\(again)")

        // Absolute hrefs under a CDN base (here the bucket's own endpoint URL), with self links.
        let base = moto.endpoint + "/dst/web/"
        _ = try await exportS3(ws, moto, ["s3://dst/web/", "--href-base", base])
        let web = try await moto.check(ws, ["pystac", "web/"])
        #expect(web["items"] as? Int == 3, "\(web)")
        let hrefs = web["asset_hrefs"] as? [String] ?? []
        #expect(!hrefs.isEmpty && hrefs.allSatisfy { $0.hasPrefix(base) }, "\(hrefs)")
        #expect(hrefs.contains { $0.contains("caf%C3%A9%20%C3%B1%20") }, "\(hrefs)")
        let webLinks = try await moto.check(ws, ["links", "web/"])
        #expect(Self.missing(webLinks).isEmpty, "\(webLinks)")
    }

    @Test(
        "200 items with 400 assets: equal to the folder export; after an ingest only the new items and their containers go up; --delete after a prune removes exactly the pruned item",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func manyItems() async throws {
        try await roundTrip(items: 200)
    }

    /// Set STAC_REPOSITORY_LARGE_TESTS=1 to run the issue's full size (301 s on the loaded 2-core machine).
    @Test(
        "1,000 items with 2,000 assets: the same round trip at the issue's size",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"),
        .enabled(
            if: ProcessInfo.processInfo.environment["STAC_REPOSITORY_LARGE_TESTS"] == "1",
            "set STAC_REPOSITORY_LARGE_TESTS=1 to run it (the 200-item round trip runs by default)"))
    func thousandItems() async throws {
        try await roundTrip(items: 1000)
    }

    /// `items` items (two assets each) exported, 3 more ingested and exported, one pruned and
    /// exported with --delete; the bucket equals the folder export at each step.
    func roundTrip(items n: Int) async throws {
        let ws = Workspace("s3-many")
        let moto = try await Moto(ws)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: n, assetBytes: 1024)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        let before = ws.temp.sub("before")
        try await ws.ok(["export", before.path])
        let first = try await exportS3(ws, moto, ["s3://dst/cat/", "--jobs", "8"])
        #expect(first["uploaded"] as? Int == 3 * n + 2, "\(first)")
        #expect(Self.problems(try await moto.check(ws, ["compare", "cat/", before.path])).isEmpty)

        // Three more items: exactly the files whose folder export changed are uploaded.
        try makeCatalog(at: site, items: n + 3, assetBytes: 1024)
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        let after = ws.temp.sub("after")
        try await ws.ok(["export", after.path])
        let old = treeState(before)
        let changed = treeState(after).filter { old[$0.key] != $0.value }
        #expect(changed.count == 10, "\(changed.keys.sorted())")
        let second = try await exportS3(ws, moto, ["s3://dst/cat/"])
        #expect(second["uploaded"] as? Int == changed.count, "\(second)")
        #expect(second["skipped"] as? Int == 3 * (n + 3) + 2 - changed.count, "\(second)")
        #expect(Self.problems(try await moto.check(ws, ["compare", "cat/", after.path])).isEmpty)

        // A prune, then --delete: the item's JSON and its two assets go, nothing else.
        try await ws.ok(["prune", "item-7"])
        let pruned = ws.temp.sub("pruned")
        try await ws.ok(["export", pruned.path])
        let third = try await exportS3(ws, moto, ["s3://dst/cat/", "--delete"])
        #expect(third["deleted"] as? Int == 3, "\(third)")
        #expect(third["uploaded"] as? Int == 1, "\(third)")
        #expect(Self.problems(try await moto.check(ws, ["compare", "cat/", pruned.path])).isEmpty)
    }

    @Test(
        "a SIGKILL at any of 8 instants of an export (uploads and deletions) never leaves a document whose asset or child is missing; the next export completes",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func killedExports() async throws {
        let ws = Workspace("s3-kill")
        let moto = try await Moto(ws)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 12, assetBytes: 4096)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        var points = ["s3-export-uploaded:1", "s3-export-uploaded:4", "s3-export-uploaded:8", "s3-export-uploaded:12"]
        for point in points {
            let r = try await ws.tool(
                ["export", "s3://dst/cat/", "--jobs", "3"],
                env: moto.env.merging(["STAC_REPOSITORY_CRASH_AT": point]) {
                    $1
                })
            #expect(r.status != 0, "\(point): the export was not killed")
            let links = try await moto.check(ws, ["links", "cat/"])
            #expect(Self.missing(links).isEmpty, "\(point): \(links)")
        }
        // New versions of every item (new asset bytes), two more items, one pruned: kills while
        // replacing and deleting.
        try makeCatalog(at: site, items: 14, seed: 1, assetBytes: 4096)
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        try await ws.ok(["prune", "item-3"])
        points = ["s3-export-uploaded:2", "s3-export-uploaded:20", "s3-export-deleted:1", "s3-export-deleted:2"]
        for point in points {
            let r = try await ws.tool(
                ["export", "s3://dst/cat/", "--delete", "--jobs", "3"],
                env: moto.env.merging(["STAC_REPOSITORY_CRASH_AT": point]) { $1 })
            #expect(r.status != 0, "\(point): the export was not killed")
            let links = try await moto.check(ws, ["links", "cat/"])
            #expect(Self.missing(links).isEmpty, "\(point): \(links)")
        }
        let final = try await exportS3(ws, moto, ["s3://dst/cat/", "--delete"])
        #expect(final["destination"] as? String == "s3://dst/cat/")
        let folder = ws.temp.sub("folder")
        try await ws.ok(["export", folder.path])
        #expect(Self.problems(try await moto.check(ws, ["compare", "cat/", folder.path])).isEmpty)
    }

    @Test(
        "--record commits alternate.<bucket> with the new href and checksum for every exported asset; verify passes; a second --record commits nothing",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func recordedLocations() async throws {
        let ws = Workspace("s3-record")
        let moto = try await Moto(ws)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 2)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        let r = try await ws.tool(["export", "s3://dst/pub/", "--record"], env: moto.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("recorded 4 asset locations as alternate.dst in "), "\(r.stdout)")
        let item = try #require(readJSON(ws.repo.appendingPathComponent("coll/item-1/item-1.json")))
        let data = try #require((item["assets"] as? [String: Any])?["data"] as? [String: Any])
        let alternate = try #require((data["alternate"] as? [String: Any])?["dst"] as? [String: Any])
        #expect(alternate["href"] as? String == "s3://dst/pub/coll/item-1/data.tif")
        #expect(alternate["file:checksum"] as? String == data["file:checksum"] as? String)
        #expect((item["stac_extensions"] as? [String] ?? []).contains { $0.contains("alternate-assets") })
        let history = try await ws.ok(["history"])
        #expect(history.stdout.contains("export: 4 assets recorded at s3://dst/pub/"), "\(history.stdout)")
        #expect(try await ws.ok(["verify"]).stdout.contains(", 0 problems"))
        let again = try await ws.tool(["export", "s3://dst/pub/", "--record"], env: moto.env)
        #expect(again.stdout.contains("already recorded, nothing committed"), "\(again.stdout)\(again.stderr)")
        // The bucket holds the recorded documents too, and they equal a folder export.
        let folder = ws.temp.sub("folder")
        try await ws.ok(["export", folder.path])
        #expect(Self.problems(try await moto.check(ws, ["compare", "pub/", folder.path])).isEmpty)
    }

    @Test(
        "the file backend publishes the same way: the bucket equals its folder export",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func fileBackend() async throws {
        let ws = Workspace("s3-file")
        let moto = try await Moto(ws)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 5)
        try await ws.initRepo(backend: "file")
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        let report = try await exportS3(ws, moto, ["s3://dst/files/"])
        #expect(report["uploaded"] as? Int == 17, "\(report)")
        let folder = ws.temp.sub("folder")
        try await ws.ok(["export", folder.path])
        #expect(Self.problems(try await moto.check(ws, ["compare", "files/", folder.path])).isEmpty)
        #expect((try await exportS3(ws, moto, ["s3://dst/files/"]))["uploaded"] as? Int == 0)
    }

    @Test(
        "an asset above the multipart threshold goes up in parts (per-part SHA-256) with the right bytes",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func multipart() async throws {
        let ws = Workspace("s3-multipart")
        let moto = try await Moto(ws)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 1, assetBytes: 12 << 20 + 12345)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        let report = try await exportS3(
            ws, moto, ["s3://dst/big/", "--multipart-threshold", "5", "--part-size", "5"])
        #expect(report["uploadedBytes"] as? Int ?? 0 > 12 << 20, "\(report)")
        let object = try await moto.check(
            ws, ["object", "big/coll/item-0/data.tif", site.appendingPathComponent("coll/item-0/data.tif").path])
        #expect(object["equal"] as? Bool == true, "\(object)")
        // A multipart ETag ends in -<number of parts>.
        #expect((object["etag"] as? String ?? "").hasSuffix("-3\""), "\(object)")
        let again = try await exportS3(ws, moto, ["s3://dst/big/", "--multipart-threshold", "5", "--part-size", "5"])
        #expect(again["uploaded"] as? Int == 0, "\(again)")
    }

    @Test(
        "unreachable endpoint, bad credentials, gs://, https:// and backup/clone to s3: one sentence, exit code, nothing written locally",
        .enabled(if: hasMoto, "moto_server is not installed (scripts/setup.sh --test-tools)"))
    func errors() async throws {
        let ws = Workspace("s3-errors")
        let moto = try await Moto(ws)
        let site = ws.temp.sub("site")
        try makeCatalog(at: site, items: 2)
        try await ws.initRepo(backend: "git")
        try await ws.ok(["ingest", site.appendingPathComponent("catalog.json").path])
        let repoBefore = treeState(ws.repo)
        let workspaceBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: ws.temp.path)) ?? [])

        func oneSentence(_ r: RunResult, _ status: Int32, _ words: [String], _ label: String) {
            #expect(r.status == status, "\(label): \(r.status) \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && r.stderr.hasPrefix("error: "), "\(label): \(r.stderr)")
            for word in words { #expect(r.stderr.contains(word), "\(label): \(r.stderr)") }
        }

        var closed = moto.env
        closed["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(freePort())"
        oneSentence(
            try await ws.tool(["export", "s3://dst/cat/", "--retries", "1"], env: closed), 1,
            ["cannot be reached", "AWS_ENDPOINT_URL"], "unreachable")
        var wrong = moto.env
        wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        oneSentence(
            try await ws.tool(["export", "s3://dst/cat/"], env: wrong), 1, ["403", "AWS_SECRET_ACCESS_KEY"],
            "bad credentials")
        oneSentence(try await ws.tool(["export", "gs://x/"]), 64, ["gs:", "s3://"], "gs")
        oneSentence(try await ws.tool(["export", "https://example.org/cat/"]), 64, ["https:"], "https")
        oneSentence(try await ws.tool(["backup", "s3://dst/backup/"]), 64, ["push"], "backup s3")
        oneSentence(
            try await ws.tool(["clone", ws.repo.path, "s3://dst/clone/"]), 64, ["local directory"], "clone s3")
        oneSentence(
            try await ws.tool(["export", "s3://dst/cat/", "--assets", "link"], env: moto.env), 1, ["--assets copy"],
            "link")
        oneSentence(
            try await ws.tool(["clone", "s3://dst/backup/", ws.temp.sub("restored").path]), 64, ["git URL"],
            "clone from s3")

        #expect(treeState(ws.repo) == repoBefore)
        let workspaceAfter = Set((try? FileManager.default.contentsOfDirectory(atPath: ws.temp.path)) ?? [])
        #expect(workspaceAfter.subtracting(workspaceBefore).subtracting(["moto.log"]).isEmpty, "\(workspaceAfter)")
        // Nothing reached the bucket from the failed exports.
        let listed = try await moto.check(ws, ["links", "cat/"])
        #expect(listed["objects"] as? Int == 0, "\(listed)")
    }
}
