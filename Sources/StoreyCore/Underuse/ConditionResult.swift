/// The outcome of evaluating a rule's condition on one window.
public enum ConditionResult: Sendable, Equatable {
    /// Underuse (or silence) is observed.
    case holds(Observation)
    /// Not observed; for an active alert, the value has also passed the resolve level.
    case clear(Observation)
    /// The inputs do not allow a claim either way. Never fires, never resolves.
    case noData(NoDataReason)
    /// The rule does not apply to this window (outside working time, nothing leased).
    case notApplicable(NotApplicableReason)
}

/// The numbers behind a result, kept with every transition so history shows why.
public struct Observation: Sendable, Equatable, Codable {
    public var value: Double
    /// The value below which the condition holds.
    public var limit: Double
    /// The value an active alert must reach to resolve (hysteresis).
    public var resolveLevel: Double
    public var unit: String

    public init(value: Double, limit: Double, resolveLevel: Double, unit: String) {
        self.value = value
        self.limit = limit
        self.resolveLevel = resolveLevel
        self.unit = unit
    }
}

public enum NoDataReason: Sendable, Equatable {
    /// Some points of these quantities did not report through the window.
    case gaps(Set<Quantity>)
    /// The window has no figure for the metric at all.
    case noFigure(RuleMetric)
    case notEnoughHistory(weeks: Int, needed: Int)
    case noDesignCapacity
    case noTarget
    /// A silent point not heard since watching began (start, reconnect), watched too briefly to judge.
    case notWatchedLongEnough
}

public enum NotApplicableReason: Sendable, Equatable {
    case outsideWorkingTime
    case nothingLeased
    /// The rule is judged by another entry point (silent points by `evaluateSilence`).
    case judgedElsewhere
}
