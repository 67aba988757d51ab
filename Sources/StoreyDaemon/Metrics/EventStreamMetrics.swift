import Prometheus
import StoreyAPI
import Synchronization

/// The event stream's clients in `/metrics`: how many are connected now, how many connected and how
/// many were dropped for reading too slowly since start. Read from the hub when `/metrics` is asked, so
/// the hub stays free of metrics code and the figures are never older than the scrape.
final class EventStreamMetrics: Sendable {
    private let clients: Gauge
    private let connections: Counter
    private let dropped: Counter
    /// The hub's totals at the last scrape: counters only go up by what happened since.
    private let counted = Mutex<(connections: Int, dropped: Int)>((0, 0))

    init(registry: PrometheusCollectorRegistry) {
        clients = registry.makeGauge(descriptor: .storey("storey_event_stream_clients", "Event-stream clients connected now."))
        connections = registry.makeCounter(descriptor: .storey("storey_event_stream_connections_total", "Event-stream clients that connected since start."))
        dropped = registry.makeCounter(
            descriptor: .storey("storey_event_stream_clients_dropped_total", "Event-stream clients dropped because their buffer was full (too slow to read)."))
    }

    /// Brings the figures up to the hub's.
    func update(from hub: EventHub) {
        clients.set(Double(hub.clientCount))
        let now = (connections: hub.connections, dropped: hub.droppedClients)
        let (newConnections, newDrops) = counted.withLock { counted in
            defer { counted = now }
            return (now.connections - counted.connections, now.dropped - counted.dropped)
        }
        if newConnections > 0 { connections.increment(by: Int64(newConnections)) }
        if newDrops > 0 { dropped.increment(by: Int64(newDrops)) }
    }
}
