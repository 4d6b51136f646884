import FlyingFox
import FlyingSocks
import Foundation
import TestSupport
import Testing

@testable import AssetTransfer

@Suite("http(s) sources", .offPool)
struct HTTPTransferTests {
    let payload = testBytes(3 << 20 + 4321, seed: 42)

    @Test func retriesAfterA500AndSucceeds() async throws {
        let directory = try TemporaryDirectory()
        let requests = Locked(0)
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /flaky") { _ in
                let n = requests.withLock {
                    $0 += 1; return $0
                }
                return n == 1
                    ? HTTPResponse(statusCode: .internalServerError) : HTTPResponse(statusCode: .ok, body: body)
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let retries = Locked<[String]>([])
            let results = await engine.fetch(
                [AssetRequest(name: "flaky", source: server.url("/flaky"))], into: directory.url,
                events: { event in
                    if case .retrying(_, let attempt, let reason) = event {
                        retries.withLock { $0.append("\(attempt): \(reason)") }
                    }
                })
            let asset = try #require(results[0].value())
            #expect(asset.sha256 == sha256Hex(body))
            #expect(try sha256Hex(ofFile: #require(asset.file)) == sha256Hex(body))
            #expect(requests.current == 2)
            #expect(retries.current == ["1: the server answered 500 Internal Server Error"])
        }
    }

    @Test func honoursRetryAfterOn429() async throws {
        let requests = Locked(0)
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /throttled") { _ in
                let n = requests.withLock {
                    $0 += 1; return $0
                }
                return n == 1
                    ? HTTPResponse(statusCode: .tooManyRequests, headers: HTTPHeaders([HTTPHeader("Retry-After"): "1"]))
                    : HTTPResponse(statusCode: .ok, body: body)
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let start = Date()
            let results = await engine.measure([AssetRequest(name: "throttled", source: server.url("/throttled"))])
            let elapsed = Date().timeIntervalSince(start)
            #expect(results[0].value()?.sha256 == sha256Hex(body))
            #expect(requests.current == 2)
            #expect(elapsed >= 0.95, "Retry-After: 1 must be honoured (waited \(elapsed) s)")
        }
    }

    @Test func resumesACutBodyWithRangeAndKeepsHashing() async throws {
        let directory = try TemporaryDirectory()
        let requests = Locked<[String?]>([])
        let body = payload
        let cut = 1 << 20
        try await withHTTPServer({ server in
            await server.appendRoute("GET /cut") { request in
                let range = request.headers[.range]
                let n = requests.withLock {
                    $0.append(range); return $0.count
                }
                if n == 1 {
                    // Promise the whole body, send a third of it, then break the connection.
                    return HTTPResponse(
                        statusCode: .ok,
                        headers: [.acceptRanges: "bytes", .eTag: "\"v1\"", .contentType: "image/tiff"],
                        body: HTTPBodySequence(from: BrokenBody(data: body, cut: cut), count: body.count))
                }
                guard let range, range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).dropLast()) else {
                    return HTTPResponse(statusCode: .ok, headers: [.acceptRanges: "bytes"], body: body)
                }
                return HTTPResponse(
                    statusCode: .partialContent,
                    headers: [.acceptRanges: "bytes", .contentRange: "bytes \(start)-\(body.count - 1)/\(body.count)"],
                    body: body.subdata(in: start..<body.count))
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let results = await engine.fetch(
                [AssetRequest(name: "cut", source: server.url("/cut"), expectedSize: Int64(body.count))],
                into: directory.url)
            let asset = try #require(results[0].value())
            #expect(asset.sha256 == sha256Hex(body))
            #expect(asset.size == Int64(body.count))
            #expect(try sha256Hex(ofFile: #require(asset.file)) == sha256Hex(body))
            #expect(requests.current == [nil, "bytes=\(cut)-"], "the retry asks only for the missing bytes")
        }
    }

    @Test func restartsACutBodyFromZeroWhenTheServerCannotResume() async throws {
        let directory = try TemporaryDirectory()
        let requests = Locked<[String?]>([])
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /cut") { request in
                let n = requests.withLock {
                    $0.append(request.headers[.range]); return $0.count
                }
                if n == 1 {
                    return HTTPResponse(
                        statusCode: .ok,
                        body: HTTPBodySequence(from: BrokenBody(data: body, cut: 1 << 20), count: body.count))
                }
                return HTTPResponse(statusCode: .ok, body: body)
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let results = await engine.fetch(
                [AssetRequest(name: "cut", source: server.url("/cut"))], into: directory.url)
            let asset = try #require(results[0].value())
            #expect(asset.sha256 == sha256Hex(body))
            #expect(try sha256Hex(ofFile: #require(asset.file)) == sha256Hex(body))
            #expect(requests.current == [nil, nil], "without Accept-Ranges the retry starts over")
        }
    }

    @Test func restartsWhenTheServerIgnoresTheRange() async throws {
        let requests = Locked<[String?]>([])
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /cut") { request in
                let n = requests.withLock {
                    $0.append(request.headers[.range]); return $0.count
                }
                if n == 1 {
                    return HTTPResponse(
                        statusCode: .ok, headers: [.acceptRanges: "bytes"],
                        body: HTTPBodySequence(from: BrokenBody(data: body, cut: 1 << 20), count: body.count))
                }
                // Advertised ranges, but answers the whole body with 200.
                return HTTPResponse(statusCode: .ok, body: body)
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let results = await engine.measure([AssetRequest(name: "cut", source: server.url("/cut"))])
            #expect(results[0].value()?.sha256 == sha256Hex(body))
            #expect(results[0].value()?.size == Int64(body.count))
            #expect(requests.current.count == 2)
            #expect(requests.current.last == "bytes=\(1 << 20)-")
        }
    }

    @Test func slowServerTimesOutAndIsRetried() async throws {
        let requests = Locked<[String: Int]>([:])
        try await withHTTPServer({ server in
            await server.appendRoute("GET /slow") { _ in
                requests.withLock { $0["slow", default: 0] += 1 }
                try await Task.sleep(nanoseconds: 30_000_000_000)
                return HTTPResponse(statusCode: .ok, body: Data("late".utf8))
            }
            await server.appendRoute("GET /slow-once") { _ in
                let n = requests.withLock {
                    $0["once", default: 0] += 1; return $0["once", default: 0]
                }
                if n == 1 { try await Task.sleep(nanoseconds: 30_000_000_000) }
                return HTTPResponse(statusCode: .ok, body: Data("on time".utf8))
            }
        }) { server in
            // 5 s of silence is a timeout; every stall lasts 30 s. Six retries: on a loaded machine
            // the in-process server can itself be slower than a timeout for a retry or two. Without working timeouts, /slow
            // would answer "late" and /slow-once "on time" to their first request; with them,
            // /slow fails as a timeout on every attempt and /slow-once succeeds only on a retry.
            // (No exact request counts: on a loaded machine a retry may itself time out before
            // the server ran its handler.)
            var configuration = testConfiguration(retries: 6, lowSpeedTimeout: 5)
            configuration.retryBaseDelay = 0.01
            let engine = AssetTransferEngine(configuration: configuration)
            let results = await engine.measure([
                AssetRequest(name: "slow", source: server.url("/slow")),
                AssetRequest(name: "slow once", source: server.url("/slow-once")),
            ])
            let error = try #require(results[0].error())
            #expect(error.kind == .timeout)
            #expect(error.attempts == 7)
            #expect(error.message.contains("timed out"))
            #expect(error.message.contains("on all 7 attempts"))
            #expect(results[1].value()?.sha256 == sha256Hex(Data("on time".utf8)))
            let seen = requests.current
            #expect((1...7).contains(seen["slow"] ?? 0), "\(seen)")
            #expect((seen["once"] ?? 0) >= 2, "the first, stalled request to /slow-once was cut and retried: \(seen)")
        }
    }

    @Test func followsARedirectChain() async throws {
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /r1") { _ in
                HTTPResponse(statusCode: .movedPermanently, headers: HTTPHeaders([.location: "/r2"]))
            }
            await server.appendRoute("GET /r2") { _ in
                HTTPResponse(
                    statusCode: .found, headers: HTTPHeaders([.location: "/final.tif"]),
                    body: Data("redirect body".utf8))
            }
            await server.appendRoute("GET /final.tif") { _ in HTTPResponse(statusCode: .ok, body: body) }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let results = await engine.measure([AssetRequest(name: "redirected", source: server.url("/r1"))])
            #expect(results[0].value()?.sha256 == sha256Hex(body))
            #expect(results[0].value()?.size == Int64(body.count))
        }
    }

    @Test func notFoundFailsAtOnceWithTheStatus() async throws {
        let directory = try TemporaryDirectory()
        let requests = Locked(0)
        try await withHTTPServer({ server in
            await server.appendRoute("GET /missing.tif") { _ in
                requests.withLock { $0 += 1 }
                return HTTPResponse(statusCode: .notFound)
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration(retries: 4))
            let source = server.url("/missing.tif") + "?X-Amz-Signature=topsecret&x=1"
            let results = await engine.fetch(
                [AssetRequest(name: #"asset "visual" of item "a""#, source: source)], into: directory.url)
            let error = try #require(results[0].error())
            #expect(error.kind == .notFound)
            #expect(error.httpStatus == 404)
            #expect(requests.current == 1, "a 404 is not retried")
            let redacted = server.url("/missing.tif") + "?X-Amz-Signature=REDACTED&x=1"
            #expect(
                error.message
                    == #"Could not fetch asset "visual" of item "a" from \#(redacted): the server answered 404 Not Found; check the href or use --on-asset-error reference."#
            )
            #expect(!error.message.contains("topsecret"))
            #expect(try directory.contents().isEmpty)
        }
    }

    @Test func wrongDeclaredChecksumFailsNamingBothDigests() async throws {
        let directory = try TemporaryDirectory()
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /a.tif") { _ in HTTPResponse(statusCode: .ok, body: body) }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let declared = Multihash.sha256(sha256Hex(Data("something else".utf8)))
            let results = await engine.fetch(
                [AssetRequest(name: "a", source: server.url("/a.tif"), expectedChecksum: declared)], into: directory.url
            )
            let error = try #require(results[0].error())
            #expect(error.kind == .checksumMismatch(expected: declared, actual: Multihash.sha256(sha256Hex(body))))
            #expect(error.message.contains(sha256Hex(Data("something else".utf8))))
            #expect(error.message.contains(sha256Hex(body)))
            #expect(try directory.contents().isEmpty, "the mismatching copy is deleted")
        }
    }

    @Test func wrongDeclaredSizeFails() async throws {
        let body = payload
        try await withHTTPServer({ server in
            await server.appendRoute("GET /a.tif") { _ in HTTPResponse(statusCode: .ok, body: body) }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration())
            let results = await engine.measure([AssetRequest(name: "a", source: server.url("/a.tif"), expectedSize: 10)]
            )
            #expect(results[0].error()?.kind == .sizeMismatch(expected: 10, actual: Int64(body.count)))
        }
    }

    @Test func manyFilesKeepAtMostJobsInFlight() async throws {
        let directory = try TemporaryDirectory()
        let count = 40
        let bodies = (0..<count).map { testBytes(256 << 10 + $0, seed: UInt64($0 + 1)) }
        let inFlight = Locked((now: 0, peak: 0))
        try await withHTTPServer({ server in
            await server.appendRoute("GET /many/*") { request in
                guard let index = Int(request.path.split(separator: "/").last ?? ""), bodies.indices.contains(index)
                else {
                    return HTTPResponse(statusCode: .notFound)
                }
                inFlight.withLock {
                    $0.now += 1; $0.peak = max($0.peak, $0.now)
                }
                try await Task.sleep(nanoseconds: 30_000_000)
                inFlight.withLock { $0.now -= 1 }
                return HTTPResponse(statusCode: .ok, body: bodies[index])
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration(jobs: 8))
            let requests = (0..<count).map { AssetRequest(name: "file \($0)", source: server.url("/many/\($0)")) }
            let results = await engine.fetch(requests, into: directory.url)
            for (index, result) in results.enumerated() {
                let asset = try #require(result.value())
                #expect(asset.request == requests[index], "results come back in request order")
                #expect(asset.sha256 == sha256Hex(bodies[index]))
                #expect(try sha256Hex(ofFile: #require(asset.file)) == sha256Hex(bodies[index]))
            }
            let peak = inFlight.current.peak
            #expect(peak <= 8, "never more than jobs requests at once (peak \(peak))")
            #expect(peak >= 4, "transfers do run concurrently (peak \(peak))")
        }
    }

    @Test func sendsConfiguredHeadersAndKeepsThemOutOfMessages() async throws {
        let seen = Locked<[String?]>([])
        try await withHTTPServer({ server in
            await server.appendRoute("GET /private.json") { request in
                let authorization = request.headers[.authorization]
                seen.withLock { $0.append(authorization) }
                return authorization == "Bearer sekrit-token"
                    ? HTTPResponse(statusCode: .ok, body: Data("{}".utf8)) : HTTPResponse(statusCode: .unauthorized)
            }
        }) { server in
            var configuration = testConfiguration()
            configuration.bearerToken = "sekrit-token"
            configuration.allowCredentials(forSource: server.url("/private.json"))
            let document = try await AssetTransferEngine(configuration: configuration).readDocument(
                server.url("/private.json"))
            #expect(document == Data("{}".utf8))

            configuration.bearerToken = "wrong-token"
            do throws(TransferError) {
                _ = try await AssetTransferEngine(configuration: configuration).readDocument(
                    server.url("/private.json"))
                Issue.record("a wrong token must be refused")
            } catch {
                #expect(error.kind == .accessDenied)
                #expect(error.message.contains("401 Unauthorized"))
                #expect(!error.message.contains("wrong-token"))
                #expect(error.message.hasPrefix("Could not read \(server.url("/private.json")):"))
            }
            #expect(seen.current == ["Bearer sekrit-token", "Bearer wrong-token"])
        }
    }

    @Test func cancellingTheTaskStopsAStalledTransfer() async throws {
        let directory = try TemporaryDirectory()
        try await withHTTPServer({ server in
            await server.appendRoute("GET /stalled") { _ in
                try await Task.sleep(nanoseconds: 5_000_000_000)
                return HTTPResponse(statusCode: .ok, body: Data("too late".utf8))
            }
        }) { server in
            let engine = AssetTransferEngine(configuration: testConfiguration(lowSpeedTimeout: 30))
            let destination = directory.url
            let source = server.url("/stalled")
            let task = Task {
                await engine.fetch([AssetRequest(name: "stalled", source: source)], into: destination)
            }
            try await Task.sleep(nanoseconds: 200_000_000)
            task.cancel()
            let results = await task.value
            // Had the cancellation not reached the curl thread, the transfer would have finished
            // after the 5 s stall with "too late" stored: the result says which happened.
            #expect(results[0].error()?.kind == .cancelled)
            #expect(try directory.contents().isEmpty)
        }
    }

    @Test func connectionRefusedIsRetriedThenReported() async throws {
        // Find a port nobody listens on: start a server, note its port, stop it.
        let port = try await withHTTPServer({ _ in }) { server in server.port }
        let engine = AssetTransferEngine(configuration: testConfiguration(retries: 2))
        let results = await engine.measure([AssetRequest(name: "gone", source: "http://127.0.0.1:\(port)/x")])
        let error = try #require(results[0].error())
        #expect(error.kind == .network)
        #expect(error.attempts == 3)
        #expect(error.message.contains("the connection failed"))
    }
}
