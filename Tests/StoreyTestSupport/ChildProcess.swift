import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid`, so its exit is seen at once
/// (Foundation's `Process.isRunning` was observed to lag by seconds under load).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` with stdin from `inputFile` (/dev/null if nil), stdout appended to `outputFile`
    /// and stderr to `errorFile` (with stdout if nil), in `environment` (the test process's own if nil).
    public init(
        _ executable: String, _ arguments: [String], outputFile: String, errorFile: String? = nil, inputFile: String? = nil,
        environment: [String: String]? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputFile ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorFile {
            posix_spawn_file_actions_addopen(&actions, 2, errorFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Keep the test process's sockets (intake connections, other brokers) out of the child.
        // (glibc ignores close actions for descriptors that are closed by the time of the spawn.)
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in open.compactMap({ Int32($0) }) where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        // Children must not inherit a blocked signal mask or ignored SIGPIPE/SIGTERM from the test process
        // (libmosquitto ignores SIGPIPE process-wide; test runners block signals on their threads).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in envp ?? [] { free(pointer) } }
        var pid: pid_t = 0
        let rc = envp.map { envp in
            envp.withUnsafeBufferPointer { posix_spawn(&pid, executable, &actions, &attributes, argv, UnsafeMutablePointer(mutating: $0.baseAddress)) }
        } ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            throw TestSupportError("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
    }

    /// Whether the process still runs (reaps it once it has ended).
    public var isRunning: Bool {
        exitStatus.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid || result < 0 {
                status = raw
                return false
            }
            return true
        }
    }

    /// Once ended: its exit code, or the number of the signal that ended it (as Foundation's `Process` says).
    public var terminationStatus: Int32? {
        guard !isRunning, let raw = exitStatus.withLock({ $0 }) else { return nil }
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Sends `signal`, waits up to `timeout`, then SIGKILLs.
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) {
        guard isRunning else { return }
        kill(pid, signal)
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline { usleep(2_000) }
        if isRunning {
            kill(pid, SIGKILL)
            while isRunning { usleep(2_000) }
        }
    }

    deinit {
        stop(signal: SIGKILL)
    }
}
