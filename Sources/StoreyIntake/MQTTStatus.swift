import Foundation

/// A snapshot of the intake's connection, for metrics, logs and readiness.
public struct MQTTStatus: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        /// `run()` not called yet.
        case idle
        /// A connect is in progress (TCP, TLS, CONNACK).
        case connecting
        /// CONNACK accepted, subscriptions not all acknowledged yet.
        case connected
        /// Connected and every subscription acknowledged: messages flow.
        case subscribed
        /// Between a loss and the next attempt.
        case disconnected
        /// `stop()` was called or `run()` ended.
        case stopped
    }

    public var state: State = .idle
    /// Accepted connections (CONNACK success), the first included.
    public var connects: Int = 0
    /// Accepted connections after the first one.
    public var reconnects: Int { max(0, connects - 1) }
    /// Connection attempts that failed or were refused.
    public var failedAttempts: Int = 0
    public var messagesReceived: Int = 0
    public var lastMessageAt: Date?
    /// Whether the broker resumed an existing session at the last connect.
    public var sessionPresent: Bool?
    /// The last thing that went wrong, in words; kept after recovery for context.
    public var lastError: String?
    /// Messages waiting for `nextBatch()`.
    public var bufferedMessages: Int = 0
    /// True while the loop does not read the socket because the hand-off buffer is full.
    public var readingPaused: Bool = false

    public init() {}
}
