import CFileSpace
import Foundation
import Logging
import Synchronization

/// Receives MQTT messages for the daemon: connects, subscribes, reconnects with backoff, and hands
/// messages over in batches with back-pressure.
///
/// The network loop runs on a thread of its own (`run()`); the consumer calls `nextBatch()` from one task.
/// With QoS 1, a message is acknowledged once it is in the buffer; without a `journal`, messages still
/// buffered when the process dies are lost: keep `maxBufferedMessages` modest.
public final class MQTTIntake: Sendable {
    public let settings: MQTTSettings
    /// Where received messages are written before they are handed over (nil: kept in memory only).
    public let journal: IntakeJournal?
    let logger: Logger
    let wakeup = LoopWakeup()
    let shared = Mutex(SharedState())

    struct SharedState {
        var ready = MQTTBatch()
        var consumer: CheckedContinuation<MQTTBatch?, Never>?
        /// The consumer has a batch it has not stored yet (it took one and has not asked for the next).
        var consumerHolding = false
        var started = false
        var stopRequested = false
        var finished = false
        var status = MQTTStatus()
        var subscribedOnce = false
        var subscriptionWaiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiterID = 0
    }

    public init(settings: MQTTSettings, logger: Logger, journal: IntakeJournal? = nil) {
        self.settings = settings
        self.journal = journal
        var logger = logger
        logger[metadataKey: "mqtt.client_id"] = "\(settings.clientID)"
        logger[metadataKey: "mqtt.broker"] = "\(settings.host):\(settings.port)"
        self.logger = logger
        for subscription in settings.subscriptions where subscription.qos != subscription.subscribedQoS {
            logger.notice("QoS \(subscription.qos) asked for, subscribing with QoS \(subscription.subscribedQoS): libmosquitto's QoS 2 receiving loses messages across reconnects; each reading is stored once by its point and time", metadata: ["topic": "\(subscription.topicFilter)"])
        }
    }

    /// Runs the network loop on its own thread until `stop()` is called or the calling task is cancelled.
    ///
    /// Connection failures are retried with backoff, never thrown. Throws `MQTTError` for settings that
    /// cannot work (an unreadable TLS file, a missing client id) and when called twice.
    public func run() async throws {
        let first = shared.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        guard first else { throw MQTTError.alreadyStarted }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let thread = Thread { [self] in
                    // What `top -H` and `perf` show (Foundation does not pass `Thread.name` to Linux).
                    pthread_setname_np(pthread_self(), "storey-intake")
                    continuation.resume(with: IntakeLoop.run(intake: self))
                }
                thread.start()
            }
        } onCancel: {
            stop()
        }
    }

    /// Asks the loop to disconnect (keeping the persistent session) and end. Returns at once.
    public func stop() {
        shared.withLock { $0.stopRequested = true }
        wakeup.signal()
    }

    /// The next batch of received messages, suspending until there is one.
    /// Returns nil once the intake has stopped and every message was handed out, or if the task is cancelled.
    /// One consumer at a time.
    public func nextBatch() async -> MQTTBatch? {
        enum Outcome {
            case batch(MQTTBatch?, wakeLoop: Bool)
            case wait
        }
        func take(_ state: inout SharedState) -> Outcome {
            if !state.ready.isEmptyBatch {
                state.consumerHolding = true
                let batch = state.ready
                state.ready = MQTTBatch()
                state.status.bufferedMessages = 0
                let wasPaused = state.status.readingPaused
                state.status.readingPaused = false
                return .batch(batch, wakeLoop: wasPaused)
            }
            return state.finished ? .batch(nil, wakeLoop: false) : .wait
        }

        // Asking again says the last batch is stored: with `acknowledgeAfterStoring` the loop may now send
        // its acknowledgements.
        let (stored, outcome) = shared.withLock { state in
            let stored = state.consumerHolding
            state.consumerHolding = false
            return (stored, take(&state))
        }
        if stored && settings.acknowledgeAfterStoring { wakeup.signal() }
        if case .batch(let batch, let wakeLoop) = outcome {
            if wakeLoop { wakeup.signal() }
            return batch
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<MQTTBatch?, Never>) in
                let outcome = shared.withLock { state -> Outcome in
                    let outcome = take(&state)
                    if case .wait = outcome {
                        if Task.isCancelled { return .batch(nil, wakeLoop: false) }
                        precondition(state.consumer == nil, "MQTTIntake.nextBatch() has one consumer at a time")
                        state.consumer = continuation
                    }
                    return outcome
                }
                if case .batch(let batch, let wakeLoop) = outcome {
                    if wakeLoop { wakeup.signal() }
                    continuation.resume(returning: batch)
                }
            }
        } onCancel: {
            shared.withLock { state in
                defer { state.consumer = nil }
                return state.consumer
            }?.resume(returning: nil)
        }
    }

    /// Whether packets may go out now: always, unless acknowledgements wait for storage and something
    /// handed over is not stored yet.
    var acknowledgementsMayLeave: Bool {
        guard settings.acknowledgeAfterStoring else { return true }
        return shared.withLock { $0.ready.isEmptyBatch && !$0.consumerHolding }
    }

    /// A snapshot of the connection state and counters.
    public var status: MQTTStatus {
        shared.withLock { $0.status }
    }

    /// Suspends until the intake is connected with every subscription acknowledged (once is enough).
    /// Returns false if the intake stopped first or the task was cancelled.
    @discardableResult
    public func waitUntilSubscribed() async -> Bool {
        let id = shared.withLock { state -> Int? in
            if state.subscribedOnce { return nil }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return true }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let immediate = shared.withLock { state -> Bool? in
                    if state.subscribedOnce { return true }
                    if state.finished || Task.isCancelled { return false }
                    state.subscriptionWaiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            shared.withLock { $0.subscriptionWaiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }
}
