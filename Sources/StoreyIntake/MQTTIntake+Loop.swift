import Foundation
import Logging

/// The intake's network loop: lives on the loop thread, performs the state machine's actions and
/// moves received messages into the shared buffer, one lock acquisition per socket drain.
final class IntakeLoop: MosquittoEvents {
    /// Packets handled per drain before the loop polls again (so writes and wake-ups are not starved).
    static let packetsPerDrain = 1024

    private let intake: MQTTIntake
    private let settings: MQTTSettings
    private var logger: Logger
    private var machine: MQTTConnectionStateMachine
    private var random = SystemRandomNumberGenerator()
    private var client: Mosquitto!
    private var reconnectAt: ContinuousClock.Instant?
    private var connectStartedAt: ContinuousClock.Instant?
    private var pendingSubscriptions: [Int32: MQTTSubscription] = [:]
    /// Free places in the shared buffer, as of the last hand-off; the loop reads no more packets than this.
    private var room: Int
    private var readingPaused = false
    private var stopping = false
    private var refusedThisAttempt = false
    private var lastLibraryError: String?
    /// When a failed journal write was last logged (once per 10 s at most).
    private var lastJournalError = ContinuousClock.now - .seconds(3600)
    /// Messages handed off since the last liveness probe, and when that was sent.
    private var receivedSinceProbe = 0
    private var lastProbe = ContinuousClock.now

    static func run(intake: MQTTIntake) -> Result<Void, any Error> {
        let loop = IntakeLoop(intake: intake)
        defer { loop.finish() }
        do {
            loop.client = try Mosquitto.make(settings: intake.settings, wakeup: intake.wakeup, events: loop, deferWrites: true)
        } catch {
            loop.logger.error("MQTT intake cannot start", metadata: ["error": "\(error)"])
            loop.update { $0.lastError = "\(error)" }
            return .failure(error)
        }
        loop.loop()
        return .success(())
    }

    private init(intake: MQTTIntake) {
        self.intake = intake
        self.settings = intake.settings
        self.logger = intake.logger
        self.machine = MQTTConnectionStateMachine(backoff: intake.settings.backoff, subscriptionCount: intake.settings.subscriptions.count)
        self.room = max(1, intake.settings.maxBufferedMessages)
    }

    private func loop() {
        perform(machine.start())
        var morePending = false
        while true {
            let (stopRequested, resumed) = intake.shared.withLock { state in
                (state.stopRequested, readingPaused && !state.status.readingPaused)
            }
            if stopRequested { break }
            if resumed {
                readingPaused = false
                room = max(1, settings.maxBufferedMessages)
                morePending = true  // TLS may hold decrypted bytes that poll() cannot see
            }
            let now = ContinuousClock.now
            // While the consumer lags, reconnecting would only add to the backlog: the broker keeps the session.
            if let at = reconnectAt, now >= at, !readingPaused {
                reconnectAt = nil
                perform(machine.reconnectDue())
            }
            checkConnectTimeout(now: now)

            var timeout: Int32 = morePending && !readingPaused ? 0 : 1000
            if let at = reconnectAt, !readingPaused {
                let wait = max(0, Self.milliseconds(at - ContinuousClock.now))
                timeout = min(timeout, Int32(clamping: wait))
            }
            let mayWrite = intake.acknowledgementsMayLeave
            let events = client.waitForEvents(reading: !readingPaused, writing: mayWrite, timeoutMilliseconds: timeout)
            let drainAgain = morePending
            morePending = false
            if client.isSocketOpen && (!readingPaused && (events.readable || drainAgain) || events.hangUp) {
                // A hung-up socket is read even while paused, to notice the loss instead of spinning on POLLHUP.
                let outcome = client.read(maxPackets: readingPaused ? Self.packetsPerDrain : min(room, Self.packetsPerDrain))
                morePending = outcome.more
                if let failure = outcome.failure { socketFailed(failure) }
                handOff()
            }
            if client.isSocketOpen && (events.writable || client.wantsWrite) && intake.acknowledgementsMayLeave {
                if let failure = client.write() { socketFailed(failure) }
            }
            keepOutgoingTraffic(now: .now)
            client.misc()
            if !client.isSocketOpen { socketFailed(nil) }
        }
        stopping = true
        if machine.stop() == .disconnect {
            // Acknowledgements waiting for storage: give the consumer a few seconds to store what it has
            // (a graceful stop). If it does not (the shard was lost), nothing more is sent and the broker
            // keeps those messages for whoever resumes the session.
            var waited = 0
            while client.isSocketOpen && !intake.acknowledgementsMayLeave && waited < 50 {
                _ = client.waitForEvents(reading: false, writing: false, timeoutMilliseconds: 100)
                waited += 1
            }
            if intake.acknowledgementsMayLeave { client.disconnectAndFlush() }
        }
        logger.info("MQTT intake stopped")
    }

