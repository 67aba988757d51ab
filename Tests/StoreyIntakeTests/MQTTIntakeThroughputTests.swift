import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

/// Opt-in measurement (`STOREY_INTAKE_BENCHMARK=1`): drain a queued persistent session with the intake
/// and with mosquitto_sub, on the same broker, and print both rates and their ratio.
struct MQTTIntakeThroughputTests {
    static let enabled = ProcessInfo.processInfo.environment["STOREY_INTAKE_BENCHMARK"] == "1"

    @Test(.enabled(if: enabled)) func drainOfAQueuedSessionIsCloseToMosquittoSub() async throws {
        let count = Int(ProcessInfo.processInfo.environment["STOREY_INTAKE_BENCHMARK_COUNT"] ?? "") ?? 200_000
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0, queueQoS0Messages: true))
        defer { broker.stop() }
        let topic = uniqueName("storey/bench")
        let payload = #"{"v":1234.5,"ts":1700000000}"#

        // mosquitto_sub: register a persistent session, queue, then time the drain.
        let subID = uniqueName("bench-sub")
        let sub = try locateExecutable("mosquitto_sub", package: "mosquitto-clients")
        try await runCommand(sub, ["-p", "\(broker.port)", "-t", topic, "-q", "0", "-c", "-i", subID, "-E"])
        try await publish(count, topic: topic, payload: payload, port: broker.port)
        let subStart = ContinuousClock.now
        let result = try await runCommand(sub, ["-p", "\(broker.port)", "-t", topic, "-q", "0", "-c", "-i", subID, "-C", "\(count)", "-W", "60"])
        let subTime = ContinuousClock.now - subStart
        #expect(result.output.split(separator: "\n").count == count)

        // The intake, same broker and the same backlog.
        let intakeID = uniqueName("bench-intake")
        var intakeSettings = MQTTSettings(port: broker.port, clientID: intakeID, subscriptions: [MQTTSubscription(topicFilter: topic, qos: 0)])
        intakeSettings.keepAlive = 60
        let first = RunningIntake(intakeSettings)
        try await first.waitUntilSubscribed()
        try await first.stop()
        try await publish(count, topic: topic, payload: payload, port: broker.port)
        let intake = MQTTIntake(settings: intakeSettings, logger: .init(label: "bench"))
        let run = Task { try await intake.run() }
        let start = ContinuousClock.now
        var received = 0
        var batches = 0
        var bytes = 0
        while received < count, let batch = await intake.nextBatch() {
            received += batch.count
            batches += 1
            for index in batch.indices { bytes += batch.withPayload(index) { $0.count } }
        }
        let intakeTime = ContinuousClock.now - start
        intake.stop()
        try await run.value
        #expect(received == count)

        let seconds = { (d: Duration) in Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        let subRate = Double(count) / seconds(subTime)
        let intakeRate = Double(count) / seconds(intakeTime)
        print(
            "BENCHMARK drain of \(count) queued QoS 0 messages: mosquitto_sub \(Int(subRate))/s, MQTTIntake \(Int(intakeRate))/s "
                + "(ratio \(String(format: "%.2f", intakeRate / subRate)), \(batches) batches, \(bytes) payload bytes)")
    }

    private func publish(_ count: Int, topic: String, payload: String, port: Int) async throws {
        let publisher = MQTTPublisher(settings: MQTTSettings(port: port, clientID: uniqueName("bench-pub"), cleanSession: true), maxInFlight: 2_000)
        try await publisher.connect()
        let bytes = Array(payload.utf8)
        for _ in 0..<count { try await publisher.publish(topic: topic, payload: bytes, qos: 0) }
        await publisher.disconnect()
        try await Task.sleep(for: .milliseconds(300))
    }
}
