public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The ports ``freePort()`` has handed out in this test process.
private let handedOut = NSLock()
nonisolated(unsafe) private var handedOutPorts = Set<Int>()

/// A free TCP port on 127.0.0.1 that no other test of this process has been given.
///
/// The kernel picks it (bind to 0, read it back, close), but it may pick the same port again
/// for a test that runs at the same time. Two servers on one port do not fail loudly: the second
/// one cannot bind and exits, while the first answers its test's requests (a 404 for a file that
/// test wrote). So every port is handed out once per process.
public func freePort() -> Int {
    while true {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket() failed")
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        close(fd)
        precondition(bound, "could not bind a socket on 127.0.0.1")
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let fresh = handedOut.withLock { handedOutPorts.insert(port).inserted }
        if fresh { return port }
    }
}

/// Whether something accepts connections on 127.0.0.1:port.
public func portIsOpen(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let r = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard r == 0 else { return false }
    // A port from the ephemeral range can be the one the kernel picks as this socket's own
    // source port: with no listener, the connect then succeeds against itself (a TCP
    // self-connect), which says nothing about a server.
    var local = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) == 0 }
    }
    return named && Int(UInt16(bigEndian: local.sin_port)) != port
}

/// Whether the socket listening on 127.0.0.1:port (or 0.0.0.0:port) is held by process `pid` or
/// one of its descendants: a server that accepts connections on its port may still be someone
/// else's (a server that could not bind exits, and another one answers in its place).
public func listenerBelongs(to pid: Int32, port: Int) -> Bool {
    let hexPort = String(format: "%04X", port)
    // Read to the end: /proc files report size 0, and a one-shot read may stop at the first page.
    guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp"), let data = try? handle.readToEnd() else {
        return true
    }
    try? handle.close()
    let table = String(decoding: data, as: UTF8.self)
    var inodes = Set<String>()
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        guard fields.count > 9, fields[3] == "0A" else { continue }
        let local = fields[1]
        if local == "0100007F:\(hexPort)" || local == "00000000:\(hexPort)" { inodes.insert(String(fields[9])) }
    }
    guard !inodes.isEmpty else { return false }
    var pending = [pid]
    var seen = Set<Int32>()
    while let p = pending.popLast() {
        guard seen.insert(p).inserted else { continue }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p)/fd")) ?? []
        for fd in fds {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p)/fd/\(fd)"),
                target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast()))
            {
                return true
            }
        }
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(p)/task")) ?? []
        for task in tasks {
            let children = (try? String(contentsOfFile: "/proc/\(p)/task/\(task)/children", encoding: .utf8)) ?? ""
            pending += children.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        }
    }
    return false
}
