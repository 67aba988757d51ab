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

    @Test func buildingReportForAnyPeriodAsJSONAndCSV() async throws {
        let fixture = try APIFixture()
        try await fixture.application().test(.router) { client in
            // 10–19 November: s1 all ten days, s3 (beta's from the 16th) four of them.
            try await client.execute(uri: "/api/v1/reports/buildings?from=2026-11-10&to=2026-11-19&building=tower", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                let json = try response.json()
                #expect(json["from"] as? String == "2026-11-10")
                #expect(json["to"] as? String == "2026-11-19")
                let lines = json["lines"] as! [[String: Any]]
                #expect(lines.count == 1)
                #expect(lines[0]["days"] as? Int == 10)
                #expect(abs((lines[0]["leasedArea"] as! Double) - (400 + 1000 * 4 / 10)) < 1e-9)
                #expect(lines[0]["energy"] as? Double == 10)
                #expect(lines[0]["output"] as? Double == 600)
                let mu = 6666.7 / squareMetresPerMu
                #expect(abs((lines[0]["outputPerMu"] as! Double) - 600 / mu) < 1e-9)
            }
            try await client.execute(uri: "/api/v1/reports/buildings?from=2026-11-10&to=2026-11-19&format=csv", method: .get, headers: APIFixture.read) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"storey-buildings-2026-11-10-2026-11-19.csv\"")
                let lines = response.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
                #expect(lines.count == 2)
                let header = lines[0].components(separatedBy: ",")
                #expect(header == DensityReportLine.csvColumns)
                // The land figures are in the building's CSV line, in their columns.
                let values = lines[1].components(separatedBy: ",")
                #expect(values.count == header.count)
                let outputPerMu = try #require(header.firstIndex(of: "outputPerMu"))
                #expect(abs((Double(values[outputPerMu]) ?? 0) - 600 / (6666.7 / squareMetresPerMu)) < 1e-6)
                #expect(values[0] == "building" && values[1] == "tower")
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
                    #expect(lines[1].hasPrefix("tenant,alpha,\"Alpha, Ltd\",tower,2026-11-01,2026-11-30,30,400,20,10,0,0,600,12,12,,0.6,0.025,0,3,1.5,30,-28.5,10,-9.975,"))
                    #expect(lines[2].hasPrefix("tenant,beta,Beta 贝塔,"))
                }
            }
        }
    }

    @Test func utilisationCountsOnlyTheTenantsWorkingHours() async throws {
        // Alpha works 08:30–17:30 on weekdays; the building's default is 08:00–18:00.
        let weekdays = WorkingHours(shifts: [Shift(start: 8 * 60 + 30, end: 17 * 60 + 30)])
        let fixture = try APIFixture(workingTimes: WorkingTimeTable(defaultHours: WorkingHours(shifts: [Shift(start: 480, end: 1080)]), tenantHours: [0: weekdays]))
        // Besides the fixture's 12 persons at 10:29 (Tuesday): 8 at 08:40 (worked, in the hour the shift
        // starts in), 4 at 08:10 (before the shift), 2 at 20:00 and 1 on Saturday (not working time).
        try fixture.store.ingest([
            Reading(point: 1, time: APIFixture.millis("2026-11-10T08:40:00"), value: 8),
            Reading(point: 1, time: APIFixture.millis("2026-11-10T08:10:00"), value: 4),
            Reading(point: 1, time: APIFixture.millis("2026-11-10T20:00:00"), value: 2),
            Reading(point: 1, time: APIFixture.millis("2026-11-14T10:00:00"), value: 1),
        ])
        try await fixture.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/reports/tenants?month=2026-11&tenant=alpha", method: .get, headers: APIFixture.read) { response in
                let line = (try response.json()["lines"] as! [[String: Any]])[0]
                // Every minute with data: (12 + 8 + 4 + 2 + 1) / 5 persons; working minutes: (12 + 8) / 2.
                #expect(line["meanOccupancy"] as? Double == 27.0 / 5)
                #expect(line["utilisation"] as? Double == 10.0 / 20)
                // 21 weekdays in November 2026, 9 hours each.
                #expect(line["workingHours"] as? Double == 21.0 * 9)
                #expect(line["occupiedShare"] == nil)  // alpha has no presence sensor
            }
        }
        // Without working hours (every minute counts) the evening's 2 persons pull utilisation down.
        let always = try APIFixture()
        try always.store.ingest([Reading(point: 1, time: APIFixture.millis("2026-11-10T20:00:00"), value: 2)])
        try await always.application().test(.router) { client in
            try await client.execute(uri: "/api/v1/reports/tenants?month=2026-11&tenant=alpha", method: .get, headers: APIFixture.read) { response in
                let line = (try response.json()["lines"] as! [[String: Any]])[0]
                #expect(line["utilisation"] as? Double == 7.0 / 20)
            }
        }
    }

    @Test func workingTimeLevelsTakeWholeHoursFromHourRowsAndShiftEdgesFromMinutes() {
        let zone = TimeZone(identifier: "Asia/Shanghai")!
        var levels = WorkingTimeLevels(workingTime: WorkingTime(hours: WorkingHours(shifts: [Shift(start: 8 * 60 + 30, end: 10 * 60)]), timeZone: zone))
        let eight = APIFixture.millis("2026-11-10T08:00:00") / 1000
        func level(_ persons: Double, minutes: Int = 1) -> FigureValues {
            var values = FigureValues()
            values.levelSum = persons * Double(minutes)
            values.levelMinutes = minutes
            return values
        }
        #expect(levels.workingMinutes(inHourStarting: eight) == 30)
        #expect(levels.workingMinutes(inHourStarting: eight + 3600) == 60)
        #expect(levels.partlyWorkedHours([eight - 3600, eight, eight + 3600]) == [eight])
        // 09:00–10:00 wholly worked (60 minutes of 5); 08:00–09:00 half: counted from its minutes only.
        levels.addHours([(eight, level(100, minutes: 60)), (eight + 3600, level(5, minutes: 60)), (eight + 7200, level(100, minutes: 60))], of: .occupancy)
        levels.addMinutes([(eight + 10 * 60, level(100)), (eight + 40 * 60, level(65)), (eight + 3600 + 60, level(100))], of: .occupancy, partlyWorkedHours: [eight])
        #expect(levels.occupancy.levelMinutes == 61)
        let expected: Double = (5 * 60 + 65) / 61
        #expect(levels.occupancy.meanLevel == expected)
        #expect(levels.scheduledHours(from: eight, to: eight + 86_400) == 1.5)
    }
}
