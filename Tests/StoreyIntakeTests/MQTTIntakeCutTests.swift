import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

/// The link to the broker cut again and again in the middle of a QoS 1/2 stream (a relay between the
/// intake and the broker drops its connections): every message the publisher had acknowledged arrives,
/// and the intake keeps reconnecting. With QoS 2 subscribed as such, libmosquitto 2.0.11 under MQTT 5
/// fell into a reconnect loop here after the first few cuts (11 of 4,000 received, 3,132 connects):
/// see `MQTTSubscription.subscribedQoS`.
struct MQTTIntakeCutTests {
    @Test(arguments: [MQTTProtocolVersion.v311, .v5], [1, 2])
    func linkCutRepeatedlyLosesNothingAndRecovers(version: MQTTProtocolVersion, qos: Int) async throws {
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let tap = try MQTTTap(brokerPort: broker.port)
        defer { tap.stop() }
        let topic = uniqueName("storey/test/cut")
        let running = RunningIntake(MQTTSettings(
            port: tap.port, protocolVersion: version, clientID: uniqueName("intake"), keepAlive: 10,
            subscriptions: [MQTTSubscription(topicFilter: topic, qos: qos)], receiveMaximum: 10,
            backoff: MQTTBackoff(initial: .milliseconds(50), maximum: .milliseconds(200))))
        try await running.waitUntilSubscribed()

        let count = 4000
        let port = broker.port
        let publishing = Task { try await publishNumbered(count, topic: topic, port: port, qos: qos, maxInFlight: 50) }
        let cutting = Task {
            for _ in 0..<20 {
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
                tap.cut()
            }
        }
        var seen = Set<String>()
        let deadline = ContinuousClock.now + .seconds(60)
        while seen.count < count && ContinuousClock.now < deadline {
            let intake = running.intake
            guard let batch = try? await withTimeout(.seconds(5), "next batch", { await intake.nextBatch() }) else { continue }
            for index in batch.indices { seen.insert(batch.withPayload(index) { String(decoding: $0, as: UTF8.self) }) }
        }
        try await cutting.value
        try await publishing.value
        let status = running.intake.status
        print("link cut 20 times, MQTT \(version) QoS \(qos): received \(seen.count) of \(count), connects \(status.connects), last error \(status.lastError ?? "none")")
        #expect(seen.count == count, "status: \(status)")
        try await running.stop()
    }
}
