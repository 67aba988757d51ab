import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyCore
import StoreyStore
import Testing

/// Alerts and silences through HTTP, from alerts the real evaluator raised and the store committed:
/// listing with each filter and a period, one alert with its history, the silences in effect. (Acknowledging
/// and silencing through the daemon's underuse monitor are checked against the running storeyd in
/// UnderuseTests; here the view has no monitor attached, so it says it cannot change alerts.)
@Suite struct AlertAPITests {
    static let tenantRule = UnderuseRule(
        name: "energy-low", scope: ScopeSelector(.tenant), metric: .energyIntensity, window: .hour, condition: .below(0.05), applies: .always)
    static let floorRule = UnderuseRule(
        name: "floor-quiet", scope: ScopeSelector(.floor), metric: .energyIntensity, window: .hour, condition: .below(0.05), applies: .always)
    static var tenantAlert: String { AlertFingerprint(rule: "energy-low", scopeKind: .tenant, scopeID: "alpha").value }
    static var floorAlert: String { AlertFingerprint(rule: "floor-quiet", scopeKind: .floor, scopeID: "tower/2").value }

    /// Floor tower/2 fires for 08:00–09:00 (committed at 09:00:05), tenant alpha for 09:00–10:00 (at 10:00:05);
    /// a silence of alpha in effect until 2099, and one that ended yesterday.
    static func raise(_ fixture: APIFixture) throws {
        let alerts = AlertStore(fixture.store)
        var evaluator = UnderuseEvaluator(
            rules: [tenantRule, floorRule], topology: APIFixture.topology(), workingTimes: WorkingTimeTable(defaultHours: .always))
        func observe(_ scope: Scope, from start: String, to end: String, area: Double) throws {
            let (start, end) = (APIFixture.millis(start), APIFixture.millis(end))
            let figures = WindowFigures(
                windowStart: start / 1000,
                rows: [(.energy, FigureValues(amount: 1, sampleSum: 0, sampleCount: 0, sampleMax: -.infinity, levelSum: 0, levelMinutes: 0, levelPeak: -.infinity, readings: 60))],
                leasedArea: area)
            let before = evaluator.alerts
            let actions = evaluator.windowChanged(WindowObservation(scope: scope, resolution: .hour, start: start, end: end, figures: figures))
            // Only the alerts this window changed, as the underuse monitor commits them.
            _ = try alerts.commit(
                alerts: evaluator.alerts.filter { before[$0.key] != $0.value }.map(\.value), actions: actions,
                places: { $0.scope.kind == .tenant ? AlertPlace(building: "tower", tenant: "alpha") : AlertPlace(building: "tower", floor: "tower/2") },
                now: end + 5000)
        }
        try observe(Scope(.floor, 1), from: "2026-11-10T08:00:00", to: "2026-11-10T09:00:00", area: 1000)
        try observe(Scope(.tenant, 0), from: "2026-11-10T09:00:00", to: "2026-11-10T10:00:00", area: 400)
        _ = try alerts.commit(alerts: [], actions: [], places: { _ in AlertPlace() }, silencesSaved: [
            Silence(id: "until-2099", matchers: [LabelMatcher("tenant", "alpha")], start: APIFixture.millis("2026-11-10T10:10:00"), end: APIFixture.millis("2099-01-01T00:00:00"), creator: "li.wei", comment: "moving"),
            Silence(id: "yesterday", matchers: [LabelMatcher("floor", "tower/2")], start: APIFixture.millis("2026-11-09T08:00:00"), end: APIFixture.millis("2026-11-09T18:00:00"), creator: "li.wei"),
        ], now: APIFixture.millis("2026-11-10T10:10:00"))
    }

