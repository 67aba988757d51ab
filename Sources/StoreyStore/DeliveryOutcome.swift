/// What became of one message (or of a receiver), as the delivery engine records it. Outcomes are
/// committed in batches (`DeliveryStore.record`); a message is never attempted again before its
/// previous outcome is committed, so a crash loses at most one outcome per message, and the message is
/// then sent once more, with the same id.
public enum DeliveryOutcome: Sendable, Equatable {
    /// Received: `attempts` in all.
    case delivered(message: Int64, attempts: Int, at: Int64)
    /// Failed: tried again at `nextAttemptAt`, or moved to the dead letters when it is nil.
    case failed(message: Int64, attempts: Int, reason: String, error: String, nextAttemptAt: Int64?, at: Int64)
    /// Put off without spending an attempt (its receiver's circuit is open, or the receiver left the configuration).
    case postponed(message: Int64, until: Int64)
    /// The receiver said it is gone for good (HTTP 410): disabled until an operator replays.
    case receiverDisabled(receiver: String, reason: String, at: Int64)

    /// The message it settles, if it is about one.
    public var message: Int64? {
        switch self {
        case .delivered(let message, _, _), .failed(let message, _, _, _, _, _), .postponed(let message, _): message
        case .receiverDisabled: nil
        }
    }
}
