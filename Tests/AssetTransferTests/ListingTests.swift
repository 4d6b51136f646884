import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

/// The parts of S3 ListObjectsV2 answers and autoindex pages that discovery reads.
@Suite("Listings", .offPool)
struct ListingTests {
    @Test("a ListBucketResult page gives keys, sizes, ETags and the continuation token")
    func s3Page() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult><IsTruncated>true</IsTruncated>
            <Contents><Key>fire/a &amp; b.tif</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag>
            <LastModified>2024-05-01T00:00:00.000Z</LastModified></Contents>
            <Contents><Key>fire/c.tif</Key><Size>3</Size></Contents>
            <NextContinuationToken>tok/1=</NextContinuationToken></ListBucketResult>
            """
        let page = try #require(S3Listing.parse(xml))
        #expect(page.truncated)
        #expect(page.nextToken == "tok/1=")
        #expect(page.objects.map(\.key) == ["fire/a & b.tif", "fire/c.tif"])
        #expect(page.objects.first?.etag == "\"abc\"")
        #expect(page.objects.first?.size == 12)
        #expect(S3Listing.parse("<Error><Code>NoSuchBucket</Code></Error>") == nil)
        #expect(S3Listing.split("s3://bucket/pre/fix/")?.prefix == "pre/fix/")
        #expect(S3Listing.split("s3://bucket")?.prefix == "")
    }

    @Test("a ListObjectsV2 request is addressed at the bucket and signed as botocore signs it")
    func listRequestMatchesBotocore() throws {
        // botocore 1.43 S3SigV4Auth, clock at 2026-01-02T03:04:05Z, URL=
        // http://127.0.0.1:5000/stac?continuation-token=a%2Fb%3D&list-type=2&max-keys=100&prefix=events%2Ffire%2F
        var environment = ["AWS_ENDPOINT_URL": "http://127.0.0.1:5000"]
        environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
        let settings = S3Settings(configuration: TransferConfiguration(environment: environment))
        let address = settings.bucketAddress(bucket: "stac", region: "us-east-1")
        #expect(
            address.url == "http://127.0.0.1:5000/stac" && address.path == "/stac" && address.host == "127.0.0.1:5000")
        let query = SigV4Signer.canonicalQuery([
            ("list-type", "2"), ("prefix", "events/fire/"), ("continuation-token", "a/b="), ("max-keys", "100"),
        ])
        #expect(query == "continuation-token=a%2Fb%3D&list-type=2&max-keys=100&prefix=events%2Ffire%2F")
        let credentials = AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        let headers = SigV4Signer(credentials: credentials, region: "us-east-1").sign(
            host: address.host, canonicalPath: address.path, canonicalQuery: query,
            date: Date(timeIntervalSince1970: 1_767_323_045))
        #expect(
            headers.last?.value
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=cf174b06090f643afa2220d102013888583a068a3922d58f3871b41e2146fa55"
        )
        let aws = S3Settings(configuration: TransferConfiguration(environment: [:]))
        #expect(
            aws.bucketAddress(bucket: "stac", region: "eu-west-1").url == "https://stac.s3.eu-west-1.amazonaws.com/")
    }

    @Test("an autoindex page keeps only links below the listed URL")
    func autoindexConfinement() throws {
        let base = try #require(URL(string: "http://127.0.0.1:8000/data/"))
        let html = """
            <a href="a.json">a</a> <a href='sub/'>sub</a> <a href=b%20c.tif>b</a>
            <a href="../up.json">up</a> <a href="/other/x.json">abs</a> <a href="http://evil/x.json">x</a>
            <a href="?C=N;O=D">sort</a> <a href="sub/%2e%2e/%2e%2e/x.json">enc</a> <a href="http://127.0.0.1:8001/data/y">port</a>
            <a href="http://127.0.0.1:8000/data/z.json">same</a> <a href="a.json&amp;x">amp</a>
            """
        let kept = AutoIndex.hrefs(in: html).compactMap { AutoIndex.below($0, base: base)?.absoluteString }
        #expect(
            kept == [
                "http://127.0.0.1:8000/data/a.json", "http://127.0.0.1:8000/data/sub/",
                "http://127.0.0.1:8000/data/b%20c.tif", "http://127.0.0.1:8000/data/z.json",
                "http://127.0.0.1:8000/data/a.json&x",
            ], "\(kept)")
    }
}
