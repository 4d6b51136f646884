internal import CLibGit2

extension GitRepository {
    /// The value of `key` (`section.name` or `section.subsection.name`) as git would read it,
    /// from the repository, global and system configuration; nil when unset.
    ///
    /// - Throws: ``GitError`` `.invalidSpec` for a malformed key.
    public func config(_ key: String) throws -> String? {
        let snapshot = try configSnapshot()
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let result = git_config_get_string_buf(&buffer, snapshot.pointer, key)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try git("git_config_get_string_buf") { result }
        guard let bytes = buffer.ptr else { return "" }
        return String(cString: bytes)
    }

    /// Sets `key` to `value` in the repository's own configuration (`.git/config`), the way
    /// `git config key value` does (`git_config_set_string`).
    ///
    /// - Throws: ``GitError`` `.invalidSpec` for a malformed key, `.locked` when the config
    ///   file is being written by someone else.
    public func setConfig(_ key: String, _ value: String) throws {
        let local = try localConfig()
        try git("git_config_set_string") { git_config_set_string(local.pointer, key, value) }
    }

    /// Removes `key` from the repository's own configuration; nothing happens when it is unset.
    ///
    /// - Throws: ``GitError`` `.invalidSpec` for a malformed key.
    public func removeConfig(_ key: String) throws {
        let local = try localConfig()
        let result = git_config_delete_entry(local.pointer, key)
        if result == GIT_ENOTFOUND.rawValue { return }
        try git("git_config_delete_entry") { result }
    }

    /// Every configuration entry whose name starts with `prefix` (e.g. `stac-repository.`),
    /// in file order; names are normalised as git does (section and key lowercased). A key set
    /// at several levels appears once per level, the repository's last.
    ///
    /// - Throws: ``GitError`` when the configuration cannot be read.
    public func configEntries(withPrefix prefix: String) throws -> [(name: String, value: String)] {
        let snapshot = try configSnapshot()
        var iterator: OpaquePointer?
        try git("git_config_iterator_new") { git_config_iterator_new(&iterator, snapshot.pointer) }
        defer { git_config_iterator_free(iterator) }
        let lowercasedPrefix = prefix.lowercased()
        var entries = [(name: String, value: String)]()
        var entry: UnsafeMutablePointer<git_config_entry>?
        while true {
            let result = git_config_next(&entry, iterator)
            if result == GIT_ITEROVER.rawValue { break }
            try git("git_config_next") { result }
            guard let entry = entry?.pointee, let rawName = entry.name else { continue }
            let name = String(cString: rawName)
            // Section names are case-insensitive, subsections are not: compare the prefix as git would.
            guard name.hasPrefix(prefix) || name.lowercased().hasPrefix(lowercasedPrefix) else { continue }
            entries.append((name, entry.value.map { String(cString: $0) } ?? ""))
        }
        return entries
    }

    private func configSnapshot() throws(GitError) -> ConfigHandle {
        var config: OpaquePointer?
        try git("git_repository_config_snapshot") { git_repository_config_snapshot(&config, pointer) }
        guard let config else {
            throw GitError(code: .generic, function: "git_repository_config_snapshot", message: "")
        }
        return ConfigHandle(taking: config, in: self)
    }

    private func localConfig() throws(GitError) -> ConfigHandle {
        var config: OpaquePointer?
        try git("git_repository_config") { git_repository_config(&config, pointer) }
        guard let config else { throw GitError(code: .generic, function: "git_repository_config", message: "") }
        let all = ConfigHandle(taking: config, in: self)
        var local: OpaquePointer?
        try git("git_config_open_level") { git_config_open_level(&local, all.pointer, GIT_CONFIG_LEVEL_LOCAL) }
        guard let local else { throw GitError(code: .generic, function: "git_config_open_level", message: "") }
        return ConfigHandle(taking: local, in: self)
    }
}
