import STAC
import TestSupport
import Testing

@Suite("Hrefs", .offPool, .offPool)
struct HrefTests {
    @Test(
        "hrefs resolve against the file that holds them",
        arguments: [
            // Relative hrefs against a local file.
            ("item.tif", "/data/cat/c1/i1/i1.json", "/data/cat/c1/i1/item.tif"),
            ("./item.tif", "/data/cat/c1/i1/i1.json", "/data/cat/c1/i1/item.tif"),
            ("../collection.json", "/data/cat/c1/i1/i1.json", "/data/cat/c1/collection.json"),
            ("./../../catalog.json", "/data/cat/c1/i1/i1.json", "/data/cat/catalog.json"),
            ("sub/./x/../y.tif", "/data/cat/c1/i1/i1.json", "/data/cat/c1/i1/sub/y.tif"),
            ("../../../../../../x.tif", "/data/c/i.json", "/x.tif"),
            ("a%20b.tif", "/data/i.json", "/data/a%20b.tif"),
            ("dir/", "/data/i.json", "/data/dir/"),
            ("", "/data/./cat/i.json", "/data/cat/i.json"),
            // Absolute paths and file URLs ignore the base.
            ("/abs/./y/../z.tif", "/data/i.json", "/abs/z.tif"),
            ("/abs//double.tif", "https://example.com/i.json", "https://example.com/abs//double.tif"),
            ("file:///x%20y", "/data/i.json", "/x y"),
            ("file:///data/%C3%A9t%C3%A9/a.tif", "https://example.com/i.json", "/data/été/a.tif"),
            ("file://localhost/a/../b.tif", "/data/i.json", "/b.tif"),
            ("FILE:///a.tif?x=1#f", "/data/i.json", "/a.tif"),
            ("file:/a/b.tif", "/data/i.json", "/a/b.tif"),
            // Relative hrefs against a file URL base.
            ("x.tif", "file:///data/a%20b/c.json", "/data/a b/x.tif"),
            // Absolute URLs ignore the base, but lose dot segments.
            ("https://example.com/a/b.tif", "/data/i.json", "https://example.com/a/b.tif"),
            ("https://example.com/a/./b/../c.tif?q=1", "/data/i.json", "https://example.com/a/c.tif?q=1"),
            ("s3://bucket/key/x.tif", "https://example.com/i.json", "s3://bucket/key/x.tif"),
            // Relative references against an http(s) base (RFC 3986).
            ("./b.tif", "https://example.com/cat/c/item.json", "https://example.com/cat/c/b.tif"),
            ("../b.tif?x=1", "https://example.com:8443/cat/c/item.json", "https://example.com:8443/cat/b.tif?x=1"),
            ("a%20b.tif", "http://example.com/c/item.json", "http://example.com/c/a%20b.tif"),
            ("../../../../x", "https://example.com/a/b.json", "https://example.com/x"),
            ("/x.tif", "https://example.com/a/b.json", "https://example.com/x.tif"),
            ("//other.org/x.tif", "https://example.com/a/b.json", "https://other.org/x.tif"),
            ("?page=2", "https://example.com/a/b.json?page=1", "https://example.com/a/b.json?page=2"),
            ("#frag", "https://example.com/a/b.json?page=1", "https://example.com/a/b.json?page=1#frag"),
            ("", "https://example.com/a/b.json", "https://example.com/a/b.json"),
            ("x.tif", "https://example.com", "https://example.com/x.tif"),
            ("x.tif", "https://user@example.com:1/dir/", "https://user@example.com:1/dir/x.tif"),
            // Against an s3 base.
            ("x.tif", "s3://bucket/prefix/item.json", "s3://bucket/prefix/x.tif"),
            ("../other/x.tif", "s3://bucket/prefix/items/item.json", "s3://bucket/prefix/other/x.tif"),
            ("../../../x.tif", "s3://bucket/item.json", "s3://bucket/x.tif"),
        ] as [(String, String, String)])
    func resolve(href: String, base: String, expected: String) {
        #expect(Href.resolve(href, against: base) == expected)
    }

    @Test(
        "relative hrefs lead from one repository file to another",
        arguments: [
            ("c1/i1/i1.json", "c1/collection.json", "../collection.json"),
            ("catalog.json", "c1/collection.json", "./c1/collection.json"),
            ("c1/collection.json", "catalog.json", "../catalog.json"),
            ("c1/collection.json", "c1/i1/i1.json", "./i1/i1.json"),
            ("c1/i1/i1.json", "c1/i1/visual.tif", "./visual.tif"),
            ("c1/i1/i1.json", "c2/i2/i2.json", "../../c2/i2/i2.json"),
            ("c1/i1/i1.json", "catalog.json", "../../catalog.json"),
            ("catalog.json", "catalog.json", "./catalog.json"),
            ("./c1/x.json", "c1/./y.json", "./y.json"),
            ("c1/2023/01/i1/i1.json", "c1/2023/02/i2/i2.json", "../../02/i2/i2.json"),
            ("c1/x.json", "c1", "../c1"),
        ] as [(String, String, String)])
    func relative(from: String, to: String, expected: String) {
        #expect(Href.relative(from: from, to: to) == expected)
    }

    @Test("a relative href resolves back to its target")
    func relativeResolvesBack() {
        let files = ["catalog.json", "c1/collection.json", "c1/i1/i1.json", "c1/i1/a.tif", "c2/x/y/z.json"]
        for from in files {
            for to in files {
                let href = Href.relative(from: from, to: to)
                #expect(Href.resolve(href, against: "/repo/" + from) == "/repo/" + to)
            }
        }
    }

    @Test(
        "schemes are recognised",
        arguments: [
            ("/data/x.json", HrefScheme.file), ("./x.json", .file), ("x.json", .file), ("file:///x", .file),
            ("http://h/x", .http), ("HTTPS://h/x", .https), ("s3://b/k", .s3), ("gs://b/k", .other("gs")),
            ("C:\\data\\x.json", .file), ("./a:b.json", .file), ("dir/a:b", .file),
        ] as [(String, HrefScheme)])
    func schemes(location: String, expected: HrefScheme) {
        #expect(Href.scheme(of: location) == expected)
    }
}
