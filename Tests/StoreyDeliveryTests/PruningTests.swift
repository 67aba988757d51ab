import Foundation
import GRDB
import StoreyStore
import StoreyTestSupport
import Testing

@testable import StoreyDelivery

/// Pruning on each backend (a real SQLite file, a real PostgreSQL database), brought to each state
/// through the store's own steps (routing, grouping, outcomes) at chosen times: what delivery has
/// finished with goes, nothing undelivered does.
@Suite struct PruningTests {
    static let day: Int64 = 86_400_000
    /// "Now" for the pruning passes.
    static let now: Int64 = 1_800_000_000_000

    /// One outbox row for alert `scope`, created at `at`; returns its id.
    func outbox(_ fixture: DeliveryStoreFixture, _ scope: String, _ kind: String, at: Int64) async throws -> Int64 {
        try await fixture.appendOutbox(at, "fp-\(scope)", kind, Fixtures.notificationJSON(kind: kind, scopeID: scope))
    }

    func item(_ id: Int64, _ scope: String, _ kind: String, at: Int64) -> RoutedItem {
        RoutedItem(outboxID: id, receiver: "hook", recipient: "", route: "0", groupKey: "0|\(scope)", fingerprint: "fp-\(scope)", episode: 1, kind: kind, routedAt: at)
    }

    func channel(_ scope: String) -> DeliveryChannel { DeliveryChannel(receiver: "hook", recipient: "", groupKey: "0|\(scope)") }

    /// Makes a message of one routed item at `at`; returns the message id.
    func message(_ store: any DeliveryStorage, _ id: Int64, _ scope: String, at: Int64) async throws -> Int64 {
        try await store.applyGrouping([NewMessage(channel: channel(scope), messageKey: "msg_\(id)", threadKey: nil, items: [id])], skipped: [], held: [], now: at)
        return try #require(try await store.messages(state: nil, limit: 1000).first { $0.outboxIDs == [id] }).id
    }

    @Test(arguments: StoreBackend.allCases)
    func onlyWhatDeliveryFinishedWithGoesAndOpenEpisodesStay(_ backend: StoreBackend) async throws {
        let fixture = try await DeliveryStoreFixture.make(backend)
        let store = fixture.store
        func outbox(_ scope: String, _ kind: String, at: Int64) async throws -> Int64 { try await self.outbox(fixture, scope, kind, at: at) }
        func message(_ id: Int64, _ scope: String, at: Int64) async throws -> Int64 { try await self.message(store, id, scope, at: at) }
        let old = Self.now - 40 * Self.day
        let recent = Self.now - Self.day
        // a: fired and resolved, both delivered long ago → goes.
        let a1 = try await outbox("a", "firing", at: old), a2 = try await outbox("a", "resolved", at: old)
        // b: fired long ago and still firing → its message stays (a resolution or a mute's end asks about it).
        let b1 = try await outbox("b", "firing", at: old)
        // c: its firing a dead letter long ago, its resolution skipped → goes once past the dead letters' retention.
        let c1 = try await outbox("c", "firing", at: old), c2 = try await outbox("c", "resolved", at: old)
        // d: fired and resolved yesterday → stays.
        let d1 = try await outbox("d", "firing", at: recent), d2 = try await outbox("d", "resolved", at: recent)
        // e: a message still pending since long ago; f: an item still waiting (a mute) → stay.
        let e1 = try await outbox("e", "firing", at: old), f1 = try await outbox("f", "firing", at: old)
        try await store.recordRouting(
            [item(a1, "a", "firing", at: old), item(a2, "a", "resolved", at: old), item(b1, "b", "firing", at: old),
             item(c1, "c", "firing", at: old), item(c2, "c", "resolved", at: old), item(d1, "d", "firing", at: recent),
             item(d2, "d", "resolved", at: recent), item(e1, "e", "firing", at: old), item(f1, "f", "firing", at: old)],
            rows: [a1, a2, b1, c1, c2, d1, d2, e1, f1])
        // g: never routed (no delivery configured when it was written) → stays, however old.
        let g1 = try await outbox("g", "firing", at: old)

        var outcomes: [DeliveryOutcome] = []
        for (id, scope, at) in [(a1, "a", old), (a2, "a", old), (b1, "b", old), (d1, "d", recent), (d2, "d", recent)] {
            outcomes.append(.delivered(message: try await message(id, scope, at: at), attempts: 1, at: at))
        }
        let dead = try await message(c1, "c", at: old)
        outcomes.append(.failed(message: dead, attempts: 3, reason: "http_4xx", error: "400", nextAttemptAt: nil, at: old))
        try await store.applyGrouping([], skipped: [(channel("c"), c2, "resolved while muted, never notified")], held: [(channel("f"), f1)], now: old)
        _ = try await message(e1, "e", at: old)
        try await store.record(outcomes)

        // Dead letters kept 60 days, delivered ones 30.
        let first = try await store.prune(deliveredBefore: Self.now - 30 * Self.day, deadBefore: Self.now - 60 * Self.day, chunk: 1)
        #expect(first == DeliveryPruneCounts(messages: 2, items: 2, outboxRows: 2), "a's two messages, their items and outbox rows")
        let outboxLeft = try await fixture.outboxIDs()
        #expect(outboxLeft == [b1, c1, c2, d1, d2, e1, f1, g1], "c's skipped resolution stays: it says c's dead letter is over")

        let second = try await store.prune(deliveredBefore: Self.now - 30 * Self.day, deadBefore: Self.now - 30 * Self.day)
        #expect(second == DeliveryPruneCounts(messages: 1, items: 2, outboxRows: 2), "c's dead letter, then its skipped resolution, and their outbox rows")
        #expect(try await fixture.count("SELECT COUNT(*) FROM delivery_message WHERE state = 'dead'") == 0)
        #expect(try await fixture.outboxIDs() == [b1, d1, d2, e1, f1, g1])
        #expect(try await fixture.count("SELECT COUNT(*) FROM delivery_message WHERE state = 'pending'") == 1)
        #expect(try await fixture.count("SELECT COUNT(*) FROM delivery_item WHERE message IS NULL AND skipped IS NULL") == 1, "f still waits for its mute")
        #expect(try await store.statistics().unrouted == 1, "g is still to be routed")

        // Once b resolves and that is delivered, its episode is over and both its messages go in time;
        // g, routed now to no receiver at all, is finished with too.
        let b2 = try await outbox("b", "resolved", at: recent)
        try await store.recordRouting([item(b2, "b", "resolved", at: recent)], rows: [g1, b2])
        try await store.record([.delivered(message: try await message(b2, "b", at: recent), attempts: 1, at: recent)])
        let third = try await store.prune(deliveredBefore: Self.now, deadBefore: Self.now - 30 * Self.day)
        #expect(third == DeliveryPruneCounts(messages: 4, items: 4, outboxRows: 5), "b's and d's messages and outbox rows, and g's")
        #expect(try await fixture.outboxIDs() == [e1, f1])
    }
}
