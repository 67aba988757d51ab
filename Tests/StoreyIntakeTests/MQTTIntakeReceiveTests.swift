import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

struct MQTTIntakeReceiveTests {
    static let versions: [MQTTProtocolVersion] = [.v311, .v5]

    @Test(arguments: versions, [0, 1, 2])
    func receivesWhatMosquittoPubPublishes(version: MQTTProtocolVersion, qos: Int) async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/test/pub")
        let running = RunningIntake(settings(broker, version, [MQTTSubscription(topicFilter: "\(topic)/#", qos: qos)]))
        try await running.waitUntilSubscribed()

        let lines = (0..<50).map { "reading \($0)" }
        try await MosquittoClients.publish(
            port: broker.port, topic: "\(topic)/meter-1", lines: lines, qos: qos, protocolVersion: version == .v5 ? "mqttv5" : "mqttv311")
        let received = try await running.collect(50)

        #expect(received.map(\.payload) == lines)
        // QoS 2 is subscribed as QoS 1 (MQTTSubscription.subscribedQoS says why).
        #expect(received.allSatisfy { $0.topic == "\(topic)/meter-1" && $0.qos == min(qos, 1) })
        #expect(running.intake.status.messagesReceived == 50)
        #expect(running.intake.status.lastMessageAt != nil)
        try await running.stop()
    }

    @Test(arguments: versions, [0, 1, 2])
    func receivesWhatMQTTPublisherPublishes(version: MQTTProtocolVersion, qos: Int) async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/test/own")
        let running = RunningIntake(settings(broker, version, [MQTTSubscription(topicFilter: topic, qos: qos)]))
        try await running.waitUntilSubscribed()

        try await publishNumbered(300, topic: topic, port: broker.port, qos: qos, protocolVersion: version)
        let received = try await running.collect(300)

        #expect(received.map(\.payload) == (0..<300).map { "\($0)" })
        #expect(received.allSatisfy { $0.qos == min(qos, 1) })
        try await running.stop()
    }

    @Test func batchGivesTopicsAndPayloadsWithoutCopies() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/test/batch")
        let running = RunningIntake(settings(broker, .v311, [MQTTSubscription(topicFilter: "\(topic)/+", qos: 1)]))
        try await running.waitUntilSubscribed()
        let publisher = MQTTPublisher(settings: MQTTSettings(port: broker.port, clientID: uniqueName("pub"), cleanSession: true))
        try await publisher.connect()
        try await publisher.publish(topic: "\(topic)/a", payload: [0, 1, 2, 255], qos: 1)
        try await publisher.publish(topic: "\(topic)/b", payload: [], qos: 1, retain: false)
        await publisher.disconnect()

        var topics: [String] = []
        var payloads: [[UInt8]] = []
        while topics.count < 2 {
            guard let batch = await running.intake.nextBatch() else { break }
            for index in batch.indices {
                topics.append(batch.topic(index))
                payloads.append(batch.withPayload(index) { Array($0) })
                #expect(batch.withTopic(index) { String(decoding: $0, as: UTF8.self) } == batch[index].topic)
            }
        }
        #expect(topics == ["\(topic)/a", "\(topic)/b"])
        #expect(payloads == [[0, 1, 2, 255], []])
        try await running.stop()
    }

    @Test func stopEndsRunAndNextBatchReturnsNilOnceDrained() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/test/stop")
        let intake = MQTTIntake(settings: settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 1)]), logger: .init(label: "test"))
        let run = Task { try await intake.run() }
        #expect(await intake.waitUntilSubscribed())
        try await publishNumbered(10, topic: topic, port: broker.port, qos: 1)
        try await Task.sleep(for: .milliseconds(200))
        intake.stop()
        try await run.value
        var count = 0
        while let batch = await intake.nextBatch() { count += batch.count }
        #expect(count == 10)
        #expect(intake.status.state == .stopped)
        await #expect(throws: MQTTError.alreadyStarted) { try await intake.run() }
    }

    @Test func cancellingTheRunTaskStopsTheIntake() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let intake = MQTTIntake(settings: settings(broker, .v5, [MQTTSubscription(topicFilter: uniqueName("t"), qos: 0)]), logger: .init(label: "test"))
        let run = Task { try await intake.run() }
        #expect(await intake.waitUntilSubscribed())
        run.cancel()
        try await withTimeout(.seconds(5), "run() to end after cancel") { try await run.value }
        let last = await intake.nextBatch()
        #expect(last == nil)
    }

    @Test func publisherPushesOneHundredThousandQoS1MessagesReliably() async throws {
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let topic = uniqueName("storey/test/load")
        let running = RunningIntake(settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 1)]))
        try await running.waitUntilSubscribed()
        let count = 100_000
        let publish = Task { try await publishNumbered(count, topic: topic, port: broker.port, qos: 1, maxInFlight: 500) }
        // A reliability check, not a speed one (benchmarks/intake.sh measures speed): the whole suite's
        // start was seen to leave it 72,503 of 100,000 after 60 s.
        let received = try await running.collect(count, timeout: .seconds(180))
        try await publish.value
        #expect(received.count == count)
        #expect(Set(received.map(\.payload)).count == count)
        try await running.stop()
    }
}

func settings(_ broker: TestBroker, _ version: MQTTProtocolVersion, _ subscriptions: [MQTTSubscription], clientID: String? = nil) -> MQTTSettings {
    MQTTSettings(
        port: broker.port, protocolVersion: version, clientID: clientID ?? uniqueName("intake"), keepAlive: 10,
        subscriptions: subscriptions, backoff: MQTTBackoff(initial: .milliseconds(100), maximum: .seconds(1)))
}

