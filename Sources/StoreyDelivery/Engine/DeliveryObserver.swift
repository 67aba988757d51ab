import StoreyStore

/// What delivery tells the outside about itself (the daemon turns it into Prometheus metrics).
public protocol DeliveryObserver: Sendable {
    func attempted(receiver: String)
    func delivered(receiver: String, seconds: Double)
    func failed(receiver: String, reason: FailureReason)
    func deadLettered(receiver: String, reason: FailureReason)
    /// The queue as it stands; `oldestUndeliveredAge` in seconds (0 when nothing waits).
    func queue(_ statistics: DeliveryQueueStatistics, oldestUndeliveredAge: Double)
}

/// Observes nothing (tests, the CLI).
public struct NoDeliveryObserver: DeliveryObserver {
    public init() {}
    public func attempted(receiver: String) {}
    public func delivered(receiver: String, seconds: Double) {}
    public func failed(receiver: String, reason: FailureReason) {}
    public func deadLettered(receiver: String, reason: FailureReason) {}
    public func queue(_ statistics: DeliveryQueueStatistics, oldestUndeliveredAge: Double) {}
}