    /// While a QoS 0 backlog drains, the client sends nothing, so libmosquitto pings the broker; the
    /// broker's answer queues behind the backlog, and once a whole keep-alive passes with the ping
    /// unanswered and nothing sent, libmosquitto drops the connection, losing the QoS 0 messages in
    /// flight (seen draining 400,000 queued readings: disconnected after 61 s, 119,000 lost). Any packet
    /// sent counts as traffic, so while messages keep arriving, a harmless one goes out every half keep-alive.
    private func keepOutgoingTraffic(now: ContinuousClock.Instant) {
        // Also before the SUBACKs: after a reconnect they come behind the backlog the session queued.
        switch machine.state {
        case .connected, .subscribed: break
        default: return
        }
        guard receivedSinceProbe > 0, now - lastProbe >= .seconds(Double(settings.keepAlive) / 2) else { return }
        client.sendLivenessProbe()
        lastProbe = now
        receivedSinceProbe = 0
    }

    /// Moves what the message callback collected into the shared buffer and wakes the consumer if it waits.
    private func handOff() {
        guard !client.received.isEmptyBatch else { return }
        let now = Date()
        var batch = client.received
        client.received = MQTTBatch()
        batch.receivedAt = now
        if let journal = intake.journal {
            // The read round's messages go on file in one write, before the loop's write step can send their
            // PUBACKs (libmosquitto queues them until then). One `pwrite` a message was a third of this thread's
            // time in a drain (benchmarks/README.md, "The MQTT loop and the writer, from `perf`").
            do {
                batch.journalPosition = try journal.append(batch)
            } catch {
                // Handed over all the same, without the protection: the batch ends where the file does.
                batch.journalPosition = journal.writtenPosition
                if ContinuousClock.now - lastJournalError > .seconds(10) {
                    lastJournalError = .now
                    logger.error("cannot keep received messages in the intake journal; a crash now would lose them", metadata: ["error": "\(error)"])
                }
            }
        }
        let count = batch.count
        receivedSinceProbe += count
        let limit = settings.maxBufferedMessages
        let byteLimit = settings.maxBufferedBytes
        let (consumer, handed, freeRoom) = intake.shared.withLock { state -> (CheckedContinuation<MQTTBatch?, Never>?, MQTTBatch?, Int) in
            state.status.messagesReceived += count
            state.status.lastMessageAt = now
            if let consumer = state.consumer, state.ready.isEmptyBatch {
                state.consumer = nil
                state.consumerHolding = true
                return (consumer, batch, limit)
            }
            if state.ready.isEmptyBatch {
                state.ready = batch
            } else {
                state.ready.append(contentsOf: batch)
            }
            let buffered = state.ready.count
            state.status.bufferedMessages = buffered
            let free = buffered >= limit || state.ready.byteCount >= byteLimit ? 0 : limit - buffered
            if free == 0 { state.status.readingPaused = true }
            return (nil, nil, free)
        }
        room = freeRoom
        if freeRoom == 0 && !readingPaused {
            readingPaused = true
            logger.debug("MQTT hand-off buffer full: pausing socket reads until the consumer catches up")
        }
        consumer?.resume(returning: handed)
    }

