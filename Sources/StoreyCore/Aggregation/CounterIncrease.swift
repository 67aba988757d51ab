/// What happened between two readings of a counter.
public enum CounterEvent: Sendable, Equatable {
    case increase
    /// The register passed its maximum and started again from zero.
    case rollover
    /// The meter restarted from zero (replaced, power-cycled); the reading after it counts from zero.
    case reset
    /// An increase faster than the point's believable maximum: not counted, the counter re-anchors.
    case jump
}

/// The consumption between two readings of a counter, never negative and never a spike.
///
/// `maximumPerHour` bounds a believable increase: a meter that jumps by more than it could have counted
/// in the elapsed time contributes nothing for that interval, instead of a spike that would swamp a month.
public func counterIncrease(
    from previous: (time: Int64, value: Double), to current: (time: Int64, value: Double),
    rollover: Double?, maximumPerHour: Double
) -> (amount: Double, event: CounterEvent) {
    let hours = max(Double(current.time - previous.time) / 3_600_000, 1.0 / 60)
    let believable = maximumPerHour * hours
    let difference = current.value - previous.value
    if difference >= 0 {
        return difference <= believable ? (difference, .increase) : (0, .jump)
    }
    if let rollover, previous.value <= rollover {
        let wrapped = rollover - previous.value + current.value
        if wrapped <= believable { return (wrapped, .rollover) }
    }
    // Restarted from zero: what it shows now was counted since then.
    return current.value <= believable ? (current.value, .reset) : (0, .reset)
}
