import Foundation
import GRDB
import StoreyStore
import StoreyTestSupport
import Testing

@testable import StoreyDelivery

/// Reading due messages per receiver and recipient on each backend (a real SQLite file, a real
/// PostgreSQL database), brought to each state through the store's own steps: only each channel's head,
/// only that endpoint's, with the outbox rows each carries, in one read.
@Suite struct DueMessagesTests {
    static let now: Int64 = 1_800_000_000_000

    func outbox(_ fixture: DeliveryStoreFixture, _ scope: String, _ kind: String) async throws -> Int64 {
        try await fixture.appendOutbox(Self.now, "fp-\(scope)", kind, Fixtures.notificationJSON(kind: kind, scopeID: scope))
    }

    func item(_ id: Int64, _ scope: String, _ kind: String, receiver: String, recipient: String = "") -> RoutedItem {
        RoutedItem(
            outboxID: id, receiver: receiver, recipient: recipient, route: "0", groupKey: "0|\(scope)", fingerprint: "fp-\(scope)", episode: 1,
            kind: kind, routedAt: Self.now)
    }

    func channel(_ scope: String, receiver: String, recipient: String = "") -> DeliveryChannel {
        DeliveryChannel(receiver: receiver, recipient: recipient, groupKey: "0|\(scope)")
    }

    /// Ids of the messages made, in order.
    func make(_ store: any DeliveryStorage, _ messages: [NewMessage]) async throws -> [Int64] {
        try await store.applyGrouping(messages, skipped: [], held: [], now: Self.now)
        let all = try await store.messages(state: nil, limit: 1000)
        return messages.map { new in all.first { $0.messageKey == new.messageKey }!.id }
    }

    @Test(arguments: StoreBackend.allCases)
    func eachChannelsHeadOfOneEndpointWithItsNotificationsInOrder(_ backend: StoreBackend) async throws {
        let fixture = try await DeliveryStoreFixture.make(backend)
        let store = fixture.store
        func outbox(_ scope: String, _ kind: String) async throws -> Int64 { try await self.outbox(fixture, scope, kind) }
        // a: firing then resolved (two messages on one channel); b: firing and resolved grouped in one message.
        let a1 = try await outbox("a", "firing"), a2 = try await outbox("a", "resolved")
        let b1 = try await outbox("b", "firing"), b2 = try await outbox("b", "resolved")
        var items: [RoutedItem] = []
        for (id, scope, kind) in [(a1, "a", "firing"), (a2, "a", "resolved"), (b1, "b", "firing"), (b2, "b", "resolved")] {
            items += [item(id, scope, kind, receiver: "hook"), item(id, scope, kind, receiver: "mail", recipient: "ops@example.com")]
        }
        try await store.recordRouting(items, rows: [a1, a2, b1, b2])
        let ids = try await make(store, [
            NewMessage(channel: channel("a", receiver: "hook"), messageKey: "msg_a1", threadKey: nil, items: [a1]),
            NewMessage(channel: channel("a", receiver: "mail", recipient: "ops@example.com"), messageKey: "<a1>", threadKey: nil, items: [a1]),
            NewMessage(channel: channel("a", receiver: "hook"), messageKey: "msg_a2", threadKey: nil, items: [a2]),
            NewMessage(channel: channel("b", receiver: "hook"), messageKey: "msg_b", threadKey: nil, items: [b1, b2]),
        ])

        let due = try await store.dueMessages(receiver: "hook", recipient: "", now: Self.now, limit: 100)
        #expect(due.map(\.message.messageKey) == ["msg_a1", "msg_b"], "a's resolution waits behind its firing; mail is another endpoint")
        #expect(due.map { $0.notifications.map(\.id) } == [[a1], [b1, b2]])
        #expect(due[1].notifications.map(\.kind) == ["firing", "resolved"])
        #expect(try await store.dueMessages(receiver: "mail", recipient: "ops@example.com", now: Self.now, limit: 100).map(\.message.id) == [ids[1]])

        // In flight or settled: left out, and the limit counts only what is returned.
        let rest = try await store.dueMessages(receiver: "hook", recipient: "", now: Self.now, limit: 1, excluding: [ids[0]])
        #expect(rest.map(\.message.messageKey) == ["msg_b"])

        // Delivered: the channel's next message becomes its head.
        try await store.record([.delivered(message: ids[0], attempts: 1, at: Self.now)])
        #expect(try await store.dueMessages(receiver: "hook", recipient: "", now: Self.now, limit: 100).map(\.message.messageKey) == ["msg_a2", "msg_b"])

        // A head waiting for its retry holds its channel back and is not due yet.
        try await store.record([.failed(message: ids[2], attempts: 1, reason: "http_5xx", error: "500", nextAttemptAt: Self.now + 5000, at: Self.now)])
        #expect(try await store.dueMessages(receiver: "hook", recipient: "", now: Self.now, limit: 100).map(\.message.messageKey) == ["msg_b"])
        #expect(try await store.dueMessages(receiver: "hook", recipient: "", now: Self.now + 5000, limit: 100).map(\.message.messageKey) == ["msg_a2", "msg_b"])

        // One message by id, with what it carries; none for an id never made.
        let b = try #require(try await store.message(id: ids[3]))
        #expect(b.messageKey == "msg_b" && b.outboxIDs == [b1, b2] && b.state == .pending)
        #expect(try await store.message(id: 999_999) == nil)

        let endpoints = try await store.pendingEndpoints().map { "\($0.receiver)/\($0.recipient)" }.sorted()
        #expect(endpoints == ["hook/", "mail/ops@example.com"])
    }

