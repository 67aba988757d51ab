import Foundation
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyCore
import Testing

@Suite struct ReportAPITests {
    @Test func tenantMonthReportHasDensitiesTargetsAndGaps() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/reports/tenants?month=2026-11", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let json = try response.json()
                #expect(json["from"] as? String == "2026-11-01")
                #expect(json["to"] as? String == "2026-11-30")
                #expect(json["months"] as? Double == 1)
                let lines = Dictionary(uniqueKeysWithValues: (json["lines"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
                let alpha = try #require(lines["alpha"])
                #expect(alpha["leasedArea"] as? Double == 400)
                #expect(alpha["energy"] as? Double == 10)
                #expect(alpha["output"] as? Double == 600)
                #expect(alpha["outputDensity"] as? Double == 1.5)
                #expect(alpha["outputTarget"] as? Double == 30)
                #expect(alpha["outputGap"] as? Double == -28.5)
                #expect(alpha["energyTarget"] as? Double == 10)
                #expect(alpha["energyGap"] as? Double == 0.025 - 10)
                #expect(alpha["meanOccupancy"] as? Double == 12)
                #expect(alpha["utilisation"] as? Double == 0.6)
                // Beta leases s3 (1,000 m²) from the 16th: 15 of 30 days.
                #expect(lines["beta"]?["leasedArea"] as? Double == 500)
                #expect(lines["beta"]?["outputTarget"] == nil)
            }
        }
    }

    @Test func anyPeriodScalesMonthlyTargetsByItsDays() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/reports/tenants?from=2026-11-10&to=2026-11-12&tenant=alpha", method: .get, headers: APIFixture.read) { response in
                let json = try response.json()
                let lines = json["lines"] as! [[String: Any]]
                #expect(lines.count == 1)
                #expect(lines[0]["days"] as? Int == 3)
                #expect(abs((lines[0]["outputTarget"] as! Double) - 3) < 1e-9)  // 30 a month × 3/30
                #expect(lines[0]["energy"] as? Double == 10)
            }
            // Outside the readings: nothing counted, and the readings say so.
            try await client.execute(uri: "/api/v1/reports/tenants?from=2026-10-01&to=2026-10-31&tenant=alpha", method: .get, headers: APIFixture.read) { response in
                let line = (try response.json()["lines"] as! [[String: Any]])[0]
                #expect(line["energy"] as? Double == 0)
                #expect(line["readings"] as? [String: Int] == [:])
            }
        }
    }

    @Test func buildingReportHasLandFiguresPerMu() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/reports/buildings?month=2026-11", method: .get, headers: APIFixture.read) { response in
                let line = (try response.json()["lines"] as! [[String: Any]])[0]
                #expect(line["id"] as? String == "tower")
                #expect(line["leasedArea"] as? Double == 900)  // s1 all month, s3 half of it
                let mu = 6666.7 / squareMetresPerMu
                #expect(abs((line["landAreaMu"] as! Double) - mu) < 1e-9)
                #expect(abs((line["outputPerMu"] as! Double) - 600 / mu) < 1e-9)
                #expect(abs((line["energyPerMu"] as! Double) - 10 / mu) < 1e-9)
                #expect(line["outputPerKWh"] as? Double == 60)
            }
        }
    }

    @Test func csvHasOneHeaderAndOneQuotedLinePerTenant() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            for request in [("/api/v1/reports/tenants?month=2026-11&format=csv", APIFixture.read), ("/api/v1/reports/tenants?month=2026-11", {
                var headers = APIFixture.read
                headers[.accept] = "text/csv"
                return headers
            }())] {
                try await client.execute(uri: request.0, method: .get, headers: request.1) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                    #expect(response.headers[.contentDisposition] == "attachment; filename=\"storey-tenants-2026-11-01-2026-11-30.csv\"")
                    let lines = response.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
                    #expect(lines.count == 3)
                    #expect(lines[0] == DensityReportLine.csvColumns.joined(separator: ","))
                    #expect(lines[1].hasPrefix("tenant,alpha,\"Alpha, Ltd\",tower,2026-11-01,2026-11-30,30,400,20,10,0,0,600,12,12,,0.6,0.025,3,1.5,30,-28.5,10,-9.975,"))
                    #expect(lines[2].hasPrefix("tenant,beta,Beta 贝塔,"))
                }
            }
        }
    }
}
