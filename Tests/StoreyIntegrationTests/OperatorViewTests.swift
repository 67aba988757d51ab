import Foundation
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The operator's view of a real storeyd, with readings flowing from the simulator through a real broker:
/// a real browser renders the dashboard, and schemathesis holds the API to its own OpenAPI document.
@Suite(.serialized) struct OperatorViewTests {
    static let readToken = "operator-read-token-0123456789"
    static let adminToken = "operator-admin-token-0123456789"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// storeyd on the demo tower with a token list, and `storey simulate` publishing its readings.
    struct RunningTower {
        let broker: TestBroker
        let daemon: StoreydProcess
        let simulator: ChildProcess
        /// `/api/v1/topology` as the daemon answered it.
        let estate: [String: Any]
        /// The space the browser taps first; it has power history of two weeks ago (a baseline of its own).
        let tappedSpace: String

        /// `rules`: an `alerting:` and `rules:` section for storeyd's configuration.
        init(rules: String = "") async throws {
            broker = try await TestBroker()
            let topology = try String(contentsOf: OperatorViewTests.repository.appendingPathComponent("Deploy/config/topology.yaml"), encoding: .utf8)
            daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
            let tokens = daemon.directory.appendingPathComponent("tokens")
            try "read \(OperatorViewTests.readToken) browser\nadmin \(OperatorViewTests.adminToken) tests\n".write(to: tokens, atomically: true, encoding: .utf8)
            try daemon.writeConfiguration(topology: topology, mqttSection: "http:\n  tokens_file: \(tokens.path)\n\(rules)")
            try daemon.start()
            try await daemon.waitUntilReady()
            // The space the browser test taps first (the top floor's first leased space) gets the last quarter
            // hour of its power, so its sparkline has a history to draw.
            let topologyJSON = try await runCommand(
                URL(fileURLWithPath: "/usr/bin/curl"),
                ["-s", "-H", "Authorization: Bearer \(OperatorViewTests.readToken)", "http://127.0.0.1:\(daemon.httpPort)/api/v1/topology"], timeout: .seconds(10))
            estate = try JSONSerialization.jsonObject(with: Data(topologyJSON.output.utf8)) as! [String: Any]
            let floors = ((estate["buildings"] as! [[String: Any]])[0]["floors"] as! [[String: Any]]).sorted { ($0["level"] as! Int) > ($1["level"] as! Int) }
            let tapped = floors.lazy.flatMap { $0["spaces"] as! [[String: Any]] }.first { $0["tenant"] != nil }!["id"] as! String
            tappedSpace = tapped
            let power = (estate["points"] as! [[String: Any]]).first { $0["space"] as? String == tapped && $0["quantity"] as? String == "power" }!
            let now = Int(Date().timeIntervalSince1970)
            var history = (1...15).reversed().map { "{\"value\": \(100 + $0 * 3), \"ts\": \(now - $0 * 60)}" }.joined(separator: "\n") + "\n"
            // And 150 kW around this time of the week one and two weeks ago: a baseline of its own (the
            // building's comes from the same readings), so the map colours it against its usual level.
            for week in [2, 1] {
                history += (-5...5).map { "{\"value\": 150, \"ts\": \(now - week * 7 * 86_400 + $0 * 60)}" }.joined(separator: "\n") + "\n"
            }
            let published = try await runCommand(
                URL(fileURLWithPath: "/usr/bin/mosquitto_pub"),
                ["-h", "127.0.0.1", "-p", "\(broker.port)", "-q", "1", "-t", power["topic"] as! String, "-l"],
                input: Data(history.utf8), timeout: .seconds(20))
            guard published.status == 0 else { throw TestSupportError("mosquitto_pub failed: \(published.errorOutput)") }
            let storey = StoreydProcess.binary.deletingLastPathComponent().appendingPathComponent("storey").path
            simulator = try ChildProcess(
                storey, ["simulate", "--config", daemon.configFile, "--mqtt-url", "mqtt://127.0.0.1:\(broker.port)", "--plan", OperatorViewTests.repository.appendingPathComponent("Deploy/config/simulation.yaml").path,
                 "--interval", "2", "--duration", "300"],
                outputFile: daemon.directory.appendingPathComponent("simulate.log").path)
            // The simulator's readings are stored, beyond the 37 of history above: the tenants' figures exist.
            try await daemon.waitUntil("simulated readings stored") { try await daemon.metric("storey_readings_accepted_total") > 37 + 150 }
        }

