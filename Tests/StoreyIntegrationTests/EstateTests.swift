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
        broker: TestBroker
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

    /// Three instances, four shards: A owns two, B two, C stands by. Readings for every shard stream in;
    /// A is killed with SIGKILL holding readings it received and could not store (the table locked); C
    /// takes A's shards over, resumes their broker sessions, and every reading published is stored exactly
    /// once, its energy counted once; B's API shows the new owner. (With acknowledgements sent on receipt,
    /// as a single storeyd on its own journal does, this loses what A held: 1,998 readings when tried.)
    @Test func aStandbyTakesOverAKilledOwnersShardsAndEveryReadingIsStoredOnce() async throws {
        guard TestPostgres.serverBinaries != nil else {
            try Test.cancel("skipped: PostgreSQL's server is not installed here (apt-get install -y postgresql-15)")
        }
        let cluster = try await TestPostgres.shared()
        let database = try await cluster.makeDatabase(prefix: "estate")
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let secrets = try makeTemporaryDirectory(prefix: "estate-secrets")
        let passwordFile = secrets.appendingPathComponent("db-password").path
        try TestPostgres.password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let clientID = uniqueName("estate")
        func make(_ name: String, owns: [String], standby: Bool) throws -> StoreydProcess {
            try Self.instance(name, owns: owns, standby: standby, clientID: clientID, database: database, cluster: cluster, passwordFile: passwordFile, broker: broker)
        }
        let a = try make("estate-a", owns: ["s-b1", "s-b2"], standby: false)
        let b = try make("estate-b", owns: ["s-b3", "s-b4"], standby: false)
        let c = try make("estate-c", owns: [], standby: true)
        defer {
            for daemon in [a, b, c] { daemon.kill9() }
        }
        try a.start()
        try b.start()
        try await a.waitUntilReady()
        try await b.waitUntilReady()
        try await b.waitUntil("A and B hold their shards") {
            try await Self.owners(b) == ["s-b1": "estate-a", "s-b2": "estate-a", "s-b3": "estate-b", "s-b4": "estate-b"]
        }
        try c.start()
        try await c.waitUntilReady()

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
        // `systemctl reload` is not applied by an estate instance yet: it says so and keeps running.
        b.signal(SIGHUP)
        try await b.waitUntil("B answers a reload") { b.log.contains("does not reload its configuration yet") }
        #expect(b.isRunning)
        #expect(try await b.stop() == 0)
        #expect(try await c.stop() == 0)
    }
}
