/// What a rule is evaluated on: one closed (or changed) window of one scope's figures, with what the
/// figures alone do not say: which inputs had gaps, the design capacity, baselines and targets.
public struct WindowObservation: Sendable, Equatable {
    public var scope: Scope
    public var resolution: Resolution
    /// Milliseconds since the Unix epoch: the window is `[start, end)`.
    public var start: Int64
    public var end: Int64
    public var figures: WindowFigures
    /// Quantities whose points did not all report through the window. A counter with no readings shows
    /// zero consumption, exactly like an idle space: this marker is what tells the two apart.
    public var missing: Set<Quantity>
    /// Persons the scope's leased spaces are designed for.
    public var designCapacity: Double?
    /// The scope's baseline for this window, per metric (baseline-relative rules).
    public var baselines: [RuleMetric: BaselineLevel]
    /// The tenant's monthly output density target, money per m² (target rules).
    public var monthlyTarget: Double?

    public init(
        scope: Scope, resolution: Resolution, start: Int64, end: Int64, figures: WindowFigures,
        missing: Set<Quantity> = [], designCapacity: Double? = nil, baselines: [RuleMetric: BaselineLevel] = [:],
        monthlyTarget: Double? = nil
    ) {
        self.scope = scope
        self.resolution = resolution
        self.start = start
        self.end = end
        self.figures = figures
        self.missing = missing
        self.designCapacity = designCapacity
        self.baselines = baselines
        self.monthlyTarget = monthlyTarget
    }
}
