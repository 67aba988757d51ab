import Foundation
import StoreyAPI
@testable import StoreyDaemon
import StoreyTestSupport
import Testing

/// The event stream's clients in `/metrics`: connected now, connected since start, dropped for being slow.
@Suite(.timeLimit(.minutes(3)))
struct OperatorViewMetricsTests {
    @Test func metricsCountConnectedAndSlowDroppedEventStreamClients() async throws {
        let metrics = StoreyMetrics()
        let streamMetrics = EventStreamMetrics(registry: metrics.registry)
        let hub = EventHub(clientBuffer: 2)
        let reader = hub.subscribe(lastEventID: nil)
        let stalled = hub.subscribe(lastEventID: nil)
        streamMetrics.update(from: hub)
        #expect(values(metrics)["storey_event_stream_clients"] == 2, "\(metrics.render())")
        #expect(values(metrics)["storey_event_stream_connections_total"] == 2)

        hub.publish(StreamEvent(name: "window", data: "{\"n\":1}"))
        hub.publish(StreamEvent(name: "window", data: "{\"n\":2}"))
        var events = reader.events.makeAsyncIterator()
        #expect(await events.next()?.data == "{\"n\":1}")
        #expect(await events.next()?.data == "{\"n\":2}")
        // The stalled client's two places are taken: the third event drops it, not the reader.
        hub.publish(StreamEvent(name: "window", data: "{\"n\":3}"))
        streamMetrics.update(from: hub)
        let scraped = values(metrics)
        #expect(scraped["storey_event_stream_clients"] == 1, "\(metrics.render())")
        #expect(scraped["storey_event_stream_clients_dropped_total"] == 1)
        #expect(scraped["storey_event_stream_connections_total"] == 2)
        // Counters stay put between scrapes when nothing happened.
        streamMetrics.update(from: hub)
        #expect(values(metrics)["storey_event_stream_clients_dropped_total"] == 1)
        withExtendedLifetime(stalled) {}
    }

    /// `/metrics` text as name → value (unlabelled series).
    func values(_ metrics: StoreyMetrics) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in metrics.render().split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    @Test func theRunningDaemonCountsItsEventStreamClients() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try daemon.start()
        try await daemon.waitUntilReady()
        #expect(try await daemon.metric("storey_event_stream_clients") == 0)
        let url = "http://127.0.0.1:\(daemon.httpPort)/api/v1/events"
        let first = try ChildProcess("/usr/bin/curl", ["-s", "-N", url], outputFile: daemon.directory.appendingPathComponent("sse-1.txt").path)
        let second = try ChildProcess("/usr/bin/curl", ["-s", "-N", url], outputFile: daemon.directory.appendingPathComponent("sse-2.txt").path)
        try await daemon.waitUntil("two stream clients in /metrics") { try await daemon.metric("storey_event_stream_clients") == 2 }
        #expect(try await daemon.metric("storey_event_stream_connections_total") == 2)
        first.stop()
        // The server notices a client has gone at its next write to it: the heartbeat, every 15 s.
        try await daemon.waitUntil("one stream client left in /metrics", timeout: .seconds(45)) { try await daemon.metric("storey_event_stream_clients") == 1 }
        #expect(try await daemon.metric("storey_event_stream_connections_total") == 2)
        #expect(try await daemon.metric("storey_event_stream_clients_dropped_total") == 0)
        second.stop()
        _ = try await daemon.stop()
    }
}
