import Foundation

/// The `machine` entries of a netrc file (`$NETRC`, else `~/.netrc`), as curl and git read it:
/// `machine HOST login USER password SECRET`, a `default` entry, `macdef` blocks skipped.
///
/// An entry is used only for its own host (the host of the remote URL, or of the Git LFS
/// endpoint, each looked up separately): a password for one host is never sent to another.
struct Netrc: Sendable {
    struct Entry: Sendable, Equatable {
        var login: String
        var password: String
    }

    private(set) var machines: [String: Entry] = [:]
    private(set) var fallback: Entry?
    /// The file the entries came from (for "which credential source was tried").
    let path: String?

    /// Reads the user's netrc; empty when there is none.
    static func load(environment: [String: String] = ProcessInfo.processInfo.environment) -> Netrc {
        let path =
            environment["NETRC"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].map { $0 + "/.netrc" }
        guard let path, let bytes = try? FS.read(path) else { return Netrc(path: nil) }
        return Netrc(parsing: String(decoding: bytes, as: UTF8.self), path: path)
    }

    init(path: String?) { self.path = path }

    init(parsing text: String, path: String?) {
        self.path = path
        var tokens: [String] = []
        var inMacro = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            // A macdef body runs to the next empty line.
            if inMacro {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { inMacro = false }
                continue
            }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if let at = words.firstIndex(of: "macdef") {
                tokens += words[..<at]
                inMacro = true
                continue
            }
            if words.first?.hasPrefix("#") == true { continue }
            tokens += words
        }
        var host: String?
        var isDefault = false
        var login: String?
        var password: String?
        func flush() {
            if let login, let password {
                if isDefault {
                    if fallback == nil { fallback = Entry(login: login, password: password) }
                } else if let host, machines[host] == nil {
                    machines[host] = Entry(login: login, password: password)
                }
            }
            (host, isDefault, login, password) = (nil, false, nil, nil)
        }
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            let value = i + 1 < tokens.count ? tokens[i + 1] : nil
            switch token {
            case "machine":
                flush()
                host = value?.lowercased()
                i += 2
            case "default":
                flush()
                isDefault = true
                i += 1
            case "login":
                login = value
                i += 2
            case "password":
                password = value
                i += 2
            case "account":
                i += 2
            default:
                i += 1
            }
        }
        flush()
    }

    /// The entry for the host of `url` (http, https), else the `default` entry; nil for other
    /// schemes and for URLs without a host.
    func entry(for url: String) -> Entry? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        return machines[host] ?? fallback
    }
}
