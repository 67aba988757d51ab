import Foundation
import StoreyCore

/// How alerts are judged and timed, beyond the rules themselves (`alerting:`).
public struct AlertingConfiguration: Sendable, Equatable {
    /// Seconds between evaluation ticks (closed windows, silent points, silences, reminders).
    public var evaluateEvery: Double = 15
    /// Seconds a window stays open to late readings after it ends before it is judged.
    public var lateReadingsGrace: Double = 120
    /// An alert firing again within this many seconds of resolving is the same alert, marked flapping.
    public var flapPeriod: Double = 3600
    /// A firing alert nobody acknowledged is notified again after this many seconds; nil for never.
    public var repeatInterval: Double? = 4 * 3600
    /// The share of a window's expected readings a point must deliver, below which the window has a gap.
    public var coverage: Double = 0.8
    public var baselineWeeks = 4
    public var baselineMinimumWeeks = 2
    /// Seconds alert history (transitions) is kept; an open alert's current episode is kept regardless.
    public var historyRetention: Double = 400 * 86400

    public init() {}
}

extension ConfigurationLoader {
    /// `alerting:` — evaluation timing, flapping, reminders, coverage and baselines.
    static func readAlerting(_ node: ConfigNode?) -> AlertingConfiguration {
        var alerting = AlertingConfiguration()
        guard let node, let section = node.mapping(allowed: [
            "evaluate_every", "late_readings_grace", "flap_period", "repeat_interval", "coverage", "baseline", "history_retention",
        ]) else { return alerting }
        if let value = section["evaluate_every"]?.duration {
            if value >= 1 { alerting.evaluateEvery = value } else { section["evaluate_every"]!.fail("evaluate at most once a second") }
        }
        if let value = section["late_readings_grace"]?.duration { alerting.lateReadingsGrace = value }
        if let value = section["flap_period"]?.duration { alerting.flapPeriod = value }
        if let repeatNode = section["repeat_interval"] {
            if repeatNode.string == "never" { alerting.repeatInterval = nil } else if let value = repeatNode.duration {
                alerting.repeatInterval = value
            }
        }
        if let node = section["coverage"], let value = node.number(positive: true) {
            if value <= 1 { alerting.coverage = value } else { node.fail("coverage is a share of the expected readings, from 0 to 1") }
        }
        if let node = section["baseline"], let baseline = node.mapping(allowed: ["weeks", "minimum_weeks"]) {
            alerting.baselineWeeks = baseline["weeks"]?.integer(minimum: 1, maximum: 52) ?? alerting.baselineWeeks
            alerting.baselineMinimumWeeks = baseline["minimum_weeks"]?.integer(minimum: 1, maximum: 52) ?? alerting.baselineMinimumWeeks
            if alerting.baselineMinimumWeeks > alerting.baselineWeeks {
                node.fail("minimum_weeks (\(alerting.baselineMinimumWeeks)) cannot exceed weeks (\(alerting.baselineWeeks))")
            }
        }
        if let node = section["history_retention"], let value = node.duration {
            if value >= 86400 { alerting.historyRetention = value } else { node.fail("keep alert history at least 1d") }
        }
        return alerting
    }

    /// `rules:` — a list of underuse rules:
    ///
    ///     - name: tenant-energy-low
    ///       scope: { kind: tenant, labels: { industry_chain: electronics } }   # or ids: [...]
    ///       metric: energy_intensity
    ///       window: hour
    ///       condition: { below: 0.05 }
    ///       for: 3h
    ///       resolve: { margin_percent: 20 }
    ///       applies: working_time
    ///       severity: warning
    ///       labels: { team: leasing }
    ///       annotations: { summary: "…" }
    static func readRules(_ node: ConfigNode?, topology: Topology) -> [UnderuseRule] {
        guard let node else { return [] }
        var rules: [UnderuseRule] = []
        var names: [String: Int] = [:]
        for ruleNode in node.sequence() {
            guard let rule = readRule(ruleNode, topology: topology) else { continue }
            if let line = names[rule.name] {
                ruleNode.fail("rule name \"\(rule.name)\" is already used at line \(line): a name identifies its alerts")
                continue
            }
            names[rule.name] = ruleNode.line
            rules.append(rule)
        }
        return rules
    }

