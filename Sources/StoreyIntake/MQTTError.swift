/// Why the intake or the publisher could not do what was asked. Each case says what failed, in operator words.
public enum MQTTError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A setting cannot work (for example a persistent session without a client id).
    case invalidSettings(String)
    /// A TLS file is missing or unreadable; `role` is e.g. "TLS CA file".
    case unreadableFile(role: String, path: String)
    /// libmosquitto refused a call; `operation` names the call, `reason` is libmosquitto's explanation.
    case library(operation: String, reason: String)
    /// The broker could not be reached or refused the connection.
    case connectionFailed(String)
    /// The connection ended while work was outstanding.
    case connectionLost(String)
    /// The intake journal (`IntakeJournal`) could not be opened, read or written.
    case journal(String)
    /// `run()` or `connect()` was called a second time.
    case alreadyStarted
    /// The object was stopped before the operation could happen.
    case stopped

    public var description: String {
        switch self {
        case .invalidSettings(let message): "invalid MQTT settings: \(message)"
        case .unreadableFile(let role, let path): "\(role) '\(path)' is missing or not readable"
        case .library(let operation, let reason): "\(operation) failed: \(reason)"
        case .connectionFailed(let message): "MQTT connection failed: \(message)"
        case .connectionLost(let message): "MQTT connection lost: \(message)"
        case .journal(let message): "intake journal: \(message)"
        case .alreadyStarted: "already started: each MQTTIntake or MQTTPublisher runs once"
        case .stopped: "stopped"
        }
    }
}
