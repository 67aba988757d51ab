/// How long delivery keeps what it has finished with, and how often it looks. Undelivered notifications
/// are kept however old they are.
public struct RetentionPolicy: Sendable, Equatable {
    /// Seconds delivered messages are kept (with their items and outbox rows, and skipped items).
    public var delivered: Double = 30 * 86_400
    /// Seconds dead letters are kept for `storey outbox list|replay`.
    public var dead: Double = 30 * 86_400
    /// Seconds between pruning passes (the first runs at start).
    public var interval: Double = 3_600

    public init(delivered: Double = 30 * 86_400, dead: Double = 30 * 86_400, interval: Double = 3_600) {
        self.delivered = delivered
        self.dead = dead
        self.interval = interval
    }

    /// The times before which delivered messages and dead letters go (milliseconds since the Unix epoch).
    public func cutoffs(now: Int64) -> (delivered: Int64, dead: Int64) {
        (now - Int64(delivered * 1000), now - Int64(dead * 1000))
    }

    /// Whether a pass is due, given when the last one ran (nil: none yet).
    public func isDue(now: Int64, lastRun: Int64?) -> Bool {
        guard let lastRun else { return true }
        return Double(now - lastRun) >= interval * 1000
    }
}
