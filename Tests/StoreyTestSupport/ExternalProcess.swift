import Foundation

/// Failures of the test support itself, phrased so a failing test says what to fix.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The result of a finished command.
public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
    public var errorOutput: String
}

/// Finds an executable in the usual system folders, or says which package provides it.
public func locateExecutable(_ name: String, package: String) throws -> URL {
    for folder in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"] {
        let path = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
    }
    throw TestSupportError("'\(name)' is not installed: apt-get install -y \(package)")
}

/// Runs a command to completion (input from `input`, output collected through temp files so nothing blocks).
/// Spawned through `ChildProcess`: Foundation's `Process.run()` crashed (SIGSEGV in a memcpy) when many
/// tests started processes at once, in CI as in `StoreydProcess`.
@discardableResult
public func runCommand(_ executable: URL, _ arguments: [String], input: Data? = nil, timeout: Duration = .seconds(60)) async throws -> CommandResult {
    let directory = try makeTemporaryDirectory(prefix: "storey-cmd")
    defer { try? FileManager.default.removeItem(at: directory) }
    let outURL = directory.appendingPathComponent("out")
    let errURL = directory.appendingPathComponent("err")
    var inputFile: String?
    if let input {
        let inURL = directory.appendingPathComponent("in")
        try input.write(to: inURL)
        inputFile = inURL.path
    }
    let process = try ChildProcess(executable.path, arguments, outputFile: outURL.path, errorFile: errURL.path, inputFile: inputFile)
    let deadline = ContinuousClock.now + timeout
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.stop()
            throw TestSupportError("\(executable.lastPathComponent) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    let output = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let errorOutput = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return CommandResult(status: process.terminationStatus ?? -1, output: output, errorOutput: errorOutput)
}

/// The mosquitto command-line clients, pointed at a test broker.
public enum MosquittoClients {
    /// Publishes each line as one message with `mosquitto_pub -l` (fine at QoS 0; at QoS 1 keep it to a few hundred).
    public static func publish(
        port: Int, topic: String, lines: [String], qos: Int = 0, protocolVersion: String = "mqttv311",
        extraArguments: [String] = []
    ) async throws {
        let executable = try locateExecutable("mosquitto_pub", package: "mosquitto-clients")
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let result = try await runCommand(
            executable,
            ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-q", "\(qos)", "-V", protocolVersion, "-i", uniqueName("pub"), "-l"]
                + extraArguments,
            input: input)
        if result.status != 0 {
            throw TestSupportError("mosquitto_pub exited with \(result.status): \(result.errorOutput)")
        }
    }

    /// Receives `count` messages with `mosquitto_sub -C` and returns their payloads, one per line.
    public static func receive(
        port: Int, topic: String, count: Int, qos: Int = 0, timeout: Duration = .seconds(10), extraArguments: [String] = []
    ) async throws -> [String] {
        let executable = try locateExecutable("mosquitto_sub", package: "mosquitto-clients")
        let seconds = Int(timeout.components.seconds)
        let result = try await runCommand(
            executable,
            ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-q", "\(qos)", "-C", "\(count)", "-W", "\(max(1, seconds))"] + extraArguments,
            timeout: timeout + .seconds(5))
        return result.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}
