import Foundation
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyStore
import Synchronization
import Testing

/// The outbox through HTTP, from a real delivery store on the fixture's database: what is pending, what
/// died, and replaying a dead letter.
@Suite struct OutboxAPITests {
    /// Three messages: a webhook's dead letter (its receiver disabled by a 410), a mail still being
    /// retried, and a delivered webhook.
    static func deliveries(_ fixture: APIFixture) async throws -> DeliveryStore {
        let store = try DeliveryStore(path: fixture.store.path)
        let at = APIFixture.millis("2026-11-10T10:00:00")
        let hook = DeliveryChannel(receiver: "ops-hook", recipient: "", groupKey: "tenant:alpha")
        let mail = DeliveryChannel(receiver: "ops-mail", recipient: "li.wei@example.com", groupKey: "tenant:alpha")
        let items = [(1, hook), (2, mail), (3, hook)].map { id, channel in
            RoutedItem(
                outboxID: Int64(id), receiver: channel.receiver, recipient: channel.recipient, route: "all", groupKey: channel.groupKey,
                fingerprint: "0123456789abcdef", episode: 1, kind: "firing", routedAt: at)
        }
        try await store.recordRouting(items, rows: [1, 2, 3])
        try await store.applyGrouping([
            NewMessage(channel: hook, messageKey: "msg_1", threadKey: nil, items: [1]),
            NewMessage(channel: mail, messageKey: "<2@storey>", threadKey: nil, items: [2]),
            NewMessage(channel: hook, messageKey: "msg_3", threadKey: nil, items: [3]),
        ], skipped: [], held: [], now: at)
        try await store.record([
            .failed(message: 1, attempts: 1, reason: "http_410", error: "410 Gone", nextAttemptAt: nil, at: at + 1000),
            .receiverDisabled(receiver: "ops-hook", reason: "HTTP 410", at: at + 1000),
            .failed(message: 2, attempts: 3, reason: "timeout", error: "no answer in 10 s", nextAttemptAt: at + 600_000, at: at + 2000),
            .delivered(message: 3, attempts: 1, at: at + 3000),
        ])
        return store
    }

    @Test func theListingShowsPendingMessagesAndDeadLettersWithTheQueuesTotals() async throws {
        let fixture = try APIFixture()
        _ = try await Self.deliveries(fixture)
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/outbox", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let json = try response.json()
                let messages = try #require(json["messages"] as? [[String: Any]])
                #expect(messages.map { $0["id"] as? Int } == [1, 2])
                #expect(messages.map { $0["state"] as? String } == ["dead", "pending"])
                #expect(messages[0]["receiver"] as? String == "ops-hook")
                #expect(messages[0]["recipient"] == nil)
                #expect(messages[0]["lastReason"] as? String == "http_410")
                #expect(messages[0]["deadAt"] as? String == "2026-11-10T02:00:01Z")
                #expect(messages[0]["nextAttemptAt"] == nil)
                #expect(messages[1]["recipient"] as? String == "li.wei@example.com")
                #expect(messages[1]["attempts"] as? Int == 3)
                #expect(messages[1]["nextAttemptAt"] as? String == "2026-11-10T02:10:00Z")
                #expect(messages[1]["outboxIDs"] as? [Int] == [2])
                let summary = try #require(json["summary"] as? [String: Any])
                #expect(summary["pending"] as? Int == 1)
                #expect(summary["dead"] as? Int == 1)
                let failures = try #require(json["failures"] as? [[String: Any]])
                #expect(failures.map { "\($0["receiver"]!) \($0["state"]!) \($0["reason"]!) \($0["messages"]!)" }
                    == ["ops-hook dead http_410 1", "ops-mail pending timeout 1"])
            }
            try await client.execute(uri: "/api/v1/outbox?state=delivered", method: .get, headers: APIFixture.read) { response in
                let messages = try #require(try response.json()["messages"] as? [[String: Any]])
                #expect(messages.map { $0["id"] as? Int } == [3])
                #expect(messages[0]["deliveredAt"] as? String == "2026-11-10T02:00:03Z")
            }
            try await client.execute(uri: "/api/v1/outbox?state=all&limit=2", method: .get, headers: APIFixture.read) { response in
                let json = try response.json()
                #expect(json["messages"].map { ($0 as! [[String: Any]]).map { $0["id"] as! Int } } == [2, 3])
            }
            for (uri, parameter) in [("/api/v1/outbox?state=lost", "state"), ("/api/v1/outbox?limit=0", "limit"), ("/api/v1/outbox?limit=many", "limit")] {
                try await client.execute(uri: uri, method: .get, headers: APIFixture.read) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let json = try response.json()
                    #expect(json["parameter"] as? String == parameter, "\(uri)")
                }
            }
            try await client.execute(uri: "/api/v1/outbox", method: .get) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func anAdminReplaysADeadLetterWhichWakesDeliveryAndEnablesItsReceiver() async throws {
        let fixture = try APIFixture()
        let store = try await Self.deliveries(fixture)
        #expect(try await store.disabledReceivers()["ops-hook"] != nil)
        let wakes = Mutex(0)
        fixture.view.onOutboxReplayed { wakes.withLock { $0 += 1 } }
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/outbox/1/replay", method: .post, headers: APIFixture.read) { response in
                #expect(response.status == .forbidden)
                let json = try response.json()
                #expect(json["detail"] as? String == "POST /api/v1/outbox/1/replay needs an admin token; \"dashboard\" is a read token")
            }
            #expect(try await store.message(id: 1)?.state == .dead)
            try await client.execute(uri: "/api/v1/outbox/1/replay", method: .post, headers: APIFixture.admin) { response in
                #expect(response.status == .ok)
                let message = try response.json()
                #expect(message["state"] as? String == "pending")
                #expect(message["attempts"] as? Int == 0)
                #expect(message["nextAttemptAt"] as? String == "2026-11-10T02:30:30Z")  // at once (the fixture's now)
                #expect(message["messageKey"] as? String == "msg_1")  // the same id on the new attempts
            }
            #expect(wakes.withLock { $0 } == 1)
            #expect(try await store.message(id: 1)?.state == .pending)
            #expect(try await store.disabledReceivers().isEmpty)

            // Not (or no longer) a dead letter, no such message, not an id: each a problem naming why.
            for (uri, status, text) in [
                ("/api/v1/outbox/1/replay", 409, "outbox message 1 is pending, not dead"),
                ("/api/v1/outbox/3/replay", 409, "outbox message 3 is delivered, not dead"),
                ("/api/v1/outbox/99/replay", 404, "no outbox message 99"),
                ("/api/v1/outbox/first/replay", 400, "\"first\" is not a message id (a whole number)"),
            ] {
                try await client.execute(uri: uri, method: .post, headers: APIFixture.admin) { response in
                    #expect(response.status.code == status, "\(uri)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let json = try response.json()
                    #expect(json["detail"] as? String == text, "\(uri)")
                }
            }
            #expect(wakes.withLock { $0 } == 1)
        }
    }
}
