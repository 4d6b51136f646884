import Foundation

/// How s3 requests are addressed and signed, resolved once from the environment and the shared
/// AWS files, the way the AWS CLI resolves them.
struct S3Settings: Sendable {
    /// A custom endpoint (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`): path-style requests go there.
    var endpoint: URLComponents?
    var region: String
    /// Nil when requests go out unsigned.
    var credentials: AWSCredentials?
    /// Why signing is impossible, when it is needed and no credentials were found.
    var credentialProblem: String?
    var requesterPays: Bool
    var caBundle: String?

    init(configuration: TransferConfiguration) {
        let env = configuration.environment
        let home = nonEmpty(env["HOME"]) ?? NSHomeDirectory()
        let profile = nonEmpty(env["AWS_PROFILE"]) ?? nonEmpty(env["AWS_DEFAULT_PROFILE"]) ?? "default"
        let credentialsPath = nonEmpty(env["AWS_SHARED_CREDENTIALS_FILE"]) ?? "\(home)/.aws/credentials"
        let configPath = nonEmpty(env["AWS_CONFIG_FILE"]) ?? "\(home)/.aws/config"
        let credentialsFile = AWSSharedFile(path: credentialsPath)
        let configFile = AWSSharedFile(path: configPath)
        let profileSection = credentialsFile?.sections[profile]
        let configSection = configFile?.sections[profile == "default" ? "default" : "profile \(profile)"]

        region =
            nonEmpty(env["AWS_REGION"]) ?? nonEmpty(env["AWS_DEFAULT_REGION"]) ?? configSection?["region"]
            ?? "us-east-1"
        if let text = nonEmpty(env["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(env["AWS_ENDPOINT_URL"]),
            let components = URLComponents(string: text), components.host != nil
        {
            endpoint = components
        }
        requesterPays = configuration.requesterPays
        caBundle = configuration.s3CABundle
        credentialProblem = nil
        credentials = nil
        if configuration.skipsSignature { return }

        if let id = nonEmpty(env["AWS_ACCESS_KEY_ID"]), let secret = nonEmpty(env["AWS_SECRET_ACCESS_KEY"]) {
            credentials = AWSCredentials(
                accessKeyID: id, secretAccessKey: secret,
                sessionToken: nonEmpty(env["AWS_SESSION_TOKEN"]) ?? nonEmpty(env["AWS_SECURITY_TOKEN"]))
            return
        }
        for section in [profileSection, configSection].compactMap({ $0 }) {
            if let id = nonEmpty(section["aws_access_key_id"]), let secret = nonEmpty(section["aws_secret_access_key"])
            {
                credentials = AWSCredentials(
                    accessKeyID: id, secretAccessKey: secret,
                    sessionToken: nonEmpty(section["aws_session_token"]) ?? nonEmpty(section["aws_security_token"]))
                return
            }
        }
        let unsupported = ["credential_process", "sso_session", "sso_start_url", "role_arn", "web_identity_token_file"]
        if let section = profileSection ?? configSection, let kind = unsupported.first(where: { section[$0] != nil }) {
            credentialProblem =
                "AWS profile \"\(profile)\" gets its credentials through \(kind), which stac-repository cannot use"
        } else if profileSection == nil, configSection == nil, env["AWS_PROFILE"] != nil {
            credentialProblem =
                "no AWS credentials were found: AWS_ACCESS_KEY_ID is not set and profile \"\(profile)\" is in neither \(credentialsPath) nor \(configPath)"
        } else {
            credentialProblem =
                "no AWS credentials were found: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set and profile \"\(profile)\" of \(credentialsPath) has no keys"
        }
    }

    /// The advice given with ``credentialProblem``.
    static let credentialFix =
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), set AWS_PROFILE to a profile with keys in ~/.aws/credentials (`aws configure export-credentials --format env` prints keys for SSO and role profiles), or use --no-sign-request for a public bucket"

    /// The URL, `Host` header value and canonical path of an object request.
    func address(bucket: String, key: String, region: String) -> (url: String, host: String, path: String) {
        let encodedKey = SigV4Signer.uriEncode(key, keepSlash: true)
        if let endpoint, let host = endpoint.host {
            let scheme = endpoint.scheme?.lowercased() ?? "https"
            let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            var hostHeader = bracketed
            if let port = endpoint.port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) {
                hostHeader += ":\(port)"
            }
            var base = endpoint.percentEncodedPath
            while base.hasSuffix("/") { base.removeLast() }
            let path = "\(base)/\(SigV4Signer.uriEncode(bucket, keepSlash: false))/\(encodedKey)"
            return ("\(scheme)://\(hostHeader)\(path)", hostHeader, path)
        }
        if Self.isVirtualHostable(bucket) {
            let host = "\(bucket).s3.\(region).amazonaws.com"
            return ("https://\(host)/\(encodedKey)", host, "/\(encodedKey)")
        }
        let host = "s3.\(region).amazonaws.com"
        let path = "/\(SigV4Signer.uriEncode(bucket, keepSlash: false))/\(encodedKey)"
        return ("https://\(host)\(path)", host, path)
    }

    /// The URL, `Host` header value and canonical path of a bucket-level request (ListObjectsV2).
    func bucketAddress(bucket: String, region: String) -> (url: String, host: String, path: String) {
        if endpoint != nil || !Self.isVirtualHostable(bucket) {
            // Path style: the object address of an empty key, without its trailing slash.
            var a = address(bucket: bucket, key: "", region: region)
            if a.path.hasSuffix("/") {
                a.path.removeLast()
                a.url.removeLast()
            }
            return a
        }
        let host = "\(bucket).s3.\(region).amazonaws.com"
        return ("https://\(host)/", host, "/")
    }

    /// Whether the bucket can be a TLS-valid host name label (no dots, lowercase DNS characters).
    static func isVirtualHostable(_ bucket: String) -> Bool {
        guard (3...63).contains(bucket.utf8.count), !bucket.hasPrefix("-"), !bucket.hasSuffix("-") else { return false }
        return bucket.utf8.allSatisfy { byte in
            switch byte {
            case 0x61...0x7A, 0x30...0x39, 0x2D: true  // a-z 0-9 -
            default: false
            }
        }
    }
}

/// An AWS shared credentials or config file: INI sections of `key = value` lines.
struct AWSSharedFile {
    var sections: [String: [String: String]] = [:]

    init?(path: String) {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        var current: String?
        for rawLine in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().split(separator: " ", omittingEmptySubsequences: true)
                    .joined(separator: " ")
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current]?[key] = value
        }
    }
}