    private func perform(_ action: MQTTConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .connect:
            update { $0.state = .connecting }
            refusedThisAttempt = false
            lastLibraryError = nil
            connectStartedAt = .now
            logger.debug("MQTT connecting")
            do {
                try client.connect()
            } catch {
                connectFailed("\(error)")
                perform(machine.connectAttemptFailed(random: &random))
            }
        case .subscribeAll:
            pendingSubscriptions.removeAll()
            for subscription in settings.subscriptions {
                do {
                    pendingSubscriptions[try client.subscribe(subscription)] = subscription
                } catch {
                    logger.error("MQTT subscribe failed", metadata: ["topic": "\(subscription.topicFilter)", "error": "\(error)"])
                    update { $0.lastError = "\(error)" }
                }
            }
        case .scheduleReconnect(let delay):
            connectStartedAt = nil
            reconnectAt = .now + delay
            update { $0.state = .disconnected }
            logger.notice("MQTT retrying in \(Self.format(delay)) s")
        case .disconnect:
            client.disconnect()
        }
    }

    private func connectFailed(_ reason: String) {
        logger.warning("MQTT connection attempt failed", metadata: ["reason": "\(reason)"])
        update {
            $0.failedAttempts += 1
            $0.lastError = reason
        }
    }

    /// A TLS handshake or CONNACK that never comes must not hold the loop forever.
    private func checkConnectTimeout(now: ContinuousClock.Instant) {
        guard machine.state == .connecting, let started = connectStartedAt, now - started > .seconds(max(10, settings.keepAlive)) else { return }
        connectStartedAt = nil
        client.disconnect()
        connectFailed("no CONNACK within \(max(10, settings.keepAlive)) s")
        perform(machine.connectionLost(random: &random))
    }

    /// The socket closed or a read/write failed, possibly without a disconnect callback (libmosquitto skips
    /// it for TLS handshake errors).
    private func socketFailed(_ code: Int32?) {
        switch machine.state {
        case .connecting, .connected, .subscribed:
            let reason = lastLibraryError ?? code.map { MosquittoLibrary.describe($0) } ?? "connection closed"
            handleLoss(reason: reason)
        default:
            break
        }
    }

    private func handleLoss(reason: String) {
        let wasConnecting = machine.state == .connecting
        if wasConnecting {
            if !refusedThisAttempt { connectFailed(reason) }
        } else {
            logger.warning("MQTT disconnected", metadata: ["reason": "\(reason)"])
            update { $0.lastError = "disconnected: \(reason)" }
        }
        perform(machine.connectionLost(random: &random))
    }

    private func update(_ body: (inout MQTTStatus) -> Void) {
        intake.shared.withLock { body(&$0.status) }
    }

    private func finish() {
        if client != nil { handOff() }
        let (consumer, waiters) = intake.shared.withLock { state in
            state.finished = true
            state.status.state = .stopped
            let consumer = state.ready.isEmptyBatch ? state.consumer : nil
            if consumer != nil { state.consumer = nil }
            let waiters = Array(state.subscriptionWaiters.values)
            state.subscriptionWaiters.removeAll()
            return (consumer, waiters)
        }
        consumer?.resume(returning: nil)
        for waiter in waiters { waiter.resume(returning: false) }
        client = nil
    }

    // MARK: MosquittoEvents

    func mosquittoConnAck(reasonCode: Int32, sessionPresent: Bool, reason: String) {
        let accepted = reasonCode == 0
        if accepted {
            let connects = machine.connects + 1
            logger.info(
                "MQTT connected",
                metadata: ["session_present": "\(sessionPresent)", "connects": "\(connects)", "protocol": "\(settings.protocolVersion)"])
            update {
                $0.state = .connected
                $0.connects = connects
                $0.sessionPresent = sessionPresent
            }
            if settings.subscriptions.isEmpty { markSubscribed() }
        } else {
            refusedThisAttempt = true
            logger.error("MQTT broker refused the connection", metadata: ["reason": "\(reason)"])
            update {
                $0.failedAttempts += 1
                $0.lastError = "connection refused: \(reason)"
            }
        }
        perform(machine.connAckReceived(accepted: accepted))
    }

    func mosquittoDisconnected(code: Int32, reason: String) {
        if stopping { return }
        handleLoss(reason: lastLibraryError ?? reason)
    }

    func mosquittoSubAck(messageID: Int32, grantedQoS: [Int32]) {
        let subscription = pendingSubscriptions.removeValue(forKey: messageID)
        let topic = subscription?.topicFilter ?? "?"
        if let granted = grantedQoS.first, granted >= 0x80 {
            logger.error("MQTT broker refused the subscription", metadata: ["topic": "\(topic)", "code": "\(granted)"])
            update { $0.lastError = "subscription to '\(topic)' refused (code \(granted))" }
        } else {
            logger.info("MQTT subscribed", metadata: ["topic": "\(topic)", "granted_qos": "\(grantedQoS.first ?? -1)"])
        }
        if machine.subAckReceived() { markSubscribed() }
    }

    func mosquittoPublished(messageID: Int32) {}

    func mosquittoLog(level: Int32, message: String) {
        lastLibraryError = message
        logger.debug("libmosquitto: \(message)")
    }

    private func markSubscribed() {
        let waiters = intake.shared.withLock { state in
            state.status.state = .subscribed
            state.subscribedOnce = true
            defer { state.subscriptionWaiters.removeAll() }
            return Array(state.subscriptionWaiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    private static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    private static func format(_ duration: Duration) -> String {
        String(format: "%.2f", Double(milliseconds(duration)) / 1000)
    }
}
