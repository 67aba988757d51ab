/// Whether a rule is evaluated in working time only (the default for underuse: an empty floor at night
/// is not underused) or always.
public enum RuleApplicability: String, Sendable, Codable, CaseIterable {
    case workingTime = "working_time"
    case always
}

public enum Severity: String, Sendable, CaseIterable, Codable, Comparable {
    case info, warning, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One underuse rule, as declared in the configuration: plain data, evaluated by `evaluate(_:…)`.
public struct UnderuseRule: Sendable, Equatable {
    public var name: String
    public var scope: ScopeSelector
    public var metric: RuleMetric
    /// The window the metric is taken over (hour, day; month for targets).
    public var window: Resolution
    public var condition: RuleCondition
    /// How long the condition must hold before the alert fires, milliseconds (`for`). Working-time rules
    /// count only the windows they apply to: "3 hours" means three working hours.
    public var holdFor: Int64
    public var resolve: ResolveCondition
    public var applies: RuleApplicability
    public var severity: Severity
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(
        name: String, scope: ScopeSelector, metric: RuleMetric, window: Resolution, condition: RuleCondition,
        holdFor: Int64 = 0, resolve: ResolveCondition = .atLimit, applies: RuleApplicability = .workingTime,
        severity: Severity = .warning, labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.name = name
        self.scope = scope
        self.metric = metric
        self.window = window
        self.condition = condition
        self.holdFor = holdFor
        self.resolve = resolve
        self.applies = applies
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
    }

    public var isSilentPointRule: Bool {
        if case .silentPoint = condition { return true }
        return false
    }

    /// What is wrong with the rule, in words for `storey check`; empty when it can be evaluated.
    public var problems: [String] {
        var problems: [String] = []
        if name.isEmpty { problems.append("a rule needs a name") }
        if holdFor < 0 { problems.append("rule '\(name)': `for` must not be negative") }
        switch condition {
        case .belowPercentOfCapacity where metric != .meanOccupancy:
            problems.append("rule '\(name)': a capacity-relative condition compares mean_occupancy, not \(metric.rawValue)")
        case .belowTarget where metric != .outputDensity:
            problems.append("rule '\(name)': a target condition compares output_density, not \(metric.rawValue)")
        case .silentPoint(let intervals) where scope.kind != .point || intervals <= 0:
            problems.append("rule '\(name)': a silent-point rule watches points, for a positive number of intervals")
        case .darkSpace where window != .day:
            problems.append("rule '\(name)': dark space is judged per day; use window: day and `for` N days")
        default:
            break
        }
        if !isSilentPointRule && scope.kind == .point {
            problems.append("rule '\(name)': underuse is judged for tenants, floors or buildings, not points")
        }
        return problems
    }
}
