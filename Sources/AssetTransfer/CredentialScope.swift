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
    public static func hostKey(ofURL url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return nil }
        let port: Int
        switch scheme {
        case "http": port = components.port ?? 80
        case "https": port = components.port ?? 443
        default: return nil
        }
        return key(host: host, port: port)
    }

    /// The keys an `--auth-host` value stands for: `host:port` is that port only; a bare `host`
    /// is ports 80 and 443; a URL is its host and port. Nil when the value is not a host.
    public static func hostKeys(forAuthHost value: String) -> [String]? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if text.contains("://") { return hostKey(ofURL: text).map { [$0] } }
        guard let components = URLComponents(string: "http://" + text), let host = components.host, !host.isEmpty,
            components.path.isEmpty || components.path == "/", components.user == nil
        else { return nil }
        if let port = components.port { return [key(host: host, port: port)] }
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
    public mutating func allowCredentials(forSource url: String) {
        if let key = CredentialScope.hostKey(ofURL: url) { credentialHosts.insert(key) }
    }

    /// Whether any http credential is configured at all.
    var hasHTTPCredentials: Bool {
        !headers.isEmpty || bearerToken != nil || useNetrc
    }
}
