public import Foundation

#if canImport(Glibc)
    public import Glibc
#endif

// glibc (2.34+ and 2.29+) declares these only with _GNU_SOURCE, which the Glibc module hides.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32)
    -> Int32
@_silgen_name("pipe2")
private func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func spawnActionsAddChdir(
    _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>
)
    -> Int32

/// A child process started with `posix_spawn`, for the tests.
///
/// Not `Foundation.Process`: on Linux its `run()` scans `/proc/self/fd` with a 256-byte copy of
/// each directory entry, which reads past glibc's buffer and crashes the whole test process
/// when that process has many descriptors open, as this suite has when its suites start at once
/// (swift-corelibs-foundation#5472, fixed after Swift 6.3.1). The child gets descriptors 0–2
/// and no other (`closefrom`), an empty signal mask and default signal handlers.
public final class SpawnedProcess: @unchecked Sendable {
    public let processIdentifier: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` (a path) with `arguments` (not including argv[0]), `environment`
    /// (nil: this process's), in `directory` (nil: this process's), with the given descriptors
    /// as its standard input, output and error (they stay open here; close them after).
    public init(
        executable: String, arguments: [String], environment: [String: String]?, directory: String?,
        stdin: Int32, stdout: Int32, stderr: Int32
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        _ = spawnActionsAddCloseFrom(&actions, 3)
        if let directory { _ = directory.withCString { spawnActionsAddChdir(&actions, $0) } }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envStrings = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in envStrings ?? [] { free(pointer) } }
        var pid: pid_t = 0
        let result: Int32 =
            if let envStrings {
                posix_spawn(&pid, executable, &actions, &attributes, argv, envStrings)
            } else {
                posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
            }
        guard result == 0 else {
            throw NSError(
                domain: NSPOSIXErrorDomain, code: Int(result),
                userInfo: [NSLocalizedDescriptionKey: "posix_spawn \(executable): \(String(cString: strerror(result)))"]
            )
        }
        processIdentifier = pid
    }

    /// Whether the child has not exited yet (reaps it when it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(processIdentifier, &status, WNOHANG)
        if r == processIdentifier {
            exitStatus = status
            return false
        }
        return r == 0
    }

    /// Blocks until the child exits; its exit code, or the number of the signal that ended it
    /// (as `Process.terminationStatus` gives it).
    @discardableResult
    public func waitUntilExit() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if exitStatus == nil {
            var status: Int32 = 0
            while waitpid(processIdentifier, &status, 0) < 0 && errno == EINTR {}
            exitStatus = status
        }
        let status = exitStatus ?? 0
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Whether the child was ended by a signal (after ``waitUntilExit()``).
    public var wasSignaled: Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let status = exitStatus else { return false }
        return status & 0x7f != 0 && status & 0x7f != 0x7f
    }
}

/// A child that exits before reading all of its standard input must not kill the tests.
private let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// A pipe whose two ends are closed on exec (the child gets its end through dup2).
public func cloexecPipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe2(&fds, O_CLOEXEC) == 0 else {
        throw NSError(domain: NSPOSIXErrorDomain, code: Int(errno), userInfo: nil)
    }
    return (fds[0], fds[1])
}

/// Reads `fd` to its end, then closes it.
public func readToEnd(_ fd: Int32) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            data.append(contentsOf: buffer[0..<n])
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            break
        }
    }
    close(fd)
    return data
}

/// Runs a program to its end with `posix_spawn` (see ``SpawnedProcess``): its exit status
/// (or ending signal), standard output and standard error. Blocks: call it on a thread of
/// your own.
public func spawnAndCollect(
    _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
    stdin: Data? = nil
) throws -> (status: Int32, stdout: Data, stderr: Data) {
    ignoreSIGPIPE
    let out = try cloexecPipe()
    let err = try cloexecPipe()
    let input: (read: Int32, write: Int32)
    if stdin != nil {
        input = try cloexecPipe()
    } else {
        input = (open("/dev/null", O_RDONLY | O_CLOEXEC), -1)
    }
    let child: SpawnedProcess
    do {
        child = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment, directory: directory,
            stdin: input.read, stdout: out.write, stderr: err.write)
    } catch {
        for fd in [out.read, out.write, err.read, err.write, input.read, input.write] where fd >= 0 { close(fd) }
        throw error
    }
    close(out.write)
    close(err.write)
    close(input.read)
    if let stdin {
        let fd = input.write
        Thread.detachNewThread {
            stdin.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, base + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    offset += n
                }
            }
            close(fd)
        }
    }
    nonisolated(unsafe) var errData = Data()
    let done = DispatchSemaphore(value: 0)
    let errFD = err.read
    Thread.detachNewThread {
        errData = readToEnd(errFD)
        done.signal()
    }
    let outData = readToEnd(out.read)
    done.wait()
    let status = child.waitUntilExit()
    return (status, outData, errData)
}
