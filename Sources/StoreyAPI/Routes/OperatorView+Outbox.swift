import Foundation
import Hummingbird
import StoreyStore

/// `/api/v1/outbox…`: what alert delivery has still to do and what it gave up on, as `storey outbox`
/// shows it, and replaying a dead letter:
/// - `GET outbox?state=pending|dead|delivered|all&limit=` (default: pending and dead, the newest 1,000);
/// - `POST outbox/{id}/replay` (admin): sends a dead letter again from its first attempt, and enables its
///   receiver again if an HTTP 410 had disabled it.
extension OperatorView {
    struct OutboxMessageJSON: Codable {
        var id: Int64
        var state: String
        var receiver: String
        /// The email address; absent for a webhook.
        var recipient: String?
        var groupKey: String
        var messageKey: String
        var attempts: Int
        var nextAttemptAt: String?
        var lastReason: String?
        var lastError: String?
        var createdAt: String
        var deliveredAt: String?
        var deadAt: String?
        var outboxIDs: [Int64]

        init(_ record: DeliveryMessageRecord) {
            id = record.id
            state = record.state.rawValue
            receiver = record.channel.receiver
            recipient = record.channel.recipient.isEmpty ? nil : record.channel.recipient
            groupKey = record.channel.groupKey
            messageKey = record.messageKey
            attempts = record.attempts
            nextAttemptAt = record.state == .pending ? OperatorView.iso(record.nextAttemptAt) : nil
            lastReason = record.lastReason
            lastError = record.lastError
            createdAt = OperatorView.iso(record.createdAt)
            deliveredAt = record.deliveredAt.map(OperatorView.iso)
            deadAt = record.deadAt.map(OperatorView.iso)
            outboxIDs = record.outboxIDs
        }
    }

    struct OutboxJSON: Codable {
        struct Summary: Codable {
            var unrouted: Int
            var waiting: Int
            var pending: Int
            var dead: Int
            var oldestUndeliveredAt: String?
        }
        struct Failures: Codable {
            var receiver: String
            var state: String
            var reason: String
            var messages: Int
        }
        var summary: Summary
        /// Undelivered messages that failed at least once, by receiver, state and last reason.
        var failures: [Failures]
        var messages: [OutboxMessageJSON]
    }

    /// Tells delivery that a dead letter was replayed, so it is sent now rather than at the next poll.
    public func onOutboxReplayed(_ wake: @escaping @Sendable () -> Void) {
        outboxReplayed.withLock { $0 = wake }
    }

    func addOutboxRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        let store = self.store
        let deliveries = { @Sendable () throws -> any DeliveryStorage in
            do {
                return try store.deliveries()
            } catch {
                throw Problem.unavailable("the outbox cannot be read: \(error)")
            }
        }
        api.get("outbox") { request, _ -> Response in
            let query = request.uri.queryParameters
            let states: [DeliveryState]?
            switch query["state"].map(String.init) {
            case nil: states = [.pending, .dead]
            case "all": states = nil
            case let text?:
                guard let state = DeliveryState(rawValue: text) else {
                    throw Problem.badParameter("state", "\"\(text)\" is not one of pending, dead, delivered, all")
                }
                states = [state]
            }
            var limit = 1000
            if let text = query["limit"].map(String.init) {
                guard let parsed = Int(text), (1...10_000).contains(parsed) else {
                    throw Problem.badParameter("limit", "\"\(text)\" is not a whole number from 1 to 10000")
                }
                limit = parsed
            }
            let store = try deliveries()
            var records: [DeliveryMessageRecord] = []
            if let states {
                for state in states { records += try await store.messages(state: state, limit: limit) }
                records.sort { $0.id < $1.id }
            } else {
                records = try await store.messages(state: nil, limit: limit)
            }
            let statistics = try await store.statistics()
            let failures = try await store.failureTotals()
            return try JSONOutput.response(OutboxJSON(
                summary: .init(
                    unrouted: statistics.unrouted, waiting: statistics.waiting, pending: statistics.pending, dead: statistics.dead,
                    oldestUndeliveredAt: statistics.oldestUndeliveredAt.map(Self.iso)),
                failures: failures.map { .init(receiver: $0.receiver, state: $0.state.rawValue, reason: $0.reason, messages: $0.messages) },
                messages: records.map(OutboxMessageJSON.init)))
        }
        api.post("outbox/:id/replay") { _, context -> Response in
            let text = try context.parameters.require("id")
            guard let id = Int64(text) else { throw Problem.badParameter("id", "\"\(text)\" is not a message id (a whole number)") }
            let store = try deliveries()
            guard let message = try await store.message(id: id) else {
                throw Problem.notFound("no outbox message \(id)", parameter: "id")
            }
            guard try await store.replay(id, now: self.clock() * 1000) else {
                throw Problem(.conflict, type: Problem.base + "not-dead", title: "Only a dead letter can be replayed",
                    detail: "outbox message \(id) is \(message.state.rawValue), not dead")
            }
            self.outboxReplayed.withLock { $0 }?()
            guard let replayed = try await store.message(id: id) else { throw Problem.notFound("no outbox message \(id)", parameter: "id") }
            return try JSONOutput.response(OutboxMessageJSON(replayed))
        }
        knownPaths.declare("/api/v1/outbox", [.get, .head])
    }
}
