import Foundation
import HummingbirdTesting
import StoreyAPI
@testable import StoreyCore
import StoreyStore
import Testing

/// An alert transition reaches operators two ways: live as the event stream's `alert` event, and later
/// in the history. Both are one encoding (AlertTransitionJSON).
@Suite struct AlertEventTests {
    @Test func theStreamsAlertEventIsTheTransitionAsTheHistoryShowsIt() async throws {
        let fixture = try APIFixture(tokens: false)
        let transition = AlertTransition(
            fingerprint: AlertFingerprint(rule: "low-energy", scopeKind: .tenant, scopeID: "alpha"), rule: "low-energy",
            scope: Scope(.tenant, 0), scopeID: "alpha", episode: 2, from: .pending, to: .firing,
            time: APIFixture.millis("2026-11-10T10:00:00"),
            values: Observation(value: 0.12, limit: 0.3, resolveLevel: 0.35, unit: "kWh/m²"),
            reason: .noData(.noDesignCapacity), severity: .warning, isFlapping: false)
        let place = AlertPlace(building: "tower", tenant: "alpha")
        try AlertStore(fixture.store).commit(alerts: [], actions: [.record(transition)], places: { _ in place }, now: transition.time)
        fixture.view.publishAlertEvents([(transition, place)])

        let event = try #require(fixture.view.events.subscribe(lastEventID: 0).missed.last)
        #expect(event.name == "alert")
        let sent = try #require(try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
        #expect((sent["time"] as? String)?.hasPrefix("2026-11-10T02:00:00") == true, "time: \(sent["time"] ?? "none")")
        #expect(sent["tenant"] as? String == "alpha")
        #expect(sent["detail"] as? String != nil)
        let sentText = event.data
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/alerts/history", method: .get) { response in
                let history = try #require(try response.json()["transitions"] as? [[String: Any]])
                #expect(history.count == 1)
                let sent = try JSONSerialization.jsonObject(with: Data(sentText.utf8)) as? [String: Any] ?? [:]
                #expect(NSDictionary(dictionary: history.first ?? [:]) == NSDictionary(dictionary: sent))
            }
        }
    }
}
