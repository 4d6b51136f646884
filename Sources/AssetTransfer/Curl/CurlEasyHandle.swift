internal import CCurl
import Foundation

/// libcurl's global state, initialised once (`curl_global_init`) before the first easy handle.
enum CurlGlobal {
    static let initialized: Bool = {
        // CURL_GLOBAL_ALL is a macro expression Swift cannot import: SSL (1) | WIN32 (2).
        curl_global_init(3) == CURLE_OK
    }()
}

/// One libcurl easy handle (`curl_easy_init`), freed in `deinit` (`curl_easy_cleanup`).
///
/// A handle keeps its connection cache across transfers, so reusing handles from a
/// ``CurlHandlePool`` keeps connections alive between assets from the same host. A handle is used
/// by one thread at a time.
final class CurlEasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer

    init?() {
        guard CurlGlobal.initialized, let handle = curl_easy_init() else { return nil }
        raw = handle
    }

    deinit {
        curl_easy_cleanup(raw)
    }

    /// Forgets the options of the previous transfer (`curl_easy_reset`); live connections stay cached.
    func reset() {
        curl_easy_reset(raw)
    }

    @discardableResult
    func set(_ option: CURLoption, _ value: Int) -> CURLcode {
        ccurl_setopt_long(raw, option, value)
    }

    @discardableResult
    func set(_ option: CURLoption, _ value: String) -> CURLcode {
        // libcurl copies string options (since 7.17), so a temporary C string is fine.
        ccurl_setopt_string(raw, option, value)
    }

    @discardableResult
    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) -> CURLcode {
        ccurl_setopt_pointer(raw, option, pointer)
    }

    func responseCode() -> Int {
        var code = 0
        _ = ccurl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
        return code
    }
}

/// Easy handles waiting to be reused; the engine keeps at most `jobs` of them.
final class CurlHandlePool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [CurlEasyHandle] = []
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    func take() -> CurlEasyHandle? {
        if let handle = lock.withLock({ idle.popLast() }) { return handle }
        return CurlEasyHandle()
    }

    func give(_ handle: CurlEasyHandle) {
        lock.withLock {
            if idle.count < capacity { idle.append(handle) }
        }
    }
}