    /// A grouping pass as the store applies it, and the facts the next one reads for many channels and
    /// episodes in one call: messages made in the plan's order, items already in a message left alone.
    @Test(arguments: StoreBackend.allCases)
    func groupingMakesMessagesInThePlansOrderAndItsFactsAreReadAtOnce(_ backend: StoreBackend) async throws {
        let fixture = try await DeliveryStoreFixture.make(backend)
        let store = fixture.store
        let a1 = try await outbox(fixture, "a", "firing"), a2 = try await outbox(fixture, "a", "resolved")
        let b1 = try await outbox(fixture, "b", "firing"), c1 = try await outbox(fixture, "c", "firing")
        let mail = "ops@example.com"
        try await store.recordRouting([
            item(a1, "a", "firing", receiver: "hook"), item(a1, "a", "firing", receiver: "mail", recipient: mail),
            item(a2, "a", "resolved", receiver: "hook"), item(b1, "b", "firing", receiver: "hook"), item(c1, "c", "firing", receiver: "hook"),
        ], rows: [a1, a2, b1, c1])
        let (hookA, mailA, hookB, hookC) = (channel("a", receiver: "hook"), channel("a", receiver: "mail", recipient: mail), channel("b", receiver: "hook"), channel("c", receiver: "hook"))
        let episodes = [
            ChannelEpisode(channel: hookA, fingerprint: "fp-a", episode: 1), ChannelEpisode(channel: mailA, fingerprint: "fp-a", episode: 1),
            ChannelEpisode(channel: hookB, fingerprint: "fp-b", episode: 1),
        ]
        #expect(try await store.lastMessageAt([hookA, mailA, hookB]).isEmpty, "nothing made yet")
        #expect(try await store.lastSent(episodes, kinds: ["firing", "resolved"]).isEmpty)

        try await store.applyGrouping([
            NewMessage(channel: hookA, messageKey: "msg_a1", threadKey: nil, items: [a1]),
            NewMessage(channel: mailA, messageKey: "<a1>", threadKey: "<thread-a>", items: [a1]),
        ], skipped: [(hookB, b1, "superseded")], held: [(hookC, c1)], now: Self.now)
        // A later pass that planned a1 again (read before the first committed) makes no second message of it.
        try await store.applyGrouping([
            NewMessage(channel: hookA, messageKey: "msg_a1_again", threadKey: nil, items: [a1]),
            NewMessage(channel: hookA, messageKey: "msg_a2", threadKey: nil, items: [a2]),
        ], skipped: [], held: [], now: Self.now + 1000)

        let made = try await store.messages(state: nil, limit: 100)
        #expect(made.map(\.messageKey) == ["msg_a1", "<a1>", "msg_a2"], "in the plan's order, by id")
        #expect(made.map(\.threadKey) == [nil, "<thread-a>", nil])
        #expect(made.map(\.outboxIDs) == [[a1], [a1], [a2]])
        #expect(try await fixture.count("SELECT COUNT(*) FROM delivery_item WHERE skipped = 'superseded'") == 1)
        let waiting = try await store.waitingItems(limit: 100)
        #expect(waiting.map(\.outboxID) == [c1] && waiting.allSatisfy(\.held), "c1 held, still waiting")

        #expect(try await store.lastMessageAt([hookA, mailA, hookB, hookC]) == [hookA: Self.now + 1000, mailA: Self.now])
        #expect(try await store.lastSent(episodes, kinds: ["firing"]) == [episodes[0]: Self.now, episodes[1]: Self.now])
        #expect(try await store.lastSent(episodes, kinds: ["firing", "resolved"]) == [episodes[0]: Self.now + 1000, episodes[1]: Self.now])
    }

