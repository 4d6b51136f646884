import Foundation
import TestSupport
import Testing

/// The S3-backed Git LFS path: giftless with its S3 storage adapter (`basic_external`, so the
/// client PUTs and GETs the bucket itself through presigned URLs) on moto, both on 127.0.0.1.
@Suite("Git LFS on S3 (giftless + moto)", .offPool)
struct LFSOnS3Tests {
    static let haveTools =
        giftlessHasBoto3 && which("moto_server") != nil && which("git-lfs") != nil && which("python3") != nil
    static let s3Env = [
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    ]

    /// Runs a boto3 script against moto; its first argument is the endpoint.
    func boto3(_ ws: Workspace, _ script: String, _ endpoint: String) async throws -> String {
        var env = ws.env
        for (k, v) in Self.s3Env { env[k] = v }
        let r = try await run(try #require(which("python3")), ["-c", script, endpoint], env: env)
        try #require(r.status == 0, "boto3: \(r.stderr)")
        return r.stdout
    }

    @Test(
        "push to giftless on moto, clone back with ours and with git clone + git lfs pull: byte-identical, objects in the bucket hash to their oids",
        .enabled(if: haveTools, "needs giftless with boto3 and moto (scripts/setup.sh --test-tools), git-lfs, python3"))
    func giftlessOnMoto() async throws {
        let ws = Workspace("lfs-s3")
        let motoPort = freePort()
        let moto = try await ServerProcess(
            executable: try #require(which("moto_server")), arguments: ["-H", "127.0.0.1", "-p", String(motoPort)],
            environment: ws.env, port: motoPort, log: ws.temp.sub("moto.log"))
        defer { moto.stop() }
        let endpoint = "http://127.0.0.1:\(motoPort)"
        _ = try await boto3(
            ws, "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket='lfs')",
            endpoint)
        let giftless = try #require(
            try await startGiftlessOnS3(in: ws.temp, s3Endpoint: endpoint, bucket: "lfs", prefix: "store"))
        defer { giftless.stop() }
        let lfsURL = "http://127.0.0.1:\(giftless.port)/stac/demo.git/info/lfs"

        let bare = ws.temp.sub("origin.git")
        #expect(try await ws.git(["init", "-q", "--bare", "-b", "main", bare.path], in: ws.temp.url).status == 0)
        try await ws.initRepo(backend: "git")
        let source = ws.temp.sub("source")
        let assets = try makeCatalog(at: source, items: 4, assetBytes: 120_000)
        try await ws.ok(["ingest", source.appendingPathComponent("catalog.json").path])
        try await ws.ok([
            "remote", "add", "--repository", ws.repo.path, "origin", "file://" + bare.path, "--lfs-url", lfsURL,
        ])
        let pushed = jsonObject(try await ws.ok(["push", "--json"]).stdout) as? [String: Any] ?? [:]
        let oids = Set(assets.values.map(sha256Hex))
        #expect(pushed["lfsObjectsUploaded"] as? Int == oids.count, "\(pushed)")
        // A second push finds every object there (giftless asks S3 with HEAD).
        let again = try await ws.ok(["push", "--json"])
        #expect((jsonObject(again.stdout) as? [String: Any])?["lfsObjectsUploaded"] as? Int ?? 0 == 0)

        // The bucket holds each object under store/<org>/<repo>/<oid>, hashing to its oid.
        let listing = try await boto3(
            ws,
            """
            import boto3, hashlib, sys
            s3 = boto3.client('s3', endpoint_url=sys.argv[1])
            for page in s3.get_paginator('list_objects_v2').paginate(Bucket='lfs'):
                for o in page.get('Contents', []):
                    body = s3.get_object(Bucket='lfs', Key=o['Key'])['Body'].read()
                    print(o['Key'], hashlib.sha256(body).hexdigest(), len(body))
            """, endpoint)
        var inBucket = Set<String>()
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 3 else { continue }
            let oid = (fields[0] as NSString).lastPathComponent
            #expect(fields[0] == "store/stac/demo/\(oid)", "\(line)")
            #expect(fields[1] == oid, "\(line): the stored bytes do not hash to the oid")
            inBucket.insert(oid)
        }
        #expect(inBucket == oids, "\(listing)")
        // The bytes went to S3 directly (presigned PUTs), not through giftless.
        let giftlessLog = (try? String(contentsOf: ws.temp.sub("giftless-s3.log"), encoding: .utf8)) ?? ""
        #expect(!giftlessLog.contains("\"PUT "), "\(giftlessLog.suffix(2000))")

        // Our clone: presigned GETs from the bucket, byte-identical, verify clean.
        let clone = ws.temp.sub("clone")
        try await ws.ok(["clone", "file://" + bare.path, clone.path, "--lfs-url", lfsURL])
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: clone.appendingPathComponent("coll/\(path)").path) == data)
        }
        try await ws.ok(["verify"], repo: clone)

        // Stock git + git-lfs.
        let stock = ws.temp.sub("stock")
        var env = ws.env
        env["GIT_LFS_SKIP_SMUDGE"] = "1"
        let git = try #require(which("git"))
        let cloned = try await run(git, ["clone", "-q", bare.path, stock.path], cwd: ws.temp.url, env: env)
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(try await ws.git(["config", "lfs.url", lfsURL], in: stock).status == 0)
        let pull = try await ws.git(["lfs", "pull"], in: stock)
        #expect(pull.status == 0, "git lfs pull: \(pull.stderr)")
        for (path, data) in assets {
            #expect(FileManager.default.contents(atPath: stock.appendingPathComponent("coll/\(path)").path) == data)
        }
        let fsck = try await ws.git(["lfs", "fsck"], in: stock)
        #expect(fsck.status == 0, "\(fsck.stdout)\(fsck.stderr)")
    }
}
