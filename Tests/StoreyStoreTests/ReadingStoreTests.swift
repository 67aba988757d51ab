import Foundation
import StoreyCore
import GRDB
@testable import StoreyStore
import Testing

/// The reading store on each backend (a real SQLite file, a real PostgreSQL database): the same readings
/// make the same figures.
@Suite struct ReadingStoreTests {
    let topology: Topology = {
        let building = Building(id: "tower", name: "Tower", timeZone: TimeZone(identifier: "Asia/Shanghai")!, landArea: 6666.7)
        let floor = Floor(id: "tower/1", buildingIndex: 0, level: 1, grossArea: 1000)
        let space = Space(id: "s1", floorIndex: 0, area: 500, capacity: 20)
        let tenant = Tenant(id: "alpha", name: "Alpha", leases: [Lease(spaceIndex: 0, start: LocalDate("2026-01-01")!, end: nil)])
        let points = [
            Point(id: "kwh", quantity: .energy, unit: "kWh", place: .space(0), floorIndex: 0, buildingIndex: 0, topic: "t/kwh", maximum: 10_000),
            Point(id: "people", quantity: .occupancy, unit: "persons", place: .space(0), floorIndex: 0, buildingIndex: 0, topic: "t/people", maximum: 100),
        ]
        return Topology(buildings: [building], floors: [floor], spaces: [space], tenants: [tenant], points: points)
    }()

