import Foundation
import StoreyCore

/// A small tower for tests: one building in Shanghai time, two floors, three spaces, two tenants.
enum TestTopology {
    static func make(timeZone: String = "Asia/Shanghai") -> Topology {
        let buildings = [Building(id: "tower", name: "Tower", timeZone: TimeZone(identifier: timeZone)!, landArea: 6666.7)]
        let floors = [
            Floor(id: "tower/1", buildingIndex: 0, level: 1, grossArea: 1000),
            Floor(id: "tower/2", buildingIndex: 0, level: 2, grossArea: 1000),
        ]
        let spaces = [
            Space(id: "s1", floorIndex: 0, area: 400, capacity: 20),
            Space(id: "s2", floorIndex: 0, area: 600, capacity: 30),
            Space(id: "s3", floorIndex: 1, area: 1000, capacity: 50),
        ]
        let tenants = [
            Tenant(id: "alpha", name: "Alpha", leases: [
                Lease(spaceIndex: 0, start: LocalDate("2026-01-01")!, end: nil),
                Lease(spaceIndex: 2, start: LocalDate("2026-06-01")!, end: LocalDate("2026-12-31")!),
            ]),
            Tenant(id: "beta", name: "Beta", leases: [Lease(spaceIndex: 1, start: LocalDate("2025-01-01")!, end: LocalDate("2026-03-31")!)]),
        ]
        func point(_ id: String, _ quantity: Quantity, space: Int?, floor: Int, rollover: Double? = nil, maximum: Double = 10_000) -> Point {
            Point(
                id: id, quantity: quantity, unit: quantity.defaultUnit, place: space.map { .space($0) } ?? .floor(floor),
                floorIndex: floor, buildingIndex: 0, topic: "storey/tower/\(floor + 1)/\(space.map { spaces[$0].id } ?? "-")/\(id)",
                rollover: rollover, maximum: maximum)
        }
        let points = [
            point("s1-kw", .power, space: 0, floor: 0),          // 0
            point("s1-kwh", .energy, space: 0, floor: 0, rollover: 99_999), // 1
            point("s1-people", .occupancy, space: 0, floor: 0),  // 2
            point("s2-kw", .power, space: 1, floor: 0),          // 3
            point("s3-kwh", .energy, space: 2, floor: 1),        // 4
            point("f1-water", .water, space: nil, floor: 0),     // 5
        ]
        return Topology(buildings: buildings, floors: floors, spaces: spaces, tenants: tenants, points: points)
    }

    /// Milliseconds of a local time in Shanghai (UTC+8), e.g. "2026-07-01T09:00:30".
    static func millis(_ local: String, zone: String = "+08:00") -> Int64 {
        let date = try! Date.ISO8601FormatStyle().parse(local + zone)
        return Int64(date.timeIntervalSince1970 * 1000)
    }
}

/// Storage stand-in for the aggregator's rare paths: remembers readings and figure rows as a real
/// store would (the store tests run the same logic on SQLite).
final class MemoryHistory: FigureHistory {
    var figures: [FigureKey: FigureValues] = [:]
    var readings: [Int: [(time: Int64, value: Double)]] = [:]

    func storedFigure(_ key: FigureKey) -> FigureValues? { figures[key] }

    func latestMinute(scope: Scope, quantity: Quantity) -> (start: Int64, values: FigureValues)? {
        figures.filter { $0.key.scope == scope && $0.key.quantity == quantity && $0.key.resolution == .minute }
            .max { $0.key.windowStart < $1.key.windowStart }
            .map { ($0.key.windowStart, $0.value) }
    }

    func counterNeighbours(point: Int, around time: Int64) -> (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?) {
        let list = (readings[point] ?? []).sorted { $0.time < $1.time }
        return (list.last { $0.time < time }, list.first { $0.time > time })
    }

    /// Feeds readings the way the store does: duplicates (same point and time) are dropped first,
    /// pending figures are committed after each batch.
    func ingest(_ batch: [Reading], into aggregator: inout Aggregator) {
        for reading in batch {
            if readings[reading.point]?.contains(where: { $0.time == reading.time }) == true { continue }
            readings[reading.point, default: []].append((reading.time, reading.value))
            aggregator.add(reading, history: self)
        }
        for (key, values) in aggregator.takePending() {
            figures[key, default: FigureValues()].merge(values)
        }
    }
}
