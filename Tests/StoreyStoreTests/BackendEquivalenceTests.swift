import Foundation
import StoreyCore
import StoreyPostgres
import StoreyTestSupport
import Testing

@testable import StoreyStore

/// One messy stream — counters and gauges, readings out of order, repeated, across restarts and an hour
/// boundary — stored by SQLite and by PostgreSQL: every figure row of every scope must come out the same.
@Suite struct BackendEquivalenceTests {
    let topology: Topology = {
        let building = Building(id: "tower", name: "Tower", timeZone: TimeZone(identifier: "Asia/Shanghai")!, landArea: 6666.7)
        let floor = Floor(id: "tower/1", buildingIndex: 0, level: 1, grossArea: 1000)
        let spaces = [Space(id: "s1", floorIndex: 0, area: 500, capacity: 20), Space(id: "s2", floorIndex: 0, area: 300, capacity: 10)]
        let tenants = [
            Tenant(id: "alpha", name: "Alpha", leases: [Lease(spaceIndex: 0, start: LocalDate("2026-01-01")!, end: nil)]),
            Tenant(id: "beta", name: "Beta", leases: [Lease(spaceIndex: 1, start: LocalDate("2026-01-01")!, end: nil)]),
        ]
        let points = (0..<2).flatMap { space in
            [
                Point(id: "kwh\(space)", quantity: .energy, unit: "kWh", place: .space(space), floorIndex: 0, buildingIndex: 0, topic: "t/kwh\(space)", maximum: 10_000),
                Point(id: "people\(space)", quantity: .occupancy, unit: "persons", place: .space(space), floorIndex: 0, buildingIndex: 0, topic: "t/p\(space)", maximum: 100),
                Point(id: "kw\(space)", quantity: .power, unit: "kW", place: .space(space), floorIndex: 0, buildingIndex: 0, topic: "t/kw\(space)", maximum: 1000),
            ]
        }
        return Topology(buildings: [building], floors: [floor], spaces: spaces, tenants: tenants, points: points)
    }()

    /// Batches of readings over 90 minutes from 09:30 in Shanghai: every point reports every 20 s, a
    /// tenth of the readings arrive one to three batches late, a twentieth are sent twice, and each batch
    /// comes in shuffled.
    func stream() -> [[Reading]] {
        var generator = SeededRandom(state: 20261127)
        let start: Int64 = 1_782_869_400_000
        var counters = [Double](repeating: 1000, count: topology.points.count)
        var batches = [[Reading]](repeating: [], count: 280)
        for step in 0..<270 {
            for (index, point) in topology.points.enumerated() {
                let time = start + Int64(step) * 20_000 + Int64(index) * 700
                let value: Double
                switch point.quantity {
                case .energy:
                    counters[index] += Double(generator.next() % 50) / 10
                    value = counters[index]
                case .occupancy: value = Double(generator.next() % 21)
                default: value = Double(generator.next() % 4000) / 10
                }
                let reading = Reading(point: index, time: time, value: value)
                let late = generator.next() % 10 == 0 ? Int(1 + generator.next() % 3) : 0
                batches[step + late].append(reading)
                if generator.next() % 20 == 0 { batches[min(279, step + 2)].append(reading) }
            }
        }
        // Within a batch, any order: an out-of-order reading's neighbours may come earlier in its own batch.
        for index in batches.indices {
            for i in stride(from: batches[index].count - 1, to: 0, by: -1) {
                batches[index].swapAt(i, Int(generator.next() % UInt64(i + 1)))
            }
        }
        return batches
    }