    @Test func alertsAreListedByStateBuildingFloorTenantRuleAndPeriod() async throws {
        let fixture = try APIFixture()
        try Self.raise(fixture)
        try await fixture.application().test(.router) { client in
            func listed(_ query: String) async throws -> [String] {
                try await client.execute(uri: "/api/v1/alerts" + query, method: .get, headers: APIFixture.read) { response in
                    #expect(response.status == .ok, "\(query)")
                    return (try response.json()["alerts"] as? [[String: Any]] ?? []).map { $0["fingerprint"] as! String }
                }
            }
            let (tenant, floor) = (Self.tenantAlert, Self.floorAlert)
            #expect(try await listed("") == [tenant, floor])  // newest change first
            #expect(try await listed("?state=firing&building=tower") == [tenant, floor])
            #expect(try await listed("?state=pending").isEmpty)
            #expect(try await listed("?building=elsewhere").isEmpty)
            #expect(try await listed("?floor=tower/2") == [floor])
            #expect(try await listed("?tenant=alpha") == [tenant])
            #expect(try await listed("?rule=floor-quiet") == [floor])
            // The period: alerts changed since `from`, and begun before `to`.
            #expect(try await listed("?from=2026-11-10T09:30:00%2B08:00") == [tenant])
            #expect(try await listed("?to=2026-11-10T09:30:00%2B08:00") == [floor])
            #expect(try await listed("?from=2026-11-10T08:30:00%2B08:00&to=2026-11-10T10:30:00%2B08:00") == [tenant, floor])
            #expect(try await listed("?from=2026-11-10T11:00:00%2B08:00").isEmpty)

            try await client.execute(uri: "/api/v1/alerts?tenant=alpha", method: .get, headers: APIFixture.read) { response in
                let alert = try #require((try response.json()["alerts"] as? [[String: Any]])?.first)
                #expect(alert["state"] as? String == "firing")
                #expect(alert["scope"] as? String == "tenant:alpha")
                #expect(alert["value"] as? Double == 1.0 / 400)
                #expect(alert["limit"] as? Double == 0.05)
                #expect(alert["updatedAt"] as? String == "2026-11-10T02:00:05Z")
                #expect(alert["history"] == nil)
            }
            for (query, parameter) in [("?state=burning", "state"), ("?from=yesterday", "from"), ("?to=2026-13-01", "to")] {
                try await client.execute(uri: "/api/v1/alerts" + query, method: .get, headers: APIFixture.read) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    let json = try response.json()
                    #expect(json["parameter"] as? String == parameter, "\(query)")
                }
            }
        }
    }

    @Test func oneAlertComesWithItsHistory() async throws {
        let fixture = try APIFixture()
        try Self.raise(fixture)
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/alerts/\(Self.floorAlert)", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let alert = try response.json()
                #expect(alert["rule"] as? String == "floor-quiet")
                let history = try #require(alert["history"] as? [[String: Any]])
                #expect(history.last?["to"] as? String == "firing", "\(history)")
                #expect(history.allSatisfy { $0["floor"] as? String == "tower/2" })
            }
            try await client.execute(uri: "/api/v1/alerts/0000000000000000", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .notFound)
                let json = try response.json()
                #expect(json["parameter"] as? String == "fingerprint")
            }
        }
    }

    @Test func silencesInEffectAreListedAndEndedOnesOnRequest() async throws {
        let fixture = try APIFixture()
        try Self.raise(fixture)
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/silences", method: .get, headers: APIFixture.read) { response in
                let silences = try #require(try response.json()["silences"] as? [[String: Any]])
                #expect(silences.map { $0["id"] as? String } == ["until-2099"])
                #expect(silences[0]["active"] as? Bool == true)
                #expect(silences[0]["createdBy"] as? String == "li.wei")
                #expect((silences[0]["matchers"] as? [[String: Any]])?.first?["value"] as? String == "alpha")
            }
            try await client.execute(uri: "/api/v1/silences?expired=true", method: .get, headers: APIFixture.read) { response in
                let silences = try #require(try response.json()["silences"] as? [[String: Any]])
                #expect(Set(silences.compactMap { $0["id"] as? String }) == ["until-2099", "yesterday"])
                #expect(silences.first { $0["id"] as? String == "yesterday" }?["active"] as? Bool == false)
            }
            try await client.execute(uri: "/api/v1/silences?expired=maybe", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .badRequest)
                let json = try response.json()
                #expect(json["parameter"] as? String == "expired")
            }
        }
    }

    /// Changes are refused with a problem naming the fault: a read token (403), a bad body (400), and,
    /// with no underuse monitor attached to the view, 503 rather than a change that would not be judged.
    @Test func changesNeedAnAdminTokenAGoodBodyAndTheUnderuseMonitor() async throws {
        let fixture = try APIFixture()
        try Self.raise(fixture)
        try await fixture.application().test(.router) { client in
            let acknowledgement = "/api/v1/alerts/\(Self.tenantAlert)/acknowledgement"
            try await client.execute(uri: acknowledgement, method: .post, headers: APIFixture.read, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: acknowledgement, method: .post, headers: APIFixture.admin, body: ByteBuffer(string: "{\"by\": 7}")) { response in
                #expect(response.status == .badRequest)
                let json = try response.json()
                #expect(json["type"] as? String == "/api/v1/problems/bad-body")
            }
            let silences: [(String, String)] = [
                ("{\"matchers\": [], \"endsAt\": \"2099-01-01T00:00:00Z\", \"createdBy\": \"li.wei\"}", "matchers"),
                ("{\"matchers\": [{\"name\": \"tenant\", \"value\": \"alpha\", \"isNegative\": false}], \"startsAt\": \"2026-11-11T00:00:00Z\", \"endsAt\": \"2026-11-10T00:00:00Z\", \"createdBy\": \"li.wei\"}", "endsAt"),
                ("{\"matchers\": [{\"name\": \"tenant\", \"value\": \"alpha\", \"isNegative\": false}], \"endsAt\": \"soon\", \"createdBy\": \"li.wei\"}", "endsAt"),
            ]
            for (body, parameter) in silences {
                try await client.execute(uri: "/api/v1/silences", method: .post, headers: APIFixture.admin, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                    let json = try response.json()
                    #expect(json["parameter"] as? String == parameter, "\(body)")
                }
            }
            for (uri, method) in [(acknowledgement, HTTPRequest.Method.post), (acknowledgement, .delete), ("/api/v1/silences/until-2099", .delete)] {
                try await client.execute(uri: uri, method: method, headers: APIFixture.admin, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .serviceUnavailable, "\(method) \(uri)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let json = try response.json()
                    #expect(json["detail"] as? String == "alerts are not judged by this process")
                }
            }
            // And the document says these operations may answer so.
            let paths = OpenAPIDocumentTests.document["paths"] as! [String: [String: Any]]
            for (path, method) in [
                ("/api/v1/alerts/{fingerprint}/acknowledgement", "post"), ("/api/v1/alerts/{fingerprint}/acknowledgement", "delete"),
                ("/api/v1/silences", "post"), ("/api/v1/silences/{id}", "delete"), ("/api/v1/outbox", "get"), ("/api/v1/outbox/{id}/replay", "post"),
            ] {
                let responses = (paths[path]?[method] as? [String: Any])?["responses"] as? [String: Any]
                #expect((responses?["503"] as? [String: Any])?["$ref"] as? String == "#/components/responses/Unavailable", "\(method) \(path)")
            }
        }
    }
}
