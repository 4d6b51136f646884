import FlyingFox
import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

/// Credentials go only to the hosts the user named, never across a redirect to another host.
@Suite(.offPool) struct CredentialScopeTests {
    @Test func hostKeysCompareHostAndPort() {
        #expect(CredentialScope.hostKey(ofURL: "https://Example.COM/x") == "example.com:443")
        #expect(CredentialScope.hostKey(ofURL: "http://u:p@127.0.0.1:8080/x") == "127.0.0.1:8080")
        #expect(CredentialScope.hostKey(ofURL: "s3://bucket/key") == nil)
        #expect(
            CredentialScope.hostKeys(forAuthHost: "data.example.com") == [
                "data.example.com:80", "data.example.com:443",
            ])
        #expect(CredentialScope.hostKeys(forAuthHost: "127.0.0.1:9000") == ["127.0.0.1:9000"])
        #expect(CredentialScope.hostKeys(forAuthHost: "https://h.example/path") == ["h.example:443"])
        #expect(CredentialScope.hostKeys(forAuthHost: "a b") == nil)
        #expect(CredentialScope.hostKeys(forAuthHost: "user@host") == nil)
        // libcurl's parser decides: the key is the host the connection goes to.
        #expect(CredentialScope.hostKey(ofURL: "http://good.example#@evil.example/") == "good.example:80")
        #expect(CredentialScope.hostKey(ofURL: "http://good.example:80@evil.example/x") == "evil.example:80")
        #expect(CredentialScope.hostKey(ofURL: "http://[::1]:8080/x") == "::1:8080")
        #expect(CredentialScope.hostKey(ofURL: "ftp://h/x") == nil)
    }

    @Test func anHTTPSourceAlsoCoversItsHTTPSUpgradeButNotTheReverse() {
        var configuration = TransferConfiguration()
        configuration.allowCredentials(forSource: "http://data.example/catalog.json")
        #expect(configuration.credentialHosts == ["data.example:80", "data.example:443"])
        configuration = TransferConfiguration()
        configuration.allowCredentials(forSource: "https://data.example/catalog.json")
        #expect(configuration.credentialHosts == ["data.example:443"])
    }

    @Test func aRedirectToAnotherHostCarriesNoCredentials() async throws {
        let seenByA = Locked<[String]>([])
        let seenByB = Locked<[String]>([])
        try await withHTTPServer({ server in
            await server.appendRoute("GET /asset.tif") { request in
                seenByB.withLock { $0.append(Self.credentials(request)) }
                return HTTPResponse(statusCode: .ok, body: Data("bytes".utf8))
            }
        }) { b in
            try await withHTTPServer({ server in
                await server.appendRoute("GET /asset.tif") { request in
                    seenByA.withLock { $0.append(Self.credentials(request)) }
                    return HTTPResponse(statusCode: .found, headers: HTTPHeaders([.location: b.url("/asset.tif")]))
                }
                await server.appendRoute("GET /own.tif") { request in
                    seenByA.withLock { $0.append(Self.credentials(request)) }
                    return HTTPResponse(statusCode: .ok, body: Data("own".utf8))
                }
            }) { a in
                var configuration = testConfiguration()
                configuration.bearerToken = "sekrit-token"
                configuration.headers = ["X-Api-Key": "sekrit-key"]
                configuration.allowCredentials(forSource: a.url("/catalog.json"))
                let engine = AssetTransferEngine(configuration: configuration)
                let results = await engine.measure([
                    AssetRequest(name: "redirected", source: a.url("/asset.tif")),
                    AssetRequest(name: "direct to b", source: b.url("/asset.tif")),
                    AssetRequest(name: "own", source: a.url("/own.tif")),
                ])
                #expect(results.allSatisfy { (try? $0.get()) != nil })
            }
        }
        #expect(seenByA.current == ["Bearer sekrit-token|sekrit-key", "Bearer sekrit-token|sekrit-key"])
        #expect(seenByB.current == ["|", "|"], "the other host (another port) must see no credential")
    }

    @Test func userinfoIsRemovedUnlessAllowed() async throws {
        let seen = Locked<[String]>([])
        try await withHTTPServer({ server in
            await server.appendRoute("GET /x.tif") { request in
                seen.withLock { $0.append(Self.credentials(request)) }
                return HTTPResponse(statusCode: .ok, body: Data("x".utf8))
            }
        }) { server in
            let url = server.url("/x.tif").replacingOccurrences(of: "http://", with: "http://user:pa55@")
            var configuration = testConfiguration()
            _ = await AssetTransferEngine(configuration: configuration).measure([AssetRequest(name: "a", source: url)])
            configuration.allowUserinfo = true
            _ = await AssetTransferEngine(configuration: configuration).measure([AssetRequest(name: "a", source: url)])
        }
        let basic = "Basic " + Data("user:pa55".utf8).base64EncodedString()
        #expect(seen.current == ["|", "\(basic)|"])
    }

    @Test func s3CredentialsNeverGoToAnHTTPHostAndHTTPCredentialsNeverToS3() {
        var configuration = testConfiguration()
        configuration.environment = [
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9999",
        ]
        configuration.bearerToken = "tok"
        configuration.allowCredentials(forSource: "https://s3.amazonaws.com/bucket/catalog.json")
        let engine = AssetTransferEngine(configuration: configuration)
        // An http(s) URL that looks like S3 is not signed; it gets the token only because its host is in scope.
        let http = engine.makeCurlRequest(
            .http(url: "https://s3.amazonaws.com/bucket/key.tif"), resumeFrom: 0, validator: nil, region: nil)
        #expect(!http.headers.contains { $0.contains("AWS4-HMAC-SHA256") || $0.lowercased().hasPrefix("x-amz") })
        #expect(http.headers.contains("Authorization: Bearer tok"))
        let settings = S3Settings(configuration: configuration)
        let s3 = engine.makeCurlRequest(
            .s3(bucket: "bucket", key: "key.tif", settings: settings), resumeFrom: 0, validator: nil, region: nil)
        #expect(s3.url.hasPrefix("http://127.0.0.1:9999/"), "signed requests go to the configured endpoint only")
        #expect(!s3.followRedirects)
        #expect(!s3.headers.contains { $0.contains("Bearer") })
        #expect(s3.headers.contains { $0.contains("AWS4-HMAC-SHA256") })
    }

    static func credentials(_ request: HTTPRequest) -> String {
        (request.headers[.authorization] ?? "") + "|" + (request.headers[HTTPHeader("X-Api-Key")] ?? "")
    }
}
