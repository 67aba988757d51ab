import Foundation
import Logging
import StoreyCore
import StoreyStore
import Synchronization

/// Delivers the outbox, at least once, with the same id on every attempt. Each pass:
/// 1. routes new outbox rows (in id order) to items per receiver and recipient, moving the cursor in
///    the same transaction;
/// 2. groups waiting items into messages (grouping, mutes, repeat intervals: `GroupingPlanner`);
/// 3. sends every due message that heads its channel (so an alert's notices arrive in order), many
///    channels at once, and records each outcome: delivered, retry later, or dead letter. Outcomes are
///    committed in batches (`OutcomeBatch`); a message whose outcome is not committed yet is neither
///    sent again nor followed by the next of its channel, so a crash sends it at most once more.
/// Every decision is in the database before it is acted on, so a crash anywhere resumes cleanly.
/// Delivered and dead rows older than the retention are pruned now and then (`prune`).
public final class DeliveryEngine: Sendable {
    private let store: any DeliveryStorage
    private let observer: DeliveryObserver
    private let logger: Logger
    private let webhookSender = WebhookSender()
    private let senders: Mutex<ReceiverSenders>
    private let breakers = Mutex<[String: CircuitBreaker]>([:])
    /// Sends under way.
    private let inFlight = Mutex<[Int64: DeliveryChannel]>([:])
    /// Outcomes known but not committed yet, and the messages they settle (kept out of the next reads).
    private let batch: Mutex<OutcomeBatch>
    private let settling = Mutex<Set<Int64>>([])
    /// When pruning last ran (nil: not since start).
    private let lastPruned = Mutex<Int64?>(nil)
    private let wake = WakeSignal()
    /// New outbox rows since routing last ran. A pass woken by a finished send skips routing and grouping
    /// (three queries) unless rows came, a group fell due or a quarter second passed: with hundreds of
    /// sends a second, those queries after each one were much of the engine's own work.
    private let outboxDirty = Atomic<Bool>(true)
    private let stopping = Atomic<Bool>(false)
    private let clock: @Sendable () -> Int64

    public init(
        store: any DeliveryStorage, senders: ReceiverSenders, observer: DeliveryObserver = NoDeliveryObserver(), logger: Logger,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) {
        self.store = store
        self.senders = Mutex(senders)
        batch = Mutex(OutcomeBatch(policy: senders.configuration.outcomeBatch))
        self.observer = observer
        self.logger = logger
        self.clock = clock
    }

    /// Outbox rows were added: look now rather than at the next poll.
    public func outboxChanged() {
        outboxDirty.store(true, ordering: .relaxed)
        wake.signal()
    }

    /// Adopts a reloaded configuration (already made ready: its secrets were readable).
    public func apply(_ next: ReceiverSenders) {
        senders.withLock { $0 = next }
        outboxDirty.store(true, ordering: .relaxed)
        batch.withLock { $0.policy = next.configuration.outcomeBatch }
        ready.withLock { $0.removeAll() }
        generation.add(1, ordering: .releasing)
        breakers.withLock { breakers in breakers = breakers.filter { next.configuration.receiver(named: $0.key) != nil } }
        wake.signal()
    }

