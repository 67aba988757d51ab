import Foundation
import StoreyCore
import StoreySimulation

/// A one-floor tower for the model's tests: an assembly line on two shifts, a hoarder, a packaging line that
/// stops, a dark space and a night-shift machine shop, in Shanghai time.
enum SmallTower {
    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    static func shift(_ text: String) -> Shift { Shift(text)! }

    static let twoShifts = WorkingHours([
        .monday: [shift("07:00-15:00"), shift("15:00-23:00")], .tuesday: [shift("07:00-15:00"), shift("15:00-23:00")],
        .wednesday: [shift("07:00-15:00"), shift("15:00-23:00")], .thursday: [shift("07:00-15:00"), shift("15:00-23:00")],
        .friday: [shift("07:00-15:00"), shift("15:00-23:00")], .saturday: [shift("08:00-16:00")],
    ])
    static let nights = WorkingHours(shifts: [shift("22:00-06:00")])
    /// 2026-10-01 (a Thursday) is a holiday; Sunday 2026-10-11 is worked as a Friday.
    static let calendar = HolidayCalendar(holidays: [LocalDate("2026-10-01")!], makeUpDays: [LocalDate("2026-10-11")!: .friday])

    static let spaces = ["assembly", "hoard", "line", "dark", "machining"]

    static let topology: Topology = {
        let building = Building(id: "t", name: "T", timeZone: shanghai, landArea: 5000)
        let floor = Floor(id: "t/1", buildingIndex: 0, level: 1, grossArea: 6000)
        let space = spaces.map { Space(id: $0, floorIndex: 0, area: 1000, capacity: 50) }
        let start = LocalDate("2025-01-01")!
        let tenants = spaces.enumerated().map { index, id in
            Tenant(id: "\(id)-co", name: id, labels: ["activity": id == "machining" ? "precision-machining" : id == "line" ? "packaging-line" : "electronics-assembly"],
                   leases: [Lease(spaceIndex: index, start: start, end: nil)])
        }
        var points: [Point] = []
        for (index, id) in spaces.enumerated() {
            for (suffix, quantity) in [("kw", Quantity.power), ("kwh", .energy), ("people", .occupancy), ("output", .output)] {
                points.append(Point(
                    id: "\(id)-\(suffix)", quantity: quantity, unit: quantity == .output ? "CNY" : quantity.defaultUnit, place: .space(index),
                    floorIndex: 0, buildingIndex: 0, topic: "storey/t/1/\(id)/\(id)-\(suffix)", maximum: 20_000))
            }
        }
        points.append(Point(id: "water", quantity: .water, unit: "m3", place: .floor(0), floorIndex: 0, buildingIndex: 0, topic: "storey/t/1/-/water", maximum: 1000))
        return Topology(buildings: [building], floors: [floor], spaces: space, tenants: tenants, points: points)
    }()

    static let workingTimes = WorkingTimeTable(
        defaultHours: twoShifts, tenantHours: [4: nights], calendars: [0: calendar])

    static let plan = SimulationPlan(
        tenantScenarios: ["hoard-co": .hoarding, "line-co": .lineStopped(from: LocalDate("2026-11-23")!, days: 7, repeatEvery: 28)],
        spaceScenarios: ["dark": .dark])

    static func point(_ id: String) -> Int { topology.pointByID[id]! }
    static func space(_ id: String) -> Int { spaces.firstIndex(of: id)! }

    /// Milliseconds of a Shanghai wall-clock time, `2026-11-25 10:00`.
    static func at(_ text: String) -> Int64 {
        let parts = text.split(separator: " ")
        let clock = parts[1].split(separator: ":").map { Int($0)! }
        return LocalInstant(date: LocalDate(parts[0])!, minuteOfDay: clock[0] * 60 + clock[1]).milliseconds(in: shanghai)
    }

    static func simulation(seed: UInt64 = 7, plan: SimulationPlan = plan, start: String = "2026-11-25 09:00", interval: Int64 = 60_000, topology: Topology = topology) -> TowerSimulation {
        TowerSimulation(topology: topology, workingTimes: workingTimes, plan: plan, seed: seed, start: at(start), interval: interval)
    }
}
