import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StoreyAPI
import StoreyConfig
import StoreyCore
import StoreyDaemon
import StoreyStore
import Testing

/// Acknowledging, taking an acknowledgement back, and silencing, through HTTP with the daemon's own
/// underuse monitor attached to the view (as storeyd wires it), over the alerts AlertAPITests raises:
/// what each answers, what the alert then shows, and the history entries the changes record.
@Suite struct AlertDeskTests {
    /// The view over the fixture's store with a real `UnderuseMonitor` as its alert desk, judging the
    /// fixture's rules on its topology at the fixture's clock.
    static func attachMonitor(to fixture: APIFixture) throws -> UnderuseMonitor {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("storey-desk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A configuration file for the parts the topology and rules below do not replace.
        try "mqtt:\n  url: mqtt://127.0.0.1:1\ntopology: topology.yaml\n".write(
            to: directory.appendingPathComponent("storey.yaml"), atomically: true, encoding: .utf8)
        try """
            buildings:
              - id: tower
                time_zone: Asia/Shanghai
                land_area: 6666.7
                floors:
                  - level: 1
                    area: 1000
                    spaces: [{ id: s1, area: 400, capacity: 20, points: [{ id: s1-kwh, quantity: energy }] }]
            """.write(to: directory.appendingPathComponent("topology.yaml"), atomically: true, encoding: .utf8)
        var configuration = try ConfigurationLoader.load(file: directory.appendingPathComponent("storey.yaml").path)
        configuration.topology = APIFixture.topology()
        configuration.rules = [AlertAPITests.tenantRule, AlertAPITests.floorRule]
        configuration.workingTimes = WorkingTimeTable(defaultHours: .always)
        let monitor = try UnderuseMonitor(
            configuration: configuration, store: fixture.store, logger: Logger(label: "storey.test.desk"),
            now: { APIFixture.now * 1000 }, caughtUp: { true }, connected: { true })
        monitor.onTransitions { fixture.view.publishAlertEvents($0) }
        fixture.view.attach(monitor)
        return monitor
    }

    static func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func anAdminAcknowledgesTakesItBackAndTheHistoryRecordsBoth() async throws {
        let fixture = try APIFixture()
        try AlertAPITests.raise(fixture)
        _ = try Self.attachMonitor(to: fixture)
        let alert = AlertAPITests.floorAlert  // not matched by the fixture's silence of tenant alpha
        let acknowledgement = "/api/v1/alerts/\(alert)/acknowledgement"
        let at = "2026-11-10T02:30:30Z"  // the fixture's clock, 10:30:30 in Shanghai
        try await fixture.application().test(.router) { client in
            try await client.execute(
                uri: acknowledgement, method: .post, headers: APIFixture.admin,
                body: Self.body(#"{"by": "li.wei", "comment": "line moved to floor 9"}"#)
            ) { response in
                #expect(response.status == .ok, "\(response.text)")
                let json = try response.json()
                #expect(json["state"] as? String == "firing")
                let acknowledged = try #require(json["acknowledgement"] as? [String: Any], "\(json)")
                #expect(acknowledged["by"] as? String == "li.wei")
                #expect(acknowledged["comment"] as? String == "line moved to floor 9")
                #expect(acknowledged["at"] as? String == at)
            }
            // The alert shows it, and its history ends with the acknowledgement: still firing, who and why.
            try await client.execute(uri: "/api/v1/alerts/\(alert)", method: .get, headers: APIFixture.read) { response in
                let json = try response.json()
                #expect((json["acknowledgement"] as? [String: Any])?["by"] as? String == "li.wei", "\(json)")
                let last = try #require((json["history"] as? [[String: Any]])?.last)
                #expect(last["reason"] as? String == "acknowledged")
                #expect(last["from"] as? String == "firing" && last["to"] as? String == "firing", "\(last)")
                #expect(last["detail"] as? String == "by li.wei: line moved to floor 9")
                #expect(last["time"] as? String == at, "\(last)")
                #expect(last["floor"] as? String == "tower/2")
            }
            // A read token may look but not take it back.
            try await client.execute(uri: acknowledgement, method: .delete, headers: APIFixture.read) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: acknowledgement + "?by=zhang.min", method: .delete, headers: APIFixture.admin) { response in
                #expect(response.status == .ok, "\(response.text)")
                let json = try response.json()
                #expect(json["acknowledgement"] == nil, "\(json)")
                #expect(json["state"] as? String == "firing")
            }
            try await client.execute(uri: acknowledgement, method: .delete, headers: APIFixture.admin) { response in
                #expect(response.status == .conflict)
                let json = try response.json()
                #expect(json["type"] as? String == "/api/v1/problems/not-acknowledged")
            }
            try await client.execute(uri: "/api/v1/alerts/history?fingerprint=\(alert)", method: .get, headers: APIFixture.read) { response in
                let history = try #require(try response.json()["transitions"] as? [[String: Any]])
                #expect(history.suffix(2).map { $0["reason"] as? String } == ["acknowledged", "unacknowledged"], "\(history)")
                #expect(history.last?["detail"] as? String == "by zhang.min")
            }
            // Both went out live too, as the stream's alert events.
            let events = fixture.view.events.subscribe(lastEventID: 0).missed.filter { $0.name == "alert" }
            #expect(events.map { $0.data.contains("\"reason\":\"acknowledged\"") } == [true, false], "\(events.map(\.data))")
            #expect(events.last?.data.contains("\"reason\":\"unacknowledged\"") == true)
        }
    }

    @Test func aSilenceSilencesTheAlertsItMatchesUntilItIsExpired() async throws {
        let fixture = try APIFixture()
        try AlertAPITests.raise(fixture)
        _ = try Self.attachMonitor(to: fixture)
        let alert = AlertAPITests.floorAlert
        try await fixture.application().test(.router) { client in
            var id = ""
            try await client.execute(
                uri: "/api/v1/silences", method: .post, headers: APIFixture.admin,
                body: Self.body(#"{"matchers": [{"name": "floor", "value": "tower/2", "isNegative": false}], "endsAt": "2099-01-01T00:00:00Z", "createdBy": "li.wei", "comment": "refit"}"#)
            ) { response in
                #expect(response.status == .created, "\(response.text)")
                let json = try response.json()
                id = try #require(json["id"] as? String)
                #expect(json["active"] as? Bool == true)
                #expect(json["startsAt"] as? String == "2026-11-10T02:30:30Z")
            }
            try await client.execute(uri: "/api/v1/alerts/\(alert)", method: .get, headers: APIFixture.read) { response in
                let json = try response.json()
                #expect(json["silenced"] as? Bool == true, "\(json)")
                #expect(json["state"] as? String == "firing")
            }
            // The tenant's alert is not on that floor: not silenced by it (the fixture's own silence of
            // alpha was stored before the monitor started, and it restores silences from the store).
            try await client.execute(uri: "/api/v1/silences", method: .get, headers: APIFixture.read) { response in
                let silences = try #require(try response.json()["silences"] as? [[String: Any]])
                let listed = try #require(silences.first { $0["id"] as? String == id }, "\(silences)")
                #expect(listed["createdBy"] as? String == "li.wei" && listed["comment"] as? String == "refit")
                #expect((listed["matchers"] as? [[String: Any]])?.first?["value"] as? String == "tower/2")
            }
            try await client.execute(uri: "/api/v1/silences/\(id)", method: .delete, headers: APIFixture.read) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/silences/\(id)", method: .delete, headers: APIFixture.admin) { response in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/api/v1/alerts/\(alert)", method: .get, headers: APIFixture.read) { response in
                let json = try response.json()
                #expect(json["silenced"] as? Bool == false, "\(json)")
            }
            try await client.execute(uri: "/api/v1/silences", method: .get, headers: APIFixture.read) { response in
                let silences = try #require(try response.json()["silences"] as? [[String: Any]])
                #expect(!silences.contains { $0["id"] as? String == id }, "an expired silence is listed only with expired=true")
            }
            try await client.execute(uri: "/api/v1/silences?expired=true", method: .get, headers: APIFixture.read) { response in
                let silences = try #require(try response.json()["silences"] as? [[String: Any]])
                #expect(silences.first { $0["id"] as? String == id }?["active"] as? Bool == false, "\(silences)")
            }
            try await client.execute(uri: "/api/v1/silences/\(id)-none", method: .delete, headers: APIFixture.admin) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
