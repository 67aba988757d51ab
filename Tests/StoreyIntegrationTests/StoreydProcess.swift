import Foundation
import StoreyTestSupport
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`: collects what storeyd tells systemd.
final class NotifySocket: Sendable {
    let path: String
    private let fd: Int32
    private let messages = Mutex<[String]>([])

    init(directory: URL) throws {
        path = directory.appendingPathComponent("notify.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw TestSupportError("cannot bind \(path)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in self.receive() }
        thread.start()
    }

    private func receive() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 {
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                messages.withLock { $0.append(text) }
            } else if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                return
            }
        }
    }

    /// Every message so far, each a datagram (lines joined by newlines).
    var received: [String] { messages.withLock { $0 } }

    /// The first line of each message (`READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=…`, `WATCHDOG=1`).
    var kinds: [String] { received.map { String($0.split(separator: "\n").first ?? "") } }

    deinit { close(fd) }
}

/// The real `storeyd` binary, run as a child process on its own configuration, database and ports.
final class StoreydProcess: @unchecked Sendable {
    let directory: URL
    let configFile: String
    let databasePath: String
    let httpPort: Int
    let brokerURL: String
    let notify: NotifySocket
    // posix_spawn, not Foundation's Process: Process.run() crashed (SIGSEGV in a memcpy) twice when many
    // tests started processes at once.
    private var process: ChildProcess?
    private(set) var logFile: String
    private var starts = 0
    var extraEnvironment: [String: String] = [:]

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["STOREYD_BINARY"] { return URL(fileURLWithPath: path) }
        // The test bundle runs from the build folder, where `swift build` put storeyd too.
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("storeyd")
    }

    /// `databaseDirectory` puts the database (and its intake journal) elsewhere than the configuration and log.
    init(topology: String, brokerURL: String, mqttSection: String = "", directory: URL? = nil, databaseDirectory: URL? = nil) throws {
        self.directory = try directory ?? makeTemporaryDirectory(prefix: "storeyd")
        self.brokerURL = brokerURL
        configFile = self.directory.appendingPathComponent("storey.yaml").path
        databasePath = (databaseDirectory ?? self.directory).appendingPathComponent("storey.db").path
        logFile = self.directory.appendingPathComponent("storeyd-0.log").path
        httpPort = freePort()
        notify = try NotifySocket(directory: self.directory)
        try writeConfiguration(topology: topology, mqttSection: mqttSection)
    }

    func writeConfiguration(topology: String, mqttSection: String = "") throws {
        _ = try Self.writeConfiguration(in: directory, topology: topology, mqttSection: mqttSection)
    }

    /// Writes `storey.yaml` (a placeholder broker, which the command line overrides, and `mqttSection`)
    /// and `topology.yaml` into `directory`; returns the main file's path. Also for tests that load the
    /// configuration in-process instead of running storeyd.
    static func writeConfiguration(in directory: URL, topology: String, mqttSection: String = "") throws -> String {
        let main = """
            mqtt:
              url: mqtt://127.0.0.1:1
              client_id: \(uniqueName("storeyd"))
              qos: 1
            \(mqttSection)
            topology: topology.yaml
            """
        let file = directory.appendingPathComponent("storey.yaml").path
        try main.write(toFile: file, atomically: true, encoding: .utf8)
        try topology.write(toFile: directory.appendingPathComponent("topology.yaml").path, atomically: true, encoding: .utf8)
        return file
    }

    /// Breaks or mends the topology file only (the main file keeps its client id).
    func writeTopology(_ topology: String) throws {
        try topology.write(toFile: directory.appendingPathComponent("topology.yaml").path, atomically: true, encoding: .utf8)
    }

    func start() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            throw TestSupportError("storeyd is not built at \(Self.binary.path): run `swift build` first (scripts/test does)")
        }
        logFile = directory.appendingPathComponent("storeyd-\(starts).log").path
        starts += 1
        FileManager.default.createFile(atPath: logFile, contents: nil)
        // Overrides by flag and by environment, as an operator would use them.
        let arguments = ["--config", configFile, "--mqtt-url", brokerURL, "--log-level", "debug"]
        var environment = ProcessInfo.processInfo.environment
        environment["STOREY_DATABASE"] = databasePath
        environment["STOREY_HTTP_ADDRESS"] = "127.0.0.1:\(httpPort)"
        environment["NOTIFY_SOCKET"] = notify.path
        environment.merge(extraEnvironment) { $1 }
        process = try ChildProcess(Self.binary.path, arguments, outputFile: logFile, environment: environment)
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var pid: Int32 { process?.pid ?? 0 }
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        process?.signal(signal)
    }

    /// Sends SIGTERM and waits for the exit status.
    @discardableResult
    func stop(timeout: Duration = .seconds(20)) async throws -> Int32 {
        guard let process else { return 0 }
        signal(SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.pid, SIGKILL)
                throw TestSupportError("storeyd did not stop within \(timeout) of SIGTERM; log:\n\(log.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        self.process = nil
        return process.terminationStatus ?? -1
    }

    func kill9() {
        if let process, process.isRunning {
            kill(process.pid, SIGKILL)
            while process.isRunning { usleep(2_000) }
        }
        process = nil
    }

    /// Waits until `/readyz` answers 200: subscribed and storing. The default wait is long because a
    /// whole-suite CI run starts dozens of debug-built daemons, brokers and containers at once on two
    /// cores; these tests check what storeyd does once ready, not how fast it gets there
    /// (benchmarks/startup.sh measures that). A timeout says what `/readyz` last answered and when.
    func waitUntilReady(timeout: Duration = .seconds(90)) async throws {
        let started = ContinuousClock.now
        var lastAnswer = "no answer yet"
        do {
            try await waitUntil("storeyd ready", timeout: timeout) {
                let status = try await self.httpStatus("/readyz")
                lastAnswer = "\(status == 0 ? "no connection" : "HTTP \(status)") after \(ContinuousClock.now - started)"
                return status == 200
            }
        } catch let error as TestSupportError {
            throw TestSupportError("\(error.description)\n/readyz last answered: \(lastAnswer)")
        }
    }

    /// How long a request may take before the test gives up: these tests check what storeyd answers, not
    /// how fast; on a CI machine running dozens of daemons and containers at once a few seconds happen.
    static let httpTimeout = Duration.seconds(20)

    func httpStatus(_ path: String) async throws -> Int {
        let result = try await runCommand(
            URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(httpPort)\(path)"],
            timeout: Self.httpTimeout)
        return Int(result.output) ?? 0
    }

    func httpBody(_ path: String) async throws -> String {
        try await runCommand(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "http://127.0.0.1:\(httpPort)\(path)"], timeout: Self.httpTimeout).output
    }

    /// Any method, an optional JSON body: (status, body).
    func http(_ method: String, _ path: String, json: String? = nil) async throws -> (status: Int, body: String) {
        var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "http://127.0.0.1:\(httpPort)\(path)"]
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        let output = try await runCommand(URL(fileURLWithPath: "/usr/bin/curl"), arguments, timeout: Self.httpTimeout).output
        guard let newline = output.lastIndex(of: "\n") else { return (Int(output) ?? 0, "") }
        return (Int(output[output.index(after: newline)...]) ?? 0, String(output[..<newline]))
    }

    /// `/metrics` parsed: `name{labels}` → value.
    func metrics() async throws -> [String: Double] {
        var values: [String: Double] = [:]
        for line in try await httpBody("/metrics").split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    func metric(_ name: String) async throws -> Double {
        try await metrics()[name] ?? 0
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            if process != nil && !isRunning { throw TestSupportError("storeyd exited while waiting for \(what); log:\n\(log.suffix(3000))") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("timed out waiting for \(what); log:\n\(log.suffix(3000))")
    }

    /// Runs SQL on the daemon's database through the sqlite3 shell, read-only.
    func query(_ sql: String) async throws -> String {
        let result = try await runCommand(URL(fileURLWithPath: "/usr/bin/sqlite3"), ["-readonly", databasePath, sql], timeout: .seconds(10))
        guard result.status == 0 else { throw TestSupportError("sqlite3 failed: \(result.errorOutput)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        kill9()
    }
}

/// A small tower for the daemon tests: one floor, two spaces, one tenant.
enum IntegrationTopology {
    static let text = """
        topic_prefix: storey
        buildings:
          - id: t
            time_zone: Asia/Shanghai
            land_area: 6666.7
            floors:
              - level: 1
                area: 1000
                spaces:
                  - id: s1
                    area: 500
                    capacity: 30
                    points:
                      - { id: s1-kw, quantity: power }
                      - { id: s1-kwh, quantity: energy }
                      - { id: s1-people, quantity: occupancy }
                  - id: s2
                    area: 400
                    capacity: 20
                    points:
                      - { id: s2-kw, quantity: power }
        tenants:
          - id: alpha
            leases:
              - { space: s1, start: 2020-01-01 }
        """

    /// The same, plus a point on s2 (for reload tests).
    static let withNewPoint: String = {
        let line = text.split(separator: "\n").first { $0.contains("id: s2-kw") }!
        let indent = line.prefix { $0 == " " }
        return text.replacingOccurrences(of: String(line), with: "\(line)\n\(indent)- { id: s2-people, quantity: occupancy }")
    }()

    static let kwTopic = "storey/t/1/s1/s1-kw"
    static let kwhTopic = "storey/t/1/s1/s1-kwh"
    static let peopleTopic = "storey/t/1/s1/s1-people"
}