    private static func readRule(_ node: ConfigNode, topology: Topology) -> UnderuseRule? {
        guard let section = node.mapping(allowed: [
            "name", "scope", "metric", "window", "condition", "for", "resolve", "applies", "severity", "labels", "annotations",
        ]) else { return nil }
        let name = section.required("name")?.identifier
        let scope = section.required("scope").flatMap { readScopeSelector($0, topology: topology) }
        let condition = section.required("condition").flatMap(readCondition)
        let isSilentPoint = if case .silentPoint? = condition { true } else { false }
        // A silent-point rule has no metric or window of its own.
        let metric = isSilentPoint ? section["metric"]?.oneOf(RuleMetric.self) ?? .power : section.required("metric")?.oneOf(RuleMetric.self)
        let window = isSilentPoint ? section["window"]?.oneOf(Resolution.self) ?? .minute : section.required("window")?.oneOf(Resolution.self)
        let holdFor = section["for"]?.duration ?? 0
        var resolve = ResolveCondition.atLimit
        if let resolveNode = section["resolve"], let resolveSection = resolveNode.mapping(allowed: ["margin_percent", "above"]) {
            if let percent = resolveSection["margin_percent"]?.number(positive: true) { resolve = .marginPercent(percent) }
            if let level = resolveSection["above"]?.number() {
                if resolveSection["margin_percent"] != nil { resolveNode.fail("give margin_percent or above, not both") }
                resolve = .above(level)
            }
        }
        let applies = section["applies"]?.oneOf(RuleApplicability.self) ?? (isSilentPoint ? .always : .workingTime)
        let severity = section["severity"]?.oneOf(Severity.self) ?? .warning
        let labels = section["labels"].map(stringMapping) ?? [:]
        let annotations = section["annotations"].map(stringMapping) ?? [:]
        guard let name, let scope, let condition, let metric, let window else { return nil }
        let rule = UnderuseRule(
            name: name, scope: scope, metric: metric, window: window, condition: condition,
            holdFor: Int64(holdFor * 1000), resolve: resolve, applies: applies, severity: severity, labels: labels,
            annotations: annotations)
        for problem in rule.problems { node.fail(problem) }
        return rule.problems.isEmpty ? rule : nil
    }

    /// `{ kind: tenant }`, `{ kind: floor, ids: [tower-a/3] }`, `{ kind: tenant, labels: { k: v } }`.
    private static func readScopeSelector(_ node: ConfigNode, topology: Topology) -> ScopeSelector? {
        guard let section = node.mapping(allowed: ["kind", "ids", "labels"]),
            let kind = section.required("kind")?.oneOf(ScopeKind.self)
        else { return nil }
        if let idsNode = section["ids"] {
            if section["labels"] != nil { node.fail("select by ids or by labels, not both") }
            var ids = Set<String>()
            for idNode in idsNode.sequence() {
                guard let id = idNode.string else { continue }
                if topology.scope(kind: kind, id: id) == nil {
                    idNode.fail("no \(kind.rawValue) \"\(id)\" in the topology")
                    continue
                }
                ids.insert(id)
            }
            return ScopeSelector(kind, .ids(ids))
        }
        if let labelsNode = section["labels"] {
            if kind != .tenant { labelsNode.fail("only tenants carry labels; select \(kind.rawValue)s by ids") }
            return ScopeSelector(kind, .labels(stringMapping(labelsNode)))
        }
        return ScopeSelector(kind)
    }

    /// One of: `below: X`, `below_percent_of_capacity: P`, `below_percent_of_baseline: P`,
    /// `below_target: true`, `dark_space: { max_occupancy: N, base_load: KW }`, `silent_intervals: K`.
    private static func readCondition(_ node: ConfigNode) -> RuleCondition? {
        let kinds = ["below", "below_percent_of_capacity", "below_percent_of_baseline", "below_target", "dark_space", "silent_intervals"]
        guard let section = node.mapping(allowed: kinds) else { return nil }
        let given = kinds.filter { section[$0] != nil }
        guard given.count == 1, let kind = given.first, let value = section[kind] else {
            node.fail(given.isEmpty ? "give one condition: \(kinds.joined(separator: ", "))" : "give one condition, not \(given.joined(separator: " and "))")
            return nil
        }
        switch kind {
        case "below": return value.number().map(RuleCondition.below)
        case "below_percent_of_capacity": return value.number(positive: true).map(RuleCondition.belowPercentOfCapacity)
        case "below_percent_of_baseline": return value.number(positive: true).map(RuleCondition.belowPercentOfBaseline)
        case "below_target":
            guard value.bool == true else {
                value.fail("write below_target: true (the target is the tenant's targets.output_per_m2_month)")
                return nil
            }
            return .belowTarget
        case "dark_space":
            guard let dark = value.mapping(allowed: ["max_occupancy", "base_load"]),
                let occupancy = dark.required("max_occupancy")?.number(),
                let baseLoad = dark.required("base_load")?.number(positive: true, unit: "kW")
            else { return nil }
            return .darkSpace(maximumOccupancy: occupancy, baseLoad: baseLoad)
        default:
            return value.number(positive: true).map { RuleCondition.silentPoint(intervals: $0) }
        }
    }

    private static func stringMapping(_ node: ConfigNode) -> [String: String] {
        guard let mapping = node.node.pairs else {
            node.fail("expected a mapping of names to text")
            return [:]
        }
        var result: [String: String] = [:]
        for (key, value) in mapping {
            if let key = key.string, let value = value.string { result[key] = value }
        }
        return result
    }
}
