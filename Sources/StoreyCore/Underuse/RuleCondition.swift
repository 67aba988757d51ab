/// When a rule's window counts as underused (or, for a silent point, as silent).
public enum RuleCondition: Sendable, Equatable {
    /// (a) The metric is below an absolute level, in the metric's unit.
    case below(Double)
    /// (b) Mean occupancy is below this percentage of the design capacity.
    case belowPercentOfCapacity(Double)
    /// (c) The metric is below this percentage of the scope's own baseline.
    case belowPercentOfBaseline(Double)
    /// (d) Output density is below the tenant's monthly target.
    case belowTarget
    /// (e) Peak occupancy at most `maximumOccupancy` and mean power at most `baseLoad` kW: only lit, not
    /// worked. Held for N days through the rule's `for`.
    case darkSpace(maximumOccupancy: Double, baseLoad: Double)
    /// (f) A point has not reported for `intervals` times its expected interval.
    case silentPoint(intervals: Double)
}

/// How far back past the limit a value must come before an active alert resolves, so that a value
/// hovering at the limit does not resolve and fire again every window.
public enum ResolveCondition: Sendable, Equatable {
    /// Resolves as soon as the condition no longer holds.
    case atLimit
    /// Resolves at the limit raised by this percentage of it (below 0.05 with 20% → resolves at 0.06).
    case marginPercent(Double)
    /// Resolves at this level, in the unit the limit is in (kW for dark space).
    case above(Double)

    func level(for limit: Double) -> Double {
        switch self {
        case .atLimit: limit
        case .marginPercent(let percent): limit * (1 + percent / 100)
        case .above(let level): max(level, limit)
        }
    }
}
