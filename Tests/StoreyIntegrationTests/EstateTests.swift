import Foundation
import StoreyTestSupport
import Testing

/// Several storeyd instances sharing an estate over PostgreSQL: real storeyd processes, a real broker and
/// a throwaway PostgreSQL cluster, all started by the test.
@Suite(.timeLimit(.minutes(5)))
struct EstateTests {
    static let buildings = ["b1", "b2", "b3", "b4"]

    static let topology = estateTopology(buildings: buildings)

    static func topic(_ building: String) -> String { "storey/\(building)/1/\(building)-s1/\(building)-kwh" }

    /// A storeyd of the estate: one shard per building, sharing the broker sessions' client id base.
    static func instance(
        _ name: String, owns: [String], standby: Bool, clientID: String, database: String, cluster: TestPostgres, passwordFile: String,
        broker: TestBroker, sections: String = ""
    ) throws -> StoreydProcess {
        let daemon = try StoreydProcess(topology: topology, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try """
            mqtt:
              url: mqtt://127.0.0.1:1
              client_id: \(clientID)
              version: 5
              qos: 1
            storage:
              postgresql:
                url: postgresql://\(TestPostgres.user)@127.0.0.1:\(cluster.port)/\(database)?sslmode=disable
                password_file: \(passwordFile)
                instance: \(name)
                shards:
            \(buildings.map { "      - { name: s-\($0), buildings: [\($0)] }" }.joined(separator: "\n"))
                owns: [\(owns.joined(separator: ", "))]
                standby: \(standby)
            topology: topology.yaml
            \(sections)
            """.write(toFile: daemon.configFile, atomically: true, encoding: .utf8)
        return daemon
    }

    /// `GET /api/v1/shards` of one instance: shard → the instance holding it.
    static func owners(_ daemon: StoreydProcess) async throws -> [String: String] {
        let body = try await daemon.httpBody("/api/v1/shards")
        guard let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let shards = json["shards"] as? [[String: Any]] else {
            throw TestSupportError("/api/v1/shards answered \(body)")
        }
        var owners: [String: String] = [:]
        for shard in shards { if let name = shard["shard"] as? String, let instance = shard["instance"] as? String { owners[name] = instance } }
        return owners
    }

    /// The estate of these tests: a throwaway database, a broker, and three instances running, A owning
    /// shards s-b1 and s-b2, B s-b3 and s-b4, C standing by (started once A and B hold theirs).
    struct Rig {
        let cluster: TestPostgres
        let database: String
        let broker: TestBroker
        let secrets: URL
        let a: StoreydProcess, b: StoreydProcess, c: StoreydProcess

        /// `sections`: configuration added to every instance's (rules, delivery), given the secrets folder.
        static func start(sections: (URL) throws -> String = { _ in "" }) async throws -> Rig {
            guard TestPostgres.serverBinaries != nil else {
                try Test.cancel("skipped: PostgreSQL's server is not installed here (apt-get install -y postgresql-15)")
            }
            let cluster = try await TestPostgres.shared()
            let database = try await cluster.makeDatabase(prefix: "estate")
            let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
            let secrets = try makeTemporaryDirectory(prefix: "estate-secrets")
            let passwordFile = secrets.appendingPathComponent("db-password").path
            try TestPostgres.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
            let clientID = uniqueName("estate")
            let added = try sections(secrets)
            func make(_ name: String, owns: [String], standby: Bool) throws -> StoreydProcess {
                try EstateTests.instance(
                    name, owns: owns, standby: standby, clientID: clientID, database: database, cluster: cluster, passwordFile: passwordFile,
                    broker: broker, sections: added)
            }
            let rig = Rig(
                cluster: cluster, database: database, broker: broker, secrets: secrets,
                a: try make("estate-a", owns: ["s-b1", "s-b2"], standby: false),
                b: try make("estate-b", owns: ["s-b3", "s-b4"], standby: false),
                c: try make("estate-c", owns: [], standby: true))
            do {
                try rig.a.start()
                try rig.b.start()
                try await rig.a.waitUntilReady()
                try await rig.b.waitUntilReady()
                try await rig.b.waitUntil("A and B hold their shards") {
                    try await EstateTests.owners(rig.b) == ["s-b1": "estate-a", "s-b2": "estate-a", "s-b3": "estate-b", "s-b4": "estate-b"]
                }
                try rig.c.start()
                try await rig.c.waitUntilReady()
            } catch {
                rig.stop()
                throw error
            }
            return rig
        }

        func stop() {
            for daemon in [a, b, c] { daemon.kill9() }
            broker.stop()
        }

        func psql(_ sql: String) async throws -> String {
            try await cluster.psql(sql, database: database).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Three instances, four shards: A owns two, B two, C stands by. Readings for every shard stream in;
    /// A is killed with SIGKILL holding readings it received and could not store (the table locked); C
    /// takes A's shards over, resumes their broker sessions, and every reading published is stored exactly
    /// once, its energy counted once; B's API shows the new owner; A restarted gets its shards back from C.
    /// (With acknowledgements sent on receipt, as a single storeyd on its own journal does, this loses what
    /// A held: 1,998 readings when tried.)
    @Test func aStandbyTakesOverAKilledOwnersShardsAndEveryReadingIsStoredOnce() async throws {
        let rig = try await Rig.start()
        defer { rig.stop() }
        let (cluster, database, broker, a, b, c) = (rig.cluster, rig.database, rig.broker, rig.a, rig.b, rig.c)

        // 1,500 readings a building, one minute apart, published in paced rounds across all four: the
        // first 500 of each, stored by A and B.
        let perBuilding = 1500
        let streams = Self.buildings.map { counterReadings(perBuilding, topic: Self.topic($0)) }
        let port = broker.port
        func publish(_ range: Range<Int>) async throws {
            for round in stride(from: range.lowerBound, to: range.upperBound, by: 50) {
                try await publishReadings(streams.flatMap { $0[round..<min(round + 50, range.upperBound)] }, port: port)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        func stored() async throws -> Int {
            Int(try await cluster.psql("SELECT COUNT(*) FROM reading", database: database).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        try await publish(0..<500)
        try await waitUntil("the first 2,000 readings stored") { try await stored() == 2000 }

        // The reading table locked for a few seconds: A receives the next readings of its buildings and
        // cannot store them. It is killed holding them: the broker must still have them for C.
        let lock = Task {
            try await cluster.psql("BEGIN; LOCK TABLE reading IN EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;", database: database)
        }
        try await waitUntil("the reading table locked") {
            try await cluster.psql("""
                SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'reading' AND l.mode = 'ExclusiveLock' AND l.granted
                """, database: database).hasPrefix("1")
        }
        let rest = Task { try await publish(500..<perBuilding) }
        var heldByA = 0.0
        try await a.waitUntil("A received readings it cannot store") {
            let metrics = try await a.metrics()
            heldByA = (metrics["storey_mqtt_messages_total"] ?? 0) - (metrics["storey_readings_accepted_total"] ?? 0)
            return heldByA >= 100
        }
        a.kill9()
        let killedAt = ContinuousClock.now
        try await b.waitUntil("C holds A's shards", timeout: .seconds(30)) {
            let owners = try await Self.owners(b)
            return owners["s-b1"] == "estate-c" && owners["s-b2"] == "estate-c"
        }
        let takenOverAfter = ContinuousClock.now - killedAt
        try await lock.value
        try await rest.value

        var count = 0
        do {
            try await waitUntil("every reading stored", timeout: .seconds(120)) {
                count = try await stored()
                return count == 4 * perBuilding
            }
        } catch {
            throw TestSupportError("\(error)\nstored \(count) of \(4 * perBuilding); C's log:\n\(c.log.suffix(3000))")
        }
        // Once each: per point, every reading, and the energy counted once (the counter rose by 1,499 kWh).
        let perPoint = try await cluster.psql(
            "SELECT p.key || ' ' || COUNT(*) FROM reading r JOIN point p ON p.id = r.point GROUP BY p.key ORDER BY p.key", database: database)
        #expect(perPoint.split(separator: "\n").map(String.init) == Self.buildings.map { "\($0)-kwh \(perBuilding)" })
        let energy = try await cluster.psql(
            "SELECT scope_id || ' ' || SUM(amount) FROM figure WHERE scope_kind = 'point' AND resolution = 'month' GROUP BY scope_id ORDER BY scope_id",
            database: database)
        #expect(energy.split(separator: "\n").map(String.init) == Self.buildings.map { "\($0)-kwh \(perBuilding - 1)" })
        #expect(try await Self.owners(c) == ["s-b1": "estate-c", "s-b2": "estate-c", "s-b3": "estate-b", "s-b4": "estate-b"])
        #expect(c.log.contains("shard acquired"))
        // Its metrics say so (a resumed session's SUBSCRIBE leaves behind the acknowledgements of the
        // backlog, so "subscribed" may come a moment after the last reading is stored).
        try await c.waitUntil("C's metrics show two shards, subscribed") {
            let metrics = try await c.metrics()
            return metrics["storey_shards_held"] == 2 && metrics["storey_mqtt_connected"] == 1
        }
        print("estate: A killed with 2 of 4 shards and \(Int(heldByA)) readings received, not stored; C held the shards \(takenOverAfter) later; \(count) of \(4 * perBuilding) readings stored, once each")
        // A back (as in a rolling restart): C hands A's shards back, each once what it holds is stored.
        try a.start()
        try await a.waitUntilReady()
        try await b.waitUntil("A holding its shards again", timeout: .seconds(30)) {
            let owners = try await Self.owners(b)
            return owners["s-b1"] == "estate-a" && owners["s-b2"] == "estate-a"
        }
        #expect(c.log.contains("handing shard back to its owner"), "\(c.log.suffix(2000))")
        try await c.waitUntil("C's metrics show no shard held") { try await c.metrics()["storey_shards_held"] == 0 }
        #expect(try await stored() == 4 * perBuilding)
        // `systemctl reload` of B: a meter added to b3 (B's shard) is taken in at once, and a token list
        // added to its configuration applies at once; a broken file is refused whole and B goes on with
        // what it ran.
        let withMeter = Self.topology.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line -> [String] in
            guard line.contains("id: b3-kw,") else { return [String(line)] }
            return [String(line), line.prefix { $0 == " " } + "- { id: b3-new, quantity: power }"]
        }.joined(separator: "\n")
        #expect(withMeter.contains("b3-new"))
        try withMeter.write(to: b.directory.appendingPathComponent("topology.yaml"), atomically: true, encoding: .utf8)
        let tokens = rig.secrets.appendingPathComponent("tokens")
        try "read estate-read-token-0123456789\n".write(to: tokens, atomically: true, encoding: .utf8)
        let configuration = try String(contentsOfFile: b.configFile, encoding: .utf8)
        try (configuration + "http:\n  tokens_file: \(tokens.path)\n").write(toFile: b.configFile, atomically: true, encoding: .utf8)
        #expect(try await b.httpStatus("/api/v1/shards") == 200)
        b.signal(SIGHUP)
        try await b.waitUntil("B reloaded") { b.log.contains("configuration reloaded") }
        try await publishReadings([("storey/b3/1/b3-s1/b3-new", "{\"value\": 7, \"ts\": \(Date().timeIntervalSince1970)}")], port: broker.port)
        try await waitUntil("the new meter's reading stored") {
            try await cluster.psql("SELECT COUNT(*) FROM reading r JOIN point p ON p.id = r.point WHERE p.key = 'b3-new'", database: database)
                .hasPrefix("1")
        }
        #expect(try await b.httpStatus("/api/v1/shards") == 401, "a token is needed now")
        let withToken = try await runCommand(
            URL(fileURLWithPath: "/usr/bin/curl"),
            ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer estate-read-token-0123456789", "http://127.0.0.1:\(b.httpPort)/api/v1/shards"],
            timeout: StoreydProcess.httpTimeout)
        #expect(withToken.output == "200")
        try (configuration + "http:\n  tokens_file: [broken\n").write(toFile: b.configFile, atomically: true, encoding: .utf8)
        b.signal(SIGHUP)
        try await b.waitUntil("B refusing the broken file") { b.log.contains("configuration NOT reloaded") }
        #expect(try await b.httpStatus("/api/v1/shards") == 401, "still the reloaded configuration")
        #expect(b.isRunning)
        #expect(try await Self.owners(c) == ["s-b1": "estate-a", "s-b2": "estate-a", "s-b3": "estate-b", "s-b4": "estate-b"])
        #expect(try await a.stop() == 0)
        #expect(try await b.stop() == 0)
        #expect(try await c.stop() == 0)
    }

    /// An alert of a building whose owner is killed: A fires it (point b1-kw fell silent); it is delivered
    /// once, by whichever instance claims it from the shared outbox (A before it died, or another once
    /// A's claim lapsed); C takes the shard over with the alert's state, so it does not fire it again; the
    /// point reports again, C resolves the alert, and that is delivered once too. B, meanwhile, judges
    /// its own buildings and never this one's alert, yet its API lists it (the whole estate from any
    /// instance), refuses to acknowledge it naming the instance that judges it, and its dashboard, in a
    /// real browser, shows the shards move from A to C and the alert A fired.
    @Test func anAlertOfAKilledOwnersBuildingIsDeliveredOnceAndResolvedByTheStandby() async throws {
        let secret = "whsec_" + Data("estate-webhook-signing-key-0123456789".utf8).base64EncodedString()
        let hook = try await TestWebhookReceiver(secrets: [secret])
        defer { hook.stop() }
        let rig = try await Rig.start { secrets in
            let secretFile = secrets.appendingPathComponent("whsec").path
            try secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
            return """
                alerting:
                  evaluate_every: 1s
                rules:
                  - name: silent
                    scope: { kind: point, ids: [b1-kw, b3-kw] }
                    condition: { silent_intervals: 6 }  # a few seconds: the rig takes some to start
                    severity: critical
                delivery:
                  poll_interval: 0.5s
                  retry: { initial: 0.2s, maximum: 2s }
                  receivers:
                    - name: hook
                      webhook: { url: "\(hook.url)", secret_files: [\(secretFile)], timeout: 3s }
                  route:
                    receiver: hook
                """
        }
        defer { rig.stop() }
        let (a, b, c) = (rig.a, rig.b, rig.c)
        let port = rig.broker.port
        /// b1-kw (A's) and b3-kw (B's) report every half second for `seconds`.
        func report(_ seconds: Double, points: [String]) async throws {
            let until = Date().addingTimeInterval(seconds)
            while Date() < until {
                let now = Date().timeIntervalSince1970
                try await publishReadings(points.map { point in ("storey/\(point.prefix(2))/1/\(point.prefix(2))-s1/\(point)", "{\"value\": 42, \"ts\": \(now)}") }, port: port)
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        // C's event stream, open before any reading: holding no shard, it streams the estate's window
        // figures all the same. b2-kw reports a minute ago and now, and is stored before anything else: the
        // first minute C closes (by the estate's newest reading) has b2's figures.
        let standbyStreamFile = try makeTemporaryDirectory(prefix: "estate-stream").appendingPathComponent("c-events.txt").path
        let standbyStream = try ChildProcess("/usr/bin/curl", ["-s", "-N", "http://127.0.0.1:\(c.httpPort)/api/v1/events"], outputFile: standbyStreamFile)
        defer { standbyStream.stop() }
        func standbyStreamed() -> String { (try? String(contentsOfFile: standbyStreamFile, encoding: .utf8)) ?? "" }
        try await waitUntil("C's stream open") { standbyStreamed().contains("event: status\n") }
        let start = Date().timeIntervalSince1970
        try await publishReadings([start - 60, start].map { ("storey/b2/1/b2-s1/b2-kw", "{\"value\": 5, \"ts\": \($0)}") }, port: port)
        try await waitUntil("b2-kw's readings stored") {
            try await rig.psql("SELECT COUNT(*) FROM reading r JOIN point p ON p.id = r.point WHERE p.key = 'b2-kw'") == "2"
        }
        // Both points report from the start: a point never heard is judged silent once watched long
        // enough, and a browser slow to start on a loaded machine must not make that happen.
        let early = Task { try await report(300, points: ["b1-kw", "b3-kw"]) }
        defer { early.cancel() }
        // B's dashboard in a real browser, open from before the kill.
        let handover = try makeTemporaryDirectory(prefix: "estate-browser")
        let (browserReport, browserLog) = (handover.appendingPathComponent("report.json").path, handover.appendingPathComponent("browser.log").path)
        let browser = try ChildProcess(
            "/usr/bin/env",
            ["python3", OperatorViewTests.repository.appendingPathComponent("Tests/Browser/shards_check.py").path, "http://127.0.0.1:\(b.httpPort)/",
             "--first", "s-b1=estate-a,s-b2=estate-a,s-b3=estate-b,s-b4=estate-b",
             "--then", "s-b1=estate-c,s-b2=estate-c,s-b3=estate-b,s-b4=estate-b", "--then-alert", "point:b1-kw",
             "--handover", handover.path, "--screenshots", OperatorViewTests.repository.appendingPathComponent(".build/screenshots").path,
             "--timeout", "120"],
            outputFile: browserReport, errorFile: browserLog)
        defer { browser.stop() }
        try await waitUntil("B's dashboard showing A and B holding their shards", timeout: .seconds(90)) {
            FileManager.default.fileExists(atPath: handover.appendingPathComponent("first-seen").path) || !browser.isRunning
        }
        func transitions() async throws -> [String] {
            try await rig.psql("SELECT scope_id || ' ' || from_state || '>' || to_state FROM alert_transition ORDER BY id")
                .split(separator: "\n").map(String.init)
        }
        /// The webhook messages accepted: "kind scope", in arrival order.
        func delivered() -> [String] {
            hook.accepted().compactMap { request in
                let alert = ((request["body"] as? [String: Any])?["alerts"] as? [[String: Any]])?.first
                guard let kind = alert?["kind"] as? String, let scope = (alert?["scope"] as? [String: Any])?["id"] as? String else { return nil }
                return "\(kind) \(scope)"
            }
        }

        // B's event stream, read from before the alert: it shows the firing A records and the resolution C
        // records, though B judges neither.
        let streamFile = handover.appendingPathComponent("b-events.txt").path
        let stream = try ChildProcess("/usr/bin/curl", ["-s", "-N", "http://127.0.0.1:\(b.httpPort)/api/v1/events"], outputFile: streamFile)
        defer { stream.stop() }
        /// The alert events B's stream sent for b1-kw: "from>to", in order.
        func streamed() -> [String] {
            let text = (try? String(contentsOfFile: streamFile, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\n\n").compactMap { event -> String? in
                guard event.contains("event: alert\n"), let line = event.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }),
                    let json = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any],
                    json["scope"] as? String == "point:b1-kw", let from = json["from"] as? String, let to = json["to"] as? String
                else { return nil }
                return "\(from)>\(to)"
            }
        }

        // Both points report, then b1-kw falls silent while b3-kw goes on: A fires b1-kw's alert.
        early.cancel()
        _ = await early.result
        try await report(3, points: ["b1-kw", "b3-kw"])
        let keepB3 = Task { try await report(40, points: ["b3-kw"]) }
        defer { keepB3.cancel() }
        do {
            try await waitUntil("A firing b1-kw's alert", timeout: .seconds(60)) { try await transitions().contains { $0.hasPrefix("b1-kw") && $0.hasSuffix(">firing") } }
        } catch {
            throw TestSupportError("\(error)\ntransitions: \(try await transitions())\nA's log:\n\(a.log.suffix(3000))")
        }
        // B lists the alert A fired, and will not acknowledge it: A judges it.
        let history = try await transitions()
        let listed = try JSONSerialization.jsonObject(with: Data(try await b.httpBody("/api/v1/alerts?state=firing").utf8)) as? [String: Any]
        let alert = try #require((listed?["alerts"] as? [[String: Any]])?.first { $0["scope"] as? String == "point:b1-kw" }, "B's alerts: \(listed ?? [:])\ntransitions: \(history)")
        let fingerprint = try #require(alert["fingerprint"] as? String)
        let refused = try await b.http("POST", "/api/v1/alerts/\(fingerprint)/acknowledgement", json: #"{"by": "ops"}"#)
        #expect(refused.status == 409 && refused.body.contains("held by instance estate-a"), "\(refused)")
        // Each shard's monitor counts its alerts in its instance's /metrics, labelled with the shard.
        let firingOnB1 = "storey_alerts{state=\"firing\",shard=\"s-b1\"}"
        try await a.waitUntil("A's metrics counting the alert") { try await a.metrics()[firingOnB1] == 1 }
        #expect(try await b.metrics()[firingOnB1] == nil, "B never held s-b1")

        #expect(standbyStreamed().contains("event: window\ndata: {\"building\":\"b2\""), "C, a standby, streams window figures: \(standbyStreamed().prefix(3000))")
        #expect(try await c.metrics()["storey_shards_held"] == 0)
        // Killed at once: the notification may be unsent, or claimed by A and unsent, or sent.
        a.kill9()
        try await b.waitUntil("C holds A's shards", timeout: .seconds(30)) {
            let owners = try await Self.owners(b)
            return owners["s-b1"] == "estate-c" && owners["s-b2"] == "estate-c"
        }
        do {
            try await waitUntil("the firing delivered", timeout: .seconds(90)) { delivered().contains("firing b1-kw") }
        } catch {
            throw TestSupportError("\(error)\nrequests: \(hook.requests())\noutbox: \(try await rig.psql("SELECT * FROM delivery_message"))")
        }
        // C holds the shard and judges it every second: a few seconds more, and nothing fired again.
        try await Task.sleep(for: .seconds(4))
        #expect(try await c.metrics()[firingOnB1] == 1, "C's monitor of s-b1 took the alert back")
        #expect(delivered() == ["firing b1-kw"])
        #expect(try await transitions().filter { $0.hasPrefix("b1-kw") && $0.hasSuffix(">firing") && !$0.contains("firing>") }.count == 1)
        // C judges it now: it acknowledges it, and B shows that.
        let acknowledged = try await c.http("POST", "/api/v1/alerts/\(fingerprint)/acknowledgement", json: #"{"by": "ops", "comment": "on it"}"#)
        #expect(acknowledged.status == 200, "\(acknowledged)")
        let seenFromB = try JSONSerialization.jsonObject(with: Data(try await b.httpBody("/api/v1/alerts/\(fingerprint)").utf8)) as? [String: Any]
        #expect((seenFromB?["acknowledgement"] as? [String: Any])?["by"] as? String == "ops", "\(seenFromB ?? [:])")

        // b1-kw reports again: C resolves the alert, and that is delivered once.
        try await report(3, points: ["b1-kw"])
        do {
            try await waitUntil("the resolution delivered", timeout: .seconds(60)) { delivered().contains("resolved b1-kw") }
        } catch {
            throw TestSupportError("\(error)\ntransitions: \(try await transitions())\nC's log:\n\(c.log.suffix(3000))")
        }
        try await Task.sleep(for: .seconds(2))
        #expect(delivered() == ["firing b1-kw", "resolved b1-kw"])
        try await waitUntil("B's stream showing the resolution") { streamed().last == "firing>resolved" }
        let recorded = try await transitions().filter { $0.hasPrefix("b1-kw ") }.map { String($0.dropFirst("b1-kw ".count)) }
        #expect(recorded.last == "firing>resolved")
        #expect(streamed() == recorded, "each transition once, whichever instance recorded it")
        #expect(c.log.contains("alert silent on point b1-kw: firing → resolved"), "C resolved it")
        #expect(!b.log.contains("on point b1-kw"), "B judged a building of another shard")
        // b3-kw never fell silent (B watched it throughout).
        #expect(try await transitions().filter { $0.hasPrefix("b3-kw") }.isEmpty)
        #expect(hook.requests().allSatisfy { $0["verified"] as? Bool == true })
        keepB3.cancel()

        // The operator's commands, given B's configuration, read the whole estate: the alert A fired and C
        // resolved, and the minutes b2-kw's two readings made (until 2026-11-29 they refused PostgreSQL).
        let command = try await runCommand(CommandLineTests.storey, ["alerts", "--config", b.configFile, "--history", "--json"])
        let listedB1 = command.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["scopeID"] as? String == "b1-kw" }.map { "\($0["from"] ?? "")>\($0["to"] ?? "")" }
        #expect(command.status == 0 && listedB1 == recorded, "storey alerts: \(command)")
        let minutes = try await runCommand(
            CommandLineTests.storey, ["figures", "--config", b.configFile, "--scope", "point:b2-kw", "--resolution", "minute", "--json"])
        let meanPowers = minutes.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .map { $0["mean_power_kw"] as? Double }
        #expect(minutes.status == 0 && meanPowers == [5, 5], "storey figures: \(minutes)")

        // B's dashboard showed the shards move to C.
        try await waitUntil("the browser's report", timeout: .seconds(150)) { !browser.isRunning }
        let text = (try? String(contentsOfFile: browserReport, encoding: .utf8)) ?? ""
        let report = try #require(
            try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            "the browser reported \(text); its log: \((try? String(contentsOfFile: browserLog, encoding: .utf8)) ?? "")")
        #expect(report["firstSeen"] as? Bool == true && report["thenSeen"] as? Bool == true, "\(report)")
        let after = report["then"] as? [String: Any]
        #expect((after?["rows"] as? [[String]])?.first == ["s-b1", "b1", "estate-c"] + ((after?["rows"] as? [[String]])?.first?.suffix(1) ?? []), "\(after ?? [:])")
        #expect(after?["answered"] as? String == "Answered by instance estate-b", "\(after ?? [:])")
        #expect(after?["alertScopes"] as? [String] == ["point:b1-kw"], "\(after ?? [:])")
        #expect((report["exceptions"] as? [Any])?.isEmpty == true && (report["consoleErrors"] as? [Any])?.isEmpty == true, "\(report)")
        #expect(try await b.stop() == 0)
        #expect(try await c.stop() == 0)
    }
}
