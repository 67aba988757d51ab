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
        readingsAccepted = registry.makeCounter(name: "storey_readings_accepted_total", help: "Readings decoded, validated and stored.")
        readingsDuplicate = registry.makeCounter(name: "storey_readings_duplicate_total", help: "Readings already stored (same point and time), ignored.")
        messagesReceived = registry.makeCounter(name: "storey_mqtt_messages_total", help: "MQTT messages handed to intake.")
        batches = registry.makeCounter(name: "storey_intake_batches_total", help: "Batches stored, one transaction each.")
        storeErrors = registry.makeCounter(name: "storey_store_errors_total", help: "Batches the store failed to commit (retried).")
        reloads = registry.makeCounter(name: "storey_config_reloads_total", help: "Configuration reloads applied.")
        reloadFailures = registry.makeCounter(name: "storey_config_reload_failures_total", help: "Reloads refused because the new configuration was invalid.")
        mqttConnected = registry.makeGauge(name: "storey_mqtt_connected", help: "1 while subscribed to the broker.")
        mqttConnects = registry.makeGauge(name: "storey_mqtt_connects", help: "Successful connections since start.")
        mqttReconnects = registry.makeGauge(name: "storey_mqtt_reconnects", help: "Reconnections after the first connection.")
        mqttSecondsSinceLastMessage = registry.makeGauge(name: "storey_mqtt_seconds_since_last_message", help: "Seconds since the last MQTT message (-1: none yet).")
        mqttBufferedMessages = registry.makeGauge(name: "storey_mqtt_buffered_messages", help: "Messages waiting between the MQTT thread and storage.")
        points = registry.makeGauge(name: "storey_points", help: "Points in the topology in force.")
        var rejected: [RejectionReason: Counter] = [:]
        for reason in RejectionReason.allCases {
            rejected[reason] = registry.makeCounter(
                name: "storey_readings_rejected_total", labels: [("reason", reason.rawValue)],
                help: "Readings or payloads refused, by reason.")
        }
        self.rejected = rejected
        var events: [String: Counter] = [:]
        for event in ["rollover", "reset", "jump"] {
            events[event] = registry.makeCounter(
                name: "storey_counter_events_total", labels: [("event", event)],
                help: "Counter rollovers, resets and unbelievable jumps seen.")
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