    func temporaryDatabase() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("storey-store-\(UUID().uuidString).db").path
    }

    /// A new database file as an older version left it: migrated up to `migration`, then `sql` run on it.
    func databaseMigrated(upTo migration: String, then sql: String) throws -> String {
        let path = temporaryDatabase()
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: migration)
        try queue.write { try $0.execute(sql: sql) }
        return path
    }

    /// 09:00 on 1 July 2026 in Shanghai, plus `minutes`.
    func at(_ minutes: Int) -> Int64 { 1_782_867_600_000 + Int64(minutes) * 60_000 }

    @Test(arguments: ReadingBackend.allCases)
    func duplicatesAreStoredOnceAndCountedOnce(_ backend: ReadingBackend) async throws {
        let store = try await ReadingStores.open(backend, topology)
        let batch = [Reading(point: 0, time: at(0), value: 100), Reading(point: 0, time: at(10), value: 104)]
        let first = try await store.ingest(batch)
        #expect(first.stored == 2 && first.duplicates == 0)
        // The windows it added to, for underuse to judge: the building's hour, day and month of 09:00.
        #expect(Set(first.windows.map(\.resolution)) == [.hour, .day, .month])
        #expect(first.windows.first { $0.resolution == .hour }?.start == at(0) / 1000)
        let again = try await store.ingest(batch)
        #expect(again.stored == 0 && again.duplicates == 2 && again.windows.isEmpty)
        #expect(try await store.readingCount() == 2)
        let hour = try await store.figures(scope: .tenant, id: "alpha", resolution: .hour, quantity: .energy)
        #expect(hour.map(\.values.amount) == [4])
    }

    @Test(arguments: ReadingBackend.allCases)
    func reopenedStoreContinuesWithoutCountingTwice(_ backend: ReadingBackend) async throws {
        let first = try await ReadingStores.open(backend, topology)
        try await first.ingest([Reading(point: 0, time: at(0), value: 100), Reading(point: 1, time: at(0), value: 10)])
        try await first.ingest([Reading(point: 0, time: at(5), value: 103), Reading(point: 1, time: at(0) + 30_000, value: 20)])
        // A new process: caches are empty; figures continue from what is stored.
        let store = try await first.reopened(topology)
        try await store.ingest([
            Reading(point: 0, time: at(5), value: 103),  // delivered again after the restart
            Reading(point: 0, time: at(20), value: 110),
            Reading(point: 1, time: at(0) + 45_000, value: 30),
        ])
        let energy = try await store.figures(scope: .space, id: "s1", resolution: .hour, quantity: .energy)
        #expect(energy.map(\.values.amount) == [10])
        let people = try await store.figures(scope: .point, id: "people", resolution: .minute, quantity: .occupancy)
        #expect(people.count == 1)
        #expect(people.first?.values.meanLevel == 20)  // (10 + 20 + 30) / 3 within the one minute
        #expect(people.first?.values.sampleCount == 3)
        // The space above moved with the point's mean: its minute level is 20 too, not 15 + 30.
        let space = try await store.figures(scope: .space, id: "s1", resolution: .minute, quantity: .occupancy)
        #expect(space.map(\.values.meanLevel) == [20])
    }

    /// A point's minutes are not stored but made from its readings (ReadingStore+PointMinutes.swift): the
    /// same figures as the aggregator's, and the scopes above still move with them when readings come out
    /// of order, after a restart.
    @Test(arguments: ReadingBackend.allCases)
    func pointMinutesAreMadeFromReadingsAndScopesAboveFollowThem(_ backend: ReadingBackend) async throws {
        let first = try await ReadingStores.open(backend, topology)
        try await first.ingest([
            Reading(point: 1, time: at(0) + 10_000, value: 10), Reading(point: 1, time: at(0) + 40_000, value: 20),
            Reading(point: 1, time: at(1) + 5_000, value: 30),
            Reading(point: 0, time: at(0) + 10_000, value: 100), Reading(point: 0, time: at(0) + 40_000, value: 103),
            Reading(point: 0, time: at(1) + 10_000, value: 110),
        ])
        #expect(try await first.readingCount() == 6)
        let rows = try await first.count("SELECT COUNT(*) FROM figure WHERE scope_kind = 'point' AND resolution = 'minute'")
        #expect(rows == 0, "no point minute rows are stored")
        // A new process; late readings for the first minute.
        let store = try await first.reopened(topology)
        try await store.ingest([Reading(point: 1, time: at(0) + 50_000, value: 60), Reading(point: 0, time: at(0) + 55_000, value: 105)])
        try await store.ingest([Reading(point: 1, time: at(0) + 20_000, value: 30)])

        let people = try await store.figures(scope: .point, id: "people", resolution: .minute)
        #expect(people.map(\.windowStart) == [at(0) / 1000, at(1) / 1000])
        #expect(people.map(\.values.sampleCount) == [4, 1])
        #expect(people.map(\.values.sampleMax) == [60, 30])
        #expect(people.map(\.values.meanLevel) == [30, 30])  // (10 + 20 + 60 + 30) / 4
        let space = try await store.figures(scope: .space, id: "s1", resolution: .minute, quantity: .occupancy)
        #expect(space.map(\.values.meanLevel) == [30, 30])

        // 100 anchors; 103 (+3) and the late 105 (+2) in the first minute, 110 (+5) in the second.
        let energy = try await store.figures(scope: .point, id: "kwh", resolution: .minute)
        #expect(energy.map(\.values.amount) == [5, 5])
        #expect(energy.map(\.values.readings) == [3, 1])
        let tenant = try await store.figures(scope: .tenant, id: "alpha", resolution: .minute, quantity: .energy)
        #expect(tenant.map(\.values.amount) == [5, 5])
        // Only the period asked for (seconds, start inclusive).
        #expect(try await store.figures(scope: .point, id: "kwh", resolution: .minute, from: at(1) / 1000).map(\.values.amount) == [5])
    }

    @Test(arguments: ReadingBackend.allCases)
    func outOfOrderCounterReadingsSplitTheIntervalCorrectly(_ backend: ReadingBackend) async throws {
        let store = try await ReadingStores.open(backend, topology)
        try await store.ingest([Reading(point: 0, time: at(0), value: 100), Reading(point: 0, time: at(120), value: 130)])
        // A reading from 10:00 arrives late: 09:00–10:00 used 10, 10:00–11:00 used 20.
        try await store.ingest([Reading(point: 0, time: at(60), value: 110)])
        let hours = try await store.figures(scope: .point, id: "kwh", resolution: .hour, quantity: .energy)
        #expect(hours.map(\.values.amount) == [0, 10, 20])
    }

    /// A batch whose minute rows exceed `pendingFigureLimit` (its figures are added to the rows in several steps within its
    /// transaction) makes the same figures as the same readings in small batches, out-of-order readings and
    /// duplicates included.
    @Test(arguments: ReadingBackend.allCases)
    func aLargeBatchMakesTheSameFiguresAsSmallOnes(_ backend: ReadingBackend) async throws {
        var readings: [Reading] = []
        for step in 0..<3_000 {
            // A reading a minute from each point for 50 hours: each makes minute rows of its own on five
            // scopes, 30,000 in all, so the batch's figures are added in several steps.
            let time = at(0) + Int64(step) * 60_000 + (step % 3 == 0 ? 30_000 : 0)
            readings.append(Reading(point: 0, time: time, value: 100 + Double(step)))
            readings.append(Reading(point: 1, time: time + 500, value: Double(step % 17)))
        }
        #expect(3_000 * 2 * 5 > 4 * ReadingStore.pendingFigureLimit)
        for index in stride(from: 40, to: readings.count - 8, by: 97) { readings.swapAt(index, index + 6) }
        readings += readings[100..<160]

        let whole = try await ReadingStores.open(backend, topology)
        let result = try await whole.ingest(readings)
        #expect(result.stored == 6_000 && result.duplicates == 60)
        let pieces = try await ReadingStores.open(backend, topology)
        for start in stride(from: 0, to: readings.count, by: 7) {
            try await pieces.ingest(Array(readings[start..<min(start + 7, readings.count)]))
        }
        var compared = 0
        for kind in [ScopeKind.point, .space, .tenant, .floor, .building] {
            for resolution in [Resolution.minute, .hour, .day, .month] where !(kind == .point && resolution == .minute) {
                let order = { (a: StoredFigure, b: StoredFigure) in (a.scopeID, a.quantity.rawValue, a.windowStart) < (b.scopeID, b.quantity.rawValue, b.windowStart) }
                let one = try await whole.figures(kind: kind, resolution: resolution, from: 0, to: .max).sorted(by: order)
                let many = try await pieces.figures(kind: kind, resolution: resolution, from: 0, to: .max).sorted(by: order)
                #expect(one.count == many.count && !one.isEmpty, "\(kind) \(resolution)")
                for (a, b) in zip(one, many) {
                    #expect(a.scopeID == b.scopeID && a.quantity == b.quantity && a.windowStart == b.windowStart)
                    let (x, y) = (a.values, b.values)
                    let close = { (p: Double, q: Double) in p == q || abs(p - q) <= 1e-9 * max(abs(p), abs(q)) }
                    #expect(close(x.amount, y.amount) && close(x.sampleSum, y.sampleSum) && close(x.levelSum, y.levelSum), "\(kind) \(resolution) \(a.windowStart)")
                    #expect(x.sampleCount == y.sampleCount && x.levelMinutes == y.levelMinutes && x.readings == y.readings)
                    #expect(x.sampleMax == y.sampleMax && close(x.levelPeak, y.levelPeak))
                    compared += 1
                }
            }
        }
        #expect(compared > 400)
    }

    /// A point's day and month figures (made from its hour rows on SQLite, stored on PostgreSQL) are its
    /// space's, where the space has only that point of its quantity: across local midnights and the end of
    /// June in Shanghai, and for a period asked in part.
    @Test(arguments: ReadingBackend.allCases)
    func aPointsDaysAndMonthsAreItsSpacesWhenItIsAlone(_ backend: ReadingBackend) async throws {
        let store = try await ReadingStores.open(backend, topology)
        var readings: [Reading] = []
        // Every 20 minutes from 07:00 on 29 June to 09:00 on 2 July, local time.
        for step in 0..<(3 * 72 + 6) {
            let time = at(-2 * 24 * 60 - 120) + Int64(step) * 20 * 60_000
            readings.append(Reading(point: 0, time: time, value: 1_000 + Double(step * step % 7) + Double(step)))
            readings.append(Reading(point: 1, time: time + 7_000, value: Double(step % 11)))
        }
        for start in stride(from: 0, to: readings.count, by: 50) {
            try await store.ingest(Array(readings[start..<min(start + 50, readings.count)]))
        }
        let midnight1July = at(-9 * 60) / 1000
        let close = { (p: Double, q: Double) in p == q || abs(p - q) <= 1e-9 * max(abs(p), abs(q)) }
        for (resolution, starts) in [
            (Resolution.day, [midnight1July - 2 * 86_400, midnight1July - 86_400, midnight1July, midnight1July + 86_400]),
            (.month, [midnight1July - 30 * 86_400, midnight1July]),
        ] {
            for (point, quantity) in [("kwh", Quantity.energy), ("people", .occupancy)] {
                let own = try await store.figures(scope: .point, id: point, resolution: resolution, quantity: quantity)
                let space = try await store.figures(scope: .space, id: "s1", resolution: resolution, quantity: quantity)
                #expect(own.map(\.windowStart) == starts, "\(point) \(resolution)")
                #expect(own.map(\.windowStart) == space.map(\.windowStart))
                for (a, b) in zip(own, space) {
                    // (A space keeps levels, not samples: the point's own samples are its readings.)
                    let (x, y) = (a.values, b.values)
                    #expect(close(x.amount, y.amount) && close(x.levelSum, y.levelSum), "\(point) \(resolution) \(a.windowStart)")
                    #expect(x.levelMinutes == y.levelMinutes && x.readings == y.readings)
                    #expect(x.sampleMax == y.sampleMax && close(x.levelPeak, y.levelPeak))
                    #expect(x.sampleCount == (quantity == .occupancy ? x.readings : 0))
                }
            }
        }
        // 1 July alone: its own 72 readings, not its neighbours'.
        let day = try await store.figures(scope: .point, id: "people", resolution: .day, from: midnight1July, to: midnight1July + 1)
        #expect(day.map(\.windowStart) == [midnight1July] && day.first?.values.readings == 72)
        let all = try await store.figures(kind: .point, resolution: .day, from: midnight1July, to: midnight1July + 86_400)
        #expect(all.map(\.scopeID).sorted() == ["kwh", "people"] && all.allSatisfy { $0.values.readings == 72 })
    }

    @Test(arguments: ReadingBackend.allCases)
    func pruningRemovesOnlyOldRawReadings(_ backend: ReadingBackend) async throws {
        let store = try await ReadingStores.open(backend, topology)
        try await store.ingest([Reading(point: 0, time: at(0), value: 1), Reading(point: 0, time: at(60), value: 2)])
        try await store.ingest([Reading(point: 0, time: at(200), value: 3)])
        func day() async throws -> [Double] { try await store.figures(scope: .point, id: "kwh", resolution: .day).map(\.values.amount) }
        #expect(try await day() == [2])
        #expect(try await store.pruneReadings(before: at(30)) == 1)
        #expect(try await store.readingCount() == 2)
        #expect(try await day() == [2])
        // Later than every reading: the point's figures stay whole (SQLite keeps the readings its hours not made
        // yet are made of, and the one before them).
        _ = try await store.pruneReadings(before: at(300))
        #expect(try await day() == [2])
    }

    @Test func figuresStoredByTheFirstSchemaSurviveTheMigrationToIntegerKeys() throws {
        let path = try databaseMigrated(upTo: "v1: points, readings, figures", then: """
            INSERT INTO figure VALUES ('tenant', 'alpha', 'energy', 'hour', 1782867600, 12.5, 0, 0, NULL, 0, 0, NULL, 3);
            INSERT INTO figure VALUES ('point', 'people', 'occupancy', 'minute', 1782867600, 0, 30, 2, 20, 15, 1, 15, 2);
            """)
        let store = try ReadingStore(path: path, topology: topology)
        #expect(try store.figures(scope: .tenant, id: "alpha", resolution: .hour).map(\.values.amount) == [12.5])
        let people = try store.figures(scope: .point, id: "people", resolution: .minute)
        #expect(people.first?.values.meanLevel == 15)
        #expect(people.first?.values.sampleMax == 20)
        // A point's minutes with readings are made from them now (an older version's row for such a minute
        // held the same readings); the migrated row serves the minutes whose readings are gone.
        try store.ingest([Reading(point: 1, time: at(0) + 10_000, value: 30)])
        #expect(try store.figures(scope: .point, id: "people", resolution: .minute).first?.values.sampleCount == 1)
        #expect(try store.figures(scope: .tenant, id: "alpha", resolution: .hour, quantity: .energy).map(\.values.amount) == [12.5])
    }

    /// Day and month rows of points that an older version stored are removed by the migration (they would
    /// stop growing); the point's days are then made from its hour rows, which hold the same readings.
    @Test func aPointsStoredDayRowsGiveWayToItsHours() throws {
        let path = try databaseMigrated(upTo: "v7: indexes for pruning delivered messages and skipped items", then: """
            INSERT INTO scope(id, kind, key) VALUES (1, 'point', 'kwh'), (2, 'space', 's1');
            INSERT INTO figure_row VALUES (1, 2, 2, 1782867600, 4, 0, 0, NULL, 0, 0, NULL, 2);
            INSERT INTO figure_row VALUES (1, 2, 2, 1782871200, 6, 0, 0, NULL, 0, 0, NULL, 3);
            INSERT INTO figure_row VALUES (1, 2, 3, 1782835200, 10, 0, 0, NULL, 0, 0, NULL, 5);
            INSERT INTO figure_row VALUES (1, 2, 4, 1782835200, 10, 0, 0, NULL, 0, 0, NULL, 5);
            INSERT INTO figure_row VALUES (2, 2, 3, 1782835200, 10, 0, 0, NULL, 0, 0, NULL, 5);
            """)
        let store = try ReadingStore(path: path, topology: topology)
        let stored = try store.writer.read { db in
            try Int.fetchAll(db, sql: "SELECT resolution FROM figure_row WHERE scope = 1 ORDER BY resolution")
        }
        #expect(stored == [2, 2], "the point's hour rows stay, its day and month rows are gone")
        #expect(try store.figures(scope: .point, id: "kwh", resolution: .day).map(\.values.amount) == [10])
        #expect(try store.figures(scope: .point, id: "kwh", resolution: .month).map(\.values.readings) == [5])
        #expect(try store.figures(scope: .space, id: "s1", resolution: .day).map(\.values.amount) == [10], "other scopes keep theirs")
        // And the next reading adds to the same day.
        try store.ingest([Reading(point: 0, time: at(30), value: 100), Reading(point: 0, time: at(40), value: 101)])
        #expect(try store.figures(scope: .point, id: "kwh", resolution: .day).map(\.values.amount) == [11])
    }

    /// Older versions wrote a space's days and months with every reading: after the upgrade its stored
    /// hours count once, and the hours that close afterwards are added to its days once as well.
    @Test func aScopesDaysFromBeforeTheUpgradeCountItsHoursOnce() throws {
        let path = try databaseMigrated(upTo: "v8: a point's day and month rows are made from its hour rows", then: """
            INSERT INTO scope(id, kind, key) VALUES (1, 'point', 'kwh'), (2, 'space', 's1');
            INSERT INTO figure_row VALUES (1, 2, 2, 1782867600, 4, 0, 0, NULL, 0, 0, NULL, 2);
            INSERT INTO figure_row VALUES (2, 2, 2, 1782867600, 4, 0, 0, NULL, 0, 0, NULL, 2);
            INSERT INTO figure_row VALUES (2, 2, 2, 1782871200, 6, 0, 0, NULL, 0, 0, NULL, 3);
            INSERT INTO figure_row VALUES (2, 2, 3, 1782835200, 10, 0, 0, NULL, 0, 0, NULL, 5);
            INSERT INTO figure_row VALUES (2, 2, 4, 1782835200, 10, 0, 0, NULL, 0, 0, NULL, 5);
            """)
        let store = try ReadingStore(path: path, topology: topology)
        func day() throws -> [Double] { try store.figures(scope: .space, id: "s1", resolution: .day, quantity: .energy).map(\.values.amount) }
        func month() throws -> [Int] { try store.figures(scope: .space, id: "s1", resolution: .month, quantity: .energy).map(\.values.readings) }
        #expect(try day() == [10], "the stored hours are in the stored day already")
        // 11:30 and 11:40: an open hour, added to the day only when read.
        try store.ingest([Reading(point: 0, time: at(150), value: 100), Reading(point: 0, time: at(160), value: 101)])
        #expect(try day() == [11])
        // 13:10 closes 11:00, which goes into the day row; 13:00 is open. Then 10:50, long closed, goes in directly.
        try store.ingest([Reading(point: 0, time: at(250), value: 103)])
        #expect(try day() == [13])
        try store.ingest([Reading(point: 0, time: at(110), value: 99)])
        #expect(try month() == [9])
        #expect(try store.writer.read { db in try Int.fetchOne(db, sql: "SELECT readings FROM figure_row WHERE scope = 2 AND resolution = 3") } == 8,
                "the day row holds the closed hours and the late reading, 13:00 not yet")
        // A restart continues from the same fold: nothing twice.
        let reopened = try ReadingStore(path: path, topology: topology)
        #expect(try reopened.figures(scope: .space, id: "s1", resolution: .day, quantity: .energy).map(\.values.readings) == [9])
        try reopened.ingest([Reading(point: 0, time: at(24 * 60), value: 110)])
        #expect(try reopened.figures(scope: .space, id: "s1", resolution: .day, quantity: .energy).map(\.values.readings) == [9, 1])
        #expect(try reopened.figures(scope: .space, id: "s1", resolution: .month, quantity: .energy).map(\.values.readings) == [10])
    }

    /// A point's hours are made from its readings (ReadingStore+PointHours.swift): an open hour has no row but
    /// reads the same, a closed one gets its row once, a late reading is added to it, and a restart or pruning
    /// changes nothing.
    @Test func aPointsHoursAreMadeFromItsReadingsOnceTheyClose() throws {
        let path = temporaryDatabase()
        var store = try ReadingStore(path: path, topology: topology)
        func rows() throws -> [String] {
            try store.writer.read { db in
                try String.fetchAll(db, sql: """
                    SELECT s.key || '@' || f.window_start FROM figure_row f JOIN scope s ON s.id = f.scope
                    WHERE s.kind = 'point' AND f.resolution = 2 ORDER BY s.key, f.window_start
                    """)
            }
        }
        func hours(_ id: String) throws -> [StoredFigure] { try store.figures(scope: .point, id: id, resolution: .hour) }
        let (nine, eleven, one) = (at(0) / 1000, at(120) / 1000, at(240) / 1000)
        // 09:00–09:30: three meter readings, and three head counts, two of them in one minute (20, then 10).
        try store.ingest([
            Reading(point: 0, time: at(0), value: 100), Reading(point: 1, time: at(0) + 10_000, value: 20),
            Reading(point: 1, time: at(0) + 40_000, value: 10),
        ])
        try store.ingest([Reading(point: 0, time: at(10), value: 104), Reading(point: 0, time: at(20), value: 110), Reading(point: 1, time: at(30), value: 5)])
        #expect(try rows().isEmpty, "an open hour has no row")
        func expectNine(kwh amount: Double, _ kwhReadings: Int, people readings: Int, levelSum: Double, minutes: Int, _ when: String) throws {
            let kwh = try hours("kwh").first { $0.windowStart == nine }?.values
            #expect(kwh?.amount == amount && kwh?.readings == kwhReadings, "kwh at 09:00, \(when)")
            let people = try hours("people").first { $0.windowStart == nine }?.values
            #expect(people?.readings == readings && people?.sampleCount == readings && people?.sampleMax == 20, "people at 09:00, \(when)")
            #expect(people?.levelMinutes == minutes && people?.levelSum == levelSum, "people at 09:00, \(when)")
            // The highest minute's mean: (20 + 10) / 2 (the aggregator's running mean reached 20).
            #expect(people?.levelPeak == 15, "people at 09:00, \(when)")
        }
        try expectNine(kwh: 10, 3, people: 3, levelSum: 20, minutes: 2, "open")
        #expect(try store.figures(scope: .space, id: "s1", resolution: .hour, quantity: .energy).map(\.values.amount) == [10])

        // 11:10 shows 09:00 and 10:00 closed: 09:00 gets its rows, from the same readings.
        try store.ingest([Reading(point: 0, time: at(130), value: 120)])
        #expect(try rows() == ["kwh@\(nine)", "people@\(nine)"])
        try expectNine(kwh: 10, 3, people: 3, levelSum: 20, minutes: 2, "made")
        #expect(try hours("kwh").map(\.windowStart) == [nine, eleven])

        // Late readings for 09:00 are added to its rows; the meter's next interval, 11:00's, shrinks by as much.
        try store.ingest([Reading(point: 0, time: at(40), value: 112), Reading(point: 1, time: at(50), value: 8)])
        try expectNine(kwh: 12, 4, people: 4, levelSum: 28, minutes: 3, "late")
        #expect(try hours("kwh").map(\.values.amount) == [12, 8])

        // A new process: the same figures; 13:10 closes 11:00, whose increase starts from 09:40's reading.
        store = try ReadingStore(path: path, topology: topology)
        try expectNine(kwh: 12, 4, people: 4, levelSum: 28, minutes: 3, "after a restart")
        try store.ingest([Reading(point: 0, time: at(250), value: 125)])
        #expect(try rows() == ["kwh@\(nine)", "kwh@\(eleven)", "people@\(nine)"])
        #expect(try hours("kwh").map(\.values.amount) == [12, 8, 5])
        #expect(try hours("kwh").map(\.windowStart) == [nine, eleven, one])
        let day = { try store.figures(scope: .point, id: "kwh", resolution: .day).map(\.values.amount) }
        #expect(try day() == [25])
        #expect(try store.figures(scope: .space, id: "s1", resolution: .day, quantity: .energy).map(\.values.amount) == [25])
        // Rules see the same: 13:00 from readings, the day from rows and readings.
        let alerts = AlertStore(store)
        #expect(try alerts.figureRows(of: [(.point, "kwh")], quantities: [.energy], resolution: .hour, windowStart: one, windowEnd: one + 3600)[0].map(\.1.amount) == [5])
        let midnight = at(-9 * 60) / 1000
        #expect(try alerts.figureRows(of: [(.point, "kwh")], quantities: [.energy], resolution: .day, windowStart: midnight, windowEnd: midnight + 86_400)[0].map(\.1.amount) == [25])
        #expect(try alerts.pointReadings(of: [("kwh", .energy), ("people", .occupancy)], resolution: .day, windowStart: midnight, windowEnd: midnight + 86_400) == [6, 4])

        // Pruning everything before tomorrow keeps what 13:00 is made of: its reading and the one before it.
        #expect(try store.pruneReadings(before: at(24 * 60)) == 7)
        #expect(try hours("kwh").map(\.values.amount) == [12, 8, 5] && day() == [25])
        try store.ingest([Reading(point: 0, time: at(24 * 60), value: 126)])
        #expect(try hours("kwh").map(\.values.amount) == [12, 8, 5, 1], "13:00 made from the readings pruning kept")
    }

    /// A point dropped from the configuration has all its hours made at the reload: none is left to be made
    /// from readings of a point no longer known.
    @Test func aPointLeavingTheTopologyKeepsItsHours() throws {
        let store = try ReadingStore(path: temporaryDatabase(), topology: topology)
        try store.ingest([Reading(point: 0, time: at(0), value: 100), Reading(point: 0, time: at(10), value: 104), Reading(point: 1, time: at(5), value: 3)])
        let before = try store.figures(scope: .point, id: "kwh", resolution: .hour)
        #expect(before.map(\.values.amount) == [4])
        let reduced = Topology(buildings: topology.buildings, floors: topology.floors, spaces: topology.spaces, tenants: topology.tenants, points: [topology.points[1]])
        try store.replaceTopology(reduced)
        #expect(try store.figures(scope: .point, id: "kwh", resolution: .hour) == before)
        #expect(try store.figures(scope: .point, id: "people", resolution: .hour).map(\.values.readings) == [1])
    }

    @Test(arguments: ReadingBackend.allCases)
    func reloadedTopologyKeepsStoredFigures(_ backend: ReadingBackend) async throws {
        let store = try await ReadingStores.open(backend, topology)
        try await store.ingest([Reading(point: 0, time: at(0), value: 1), Reading(point: 0, time: at(60), value: 5)])
        var changed = topology
        changed.points.swapAt(0, 1)
        try await store.replaceTopology(Topology(buildings: changed.buildings, floors: changed.floors, spaces: changed.spaces, tenants: changed.tenants, points: changed.points))
        // "kwh" is now point index 1.
        try await store.ingest([Reading(point: 1, time: at(120), value: 9)])
        let hours = try await store.figures(scope: .point, id: "kwh", resolution: .hour)
        #expect(hours.map(\.values.amount) == [0, 4, 4])
    }
}
