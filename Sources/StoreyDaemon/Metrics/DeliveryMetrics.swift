import Prometheus
import StoreyDelivery
import StoreyStore
import Synchronization

/// Delivery's metrics in the daemon's registry: attempts, deliveries, failures and dead letters per
/// receiver (and reason), the queue's depth, its oldest undelivered notification, the dead letters held,
/// each receiver's circuit breaker, and what pruning removed.
final class DeliveryMetrics: DeliveryObserver {
    private let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Counter]>([:])
    private let circuits = Mutex<[String: Gauge]>([:])
    private let queueDepth: Gauge
    private let waiting: Gauge
    private let deadLetters: Gauge
    private let oldestAge: Gauge

    init(_ metrics: StoreyMetrics) {
        registry = metrics.registry
        queueDepth = registry.makeGauge(descriptor: .storey("storey_delivery_queue_depth", "Notifications and messages not yet delivered (outbox rows not routed, items waiting for their group or a mute, messages pending)."))
        waiting = registry.makeGauge(descriptor: .storey("storey_delivery_messages_pending", "Messages made and waiting to be sent or retried."))
        deadLetters = registry.makeGauge(descriptor: .storey("storey_delivery_dead_letters", "Messages in the dead letters now (storey outbox list --state dead)."))
        oldestAge = registry.makeGauge(descriptor: .storey("storey_delivery_oldest_undelivered_seconds", "Age of the oldest notification not yet delivered (0: none)."))
    }

    private func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        let key = ([name] + labels.map { "\($0.0)=\($0.1)" }).joined(separator: "|")
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(descriptor: .storey(name, help), labels: labels)
            counters[key] = counter
            return counter
        }
    }

    func attempted(receiver: String) {
        counter("storey_delivery_attempts_total", "Delivery attempts, per receiver.", [("receiver", receiver)]).increment()
    }

    func delivered(receiver: String, seconds: Double) {
        counter("storey_delivery_delivered_total", "Messages delivered, per receiver.", [("receiver", receiver)]).increment()
    }

    func failed(receiver: String, reason: FailureReason) {
        counter("storey_delivery_failures_total", "Failed delivery attempts, per receiver and reason.", [("receiver", receiver), ("reason", reason.rawValue)]).increment()
    }

    func deadLettered(receiver: String, reason: FailureReason) {
        counter("storey_delivery_dead_lettered_total", "Messages moved to the dead letters, per receiver and reason.", [("receiver", receiver), ("reason", reason.rawValue)]).increment()
    }

    func queue(_ statistics: DeliveryQueueStatistics, oldestUndeliveredAge: Double) {
        queueDepth.set(Double(statistics.unrouted + statistics.waiting + statistics.pending))
        waiting.set(Double(statistics.pending))
        deadLetters.set(Double(statistics.dead))
        oldestAge.set(oldestUndeliveredAge)
    }

    func circuit(receiver: String, isOpen: Bool) {
        let gauge = circuits.withLock { circuits in
            if let gauge = circuits[receiver] { return gauge }
            let gauge = registry.makeGauge(
                descriptor: .storey("storey_delivery_circuit_open", "1 while a receiver's circuit breaker stops attempts (open or half-open), 0 when closed."),
                labels: [("receiver", receiver)])
            circuits[receiver] = gauge
            return gauge
        }
        gauge.set(isOpen ? 1.0 : 0.0)
    }

    func pruned(_ counts: DeliveryPruneCounts) {
        let help = "Rows removed by pruning past the retention (delivery.retention), per table."
        counter("storey_delivery_pruned_total", help, [("table", "delivery_message")]).increment(by: Int64(counts.messages))
        counter("storey_delivery_pruned_total", help, [("table", "delivery_item")]).increment(by: Int64(counts.items))
        counter("storey_delivery_pruned_total", help, [("table", "outbox")]).increment(by: Int64(counts.outboxRows))
    }

    func committed(outcomes: Int) {
        counter("storey_delivery_outcome_commits_total", "Transactions that recorded send outcomes (commit_batch gathers several in one).", []).increment()
        counter("storey_delivery_outcomes_committed_total", "Send outcomes recorded (delivered, retry, dead letter, postponed).", []).increment(by: Int64(outcomes))
    }
}
