import Foundation

/// The Python interpreter on PATH (the one `scripts/install-dependencies` installed aiosmtpd and
/// standardwebhooks into).
public func locatePython() throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
        let candidate = "\(folder)/python3"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestSupportError("python3 is not on PATH (scripts/install-dependencies installs it with aiosmtpd and standardwebhooks)")
}

/// A test server script from `Tests/StoreyTestSupport/Servers`.
func serverScript(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Servers/\(name)").path
}

/// Waits until something accepts connections on `port`, or the process ends.
func waitForPort(_ port: Int, process: ChildProcess, log: String, what: String) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !portAcceptsConnections(port) {
        guard process.isRunning else {
            throw TestSupportError("\(what) ended at start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
        guard ContinuousClock.now < deadline else { throw TestSupportError("\(what) did not listen on \(port) within 20 s") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A real SMTP server (aiosmtpd) run by the test: STARTTLS, implicit TLS or plain, AUTH PLAIN/LOGIN,
/// refused recipients. Every mail it accepts is parsed by Python's email package into a summary.
public final class TestMailServer: Sendable {
    public enum Security: String, Sendable { case plain, starttls, implicit }

    public let port: Int
    public let directory: URL
    private let process: ChildProcess

    public init(
        security: Security = .plain, certificates: TestCertificates? = nil, user: String? = nil, password: String? = nil,
        refuse: [String] = [], deferring: [String] = []
    ) async throws {
        port = freePort()
        directory = try makeTemporaryDirectory(prefix: "storey-smtp")
        var arguments = [serverScript("smtp_server.py"), "--port", "\(port)", "--dir", directory.path, "--mode", security.rawValue]
        if let certificates { arguments += ["--cert", certificates.serverCertFile, "--key", certificates.serverKeyFile] }
        if let user, let password { arguments += ["--user", user, "--password", password] }
        for address in refuse { arguments += ["--refuse", address] }
        for address in deferring { arguments += ["--defer", address] }
        let log = directory.appendingPathComponent("server.log").path
        process = try ChildProcess(try locatePython(), arguments, outputFile: log)
        try await waitForPort(port, process: process, log: log, what: "aiosmtpd")
    }

    /// The mails received so far, in arrival order, each as Python's email parser summarised it.
    public func mails() throws -> [[String: Any]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TestSupportError("\(name) is not a JSON object")
            }
            return object
        }
    }

    public func waitForMails(_ count: Int, timeout: Duration = .seconds(90)) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let mails = try self.mails()
            if mails.count >= count { return mails }
            guard ContinuousClock.now < deadline else { throw TestSupportError("\(mails.count) of \(count) mails arrived within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    public func stop() { process.stop() }

    deinit {
        process.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }
}
