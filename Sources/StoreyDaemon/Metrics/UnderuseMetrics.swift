import Prometheus
import StoreyCore
import Synchronization

/// What underuse judging is doing, in `/metrics`: alerts by state, and per rule the scopes it judged by
/// result — including "no data" and baselines still learning, which raise no alert and would otherwise
/// be invisible. An estate instance's monitors, one per held shard, label theirs with the shard.
final class UnderuseMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    /// `[("shard", name)]` for a shard's monitor; nothing for a single instance's.
    private let shardLabel: [(String, String)]
    private let alertsByState: [AlertState: Gauge]
    private let tickSeconds: Gauge
    private let outboxRows: Counter
    /// Gauges made per rule name as rules appear (rules change with reloads).
    private let perRule = Mutex<[String: Gauge]>([:])

    init(registry: PrometheusCollectorRegistry, shard: String? = nil) {
        self.registry = registry
        let shardLabel = shard.map { [("shard", $0)] } ?? []
        self.shardLabel = shardLabel
        var gauges: [AlertState: Gauge] = [:]
        for state in [AlertState.pending, .firing, .resolved] {
            gauges[state] = registry.makeGauge(descriptor: .storey("storey_alerts", "Alerts by state."), labels: [("state", state.rawValue)] + shardLabel)
        }
        alertsByState = gauges
        tickSeconds = registry.makeGauge(
            descriptor: .storey("storey_underuse_tick_seconds", "How long the last underuse evaluation took."), labels: shardLabel)
        outboxRows = registry.makeCounter(descriptor: .storey("storey_outbox_rows_total", "Notifications written to the outbox."), labels: shardLabel)
    }

    func update(_ evaluator: UnderuseEvaluator, tickSeconds seconds: Double) {
        tickSeconds.set(seconds)
        var states: [AlertState: Int] = [:]
        for alert in evaluator.alerts.values { states[alert.state, default: 0] += 1 }
        for (state, gauge) in alertsByState { gauge.set(Double(states[state] ?? 0)) }

        var counts: [String: Int] = [:]   // "rule\u{1F}result" → scopes
        for (key, result) in evaluator.latest {
            counts["\(evaluator.rules[key.rule].name)\u{1F}\(Self.code(result))", default: 0] += 1
        }
        perRule.withLock { gauges in
            for rule in evaluator.rules {
                for result in ["holds", "clear", "no_data", "baseline_learning", "not_applicable"] {
                    let name = "\(rule.name)\u{1F}\(result)"
                    if gauges[name] == nil {
                        gauges[name] = registry.makeGauge(
                            descriptor: .storey("storey_rule_scopes", "Scopes by their rule's latest judgement (no_data and baseline_learning raise no alert)."),
                            labels: [("rule", rule.name), ("result", result)] + shardLabel)
                    }
                    gauges[name]!.set(Double(counts[name] ?? 0))
                }
            }
        }
    }

    /// A shard's monitor that stopped (its shard lost): its shard's alerts are judged, and counted,
    /// elsewhere now.
    func clear() {
        tickSeconds.set(0.0)
        for gauge in alertsByState.values { gauge.set(0.0) }
        perRule.withLock { gauges in for gauge in gauges.values { gauge.set(0.0) } }
    }

    func outboxWritten(_ count: Int) {
        if count > 0 { outboxRows.increment(by: Int64(count)) }
    }

    static func code(_ result: ConditionResult) -> String {
        switch result {
        case .holds: "holds"
        case .clear: "clear"
        case .noData(.notEnoughHistory): "baseline_learning"
        case .noData: "no_data"
        case .notApplicable: "not_applicable"
        }
    }
}
