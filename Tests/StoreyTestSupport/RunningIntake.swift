import Foundation
import Logging
import StoreyIntake

/// One received message, copied out of its batch for easy comparison in tests.
public struct ReceivedMessage: Sendable, Hashable {
    public var topic: String
    public var payload: String
    public var qos: Int
}

extension MQTTBatch {
    /// The batch's messages, copied out.
    public var receivedMessages: [ReceivedMessage] {
        indices.map { index in
            ReceivedMessage(topic: topic(index), payload: withPayload(index) { String(decoding: $0, as: UTF8.self) }, qos: qos(index))
        }
    }
}

/// Runs `operation`, failing with a message that names `what` if it takes longer than `timeout`.
public func withTimeout<T: Sendable>(
    _ timeout: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw TestSupportError("timed out after \(timeout): \(what)")
        }
        return value
    }
}

/// An `MQTTIntake` running in a background task, with helpers to wait and collect.
public final class RunningIntake: Sendable {
    public let intake: MQTTIntake
    private let task: Task<Void, any Error>

    public init(_ settings: MQTTSettings, logger: Logger = Logger(label: "storey.test.intake")) {
        let intake = MQTTIntake(settings: settings, logger: logger)
        self.intake = intake
        self.task = Task { try await intake.run() }
    }

    /// Waits until connected and subscribed; throws with the intake's last error otherwise.
    public func waitUntilSubscribed(timeout: Duration = .seconds(10)) async throws {
        let intake = self.intake
        let subscribed = try await withTimeout(timeout, "intake subscribed (status: \(intake.status))") {
            await intake.waitUntilSubscribed()
        }
        if !subscribed {
            throw TestSupportError("intake stopped before subscribing; last error: \(intake.status.lastError ?? "none")")
        }
    }

    /// Collects exactly `count` messages (more arriving in the same batch are returned too).
    public func collect(_ count: Int, timeout: Duration = .seconds(15)) async throws -> [ReceivedMessage] {
        var messages: [ReceivedMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw TestSupportError("received \(messages.count) of \(count) messages within \(timeout); status: \(intake.status)")
            }
            let intake = self.intake
            let batch: MQTTBatch?
            do {
                batch = try await withTimeout(remaining, "next batch") { await intake.nextBatch() }
            } catch {
                throw TestSupportError("received \(messages.count) of \(count) messages within \(timeout); status: \(intake.status)")
            }
            guard let batch else {
                throw TestSupportError("intake ended after \(messages.count) of \(count) messages; status: \(intake.status)")
            }
            messages += batch.receivedMessages
        }
        return messages
    }

    /// Stops the intake and waits for its loop thread to end; rethrows what `run()` threw.
    public func stop() async throws {
        intake.stop()
        try await task.value
    }

    /// The result of `run()` once it has ended on its own.
    public func result(timeout: Duration = .seconds(10)) async throws {
        let task = self.task
        try await withTimeout(timeout, "intake run() to end") { try await task.value }
    }
}

/// Publishes `count` messages "0", "1", … with an `MQTTPublisher` and waits for all acknowledgements.
public func publishNumbered(
    _ count: Int, topic: String, port: Int, qos: Int, protocolVersion: MQTTProtocolVersion = .v311,
    maxInFlight: Int = 200, tls: MQTTTLSSettings? = nil
) async throws {
    let publisher = MQTTPublisher(
        settings: MQTTSettings(
            port: port, protocolVersion: protocolVersion, clientID: uniqueName("publisher"), cleanSession: true, tls: tls),
        maxInFlight: maxInFlight)
    try await publisher.connect()
    for index in 0..<count {
        try await publisher.publish(topic: topic, payload: "\(index)", qos: qos)
    }
    try await publisher.flush()
    await publisher.disconnect()
}
