import Foundation
import StoreyCore
import StoreySimulation
import Testing

/// The stream of readings the simulated tower publishes: determinism, counters, faults, payloads.
@Suite struct TowerSimulationTests {
    /// Ticks until `hours` of simulated time have passed.
    static func run(_ simulation: inout TowerSimulation, hours: Double) -> [SimulatedReading] {
        var readings: [SimulatedReading] = []
        let ticks = Int(hours * 3_600_000) / Int(simulation.interval)
        for _ in 0..<ticks { readings += simulation.nextTick() }
        return readings
    }

    static func values(_ readings: [SimulatedReading], _ point: String) -> [Double] {
        readings.filter { $0.point == SmallTower.point(point) }.map(\.value)
    }

    @Test func sameSeedGivesTheSameStreamAndAnotherSeedAnother() {
        var a = SmallTower.simulation(seed: 42)
        var b = SmallTower.simulation(seed: 42)
        var c = SmallTower.simulation(seed: 43)
        let first = Self.run(&a, hours: 2)
        #expect(first == Self.run(&b, hours: 2))
        #expect(first != Self.run(&c, hours: 2))
        #expect(first.count == 2 * 60 * SmallTower.topology.points.count)
    }

    @Test func readingsOfATickLieInItsIntervalInTimeOrder() {
        var simulation = SmallTower.simulation()
        let start = simulation.start
        let tick = simulation.nextTick()
        #expect(tick.allSatisfy { $0.time >= start && $0.time < start + 60_000 })
        #expect(tick.map(\.time) == tick.map(\.time).sorted())
        #expect(simulation.nextTickEnd == start + 120_000)
    }

    @Test func energyCounterIntegratesThePowerDrawn() {
        var simulation = SmallTower.simulation(start: "2026-11-25 08:00")
        let readings = Self.run(&simulation, hours: 1)
        let energy = Self.values(readings, "assembly-kwh")
        let power = Self.values(readings, "assembly-kw")
        let meanPower = power.reduce(0, +) / Double(power.count)
        let used = energy.last! - energy.first!
        // 59 intervals of a minute between the first and last reading.
        #expect(abs(used - meanPower * 59 / 60) < meanPower * 0.03)
        #expect(zip(energy, energy.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func outputCountsOnlyInWorkingTime() {
        var night = SmallTower.simulation(start: "2026-11-25 01:00")
        let output = Self.values(Self.run(&night, hours: 1), "assembly-output")
        #expect(Set(output).count == 1)
        var day = SmallTower.simulation(start: "2026-11-25 09:00")
        let produced = Self.values(Self.run(&day, hours: 1), "assembly-output")
        #expect(produced.last! > produced.first! + 1000)
    }

    @Test func occupancyIsWholePersonsWithinCapacity() {
        var simulation = SmallTower.simulation(start: "2026-11-25 06:30")
        for value in Self.values(Self.run(&simulation, hours: 3), "assembly-people") {
            #expect(value == value.rounded() && value >= 0 && value <= 50)
        }
    }

    @Test func counterResetRestartsTheRegisterFromZero() {
        var plan = SmallTower.plan
        plan.faults = ["assembly-kwh": [.counterReset(period: 3600)]]
        var simulation = SmallTower.simulation(plan: plan, start: "2026-11-25 08:00")
        let energy = Self.values(Self.run(&simulation, hours: 3), "assembly-kwh")
        let drops = zip(energy, energy.dropFirst()).filter { $0 > $1 }
        #expect(drops.count >= 2 && drops.count <= 3)
        #expect(drops.allSatisfy { $0.1 < 1 })
    }

    @Test func droppedOutSensorIsSilentForItsDurationEachPeriod() {
        var plan = SmallTower.plan
        plan.faults = ["hoard-people": [.dropout(period: 3600, duration: 1200)]]
        var simulation = SmallTower.simulation(plan: plan)
        let readings = Self.run(&simulation, hours: 3)
        #expect(Self.values(readings, "hoard-people").count == 180 - 60)
        #expect(Self.values(readings, "hoard-kw").count == 180)
    }

    @Test func counterWithARolloverWrapsEarlyInTheRun() {
        let base = SmallTower.topology
        var points = base.points
        points[SmallTower.point("assembly-kwh")].rollover = 99_999.9
        let topology = Topology(buildings: base.buildings, floors: base.floors, spaces: base.spaces, tenants: base.tenants, points: points)
        var simulation = SmallTower.simulation(start: "2026-11-25 08:00", topology: topology)
        let energy = Self.values(Self.run(&simulation, hours: 2), "assembly-kwh")
        #expect(energy.first! > 99_900)
        #expect(energy.contains { $0 < 100 })
        #expect(energy.allSatisfy { $0 <= 99_999.9 })
    }

    @Test func underuseShowsInTheNumbersOfAWorkingDay() {
        var simulation = SmallTower.simulation(start: "2026-11-25 00:00")
        let readings = Self.run(&simulation, hours: 24)
        func used(_ id: String) -> Double { let v = Self.values(readings, id); return v.last! - v.first! }
        func peak(_ id: String) -> Double { Self.values(readings, id).max()! }
        #expect(used("hoard-kwh") < used("assembly-kwh") * 0.15)
        #expect(used("line-output") == 0 && used("hoard-output") == 0 && used("dark-output") == 0)
        #expect(used("assembly-output") > 0)
        #expect(peak("hoard-people") <= 3 && peak("dark-people") == 0 && peak("assembly-people") > 40)
        #expect(used("dark-kwh") < 24 * 4.0 * 1.06)
    }

    @Test func everyPayloadDecodesToTheReadingItCarries() throws {
        let decoder = PayloadDecoder()
        for quantity in Quantity.allCases {
            let shape = PayloadShape.of(quantity)
            let value = quantity == .presence ? 1.0 : 1234.567
            let payload = shape.payload(value: value, time: 1_764_201_600_250, quantity: quantity, unit: quantity.defaultUnit)
            var decoded: [DecodedValue] = []
            try Array(payload.utf8).withUnsafeBytes { try decoder.decode($0, now: 1_764_201_700_000, into: &decoded) }
            #expect(decoded.count == 1)
            #expect(decoded.first?.value == value, "\(payload)")
            #expect(decoded.first?.time == 1_764_201_600_250, "\(payload)")
        }
    }

    @Test func floorWaterMeterSumsItsSpacesAndWashrooms() {
        // Sunday night: not even the night shift works.
        var night = SmallTower.simulation(start: "2026-11-29 01:00")
        let water = Self.values(Self.run(&night, hours: 1), "water")
        // At night only the floor's own base flow runs: 0.02 m³ an hour.
        #expect(abs((water.last! - water.first!) - 0.02 * 59 / 60) < 0.003)
    }
}
