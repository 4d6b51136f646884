import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

@Suite(
    "s3 sources on moto", .enabled(if: MotoServer.isInstalled, "moto_server is not installed"), .motoServers,
    .offPool)
struct S3TransferTests {
    var fixture: S3Fixture {
        get throws { try #require(S3Fixture.current, "the moto fixture is running") }
    }

    func environment(_ server: MotoServer, _ extra: [String: String] = [:]) -> [String: String] {
        ["AWS_ENDPOINT_URL": server.endpoint, "AWS_REGION": "us-east-1", "HOME": "/nonexistent"].merging(extra) { $1 }
    }

    @Test func signedGetSucceedsWithTheRightCredentials() async throws {
        let fixture = try fixture
        let directory = try TemporaryDirectory()
        let engine = AssetTransferEngine(
            configuration: testConfiguration(
                environment: environment(
                    fixture.signing,
                    ["AWS_ACCESS_KEY_ID": fixture.accessKeyID, "AWS_SECRET_ACCESS_KEY": fixture.secretAccessKey])))
        let results = await engine.fetch(
            [
                AssetRequest(
                    name: "private", source: "s3://stac-assets/scenes/private scene.tif",
                    expectedChecksum: Multihash.sha256(sha256Hex(fixture.privateObject)),
                    expectedSize: Int64(fixture.privateObject.count)),
                AssetRequest(name: "escaped", source: "s3://stac-assets/scenes/private%20scene.tif"),
            ], into: directory.url)
        for result in results {
            let asset = try #require(result.value())
            #expect(asset.sha256 == sha256Hex(fixture.privateObject))
            #expect(try sha256Hex(ofFile: #require(asset.file)) == sha256Hex(fixture.privateObject))
        }
    }

    @Test func signedGetReadsKeysFromAProfile() async throws {
        let fixture = try fixture
        let home = try TemporaryDirectory()
        let credentials = try home.write(
            Data(
                "[ingest]\naws_access_key_id = \(fixture.accessKeyID)\naws_secret_access_key = \(fixture.secretAccessKey)\n"
                    .utf8),
            to: "credentials")
        let engine = AssetTransferEngine(
            configuration: testConfiguration(
                environment: environment(
                    fixture.signing, ["AWS_PROFILE": "ingest", "AWS_SHARED_CREDENTIALS_FILE": credentials.path])))
        let document = try await engine.readDocument("s3://stac-assets/scenes/private scene.tif")
        #expect(sha256Hex(document) == sha256Hex(fixture.privateObject))
    }

    @Test func wrongSecretIsDeniedWithoutShowingIt() async throws {
        let fixture = try fixture
        let wrongSecret = "Wr0ngSecretValueThatMustNotLeak/abc"
        let engine = AssetTransferEngine(
            configuration: testConfiguration(
                environment: environment(
                    fixture.signing, ["AWS_ACCESS_KEY_ID": fixture.accessKeyID, "AWS_SECRET_ACCESS_KEY": wrongSecret])))
        let events = Locked<[String]>([])
        let results = await engine.measure(
            [AssetRequest(name: #"asset "data" of item "x""#, source: "s3://stac-assets/scenes/private scene.tif")],
            events: { event in events.withLock { $0.append("\(event)") } })
        let error = try #require(results[0].error())
        #expect(error.kind == .accessDenied)
        #expect(error.httpStatus == 403)
        #expect(error.attempts == 1, "a 403 is not retried")
        #expect(error.message.contains("SignatureDoesNotMatch"))
        #expect(error.message.contains("AWS_SECRET_ACCESS_KEY"))
        for text in [error.message, "\(error)", String(reflecting: error)] + events.current {
            #expect(!text.contains(wrongSecret))
        }
    }

    @Test func unsignedGetReadsAPublicObject() async throws {
        let fixture = try fixture
        var configuration = testConfiguration(environment: environment(fixture.anonymous))
        configuration.noSignRequest = true
        let viaFlag = await AssetTransferEngine(configuration: configuration)
            .measure([AssetRequest(name: "public", source: "s3://open-data/public/hello.tif")])
        #expect(viaFlag[0].value()?.sha256 == sha256Hex(fixture.publicObject))

        let viaEnvironment = await AssetTransferEngine(
            configuration: testConfiguration(
                environment: environment(fixture.anonymous, ["AWS_SKIP_SIGNATURE": "true"]))
        ).measure([AssetRequest(name: "public", source: "s3://open-data/public/hello.tif")])
        #expect(viaEnvironment[0].value()?.size == Int64(fixture.publicObject.count))
    }

    @Test func unsignedGetOfAPrivateObjectExplainsItIsNotPublic() async throws {
        let fixture = try fixture
        var configuration = testConfiguration(environment: environment(fixture.anonymous))
        configuration.noSignRequest = true
        let results = await AssetTransferEngine(configuration: configuration)
            .measure([AssetRequest(name: "secret", source: "s3://open-data/private/secret.tif")])
        let error = try #require(results[0].error())
        #expect(error.kind == .accessDenied)
        #expect(error.message.contains("S3 answered 403"))
        #expect(error.message.contains("the object is not public"))
    }

    @Test func missingObjectIsNotFound() async throws {
        let fixture = try fixture
        let engine = AssetTransferEngine(
            configuration: testConfiguration(
                environment: environment(
                    fixture.signing,
                    ["AWS_ACCESS_KEY_ID": fixture.accessKeyID, "AWS_SECRET_ACCESS_KEY": fixture.secretAccessKey])))
        let results = await engine.measure([AssetRequest(name: "nothing", source: "s3://stac-assets/scenes/none.tif")])
        let error = try #require(results[0].error())
        #expect(error.kind == .notFound)
        #expect(error.message.contains("NoSuchKey"))
    }
}