    /// One commit of outcomes of every kind, as the engine batches them: each message ends as its own
    /// outcome says, and a 410 disables its receiver.
    @Test(arguments: StoreBackend.allCases)
    func aBatchOfOutcomesSettlesEachMessageAsItsOwnSays(_ backend: StoreBackend) async throws {
        let fixture = try await DeliveryStoreFixture.make(backend)
        let store = fixture.store
        let scopes = ["a", "b", "c", "d", "e"]
        var rows: [Int64] = []
        for scope in scopes { rows.append(try await outbox(fixture, scope, "firing")) }
        try await store.recordRouting(zip(rows, scopes).map { item($0, $1, "firing", receiver: "hook") }, rows: rows)
        let ids = try await make(store, zip(rows, scopes).map {
            NewMessage(channel: channel($1, receiver: "hook"), messageKey: "msg_\($1)", threadKey: nil, items: [$0])
        })
        let at = Self.now + 100
        try await store.record([
            .postponed(message: ids[3], until: Self.now + 60_000),
            .delivered(message: ids[0], attempts: 2, at: at),
            .failed(message: ids[1], attempts: 1, reason: "http_5xx", error: "HTTP 503", nextAttemptAt: Self.now + 5000, at: at),
            .receiverDisabled(receiver: "hook", reason: "HTTP 410 Gone", at: at),
            .failed(message: ids[2], attempts: 3, reason: "gone", error: "HTTP 410 Gone", nextAttemptAt: nil, at: at),
            // Never earlier than it was due already.
            .postponed(message: ids[4], until: Self.now - 1000),
        ])
        var settled: [DeliveryMessageRecord] = []
        for id in ids { settled.append(try #require(try await store.message(id: id))) }
        #expect(settled.map(\.state) == [.delivered, .pending, .dead, .pending, .pending])
        #expect(settled.map(\.attempts) == [2, 1, 3, 0, 0])
        #expect(settled[0].deliveredAt == at && settled[0].lastError == nil)
        #expect(settled[1].nextAttemptAt == Self.now + 5000 && settled[1].lastReason == "http_5xx" && settled[1].lastError == "HTTP 503")
        #expect(settled[2].deadAt == at && settled[2].lastReason == "gone")
        #expect(settled[3].nextAttemptAt == Self.now + 60_000 && settled[4].nextAttemptAt == Self.now)
        #expect(try await store.disabledReceivers() == ["hook": "HTTP 410 Gone"])
    }
}
