import StoreyStore

/// What delivery tells the outside about itself (the daemon turns it into Prometheus metrics).
public protocol DeliveryObserver: Sendable {
    func attempted(receiver: String)
    func delivered(receiver: String, seconds: Double)
    func failed(receiver: String, reason: FailureReason)
    func deadLettered(receiver: String, reason: FailureReason)
    /// The queue as it stands; `oldestUndeliveredAge` in seconds (0 when nothing waits).
    func queue(_ statistics: DeliveryQueueStatistics, oldestUndeliveredAge: Double)
    /// A receiver's circuit breaker after an attempt: open (or half-open) stops attempts for a while.
    func circuit(receiver: String, isOpen: Bool)
    /// A pruning pass removed these.
    func pruned(_ counts: DeliveryPruneCounts)
    /// One transaction committed this many outcomes.
    func committed(outcomes: Int)
}

/// Observes nothing (tests, the CLI).
public struct NoDeliveryObserver: DeliveryObserver {
    public init() {}
    public func attempted(receiver: String) {}
    public func delivered(receiver: String, seconds: Double) {}
    public func failed(receiver: String, reason: FailureReason) {}
    public func deadLettered(receiver: String, reason: FailureReason) {}
    public func queue(_ statistics: DeliveryQueueStatistics, oldestUndeliveredAge: Double) {}
    public func circuit(receiver: String, isOpen: Bool) {}
    public func pruned(_ counts: DeliveryPruneCounts) {}
    public func committed(outcomes: Int) {}
}
