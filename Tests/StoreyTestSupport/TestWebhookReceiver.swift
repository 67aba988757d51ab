import Foundation

/// A real HTTP receiver run by the test (Python's http.server): verifies Standard Webhooks signatures
/// with the `standardwebhooks` library, or a group bot's signing, answers as told, and logs every request.
public final class TestWebhookReceiver: @unchecked Sendable {
    // @unchecked: `process` changes only in start/stop, which tests call from one task.
    public let port: Int
    public let logFile: String
    private let arguments: [String]
    private let directory: URL
    private var process: ChildProcess?

    /// `behaviour`: extra arguments, e.g. `["--fail-first", "3", "--status", "429", "--retry-after", "2"]`.
    public init(secrets: [String] = [], mode: String = "standard", botSecret: String? = nil, behaviour: [String] = [], port: Int? = nil) async throws {
        self.port = port ?? freePort()
        directory = try makeTemporaryDirectory(prefix: "storey-webhook")
        logFile = directory.appendingPathComponent("requests.jsonl").path
        var arguments = [serverScript("webhook_receiver.py"), "--port", "\(self.port)", "--log", logFile, "--mode", mode]
        for secret in secrets { arguments += ["--secret", secret] }
        if let botSecret { arguments += ["--bot-secret", botSecret] }
        self.arguments = arguments + behaviour
        try await start()
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    /// Starts (again) on the same port; requests logged before are kept.
    public func start() async throws {
        let output = directory.appendingPathComponent("server.log").path
        let process = try ChildProcess(try locatePython(), arguments, outputFile: output)
        self.process = process
        try await waitForPort(port, process: process, log: output, what: "the webhook receiver")
    }

    /// Stops it: the endpoint is down until `start()`.
    public func stop() {
        process?.stop(signal: SIGKILL)
        process = nil
    }

    /// Every request so far, in arrival order.
    public func requests() -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Requests answered 200 that were not duplicates (by webhook-id).
    public func accepted() -> [[String: Any]] {
        requests().filter { ($0["status"] as? Int) == 200 && ($0["duplicate"] as? Bool) != true }
    }

    public func waitForAccepted(_ count: Int, timeout: Duration = .seconds(90)) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let accepted = self.accepted()
            if accepted.count >= count { return accepted }
            guard ContinuousClock.now < deadline else {
                // Whether the receiver itself went away, and what it said, before its folder is removed.
                let ended = process.flatMap { $0.terminationStatus }.map { "; the receiver's process has ended (status \($0))" } ?? ""
                let log = (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8))?
                    .split(separator: "\n").suffix(20).joined(separator: "\n") ?? ""
                throw TestSupportError("\(accepted.count) of \(count) webhooks accepted within \(timeout); \(requests().count) requests in all\(ended)\(log.isEmpty ? "" : "; its log ends:\n\(log)")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    deinit {
        process?.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: directory)
    }
}
