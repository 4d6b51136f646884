internal import CCurl
import Foundation

/// The one rule for where credentials go.
///
/// `--header`, `--bearer-token` and netrc credentials (``TransferConfiguration/headers``,
/// ``TransferConfiguration/bearerToken``, ``TransferConfiguration/useNetrc``) are sent only to
/// the hosts in ``TransferConfiguration/credentialHosts``: the host of the source given on the
/// command line and those named with `--auth-host`. A host is compared with its port
/// (`host:port`, the scheme's default port when none is written), so a token for
/// `127.0.0.1:8080` never reaches `127.0.0.1:9090`. Redirects are followed by the engine itself,
/// one hop at a time, and each hop gets credentials only if its own host is in scope: a redirect
/// to another host never carries them. Userinfo (`user:password@`) in a URL is removed before the
/// request unless ``TransferConfiguration/allowUserinfo`` is set. S3 requests are signed only for
/// the S3 endpoint of the configuration (never for a host a document names) and never carry the
/// http credentials.
public enum CredentialScope {
    /// `host:port` of an http(s) URL, lowercased, the scheme's default port filled in; nil otherwise.
    ///
    /// The URL is parsed by libcurl's own parser (`curl_url`), the one that decides where the
    /// request goes, so the scope and the connection can never disagree about the host.
    public static func hostKey(ofURL url: String) -> String? {
        guard let parts = CurlURLParts(url), let scheme = parts.scheme, scheme == "http" || scheme == "https",
            let host = parts.host, !host.isEmpty
        else { return nil }
        let port = parts.port ?? (scheme == "https" ? 443 : 80)
        return key(host: host, port: port)
    }

    /// The keys an `--auth-host` value stands for: `host:port` is that port only; a bare `host`
    /// is ports 80 and 443; a URL is its host and port. Nil when the value is not a host.
    public static func hostKeys(forAuthHost value: String) -> [String]? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if text.contains("://") { return hostKey(ofURL: text).map { [$0] } }
        guard !text.contains("@"), !text.contains("/"), let parts = CurlURLParts("http://" + text),
            let host = parts.host, !host.isEmpty
        else { return nil }
        if let port = parts.port { return [key(host: host, port: port)] }
        return [key(host: host, port: 80), key(host: host, port: 443)]
    }

    private static func key(host: String, port: Int) -> String {
        var h = host.lowercased()
        if h.hasSuffix(".") { h.removeLast() }
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return "\(h):\(port)"
    }

    /// Whether credentials may be sent with a request to `url`.
    static func allows(_ url: String, configuration: TransferConfiguration) -> Bool {
        guard let key = hostKey(ofURL: url) else { return false }
        return configuration.credentialHosts.contains(key)
    }

    /// `url` without its userinfo: `https://u:p@h/x` → `https://h/x`.
    static func withoutUserinfo(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + rest[rest.index(after: at)...]
    }
}

extension TransferConfiguration {
    /// Adds the host of `url` (an http(s) source given by the user) to ``credentialHosts``.
    ///
    /// A plain-http source on the default port also allows its host on 443, so that the usual
    /// redirect from `http://host/` to `https://host/` keeps working; never the other way round.
    public mutating func allowCredentials(forSource url: String) {
        guard let key = CredentialScope.hostKey(ofURL: url) else { return }
        credentialHosts.insert(key)
        if key.hasSuffix(":80"), url.lowercased().hasPrefix("http://") {
            credentialHosts.insert(String(key.dropLast(3)) + ":443")
        }
    }

    /// Whether any http credential is configured at all.
    var hasHTTPCredentials: Bool {
        !headers.isEmpty || bearerToken != nil || useNetrc
    }
}

/// The scheme, host and explicit port of a URL, as libcurl parses it.
private struct CurlURLParts {
    var scheme: String?
    var host: String?
    var port: Int?

    init?(_ url: String) {
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        func part(_ which: CURLUPart) -> String? {
            var out: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &out, 0) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        scheme = part(CURLUPART_SCHEME)?.lowercased()
        host = part(CURLUPART_HOST)
        port = part(CURLUPART_PORT).flatMap { Int($0) }
    }
}
