import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

struct MQTTIntakeSessionTests {
    @Test(arguments: [MQTTProtocolVersion.v311, .v5])
    func persistentSessionKeepsMessagesPublishedWhileAway(version: MQTTProtocolVersion) async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/session")
        let clientID = uniqueName("session")
        let subscriptions = [MQTTSubscription(topicFilter: topic, qos: 1)]

        let first = RunningIntake(settings(broker, version, subscriptions, clientID: clientID))
        try await first.waitUntilSubscribed()
        try await first.stop()

        try await publishNumbered(500, topic: topic, port: broker.port, qos: 1, protocolVersion: version)

        let second = RunningIntake(settings(broker, version, subscriptions, clientID: clientID))
        let received = try await second.collect(500)
        #expect(received.map(\.payload) == (0..<500).map { "\($0)" })
        #expect(second.intake.status.sessionPresent == true)
        try await second.stop()
    }

    /// With `acknowledgeAfterStoring`, a message taken but not stored (the consumer never asked for the
    /// next batch) is still the broker's: the next session receives it again. Without it, the messages
    /// were acknowledged as they were read, and the next session receives none of them.
    @Test(arguments: [false, true])
    func acknowledgementsWaitUntilTheConsumerStoredWhenAsked(afterStoring: Bool) async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/acks")
        var settings = settings(broker, .v5, [MQTTSubscription(topicFilter: topic, qos: 1)], clientID: uniqueName("acks"))
        settings.acknowledgeAfterStoring = afterStoring
        let first = RunningIntake(settings)
        try await first.waitUntilSubscribed()
        try await first.stop()
        // Fewer than the broker's in-flight window (receive maximum 100), so that all arrive either way.
        try await publishNumbered(80, topic: topic, port: broker.port, qos: 1, protocolVersion: .v5)

        let second = RunningIntake(settings)
        let intake = second.intake
        let taken = try await withTimeout(.seconds(15), "a first batch") { await intake.nextBatch() }
        #expect(taken != nil)
        try await waitUntil("all 80 read by the second session") { intake.status.messagesReceived == 80 }
        // Stopped right after the last read: the acknowledgements must still reach the broker.
        try await second.stop()

        let third = RunningIntake(settings)
        if afterStoring {
            let again = try await third.collect(80)
            #expect(Set(again.map(\.payload)) == Set((0..<80).map { "\($0)" }))
        } else {
            try await third.waitUntilSubscribed()
            try await Task.sleep(for: .seconds(2))
            #expect(third.intake.status.messagesReceived == 0)
        }
        try await third.stop()
    }

    /// A session stopped in the middle of a backlog, with the broker still sending: each message it read
    /// was acknowledged, and the broker knows it, so the next session receives exactly the others. (Until
    /// 2026-11-29 a stop closed the socket with unread bytes waiting; the kernel then reset the
    /// connection and the broker dropped the acknowledgements it had not read yet.)
    @Test(arguments: [MQTTProtocolVersion.v311, .v5])
    func aStopMidBacklogLeavesTheBrokerExactlyTheMessagesNotRead(version: MQTTProtocolVersion) async throws {
        let broker = try await TestBroker(TestBrokerOptions(extraConfiguration: ["max_queued_messages 0"]))
        defer { broker.stop() }
        let topic = uniqueName("storey/midstop")
        var settings = settings(broker, version, [MQTTSubscription(topicFilter: topic, qos: 1)], clientID: uniqueName("midstop"))
        // Back-pressure keeps the loop from reading the whole backlog ahead of a slow test (as on a busy CI
        // machine), so the stop surely comes with the broker still sending.
        settings.maxBufferedMessages = 200
        let first = RunningIntake(settings)
        try await first.waitUntilSubscribed()
        try await first.stop()
        let count = 3000
        try await publishNumbered(count, topic: topic, port: broker.port, qos: 1, protocolVersion: version)

        let second = RunningIntake(settings)
        var read = try await second.collect(1000)
        try await second.stop()
        // What the loop had read (and acknowledged) before it stopped is still handed over.
        while let batch = await second.intake.nextBatch() {
            read += batch.receivedMessages
        }
        #expect(read.count < count, "the stop came before the backlog was read")

        let third = RunningIntake(settings)
        var rest = try await third.collect(count - read.count, timeout: .seconds(30))
        try await Task.sleep(for: .seconds(1))
        while let batch = try? await withTimeout(.milliseconds(500), "more", { await third.intake.nextBatch() }) {
            rest += batch.receivedMessages
        }
        try await third.stop()
        let before = Set(read.map(\.payload)), after = Set(rest.map(\.payload))
        #expect(before.intersection(after).count == 0, "messages read and acknowledged before the stop came again")
        #expect(before.union(after) == Set((0..<count).map { "\($0)" }))
        #expect(rest.count == after.count, "no message twice in the next session")
    }

    /// A QoS 0 backlog that takes several keep-alive periods to drain: the broker's answer to a ping waits
    /// behind the backlog, and without outgoing traffic libmosquitto would give up on the connection and
    /// lose the QoS 0 messages in flight.
    @Test func aSlowQoS0BacklogDrainsWithoutDroppingTheConnection() async throws {
        let broker = try await TestBroker(TestBrokerOptions(extraConfiguration: ["queue_qos0_messages true", "max_queued_messages 0"]))
        defer { broker.stop() }
        let topic = uniqueName("storey/backlog")
        var settings = settings(broker, .v5, [MQTTSubscription(topicFilter: topic, qos: 0)], clientID: uniqueName("backlog"))
        settings.keepAlive = 5
        settings.maxBufferedMessages = 100
        let first = RunningIntake(settings)
        try await first.waitUntilSubscribed()
        try await first.stop()

        let count = 5000
        try await publishNumbered(count, topic: topic, port: broker.port, qos: 0)
        let second = RunningIntake(settings)
        // A consumer slow enough that draining takes about three keep-alive periods.
        var received = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while received < count && ContinuousClock.now < deadline {
            let intake = second.intake
            guard let batch = try? await withTimeout(.seconds(12), "next batch", { await intake.nextBatch() }) else { break }
            received += batch.count
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(received == count, "received \(received) of \(count); status: \(second.intake.status)")
        #expect(second.intake.status.reconnects == 0)
        try await second.stop()
    }

    @Test func reconnectsAndResubscribesAfterTheBrokerRestarts() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/restart")
        let running = RunningIntake(settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 1)]))
        try await running.waitUntilSubscribed()
        try await publishNumbered(3, topic: topic, port: broker.port, qos: 1)
        #expect(try await running.collect(3).count == 3)

        // Without persistence the broker forgets the session: only resubscribing brings messages back.
        try await broker.restart()
        let deadline = ContinuousClock.now + .seconds(10)
        while running.intake.status.connects < 2 || running.intake.status.state != .subscribed {
            #expect(ContinuousClock.now < deadline, "intake did not reconnect: \(running.intake.status)")
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(running.intake.status.reconnects == 1)
        #expect(running.intake.status.sessionPresent == false)
        try await publishNumbered(3, topic: topic, port: broker.port, qos: 1)
        #expect(try await running.collect(3).map(\.payload) == ["0", "1", "2"])
        try await running.stop()
    }

    @Test func brokerPersistenceKeepsQoS1MessagesAcrossABrokerRestart() async throws {
        let broker = try await TestBroker(TestBrokerOptions(persistence: true))
        defer { broker.stop() }
        let topic = uniqueName("storey/persist")
        let clientID = uniqueName("persist")
        let subscriptions = [MQTTSubscription(topicFilter: topic, qos: 1)]
        let first = RunningIntake(settings(broker, .v5, subscriptions, clientID: clientID))
        try await first.waitUntilSubscribed()
        try await first.stop()

        try await publishNumbered(200, topic: topic, port: broker.port, qos: 1)
        try await broker.restart()

        let second = RunningIntake(settings(broker, .v5, subscriptions, clientID: clientID))
        let received = try await second.collect(200)
        #expect(received.map(\.payload) == (0..<200).map { "\($0)" })
        try await second.stop()
    }

    @Test func keepsRetryingWhileTheBrokerIsDownAndConnectsWhenItIsBack() async throws {
        let broker = try await TestBroker()
        defer { broker.stop() }
        broker.kill9()
        let topic = uniqueName("storey/down")
        let running = RunningIntake(settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 0)]))
        try await Task.sleep(for: .milliseconds(600))
        #expect(running.intake.status.failedAttempts >= 2)
        #expect(running.intake.status.state == .disconnected || running.intake.status.state == .connecting)
        try await broker.restart()
        try await running.waitUntilSubscribed()
        #expect(running.intake.status.connects == 1)
        try await running.stop()
    }
}