    /// Stops starting new attempts; `run` returns once those in flight are recorded.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
    }

    public func run() async {
        var lastStatistics: Int64 = 0
        var lastGrouping: Int64 = 0
        var groupingDueAt: Int64?
        await withDiscardingTaskGroup { group in
            while !stopping.load(ordering: .relaxed) {
                let now = clock()
                var wakeAt: Int64?
                await renewClaims()
                do {
                    // At least four times a second all the same: a mute's end is not among the due times.
                    let every = min(Int64(senders.withLock { $0.configuration.pollInterval } * 1000), 250)
                    if outboxDirty.exchange(false, ordering: .relaxed) || groupingDueAt.map({ now >= $0 }) ?? false || now - lastGrouping >= every {
                        try await routeNew(now: now)
                        groupingDueAt = try await groupWaiting(now: now)
                        lastGrouping = now
                    }
                    wakeAt = groupingDueAt
                    await commitOutcomesIfDue(now: now)
                    let next = try await sendDue(now: now, group: &group)
                    await commitOutcomesIfDue(now: clock())
                    wakeAt = [wakeAt, next, batch.withLock { $0.dueAt }].compactMap { $0 }.min()
                    startPruningIfDue(now: now, group: &group)
                } catch {
                    logger.error("delivery pass failed; retrying at the next poll", metadata: ["error": "\(error)"])
                }
                if now - lastStatistics >= 1000 {
                    lastStatistics = now
                    await publishStatistics(now: now)
                }
                let poll = senders.withLock { $0.configuration.pollInterval }
                var timeout = Duration.milliseconds(Int64(poll * 1000))
                if let wakeAt { timeout = min(timeout, .milliseconds(max(5, wakeAt - clock()))) }
                await wake.wait(timeout: timeout)
            }
        }
        await commitOutcomes()
        await publishStatistics(now: clock())
        await webhookSender.shutdown()
    }

    // MARK: 1. Routing

    private func routeNew(now: Int64) async throws {
        let configuration = senders.withLock { $0.configuration }
        let decoder = JSONDecoder()
        while true {
            let rows = try await store.unroutedOutbox(limit: 1000)
            guard !rows.isEmpty else { return }
            var items: [RoutedItem] = []
            for row in rows {
                let notification: AlertNotification
                do {
                    notification = try decoder.decode(AlertNotification.self, from: Data(row.notification.utf8))
                } catch {
                    logger.error("outbox row is not a notification; it cannot be delivered", metadata: ["outbox": "\(row.id)", "error": "\(error)"])
                    continue
                }
                items += Self.route(row, notification, configuration: configuration, now: now)
            }
            try await store.recordRouting(items, rows: rows.map(\.id))
            if rows.count < 1000 { return }
        }
    }

    /// The items one outbox row makes: one per matching route's receiver and each of its recipients.
    static func route(_ row: OutboxEntry, _ notification: AlertNotification, configuration: DeliveryConfiguration, now: Int64) -> [RoutedItem] {
        var items: [RoutedItem] = []
        var seen = Set<String>()
        for match in configuration.route.matches(notification.labels) {
            guard let receiver = configuration.receiver(named: match.receiver), seen.insert(receiver.name).inserted else { continue }
            let groupKey = match.grouping.groupKey(path: match.path, labels: notification.labels, fingerprint: row.fingerprint)
            for recipient in receiver.recipients {
                items.append(RoutedItem(
                    outboxID: row.id, receiver: receiver.name, recipient: recipient, route: match.path, groupKey: groupKey,
                    fingerprint: row.fingerprint, episode: notification.episode, kind: notification.kind.rawValue, routedAt: now))
            }
        }
        return items
    }

    // MARK: 2. Grouping

    /// Returns when a waiting group next becomes due.
    private func groupWaiting(now: Int64) async throws -> Int64? {
        let planner = GroupingPlanner(configuration: senders.withLock { $0.configuration })
        var nextDue: Int64?
        while true {
            let waiting = try await store.waitingItems(limit: 5000)
            guard !waiting.isEmpty else { return nextDue }
            let needed = planner.factsNeeded(waiting)
            var facts = GroupingFacts()
            facts.lastMessageAt = try await store.lastMessageAt(Array(needed.channels))
            facts.lastSent = try await store.lastSent(Array(needed.episodes), kinds: ["firing", "resolved", "reminder", "flapping"])
            let plan = planner.plan(waiting, facts: facts, now: now)
            try await store.applyGrouping(plan.messages, skipped: plan.skipped, held: plan.held, now: now)
            if !plan.messages.isEmpty { generation.add(1, ordering: .releasing) }
            nextDue = [nextDue, plan.nextDueAt].compactMap { $0 }.min()
            // Another page only if this one made progress (held and not-yet-due items stay waiting).
            if waiting.count < 5000 || (plan.messages.isEmpty && plan.skipped.isEmpty) { return nextDue }
        }
    }

    // MARK: 3. Sending

    /// Due messages read but not started yet, per endpoint (`ReadyMessages`).
    private let ready = Mutex(ReadyMessages())
    /// Receivers a 410 disabled here, with the commit that recorded it (nil: not yet), until a read of
    /// the store that began after that commit; and the commits made so far.
    private let disabling = Mutex<[String: (why: String, committed: Int?)]>([:])
    private let commits = Atomic<Int>(0)
    /// Receivers disabled by a 410, and when that list was read.
    private let disabled = Mutex<(reasons: [String: String], readAt: Int64)>(([:], 0))
    /// Endpoints with pending messages, beside the configured ones (a receiver or recipient may have left
    /// the configuration), and when they were read.
    private let pendingEndpoints = Mutex<(endpoints: [DeliveryEndpoint], readAt: Int64)>(([], 0))
    /// Counts changes that can make messages due (outcomes committed, messages made, a reload): an
    /// endpoint with nothing ready is read again only after one, or after a quarter second.
    private let generation = Atomic<Int>(0)
    /// Most messages read per endpoint at once.
    private static let readLimit = 500

    /// Starts every due message it may; returns when the next pending message is due.
    private func sendDue(now: Int64, group: inout DiscardingTaskGroup) async throws -> Int64? {
        let current = senders.withLock { $0 }
        let limit = current.configuration.maxConcurrentSends
        var (inFlightCount, busy) = inFlight.withLock { flights in
            (flights.count, flights.values.reduce(into: [DeliveryEndpoint: Int]()) { $0[DeliveryEndpoint(receiver: $1.receiver, recipient: $1.recipient), default: 0] += 1 })
        }
        guard inFlightCount < limit else { return nil }
        // Again just before sending: routing and grouping may have waited long on other instances' locks.
        await renewClaims()
        var disabled = try await disabledReceivers(now: now)
        for endpoint in try await endpoints(current.configuration, now: now) {
            guard inFlightCount < limit else { break }
            let receiver = current.configuration.receiver(named: endpoint.receiver)
            var room = min(receiver?.maxConcurrency ?? limit, limit - inFlightCount) - busy[endpoint, default: 0]
            guard room > 0 else { continue }
            try await readIfDue(endpoint, now: now)
            if disabled[endpoint.receiver] != nil {
                // Asked again after the read: an operator's replay enables the receiver in the transaction
                // that makes its messages due, and a stale answer would send them straight back to the dead
                // letters (seen in a test: one of two replayed messages was never sent).
                disabled = try await disabledReceivers(now: now, fresh: true)
            }
            while room > 0, let message = ready.withLock({ $0.next(endpoint) }) {
                switch start(message, receiver: receiver, now: now, disabled: disabled, current: current, group: &group) {
                case .started:
                    room -= 1
                    inFlightCount += 1
                    busy[endpoint, default: 0] += 1
                case .settled:
                    continue
                }
            }
        }
        if ready.withLock({ $0.count }) > 0 { return now + ReadyMessages.rereadAfter }
        guard let next = try await store.nextAttemptAt() else { return nil }
        // A message due already but not read waits for a change (it is not its channel's head yet, or it is
        // being sent, here or by another instance) or for its endpoint's next read. Waking for it sooner
        // only spun: 200 passes a second while a channel's next notice waited behind one in flight.
        return max(next, ready.withLock { $0.earliestReread } ?? next, now + 20)
    }

    /// Renews this instance's claims (a shared store). If they may have lapsed, the passes fell behind by
    /// more than a lease (seen on a loaded machine: a grouping pass waited 24 s for another instance's lock):
    /// what was read is forgotten rather than sent, since another instance may have taken it and be sending
    /// it now, and read again (this instance's claims that still hold are its own again).
    private func renewClaims() async {
        do {
            guard try await store.renewClaims() else { return }
            let forgotten = ready.withLock { ready in
                defer { ready.removeAll() }
                return ready.count
            }
            logger.warning("delivery fell behind by more than a claim's lease: messages read before are read again, not sent", metadata: [
                "forgotten": "\(forgotten)",
            ])
        } catch {
            logger.warning("cannot renew this instance's delivery claims", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Reads `endpoint`'s due messages if it has none ready and something may have changed.
    private func readIfDue(_ endpoint: DeliveryEndpoint, now: Int64) async throws {
        let seen = generation.load(ordering: .acquiring)
        guard ready.withLock({ $0.needsRead(endpoint, now: now, generation: seen) }) else { return }
        // Taken before the read: a message in flight now may be recorded before we look at the rows read,
        // which are then stale (the read's snapshot cannot be older than this set).
        let skip = inFlight.withLock { Set($0.keys) }.union(settling.withLock { $0 })
        let read = try await store.dueMessages(
            receiver: endpoint.receiver, recipient: endpoint.recipient, now: now, limit: Self.readLimit, excluding: skip)
        ready.withLock {
            $0.refill(endpoint, with: read.map { ReadyMessage(record: $0.message, notifications: $0.notifications) }, now: now, generation: seen)
        }
    }

    /// The configured endpoints, then any other with pending messages (read at most once a second).
    private func endpoints(_ configuration: DeliveryConfiguration, now: Int64) async throws -> [DeliveryEndpoint] {
        var endpoints = configuration.receivers.flatMap { receiver in
            receiver.recipients.map { DeliveryEndpoint(receiver: receiver.name, recipient: $0) }
        }
        var others = pendingEndpoints.withLock { $0 }
        if now - others.readAt >= 1000 {
            others = (try await store.pendingEndpoints().map { DeliveryEndpoint(receiver: $0.receiver, recipient: $0.recipient) }, now)
            pendingEndpoints.withLock { $0 = others }
        }
        let configured = Set(endpoints)
        endpoints += others.endpoints.filter { !configured.contains($0) }
        return endpoints
    }

    private func disabledReceivers(now: Int64, fresh: Bool = false) async throws -> [String: String] {
        let known = disabled.withLock { $0 }
        guard fresh || now - known.readAt >= ReadyMessages.rereadAfter else { return known.reasons }
        // A 410 known here counts until a read that began after its commit: outcomes are batched, and the
        // store's answer alone would enable the receiver again for a moment (seen in a test: a message sent to it).
        let commitsBefore = commits.load(ordering: .acquiring)
        let stored = try await store.disabledReceivers()
        let reasons = disabling.withLock { disabling in
            disabling = disabling.filter { $0.value.committed.map { $0 > commitsBefore } ?? true }
            return stored.merging(disabling.mapValues(\.why)) { stored, _ in stored }
        }
        disabled.withLock { $0 = (reasons, now) }
        return reasons
    }

    private enum Start { case started, settled }

    /// Starts one ready message, or settles it at once: postponed (its receiver left the configuration,
    /// or its circuit is open) or dead (its receiver is disabled).
    private func start(
        _ message: ReadyMessage, receiver: Receiver?, now: Int64, disabled: [String: String], current: ReceiverSenders,
        group: inout DiscardingTaskGroup
    ) -> Start {
        let record = message.record
        guard let receiver else {
            // Removed from the configuration: keep it (a reload may bring the receiver back), look again later.
            settle(PendingOutcome(outcome: .postponed(message: record.id, until: now + 60_000)), now: now)
            return .settled
        }
        if let why = disabled[receiver.name] {
            settle(PendingOutcome(
                outcome: .failed(message: record.id, attempts: record.attempts, reason: FailureReason.receiverDisabled.rawValue, error: why, nextAttemptAt: nil, at: now),
                report: .deadLettered(receiver: receiver.name, reason: .receiverDisabled)), now: now)
            return .settled
        }
        let permission = breakers.withLock { breakers in
            breakers[receiver.name, default: CircuitBreaker(policy: current.configuration.circuitBreaker)].permission(now: now)
        }
        if case .wait(let until) = permission {
            settle(PendingOutcome(outcome: .postponed(message: record.id, until: until)), now: now)
            return .settled
        }
        inFlight.withLock { $0[record.id] = record.channel }
        group.addTask {
            let outcomes = await self.attempt(message, receiver: receiver, senders: current)
            self.settle(outcomes, now: self.clock())
            _ = self.inFlight.withLock { $0.removeValue(forKey: record.id) }
            await self.commitOutcomesIfDue(now: self.clock())
            self.wake.signal()
        }
        return .started
    }

    /// One attempt of one message, and the outcomes to record.
    private func attempt(_ ready: ReadyMessage, receiver: Receiver, senders: ReceiverSenders) async -> [PendingOutcome] {
        let record = ready.record
        let started = clock()
        let attempts = record.attempts + 1
        observer.attempted(receiver: receiver.name)
        let outcome: SendOutcome
        do {
            let message = try outgoing(ready)
            outcome = await send(message, receiver: receiver, senders: senders)
        } catch {
            outcome = .failed(.rendering, "cannot read the message's notifications: \(error)")
        }
        let now = clock()
        let circuitOpen = breakers.withLock { breakers in
            var breaker = breakers[receiver.name] ?? CircuitBreaker(policy: senders.configuration.circuitBreaker)
            if outcome.isEndpointFailure { breaker.recordFailure(now: now) } else { breaker.recordSuccess() }
            breakers[receiver.name] = breaker
            return breaker.isOpen
        }
        observer.circuit(receiver: receiver.name, isOpen: circuitOpen)
        if case .delivered = outcome {
            return [PendingOutcome(
                outcome: .delivered(message: record.id, attempts: attempts, at: now),
                report: .delivered(receiver: receiver.name, seconds: Double(now - started) / 1000))]
        }
        var outcomes: [PendingOutcome] = []
        let reason = outcome.reason ?? .connection
        observer.failed(receiver: receiver.name, reason: reason)
        if case .gone(let why) = outcome {
            outcomes.append(PendingOutcome(outcome: .receiverDisabled(receiver: receiver.name, reason: why, at: now)))
            disabled.withLock { $0.reasons[receiver.name] = why }
            disabling.withLock { $0[receiver.name] = (why, nil) }
            logger.error("receiver answered 410 Gone: disabled until an operator replays its messages", metadata: ["receiver": "\(receiver.name)"])
        }
        let decision = senders.configuration.retry.decide(
            outcome: outcome, attempts: attempts, createdAt: record.createdAt, now: now, random: Double.random(in: 0..<1))
        switch decision {
        case .retry(let at):
            outcomes.append(PendingOutcome(outcome: .failed(
                message: record.id, attempts: attempts, reason: reason.rawValue, error: Self.describe(outcome), nextAttemptAt: at, at: now)))
            logger.warning("delivery failed; will retry", metadata: [
                "receiver": "\(receiver.name)", "recipient": "\(record.channel.recipient)", "message": "\(record.id)",
                "attempt": "\(attempts)", "reason": "\(reason.rawValue)", "error": "\(Self.describe(outcome))",
                "retry_in_ms": "\(at - now)",
            ])
        case .deadLetter(let deadReason, let why):
            outcomes.append(PendingOutcome(
                outcome: .failed(message: record.id, attempts: attempts, reason: deadReason.rawValue, error: why, nextAttemptAt: nil, at: now),
                report: .deadLettered(receiver: receiver.name, reason: deadReason)))
            logger.error("delivery gave up: message moved to the dead letters (storey outbox list --state dead)", metadata: [
                "receiver": "\(receiver.name)", "recipient": "\(record.channel.recipient)", "message": "\(record.id)",
                "reason": "\(deadReason.rawValue)", "error": "\(why)",
            ])
        case nil:
            break
        }
        return outcomes
    }

    // MARK: Recording outcomes

    /// Adds outcomes to the batch; their messages stay out of the next reads until it is committed.
    private func settle(_ outcomes: [PendingOutcome], now: Int64) {
        settling.withLock { settling in
            for outcome in outcomes { if let id = outcome.outcome.message { settling.insert(id) } }
        }
        batch.withLock { batch in
            for outcome in outcomes { batch.add(outcome, now: now) }
        }
    }

    private func settle(_ outcome: PendingOutcome, now: Int64) { settle([outcome], now: now) }

    private func commitOutcomesIfDue(now: Int64) async {
        let sends = inFlight.withLock { $0.count }
        guard batch.withLock({ $0.isDue(now: now, sendsInFlight: sends) }) else { return }
        await commitOutcomes()
    }

    /// Commits what the batch holds in one transaction, then tells the observer.
    private func commitOutcomes() async {
        let taken = batch.withLock { $0.take() }
        guard !taken.isEmpty else { return }
        do {
            try await store.record(taken.map(\.outcome))
            let commit = commits.add(1, ordering: .releasing).newValue
            disabling.withLock { disabling in
                for pending in taken {
                    if case .receiverDisabled(let receiver, _, _) = pending.outcome { disabling[receiver]?.committed = commit }
                }
            }
            generation.add(1, ordering: .releasing)
            observer.committed(outcomes: taken.count)
            for pending in taken {
                switch pending.report {
                case .delivered(let receiver, let seconds): observer.delivered(receiver: receiver, seconds: seconds)
                case .deadLettered(let receiver, let reason): observer.deadLettered(receiver: receiver, reason: reason)
                case nil: break
                }
            }
        } catch {
            // Not recorded: the messages stay pending and are sent again with the same ids.
            logger.error("cannot record delivery outcomes; those messages will be sent again", metadata: [
                "messages": "\(taken.compactMap(\.outcome.message))", "error": "\(error)",
            ])
        }
        settling.withLock { settling in
            for pending in taken { if let id = pending.outcome.message { settling.remove(id) } }
        }
        wake.signal()
    }

    private func outgoing(_ ready: ReadyMessage) throws -> OutgoingMessage {
        let decoder = JSONDecoder()
        let record = ready.record
        let carried = try ready.notifications.map { row in
            OutgoingMessage.Carried(outboxID: row.id, notification: try decoder.decode(AlertNotification.self, from: Data(row.notification.utf8)))
        }
        return OutgoingMessage(
            id: record.id, receiver: record.channel.receiver, recipient: record.channel.recipient, groupKey: record.channel.groupKey,
            messageKey: record.messageKey, threadKey: record.threadKey, notifications: carried)
    }

    private func send(_ message: OutgoingMessage, receiver: Receiver, senders: ReceiverSenders) async -> SendOutcome {
        switch receiver.kind {
        case .webhook(let webhook):
            guard let renderer = senders.webhooks[receiver.name] else { return .failed(.receiverMissing, "no sender for \(receiver.name)") }
            let request = renderer.request(message, now: clock())
            return await webhookSender.send(request, timeout: webhook.timeout, judge: renderer.judge)
        case .email(let email):
            guard let mailer = senders.mailers[receiver.name] else { return .failed(.receiverMissing, "no sender for \(receiver.name)") }
            let content = MailContent(message, email: email, language: receiver.language, settings: senders.settings, date: Date(timeIntervalSince1970: Double(clock()) / 1000))
            return await mailer.send(content)
        }
    }

    // MARK: Pruning

    /// Removes delivered messages and dead letters past their retention when a pass is due, beside the
    /// sending (a first pass over a long history may take a while).
    private func startPruningIfDue(now: Int64, group: inout DiscardingTaskGroup) {
        let retention = senders.withLock { $0.configuration.retention }
        let due = lastPruned.withLock { lastRun in
            guard retention.isDue(now: now, lastRun: lastRun) else { return false }
            lastRun = now
            return true
        }
        guard due else { return }
        group.addTask {
            let cutoffs = retention.cutoffs(now: now)
            do {
                let counts = try await self.store.prune(deliveredBefore: cutoffs.delivered, deadBefore: cutoffs.dead)
                self.observer.pruned(counts)
                if counts != DeliveryPruneCounts() {
                    self.logger.info("pruned delivery history past its retention", metadata: [
                        "messages": "\(counts.messages)", "items": "\(counts.items)", "outbox_rows": "\(counts.outboxRows)",
                    ])
                }
            } catch {
                self.logger.error("cannot prune delivery history; trying again at the next pass", metadata: ["error": "\(error)"])
            }
        }
    }

    private func publishStatistics(now: Int64) async {
        guard let statistics = try? await store.statistics() else { return }
        let age = statistics.oldestUndeliveredAt.map { max(0, Double(now - $0) / 1000) } ?? 0
        observer.queue(statistics, oldestUndeliveredAge: age)
    }

    static func describe(_ outcome: SendOutcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .failed(_, let message, let retryAfter): retryAfter.map { "\(message) (Retry-After \($0)s)" } ?? message
        case .rejected(_, let message), .gone(let message): message
        }
    }
}
