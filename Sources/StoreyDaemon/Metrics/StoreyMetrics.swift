import Foundation
import Prometheus
import StoreyCore

/// The daemon's Prometheus metrics, kept in one registry that `/metrics` renders.
public final class StoreyMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let readingsAccepted: Counter
    let readingsDuplicate: Counter
    let messagesReceived: Counter
    let batches: Counter
    let storeErrors: Counter
    let reloads: Counter
    let reloadFailures: Counter
    let mqttConnected: Gauge
    let mqttConnects: Gauge
    let mqttReconnects: Gauge
    let mqttSecondsSinceLastMessage: Gauge
    let mqttBufferedMessages: Gauge
    let points: Gauge
    private let rejected: [RejectionReason: Counter]
    private let counterEvents: [String: Counter]

    public init() {
        readingsAccepted = registry.makeCounter(descriptor: .storey("storey_readings_accepted_total", "Readings decoded, validated and stored."))
        readingsDuplicate = registry.makeCounter(descriptor: .storey("storey_readings_duplicate_total", "Readings already stored (same point and time), ignored."))
        messagesReceived = registry.makeCounter(descriptor: .storey("storey_mqtt_messages_total", "MQTT messages handed to intake."))
        batches = registry.makeCounter(descriptor: .storey("storey_intake_batches_total", "Batches stored, one transaction each."))
        storeErrors = registry.makeCounter(descriptor: .storey("storey_store_errors_total", "Batches the store failed to commit (retried)."))
        reloads = registry.makeCounter(descriptor: .storey("storey_config_reloads_total", "Configuration reloads applied."))
        reloadFailures = registry.makeCounter(descriptor: .storey("storey_config_reload_failures_total", "Reloads refused because the new configuration was invalid."))
        mqttConnected = registry.makeGauge(descriptor: .storey("storey_mqtt_connected", "1 while subscribed to the broker."))
        mqttConnects = registry.makeGauge(descriptor: .storey("storey_mqtt_connects", "Successful connections since start."))
        mqttReconnects = registry.makeGauge(descriptor: .storey("storey_mqtt_reconnects", "Reconnections after the first connection."))
        mqttSecondsSinceLastMessage = registry.makeGauge(descriptor: .storey("storey_mqtt_seconds_since_last_message", "Seconds since the last MQTT message (-1: none yet)."))
        mqttBufferedMessages = registry.makeGauge(descriptor: .storey("storey_mqtt_buffered_messages", "Messages waiting between the MQTT thread and storage."))
        points = registry.makeGauge(descriptor: .storey("storey_points", "Points in the topology in force."))
        var rejected: [RejectionReason: Counter] = [:]
        for reason in RejectionReason.allCases {
            rejected[reason] = registry.makeCounter(descriptor: .storey("storey_readings_rejected_total", "Readings or payloads refused, by reason."), labels: [("reason", reason.rawValue)])
        }
        self.rejected = rejected
        var events: [String: Counter] = [:]
        for event in ["rollover", "reset", "jump"] {
            events[event] = registry.makeCounter(descriptor: .storey("storey_counter_events_total", "Counter rollovers, resets and unbelievable jumps seen."), labels: [("event", event)])
        }
        self.counterEvents = events
    }

    func rejected(_ reason: RejectionReason, count: Int = 1) {
        rejected[reason]?.increment(by: Int64(count))
    }

    func counterEvent(_ name: String, count: Int) {
        counterEvents[name]?.increment(by: Int64(count))
    }

    /// Prometheus text exposition format.
    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension MetricNameDescriptor {
    /// A metric named in full (units are in the name, Prometheus style), with its help text.
    static func storey(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