    @Test func sqliteAndPostgreSQLStoreTheSameFigures() async throws {
        var sqlite = try await ReadingStores.open(.sqlite, topology)
        var postgres = try await ReadingStores.open(.postgresql, topology)
        for (number, batch) in stream().enumerated() {
            // Both "restart" now and then: caches gone, figures continue from what is stored.
            if number % 70 == 69 {
                sqlite = try await sqlite.reopened(topology)
                postgres = try await postgres.reopened(topology)
            }
            let a = try await sqlite.ingest(batch)
            let b = try await postgres.ingest(batch)
            #expect(a == b, "batch \(number): the same readings stored, duplicates and windows")
        }
        #expect(try await sqlite.readingCount() == postgres.readingCount())
        var compared = 0
        for kind in [ScopeKind.point, .space, .tenant, .floor, .building] {
            let count = [ScopeKind.point: topology.points.count, .space: topology.spaces.count, .tenant: topology.tenants.count,
                         .floor: topology.floors.count, .building: topology.buildings.count][kind]!
            let ids: [String] = (0..<count).map { topology.scopeID(Scope(kind, $0)) }
            for id in ids {
                for resolution in [Resolution.minute, .hour, .day, .month] {
                    let left = try await sqlite.figures(scope: kind, id: id, resolution: resolution)
                    let right = try await postgres.figures(scope: kind, id: id, resolution: resolution)
                    #expect(left.count == right.count, "\(kind) \(id) \(resolution)")
                    for (l, r) in zip(left, right) {
                        #expect(l.windowStart == r.windowStart && l.quantity == r.quantity)
                        #expect(l.values.readings == r.values.readings && l.values.sampleCount == r.values.sampleCount && l.values.levelMinutes == r.values.levelMinutes)
                        #expect(abs(l.values.amount - r.values.amount) < 1e-9, "\(kind) \(id) \(resolution) \(l.windowStart) amount")
                        #expect(abs(l.values.sampleSum - r.values.sampleSum) < 1e-9 && abs(l.values.levelSum - r.values.levelSum) < 1e-9)
                        #expect(l.values.sampleMax == r.values.sampleMax)
                        if kind == .point && resolution != .minute {
                            // SQLite makes a point's hours from its readings once they close (ReadingStore+PointHours.swift):
                            // its peak is the highest mean of a minute's readings, PostgreSQL's the highest running mean, so
                            // never lower (the two are equal where a minute has one reading).
                            #expect(l.values.levelPeak <= r.values.levelPeak + 1e-9, "\(kind) \(id) \(resolution) \(l.windowStart) peak")
                        } else {
                            #expect(l.values.levelPeak == r.values.levelPeak)
                        }
                        compared += 1
                    }
                }
            }
        }
        #expect(compared > 500, "compared \(compared) figure rows")

        // The operator's view's questions get the same answers.
        func key(_ figure: StoredFigure) -> String { "\(figure.scopeKind)/\(figure.scopeID)/\(figure.quantity)/\(figure.windowStart)" }
        func same(_ left: [StoredFigure], _ right: [StoredFigure], _ what: String) {
            let l = left.sorted { key($0) < key($1) }, r = right.sorted { key($0) < key($1) }
            #expect(l.map(key) == r.map(key), "\(what)")
            #expect(zip(l, r).allSatisfy { abs($0.values.amount - $1.values.amount) < 1e-9 && $0.values.readings == $1.values.readings }, "\(what)")
        }
        let hours: Set<Int64> = [1_782_867_600, 1_782_871_200, 1_782_874_800]
        let window = try await sqlite.windowFigures(resolution: .hour, windowStarts: hours)
        #expect(window.count > 20)
        same(window, try await postgres.windowFigures(resolution: .hour, windowStarts: hours), "window figures")
        // Days and months, which SQLite makes partly from hours not yet folded into them (ReadingStore+Folding.swift).
        let midnights: Set<Int64> = [1_782_835_200, 1_782_921_600]
        let days = try await sqlite.windowFigures(resolution: .day, windowStarts: midnights)
        #expect(days.count > 10)
        same(days, try await postgres.windowFigures(resolution: .day, windowStarts: midnights), "window figures of days")
        same(
            try await sqlite.windowFigures(resolution: .month, windowStarts: [1_782_835_200]),
            try await postgres.windowFigures(resolution: .month, windowStarts: [1_782_835_200]), "window figures of months")
        for kind in [ScopeKind.space, .tenant, .floor, .building] {
            for resolution in [Resolution.day, .month] {
                same(
                    try await sqlite.figures(kind: kind, resolution: resolution, from: 0, to: .max),
                    try await postgres.figures(kind: kind, resolution: resolution, from: 0, to: .max), "\(kind) \(resolution)s")
            }
        }
        same(
            try await sqlite.figures(kind: .tenant, resolution: .minute, from: 1_782_869_400, to: 1_782_871_200),
            try await postgres.figures(kind: .tenant, resolution: .minute, from: 1_782_869_400, to: 1_782_871_200), "tenants' minutes")
        let ids = topology.points.map(\.id) + ["nowhere"]
        let times = try await sqlite.lastReadingTimes(pointIDs: ids)
        #expect(times.count == topology.points.count)
        #expect(try await postgres.lastReadingTimes(pointIDs: ids) == times)
    }
}
