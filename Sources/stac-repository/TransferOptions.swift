import ArgumentParser
import AssetTransfer
import Foundation

/// Options shared by commands that fetch assets.
struct TransferOptions: ParsableArguments {
    @Option(help: "Maximum concurrent transfers.")
    var jobs: Int = 8

    @Option(help: "Retries on connection errors, timeouts, 429 and 5xx.")
    var retries: Int = 4

    @Option(name: .customLong("header"), help: "An extra HTTP header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "A bearer token for HTTP requests (or set STAC_REPOSITORY_BEARER_TOKEN).")
    var bearerToken: String?

    @Flag(help: "Read HTTP credentials from ~/.netrc.")
    var netrc = false

    @Option(
        name: .customLong("auth-host"),
        help:
            "Also send --header, --bearer-token and netrc credentials to this host (HOST for ports 80/443, or HOST:PORT; repeatable). Without it they go only to the host of the source given."
    )
    var authHosts: [String] = []

    @Flag(help: "Fetch URLs with the user:password@ they carry (it is never stored or printed either way).")
    var allowUserinfo = false

    @Flag(help: "Send unsigned S3 requests (public buckets).")
    var noSignRequest = false

    @Flag(help: "Accept requester-pays charges on S3.")
    var requesterPays = false

    func validate() throws {
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256.") }
        if retries < 0 || retries > 100 { throw ValidationError("--retries must be between 0 and 100.") }
        for h in headers where !h.contains(":") {
            throw ValidationError("--header \"\(h)\" must look like 'Name: value'.")
        }
        for h in authHosts where CredentialScope.hostKeys(forAuthHost: h) == nil {
            throw ValidationError("--auth-host \"\(h)\" must be a host name, HOST:PORT or an http(s) URL.")
        }
    }

    var configuration: TransferConfiguration {
        var c = TransferConfiguration()
        c.jobs = jobs
        c.retries = retries
        for h in headers {
            let parts = h.split(separator: ":", maxSplits: 1)
            c.headers[parts[0].trimmingCharacters(in: .whitespaces)] =
                parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        }
        c.bearerToken = bearerToken ?? ProcessInfo.processInfo.environment["STAC_REPOSITORY_BEARER_TOKEN"]
        c.useNetrc = netrc
        for h in authHosts { c.credentialHosts.formUnion(CredentialScope.hostKeys(forAuthHost: h) ?? []) }
        c.allowUserinfo = allowUserinfo
        c.noSignRequest = noSignRequest
        c.requesterPays = requesterPays
        return c
    }
}
