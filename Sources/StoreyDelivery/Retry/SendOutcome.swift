/// What one attempt to send a message came to, as the senders classify it.
public enum SendOutcome: Sendable, Equatable {
    case delivered
    /// Worth trying again: a timeout, a refused connection, a 5xx, a 429, a temporary SMTP reply.
    /// `retryAfter` is the receiver's own wish, in seconds (HTTP `Retry-After`).
    case failed(FailureReason, String, retryAfter: Double? = nil)
    /// Will not succeed however often it is tried (a 400, an SMTP 550 for this recipient): dead letter now.
    case rejected(FailureReason, String)
    /// HTTP 410: the endpoint is gone for good; the receiver is disabled until an operator replays.
    case gone(String)

    public var reason: FailureReason? {
        switch self {
        case .delivered: nil
        case .failed(let reason, _, _), .rejected(let reason, _): reason
        case .gone: .gone
        }
    }

    /// Whether the attempt says the endpoint itself is in trouble (for its circuit breaker). A temporary
    /// SMTP reply about one recipient or message (a full mailbox, greylisting) comes from a working
    /// server: it must not open the circuit that the receiver's other recipients share.
    public var isEndpointFailure: Bool {
        switch self {
        case .failed(let reason, _, _): reason != .rendering && reason != .smtpTransient
        default: false
        }
    }
}

/// Why an attempt failed, as a metric label and in `storey outbox`.
public enum FailureReason: String, Sendable, CaseIterable {
    case timeout, connection, tls
    case http5xx = "http_5xx"
    case http429 = "http_429"
    case http4xx = "http_4xx"
    case gone
    /// A group bot answered 200 with an error code in its body.
    case botError = "bot_error"
    case smtpTransient = "smtp_transient"
    case smtpRefused = "smtp_refused"
    case authentication
    case rendering
    case receiverMissing = "receiver_missing"
    case receiverDisabled = "receiver_disabled"
    case gaveUp = "gave_up"
}
