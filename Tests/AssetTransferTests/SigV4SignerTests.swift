import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

@Suite("SigV4 signing and S3 settings", .offPool)
struct SigV4SignerTests {
    // The expected Authorization values below were produced with botocore 1.43.11's S3SigV4Auth, with
    // the clock pinned to 2026-01-02T03:04:05Z:
    //
    //   import datetime, botocore.auth as A
    //   from botocore.awsrequest import AWSRequest
    //   from botocore.credentials import Credentials
    //   A.get_current_datetime = lambda: datetime.datetime(2026, 1, 2, 3, 4, 5)
    //   r = AWSRequest(method="GET", url=URL, headers=HEADERS)
    //   A.S3SigV4Auth(Credentials(KEY_ID, SECRET, TOKEN), "s3", REGION).add_auth(r)
    //   print(r.headers["Authorization"])
    static let date = Date(timeIntervalSince1970: 1_767_323_045)  // 2026-01-02T03:04:05Z
    static let credentials = AWSCredentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    @Test func matchesBotocoreForAPathStyleRequestOnACustomPort() {
        // URL=http://127.0.0.1:5000/stac-assets/scenes/a.tif, HEADERS={}, REGION=us-east-1
        let headers = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
            .sign(host: "127.0.0.1:5000", canonicalPath: "/stac-assets/scenes/a.tif", date: Self.date)
        #expect(headers.first { $0.name == "x-amz-date" }?.value == "20260102T030405Z")
        #expect(
            headers.first { $0.name == "x-amz-content-sha256" }?.value
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            headers.last?.value
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=181cbd3fdd23dd111fea6274dad80840b86caea1cabeb11c5a5c14f6c77b5c7d"
        )
    }

    @Test func matchesBotocoreWithAnEncodedKeyATokenAndExtraHeaders() {
        // URL=https://examplebucket.s3.eu-west-1.amazonaws.com/dir/with%20space%2Bplus~%C3%A9.tif,
        // HEADERS={"x-amz-request-payer": "requester", "Range": "bytes=100-"}, REGION=eu-west-1,
        // TOKEN="FQoGZXIvYXdzEXAMPLETOKEN/+="
        var credentials = Self.credentials
        credentials.sessionToken = "FQoGZXIvYXdzEXAMPLETOKEN/+="
        let path = "/" + SigV4Signer.uriEncode("dir/with space+plus~é.tif", keepSlash: true)
        #expect(path == "/dir/with%20space%2Bplus~%C3%A9.tif")
        let headers = SigV4Signer(credentials: credentials, region: "eu-west-1").sign(
            host: "examplebucket.s3.eu-west-1.amazonaws.com", canonicalPath: path,
            headers: ["x-amz-request-payer": "requester", "Range": "bytes=100-"], date: Self.date)
        #expect(headers.first { $0.name == "x-amz-security-token" }?.value == "FQoGZXIvYXdzEXAMPLETOKEN/+=")
        #expect(
            headers.last?.value
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;x-amz-request-payer;x-amz-security-token, Signature=6663ba2875bfbfd80e8cfaf46d702a94a8d08bfdcbb0b8add4eb65bc16e68a43"
        )
    }

    @Test func matchesBotocoreWithAQueryOfReservedCharacters() {
        // URL=https://s3.us-west-2.amazonaws.com/my.bucket/k?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&x-id=GetObject
        let query = SigV4Signer.canonicalQuery([
            ("x-id", "GetObject"), ("versionId", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
        ])
        #expect(query == "versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&x-id=GetObject")
        let headers = SigV4Signer(credentials: Self.credentials, region: "us-west-2").sign(
            host: "s3.us-west-2.amazonaws.com", canonicalPath: "/my.bucket/k", canonicalQuery: query, date: Self.date)
        #expect(
            headers.last?.value
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-west-2/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=dbf32f399a06903d3b742a9bbf3498f98fe8e09f4c3658f03c478f39acac5113"
        )
    }

    @Test func addressesBucketsVirtualHostedPathStyleOrAtACustomEndpoint() {
        let aws = S3Settings(configuration: testConfiguration(environment: ["AWS_SKIP_SIGNATURE": "true"]))
        #expect(
            aws.address(bucket: "sentinel-cogs", key: "a b/c.tif", region: "us-west-2").url
                == "https://sentinel-cogs.s3.us-west-2.amazonaws.com/a%20b/c.tif")
        #expect(
            aws.address(bucket: "my.bucket", key: "k", region: "eu-west-1").url
                == "https://s3.eu-west-1.amazonaws.com/my.bucket/k")
        let custom = S3Settings(
            configuration: testConfiguration(environment: [
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9000/", "AWS_SKIP_SIGNATURE": "1",
            ]))
        let address = custom.address(bucket: "b", key: "x/../y.tif", region: "us-east-1")
        #expect(address.url == "http://127.0.0.1:9000/b/x/../y.tif")
        #expect(address.host == "127.0.0.1:9000")
        #expect(address.path == "/b/x/../y.tif")
        let s3Specific = S3Settings(
            configuration: testConfiguration(environment: [
                "AWS_ENDPOINT_URL": "http://ignored:1", "AWS_ENDPOINT_URL_S3": "https://minio.local",
                "AWS_SKIP_SIGNATURE": "1",
            ]))
        #expect(s3Specific.address(bucket: "b", key: "k", region: "us-east-1").url == "https://minio.local/b/k")
    }

    @Test func readsCredentialsAndRegionFromTheSharedFiles() throws {
        let home = try TemporaryDirectory()
        let credentials = try home.write(
            Data(
                """
                [default]
                aws_access_key_id = DEFAULTKEY
                aws_secret_access_key = defaultsecret

                [stac]
                aws_access_key_id=STACKEY
                aws_secret_access_key=stacsecret
                aws_session_token = stactoken
                """.utf8), to: "credentials")
        let config = try home.write(Data("[profile stac]\nregion = eu-central-1\n".utf8), to: "config")
        let base = [
            "AWS_SHARED_CREDENTIALS_FILE": credentials.path, "AWS_CONFIG_FILE": config.path, "HOME": home.url.path,
        ]

        let byDefault = S3Settings(configuration: testConfiguration(environment: base))
        #expect(byDefault.credentials?.accessKeyID == "DEFAULTKEY")
        #expect(byDefault.region == "us-east-1")

        let profile = S3Settings(
            configuration: testConfiguration(environment: base.merging(["AWS_PROFILE": "stac"]) { $1 }))
        #expect(profile.credentials?.accessKeyID == "STACKEY")
        #expect(profile.credentials?.secretAccessKey == "stacsecret")
        #expect(profile.credentials?.sessionToken == "stactoken")
        #expect(profile.region == "eu-central-1")

        let environment = S3Settings(
            configuration: testConfiguration(
                environment: base.merging([
                    "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_REGION": "ap-south-1",
                ]) { $1 }))
        #expect(environment.credentials?.accessKeyID == "ENVKEY")
        #expect(environment.region == "ap-south-1")
        let printed = [String(describing: environment.credentials), String(reflecting: environment.credentials)]
        var dumped = ""
        dump(environment.credentials, to: &dumped)
        for text in printed + [dumped] {
            #expect(!text.contains("envsecret"), "credentials never print their secret: \(text)")
        }
    }

    @Test func missingCredentialsSaysHowToProvideThem() async throws {
        let home = try TemporaryDirectory()
        let engine = AssetTransferEngine(
            configuration: testConfiguration(environment: [
                "HOME": home.url.path, "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            ]))
        let results = await engine.measure([
            AssetRequest(name: #"asset "b" of item "i""#, source: "s3://bucket/key.tif")
        ])
        let error = try #require(results[0].error())
        #expect(error.kind == .missingCredentials)
        #expect(
            error.message.hasPrefix(
                #"Could not fetch asset "b" of item "i" from s3://bucket/key.tif: no AWS credentials were found"#))
        #expect(error.message.contains("AWS_ACCESS_KEY_ID"))
        #expect(error.message.contains("--no-sign-request"))
    }
}