        func stop() async throws {
            simulator.stop()
            try await daemon.stop()
            broker.stop()
        }
    }

    /// A rule that fires for one tenant at the first minute judged with its readings: an open alert for
    /// the dashboard to acknowledge.
    static let firingRule = """
        alerting:
          evaluate_every: 1s
          late_readings_grace: 5s
        rules:
          - name: dashboard-drill
            scope: { kind: tenant, ids: [xinda-electronics] }
            metric: power
            window: minute
            condition: { below: 1000000 }
            applies: always
        """

    @Test func theDashboardDrawsTheTowerLiveInEnglishAndChinese() async throws {
        let tower = try await RunningTower(rules: Self.firingRule)
        let screenshots = Self.repository.appendingPathComponent(".build/screenshots")
        // The browser runs on its own while this test causes the outages it asks for: first the broker
        // stops, then storeyd (the files it writes say when).
        let outages = tower.daemon.directory.appendingPathComponent("outages")
        try FileManager.default.createDirectory(at: outages, withIntermediateDirectories: true)
        let (outputFile, errorFile) = (outages.appendingPathComponent("report.json").path, outages.appendingPathComponent("browser.log").path)
        let browser = try ChildProcess(
            "/usr/bin/env",
            ["python3", Self.repository.appendingPathComponent("Tests/Browser/dashboard_check.py").path, "http://127.0.0.1:\(tower.daemon.httpPort)/",
             "--token", Self.readToken, "--screenshots", screenshots.path, "--timeout", "45", "--outages", outages.path,
             "--admin-token", Self.adminToken, "--alert-timeout", "150"],
            outputFile: outputFile, errorFile: errorFile)
        let deadline = ContinuousClock.now + .seconds(240)
        var (brokerStopped, daemonStopped) = (false, false)
        // What the API says while the page is looked at: the alert the page acknowledged, and the tenants'
        // gaps to target for the month so far (asked with no readings arriving, the figures the page sorted).
        var (acknowledgedAlert, gapReport): (String?, String?) = (nil, nil)
        var streamClientsAfterAdminToken: Double?
        let api = "http://127.0.0.1:\(tower.daemon.httpPort)/api/v1"
        func ask(_ path: String) async throws -> String {
            try await runCommand(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-H", "Authorization: Bearer \(Self.readToken)", api + path], timeout: StoreydProcess.httpTimeout
            ).output
        }
        while browser.isRunning && ContinuousClock.now < deadline {
            let acknowledged = outages.appendingPathComponent("acknowledged").path
            if acknowledgedAlert == nil, let fingerprint = try? String(contentsOfFile: acknowledged, encoding: .utf8), !fingerprint.isEmpty {
                acknowledgedAlert = try await ask("/alerts/\(fingerprint)")
                streamClientsAfterAdminToken = try await tower.daemon.metric("storey_event_stream_clients")
                FileManager.default.createFile(atPath: outages.appendingPathComponent("asked").path, contents: nil)
            }
            if !brokerStopped && FileManager.default.fileExists(atPath: outages.appendingPathComponent("broker-outage").path) {
                tower.broker.stop()
                brokerStopped = true
            }
            if gapReport == nil && FileManager.default.fileExists(atPath: outages.appendingPathComponent("gap-sorted").path) {
                gapReport = try await ask("/reports/tenants?from=\(Self.buildingToday.prefix(8))01&to=\(Self.buildingToday)")
            }
            if !daemonStopped && FileManager.default.fileExists(atPath: outages.appendingPathComponent("stream-outage").path) {
                _ = try await tower.daemon.stop()
                daemonStopped = true
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        browser.stop(signal: SIGKILL)
        try await tower.stop()
        let errors = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
        #expect(browser.terminationStatus == 0, "\(errors)")
        let output = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)\n\(errors)")
        #expect(report["loaded"] as? Bool == true, "the dashboard never showed filled figures with the stream up: \(output)")
        let english = try #require(report["english"] as? [String: Any])
        // As many floors, spaces and vacant spaces as the topology has (Deploy/config/topology.yaml), roof first.
        let floors = ((tower.estate["buildings"] as! [[String: Any]])[0]["floors"] as! [[String: Any]])
        let levels = floors.map { $0["level"] as! Int }.sorted(by: >)
        let spaces = floors.flatMap { $0["spaces"] as! [[String: Any]] }
        #expect(english["floorLabels"] as? [String] == levels.map { "Floor \($0)" })
        #expect(english["spaces"] as? Int == spaces.count)
        #expect(english["vacantSpaces"] as? Int == spaces.filter { $0["tenant"] == nil }.count)
        #expect((english["colouredSpaces"] as? Int ?? 0) >= 1)
        // Coloured against baselines by default: the tapped space against its own usual power density, the
        // others (no history of their own) against the building's; the legend says what the colours mean.
        #expect(english["colourMode"] as? String == "baseline")
        #expect(english["shardsShown"] as? Bool == false, "a single instance has no shards to show")
        let bases = try #require(english["bases"] as? [String: Any])
        #expect((bases["own"] as? [String])?.contains(tower.tappedSpace) == true, "\(bases)")
        #expect(((bases["building"] as? [String])?.count ?? 0) >= 1, "\(bases)")
        let tappedShare = try #require((english["shares"] as? [String: Any])?[tower.tappedSpace] as? Double)
        #expect(tappedShare > 0 && tappedShare < 10, "this hour's power against its usual 150 kW: \(tappedShare)")
        #expect((english["legend"] as? String)?.contains("its usual level or busier") == true, "\(english["legend"] ?? "")")
        #expect((english["legend"] as? String)?.contains("compared with the building's usual density") == true)
        let rows = try #require(english["tenantRows"] as? [[String]])
        #expect(rows.count == (tower.estate["tenants"] as! [Any]).count)
        // Energy intensity and occupancy density filled for the tenants with readings (a lease that has not
        // begun has none).
        let filled = rows.filter { $0[2] != "—" && $0[3] != "—" }
        #expect(filled.count >= rows.count * 3 / 4, "energy intensity and occupancy density filled: \(rows)")
        #expect(english["streamState"] as? String == "up")
        #expect(english["brokerState"] as? String == "connected")
        #expect(english["tenantsHeading"] as? String == "Tenants")

        // The alerts panel: open alerts (or plainly none), and a tenant's history on a click of its row.
        #expect(english["alertsHeading"] as? String == "Open alerts")
        #expect(english["alertsShown"] as? Bool == true)
        let detail = try #require(report["detail"] as? [String: Any])
        #expect((detail["historyTitle"] as? String)?.hasPrefix("Alert history of") == true, "\(detail["historyTitle"] ?? "none")")
        #expect((detail["historyItems"] as? Int ?? 0) >= 1)
        #expect(detail["detailVisible"] as? Bool == true)
        #expect((detail["detailTitle"] as? String)?.contains("—") == true)
        #expect((detail["detailFigures"] as? [String])?.first { $0.hasSuffix("m²") } != nil)
        #expect((detail["sparklinePoints"] as? String)?.isEmpty == false, "the sparkline was drawn")
        #expect(detail["sortedColumn"] as? String == "outputDensity")

        let chinese = try #require(report["chinese"] as? [String: Any])
        #expect(chinese["lang"] as? String == "zh-CN")
        #expect(chinese["tenantsHeading"] as? String == "租户")
        #expect(chinese["alertsHeading"] as? String == "未处理告警")
        #expect((chinese["floorLabels"] as? [String])?.first == "楼层 \(levels[0])")
        #expect((chinese["legend"] as? String)?.contains("达到或高于常态") == true, "\(chinese["legend"] ?? "")")

        // It says plainly when the broker is down (the daemon's status reaches it over the stream, which is
        // still up), then when the stream itself is down; in the language chosen, Chinese by now.
        let brokerDown = try #require(report["brokerDown"] as? [String: Any])
        #expect(brokerDown["brokerState"] as? String == "down")
        #expect((brokerDown["brokerText"] as? String)?.contains("MQTT 消息服务器未连接") == true, "\(brokerDown["brokerText"] ?? "none")")
        #expect(brokerDown["streamState"] as? String == "up")
        let streamDown = try #require(report["streamDown"] as? [String: Any])
        #expect(streamDown["streamState"] as? String == "down")
        #expect((streamDown["streamText"] as? String)?.contains("实时数据流已断开") == true, "\(streamDown["streamText"] ?? "none")")

        // Acknowledged from the page: refused with the read token (the page asks for an admin token), then
        // done with the admin token entered in its form; the API and the page both show it, in Chinese by now.
        let acknowledge = try #require(report["acknowledge"] as? [String: Any])
        #expect(acknowledge["firing"] as? Bool == true, "no firing alert to acknowledge: \(acknowledge)")
        #expect(acknowledge["buttonText"] as? String == "确认")
        #expect(acknowledge["readTokenMessage"] as? String == "确认告警需要管理员令牌：请在上方输入。", "\(acknowledge)")
        #expect(acknowledge["tokenFormShown"] as? Bool == true)
        #expect(acknowledge["acknowledged"] as? Bool == true, "\(acknowledge)")
        #expect((acknowledge["stateText"] as? String)?.contains("已确认： dashboard") == true, "\(acknowledge)")
        #expect(acknowledge["buttonTextAfter"] as? String == "撤销确认")
        // The page reloaded with the admin token but still follows the stream once.
        #expect(streamClientsAfterAdminToken == 1)
        let alert = try acknowledgedAlert.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
        #expect(alert["fingerprint"] as? String == acknowledge["fingerprint"] as? String, "\(acknowledgedAlert ?? "the API not asked")")
        #expect(alert["rule"] as? String == "dashboard-drill")
        #expect((alert["acknowledgement"] as? [String: Any])?["by"] as? String == "dashboard", "\(alert)")
        #expect((alert["history"] as? [[String: Any]])?.last?["reason"] as? String == "acknowledged", "\(alert["history"] ?? "")")
        // The link notifications carry for it opens the dashboard on that alert: marked, its history listed.
        let link = try #require(acknowledge["link"] as? [String: Any], "\(acknowledge)")
        #expect(link["shown"] as? Bool == true, "\(link)")
        #expect((link["title"] as? String)?.hasPrefix("该告警的记录：") == true, "\(link)")
        #expect(link["linkedRow"] as? String == acknowledge["fingerprint"] as? String, "\(link)")
        #expect((link["items"] as? [String])?.isEmpty == false, "\(link)")
        #expect((link["exceptions"] as? [Any])?.isEmpty == true, "\(link)")

        // Sorted by gap to target, both ways, the rows follow the gaps the API reports for the month so far.
        #expect(report["reloadedAfterBrokerDown"] as? Bool == true)
        let reported = try #require(try gapReport.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }, "\(gapReport ?? "not asked")")
        let lines = try #require(reported["lines"] as? [[String: Any]])
        let gaps = Dictionary(uniqueKeysWithValues: lines.map { ($0["id"] as! String, $0["outputGap"] as? Double) })
        let targets = Dictionary(uniqueKeysWithValues: (tower.estate["tenants"] as! [[String: Any]]).map {
            ($0["id"] as! String, (($0["targets"] as? [String: Any])?["outputPerM2Month"] as? Double) ?? 0)
        })
        #expect(gaps.values.contains { $0 != nil }, "tenants with targets and output: \(gaps)")
        for (name, direction) in [("gapAscending", "ascending"), ("gapDescending", "descending")] {
            let order = try #require(report[name] as? [String: Any], "\(name)")
            #expect(order["sortedColumn"] as? String == "gap" && order["direction"] as? String == direction, "\(order)")
            let rows = try #require(order["rows"] as? [[String]]).map { $0[0] }
            #expect(rows.count == rows.filter { gaps[$0] != nil }.count, "every row a tenant the report has: \(rows)")
            #expect(Self.followsGaps(rows, gaps: gaps.compactMapValues { $0 }, targets: targets, ascending: direction == "ascending", daysInMonth: Self.buildingDaysInMonth),
                "\(direction): \(rows.map { "\($0) \(gaps[$0].flatMap { $0 }.map { String($0) } ?? "—")" })")
        }

        for snapshot in [english, detail, chinese, brokerDown, streamDown] {
            #expect((snapshot["scriptErrors"] as? String ?? "").isEmpty)
        }
        #expect((report["exceptions"] as? [Any])?.isEmpty == true, "script exceptions: \(report["exceptions"] ?? [])")
        // The one refusal asked for: acknowledging with the read token (chromium logs a refused request).
        let consoleErrors = (report["consoleErrors"] as? [String])?.filter { !($0.contains("403") && $0.contains("/acknowledgement")) }
        #expect(consoleErrors?.isEmpty == true, "console errors: \(report["consoleErrors"] ?? [])")
        for name in ["dashboard-en.png", "dashboard-zh.png", "dashboard-broker-down.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: screenshots.appendingPathComponent(name).path)[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name) saved")
        }
    }

    /// Whether `rows` (tenant ids, as the page ordered them) are in the order of the API's `gaps`, those
    /// without a gap last. The page's gap prorates the monthly target to the hours of the month gone; the
    /// report's, to whole days including today: a tenant's two gaps differ by its target times at most a
    /// day's share of the month, so two neighbours may look out of order by their targets' difference
    /// times that share, and no more.
    static func followsGaps(_ rows: [String], gaps: [String: Double], targets: [String: Double], ascending: Bool, daysInMonth: Int) -> Bool {
        let withGap = rows.prefix { gaps[$0] != nil }
        guard rows.dropFirst(withGap.count).allSatisfy({ gaps[$0] == nil }) else { return false }
        return zip(withGap, withGap.dropFirst()).allSatisfy { first, second in
            let (before, after) = ascending ? (first, second) : (second, first)
            let allowance = max(0, targets[after, default: 0] - targets[before, default: 0]) / Double(daysInMonth)
            return gaps[before]! <= gaps[after]! + allowance + 1e-9 * max(1, abs(gaps[after]!))
        }
    }

    /// Today, and the days of this month, in the demo tower's time zone.
    static var buildingToday: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
    static var buildingDaysInMonth: Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar.range(of: .day, in: .month, for: Date())!.count
    }

    @Test func theRunningDaemonConformsToItsOpenAPIDocument() async throws {
        let tower = try await RunningTower()
        let base = "http://127.0.0.1:\(tower.daemon.httpPort)"
        // The document served is the one in the repository.
        let served = try await tower.daemon.httpBody("/api/v1/openapi.yaml")
        let kept = try String(contentsOf: Self.repository.appendingPathComponent("Sources/StoreyAPI/Resources/openapi.yaml"), encoding: .utf8)
        #expect(served == kept)
        let result = try await runCommand(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["schemathesis", "run", "\(base)/api/v1/openapi.yaml", "--url", base,
             "-H", "Authorization: Bearer \(Self.readToken)",
             // The event stream never ends; it is tested by the HTTP and browser tests.
             "--exclude-path", "/api/v1/events",
             "--checks", "all",
             // A report takes month, or from and to: a dependency between parameters OpenAPI cannot state,
             // so a "schema-valid" request with all three is rightly refused.
             "--exclude-checks", "positive_data_acceptance",
             "--max-examples", "40", "--generation-deterministic",
             "--workers", "1", "--request-timeout", "10"],
            timeout: .seconds(600))
        try await tower.stop()
        #expect(result.status == 0, "schemathesis found problems:\n\(result.output.suffix(6000))\n\(result.errorOutput.suffix(2000))")
        #expect(result.output.contains("Tested: 19"), "\(result.output.suffix(2000))")
    }

    @Test func withATokenListTheAPIAndStreamRefuseStrangersAndReadTokensCannotAdminister() async throws {
        let tower = try await RunningTower()
        let base = "http://127.0.0.1:\(tower.daemon.httpPort)"
        func status(_ arguments: [String]) async throws -> String {
            try await runCommand(URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + arguments, timeout: .seconds(10)).output
        }
        #expect(try await status(["\(base)/api/v1/live"]) == "401")
        #expect(try await status(["-H", "Authorization: Bearer \(Self.readToken)", "\(base)/api/v1/live"]) == "200")
        #expect(try await status(["\(base)/api/v1/events"]) == "401")
        #expect(try await status(["-X", "DELETE", "-H", "Authorization: Bearer \(Self.readToken)", "\(base)/api/v1/topology"]) == "403")
        #expect(try await status(["\(base)/metrics"]) == "200")  // open_health defaults to true
        // The stream sends window events as minutes close (the simulator publishes at the current time).
        let stream = try await runCommand(
            URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "-N", "--max-time", "75", "-H", "Authorization: Bearer \(Self.readToken)", "\(base)/api/v1/events"],
            timeout: .seconds(90))
        try await tower.stop()
        #expect(stream.output.hasPrefix("retry: 3000\n\n"))
        #expect(stream.output.contains("event: status\ndata: {\"brokerConnected\":true,\"storeWritable\":true}"))
        #expect(stream.output.contains("event: window\ndata: {\"building\":\"tower-a\""), "\(stream.output.prefix(2000))")
    }
}
