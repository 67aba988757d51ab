import Foundation
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyCore
import Testing

/// Topology, live state and series, read back through HTTP from a real store.
@Suite struct FiguresAPITests {
    @Test func topologyListsFloorsSpacesWithTodaysTenantTenantsAndPoints() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/topology", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let json = try response.json()
                let building = (json["buildings"] as! [[String: Any]])[0]
                #expect(building["timeZone"] as? String == "Asia/Shanghai")
                let floors = building["floors"] as! [[String: Any]]
                #expect(floors.map { $0["level"] as! Int } == [1, 2])
                let spaces = floors[0]["spaces"] as! [[String: Any]]
                #expect(spaces.map { $0["id"] as! String } == ["s1", "s2"])
                #expect(spaces[0]["tenant"] as? String == "alpha")
                #expect(spaces[1]["tenant"] == nil)  // vacant
                // Beta's lease of s3 starts on the 16th: vacant today.
                #expect((floors[1]["spaces"] as! [[String: Any]])[0]["tenant"] == nil)
                let tenants = json["tenants"] as! [[String: Any]]
                #expect((tenants[0]["targets"] as! [String: Any])["outputPerM2Month"] as? Double == 30)
                #expect((tenants[1]["leases"] as! [[String: Any]])[0]["start"] as? String == "2026-11-16")
                #expect((json["points"] as! [[String: Any]]).count == 5)
            }
        }
    }

    /// A dashboard's browser asks again with the tag of what it holds: while the answer is the same it
    /// gets 304 and no body (the topology of 100,000 points is megabytes), once it changed the new answer.
    @Test func anAnswerTheClientHoldsComesBackAs304WithoutABodyUntilItChanges() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            for path in ["/api/v1/topology", "/api/v1/live", "/api/v1/series?scope=tenant:alpha&resolution=minute"] {
                let first = try await client.execute(uri: path, method: .get, headers: APIFixture.read)
                #expect(first.status == .ok, "\(path)")
                let tag = try #require(first.headers[.eTag], "\(path) has no ETag")
                #expect(first.headers[.cacheControl] == "no-cache")
                var asking = APIFixture.read
                for held in [tag, "\"other\", W/\(tag)", "*"] {
                    asking[.ifNoneMatch] = held
                    let again = try await client.execute(uri: path, method: .get, headers: asking)
                    #expect(again.status == .notModified, "\(path) with If-None-Match: \(held)")
                    #expect(again.body.readableBytes == 0)
                    #expect(again.headers[.eTag] == tag)
                }
                asking[.ifNoneMatch] = "\"not-this-one\""
                let other = try await client.execute(uri: path, method: .get, headers: asking)
                #expect(other.status == .ok)
                #expect(other.text == first.text)
            }

            let before = try await client.execute(uri: "/api/v1/topology", method: .get, headers: APIFixture.read)
            let tag = try #require(before.headers[.eTag])
            // A reload that ends beta's tenancy: what the client holds is no longer the answer.
            let topology = APIFixture.topology()
            fixture.view.apply(
                topology: Topology(buildings: topology.buildings, floors: topology.floors, spaces: topology.spaces, tenants: [topology.tenants[0]], points: topology.points),
                tokens: try TokenTable.parse("read \(APIFixture.readToken) dashboard\n"), openHealth: true)
            var asking = APIFixture.read
            asking[.ifNoneMatch] = tag
            let after = try await client.execute(uri: "/api/v1/topology", method: .get, headers: asking)
            #expect(after.status == .ok)
            #expect(after.headers[.eTag] != nil && after.headers[.eTag] != tag)
            #expect((try after.json()["tenants"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func liveStateHasEachScopesCurrentWindowsAndEachPointsLastReading() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/live?building=tower", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let json = try response.json()
                #expect((json["status"] as! [String: Any])["brokerConnected"] as? Bool == true)
                let building = (json["buildings"] as! [[String: Any]])[0]
                let windows = building["windows"] as! [String: String]
                #expect(windows["minute"] == "2026-11-10T02:29:00Z")  // the last complete minute
                #expect(windows["hour"] == "2026-11-10T02:00:00Z")
                #expect(windows["day"] == "2026-11-09T16:00:00Z")
                #expect(windows["month"] == "2026-10-31T16:00:00Z")

                let spaces = Dictionary(uniqueKeysWithValues: (building["spaces"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
                #expect(spaces["s1"]?["tenant"] as? String == "alpha")
                let s1 = spaces["s1"]!["figures"] as! [String: [String: Any]]
                #expect(s1["minute"]?["meanOccupancy"] as? Double == 12)
                #expect(s1["hour"]?["energy"] as? Double == 10)
                #expect(s1["hour"]?["output"] as? Double == 600)
                #expect(s1["hour"]?["leasedArea"] as? Double == 400)
                #expect(s1["hour"]?["energyIntensity"] as? Double == 0.025)
                #expect(s1["hour"]?["outputDensity"] as? Double == 1.5)
                #expect(s1["hour"]?["occupancyDensity"] as? Double == 3)
                #expect(s1["month"]?["energy"] as? Double == 10)
                let s2 = spaces["s2"]!["figures"] as! [String: [String: Any]]
                #expect(s2["minute"]?["meanPower"] as? Double == 5)
                #expect((spaces["s3"]?["figures"] as? [String: Any])?.isEmpty == true)  // nothing measured

                let whole = building["figures"] as! [String: [String: Any]]
                #expect(whole["hour"]?["energy"] as? Double == 10)
                let perMu = try #require(whole["hour"]?["energyPerMu"] as? Double)
                #expect(abs(perMu - 10 / (6666.7 / 666.67)) < 1e-9)

                let points = Dictionary(uniqueKeysWithValues: (building["points"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
                #expect(points["s1-kwh"]?["lastReading"] as? String == "2026-11-10T02:20:00.000Z")
                #expect(points["s3-kwh"]?["lastReading"] == nil)
                #expect((building["tenants"] as! [[String: Any]]).map { $0["id"] as! String }.contains("alpha"))
            }
            try await client.execute(uri: "/api/v1/live?building=elsewhere", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .notFound)
                let body = try response.json()
                #expect(body["parameter"] as? String == "building")
            }
        }
    }

    @Test func seriesGivesOneFigureOrAllFiguresWindowByWindow() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            let uri = "/api/v1/series?scope=tenant:alpha&resolution=minute&from=2026-11-10T02:00:00Z&to=2026-11-10T02:30:00Z&figure=energy"
            try await client.execute(uri: uri, method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let windows = try response.json()["windows"] as! [[String: Any]]
                #expect(windows.map { $0["windowStart"] as! String } == ["2026-11-10T02:00:00Z", "2026-11-10T02:10:00Z", "2026-11-10T02:20:00Z"])
                #expect(windows.map { $0["value"] as! Double } == [0, 4, 6])
            }
            try await client.execute(uri: "/api/v1/series?scope=building:tower&resolution=day&from=2026-11-01T00:00:00%2B08:00&to=2026-11-30T00:00:00%2B08:00", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let windows = try response.json()["windows"] as! [[String: Any]]
                #expect(windows.count == 1)
                let figures = windows[0]["figures"] as! [String: Any]
                #expect(figures["energy"] as? Double == 10)
                #expect(figures["output"] as? Double == 600)
                #expect(figures["resolution"] as? String == "day")
            }
            // By hour: alpha's 10 kWh all fall in 10:00–11:00 local; by month: November's figures whole.
            try await client.execute(uri: "/api/v1/series?scope=tenant:alpha&resolution=hour&from=2026-11-10T00:00:00Z&to=2026-11-10T03:00:00Z&figure=energy", method: .get, headers: APIFixture.read) { response in
                let windows = try response.json()["windows"] as! [[String: Any]]
                #expect(windows.map { $0["windowStart"] as! String } == ["2026-11-10T02:00:00Z"])
                #expect(windows.map { $0["value"] as! Double } == [10])
            }
            try await client.execute(uri: "/api/v1/series?scope=floor:tower/1&resolution=month&from=2026-10-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let json = try response.json()
                #expect(json["resolution"] as? String == "month")
                let windows = json["windows"] as! [[String: Any]]
                #expect(windows.map { $0["windowStart"] as! String } == ["2026-10-31T16:00:00Z"])  // 1 November in Shanghai
                let figures = windows[0]["figures"] as! [String: Any]
                #expect(figures["energy"] as? Double == 10)
                #expect(figures["output"] as? Double == 600)
                #expect(figures["resolution"] as? String == "month")
            }
            // Defaults: by hour, over the day up to now.
            try await client.execute(uri: "/api/v1/series?scope=space:s1", method: .get, headers: APIFixture.read) { response in
                let json = try response.json()
                #expect(json["resolution"] as? String == "hour")
                #expect(json["to"] as? String == "2026-11-10T02:30:30Z")
            }
        }
    }
}
