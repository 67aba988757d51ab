import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a `TestBroker` is configured.
public struct TestBrokerOptions: Sendable {
    /// Keep sessions and queued messages across restarts (saved on a clean stop, in the broker's folder).
    public var persistence = false
    /// When mosquitto saves its in-memory database besides at a clean stop (`autosave_interval`,
    /// `autosave_on_changes`): nil keeps its default, every 1800 s. It never saves per message, so
    /// `kill -9` loses whatever changed since the last save.
    public var autosave: Autosave?
    public enum Autosave: Sendable {
        /// `autosave_interval SECONDS`.
        case everySeconds(Int)
        /// `autosave_on_changes true`, `autosave_interval CHANGES`: after that many new queued messages,
        /// retained messages and subscription changes.
        case afterChanges(Int)
    }
    /// Messages queued per offline client; nil keeps the broker default (1000), 0 means no limit.
    public var maxQueuedMessages: Int?
    /// Queue QoS 0 messages for offline persistent sessions too.
    public var queueQoS0Messages = false
    /// Adds a TLS listener (`TestBroker.tlsPort`) with these certificates.
    public var certificates: TestCertificates?
    /// Whether the TLS listener demands a client certificate signed by the test CA.
    public var requireClientCertificate = false
    /// Users for a `password_file` (made with `mosquitto_passwd`); when set, anonymous clients are refused.
    public var users: [String: String] = [:]
    /// Extra lines for the configuration file.
    public var extraConfiguration: [String] = []

    public init(
        persistence: Bool = false, maxQueuedMessages: Int? = nil, queueQoS0Messages: Bool = false,
        certificates: TestCertificates? = nil, requireClientCertificate: Bool = false,
        users: [String: String] = [:], extraConfiguration: [String] = [], autosave: Autosave? = nil
    ) {
        self.persistence = persistence
        self.autosave = autosave
        self.maxQueuedMessages = maxQueuedMessages
        self.queueQoS0Messages = queueQoS0Messages
        self.certificates = certificates
        self.requireClientCertificate = requireClientCertificate
        self.users = users
        self.extraConfiguration = extraConfiguration
    }
}

/// A private `mosquitto` in the foreground, on free loopback ports, with its own folder for
/// configuration, persistence and log. Stopped by `stop()` or, at the latest, on deinit.
public final class TestBroker: Sendable {
    public let port: Int
    /// The TLS listener's port, when `options.certificates` is set.
    public let tlsPort: Int?
    public let directory: URL
    public let options: TestBrokerOptions
    private let process = Mutex<ChildProcess?>(nil)

    public var configurationFile: String { directory.appendingPathComponent("mosquitto.conf").path }
    public var logFile: String { directory.appendingPathComponent("mosquitto.log").path }

    /// Starts a broker and waits until it accepts connections.
    public init(_ options: TestBrokerOptions = TestBrokerOptions()) async throws {
        self.options = options
        self.port = freePort()
        self.tlsPort = options.certificates == nil ? nil : freePort()
        self.directory = try makeTemporaryDirectory(prefix: "storey-broker")
        try await writeConfiguration()
        try await start()
    }

    deinit {
        process.withLock { $0 }?.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }

    private func writeConfiguration() async throws {
        var lines = [
            "listener \(port) 127.0.0.1",
            "persistence \(options.persistence)",
            "persistence_location \(directory.path)/",
            "log_dest file \(logFile)",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if let user = getpwuid(geteuid())?.pointee.pw_name {
            // Run as ourselves: as root, mosquitto would switch to the `mosquitto` user and lose our temp files.
            lines.append("user \(String(cString: user))")
        }
        switch options.autosave {
        case .everySeconds(let seconds)?: lines += ["autosave_interval \(seconds)", "autosave_on_changes false"]
        case .afterChanges(let changes)?: lines += ["autosave_interval \(changes)", "autosave_on_changes true"]
        case nil: break
        }
        if let maxQueued = options.maxQueuedMessages { lines.append("max_queued_messages \(maxQueued)") }
        if options.queueQoS0Messages { lines.append("queue_qos0_messages true") }
        if options.users.isEmpty {
            lines.append("allow_anonymous true")
        } else {
            let passwd = try locateExecutable("mosquitto_passwd", package: "mosquitto")
            let file = directory.appendingPathComponent("passwords").path
            var create = true
            for (user, password) in options.users.sorted(by: { $0.key < $1.key }) {
                let result = try await runCommand(passwd, ["-b"] + (create ? ["-c"] : []) + [file, user, password])
                if result.status != 0 { throw TestSupportError("mosquitto_passwd failed: \(result.errorOutput)") }
                create = false
            }
            lines += ["allow_anonymous false", "password_file \(file)"]
        }
        if let certificates = options.certificates, let tlsPort {
            lines += [
                "listener \(tlsPort) 127.0.0.1",
                "cafile \(certificates.caFile)",
                "certfile \(certificates.serverCertFile)",
                "keyfile \(certificates.serverKeyFile)",
                "tls_version tlsv1.2",
                "require_certificate \(options.requireClientCertificate)",
            ]
        }
        lines += options.extraConfiguration
        try (lines.joined(separator: "\n") + "\n").write(toFile: configurationFile, atomically: true, encoding: .utf8)
    }

    /// Starts the broker again after `kill9()` or `stop()`, on the same ports with the same folder (and
    /// so with whatever its persistence file held).
    public func start() async throws {
        let executable = try locateExecutable("mosquitto", package: "mosquitto")
        let process = try ChildProcess(executable.path, ["-c", configurationFile], outputFile: directory.appendingPathComponent("stdout.log").path)
        self.process.withLock { $0 = process }
        let deadline = ContinuousClock.now + .seconds(10)
        while !(portAcceptsConnections(port) && (tlsPort.map(portAcceptsConnections) ?? true)) {
            if !process.isRunning {
                throw TestSupportError("mosquitto exited at start-up; its log:\n\(logTail())")
            }
            if ContinuousClock.now > deadline {
                throw TestSupportError("mosquitto did not accept connections on port \(port) within 10 s; its log:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops the broker with SIGTERM (it saves persistence) and waits for it to exit. Safe to call twice.
    public func stop() {
        signalAndWait(SIGTERM)
    }

    /// Kills the broker with SIGKILL: nothing is saved.
    public func kill9() {
        signalAndWait(SIGKILL)
    }

    /// Stops (SIGTERM) and starts the broker again on the same ports with the same folder.
    public func restart() async throws {
        stop()
        try await start()
    }

    public var isRunning: Bool {
        process.withLock { $0?.isRunning ?? false }
    }

    /// The last lines of the broker's log, for failure messages.
    public func logTail(lines: Int = 30) -> String {
        let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "(no log)"
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    private func signalAndWait(_ signal: Int32) {
        process.withLock { $0 }?.stop(signal: signal)
    }
}
