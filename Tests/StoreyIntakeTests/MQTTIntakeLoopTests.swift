import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct MQTTIntakeLoopTests {
    /// libmosquitto's own loops use select() and stop once a descriptor reaches 1024; ours uses poll().
    @Test func keepsWorkingWithSocketsAboveDescriptor1024() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_max >= 2048, "the hard descriptor limit \(limit.rlim_max) is too low for this test")
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        // Fill every free number up to 1100 so new sockets get numbers above 1024.
        var filler: [Int32] = []
        defer { for descriptor in filler { close(descriptor) } }
        while true {
            let descriptor = open("/dev/null", O_RDONLY)
            try #require(descriptor >= 0)
            filler.append(descriptor)
            if descriptor >= 1100 { break }
        }
        let probe = open("/dev/null", O_RDONLY)
        #expect(probe > 1024)
        close(probe)

        let broker = try await TestBroker()
        defer { broker.stop() }
        let topic = uniqueName("storey/fds")
        let running = RunningIntake(settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 1)]))
        try await running.waitUntilSubscribed()
        try await publishNumbered(200, topic: topic, port: broker.port, qos: 1)
        #expect(try await running.collect(200).map(\.payload) == (0..<200).map { "\($0)" })
        try await running.stop()
    }

    @Test func fullBufferStopsReadingUntilTheConsumerCatchesUpAndLosesNothing() async throws {
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let topic = uniqueName("storey/backpressure")
        var intakeSettings = settings(broker, .v311, [MQTTSubscription(topicFilter: topic, qos: 1)])
        intakeSettings.maxBufferedMessages = 50
        intakeSettings.receiveMaximum = 10
        let running = RunningIntake(intakeSettings)
        try await running.waitUntilSubscribed()

        try await publishNumbered(3_000, topic: topic, port: broker.port, qos: 1)
        try await Task.sleep(for: .milliseconds(500))
        let stalled = running.intake.status
        #expect(stalled.readingPaused)
        #expect(stalled.bufferedMessages <= 50)
        #expect(stalled.messagesReceived <= 50)

        // What is tested is that nothing is lost and reading resumes, not speed: with ten messages in
        // flight at QoS 1 a loaded CI machine took more than the default 15 s for the 3,000 (2,850 seen).
        let received = try await running.collect(3_000, timeout: .seconds(90))
        #expect(received.map(\.payload) == (0..<3_000).map { "\($0)" })
        #expect(running.intake.status.readingPaused == false)
        try await running.stop()
    }
}
