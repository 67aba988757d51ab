import Foundation
import StoreyCore

/// One value a simulated sensor sends.
public struct SimulatedReading: Sendable, Equatable {
    public var point: Int
    /// Milliseconds since the Unix epoch.
    public var time: Int64
    /// In the point's own unit (as the configuration declares it).
    public var value: Double
}

/// The simulated tower: every point of a topology, reading once per `interval` of simulated time.
///
/// Each point reads at its own moment within the interval (a fixed phase), through the tenant behaviour of
/// its space, with a little noise; counters integrate what the space draws. Same topology, plan, seed, start
/// and interval: the same stream of readings, value for value.
public struct TowerSimulation: Sendable {
    public let topology: Topology
    public let start: Int64
    /// Milliseconds between two readings of one point.
    public let interval: Int64
    public let noise: Noise
    /// The next tick to compute: readings of tick k lie in [start + k·interval, start + (k+1)·interval).
    public private(set) var tick = 0

    /// Space → one behaviour per lease of it (as `Topology.leasesBySpace` lists them), then the vacant one.
    private let behaviours: [[SpaceBehaviour]]
    private let faults: [[SensorFault]]
    private let phase: [Int64]
    /// Counter points: what the meter has counted since the simulation began, and the register shown.
    private var counted: [Double]
    private var registerStart: [Double]
    private var resetEpoch: [Int]
    private let spacesByFloor: [[Int]]

    public init(topology: Topology, workingTimes: WorkingTimeTable, plan: SimulationPlan, seed: UInt64, start: Int64, interval: Int64) {
        precondition(interval >= 1000, "readings at least a second apart")
        self.topology = topology
        self.start = start
        self.interval = interval
        self.noise = Noise(seed: seed)
        let tenantIndex = Dictionary(uniqueKeysWithValues: topology.tenants.enumerated().map { ($1.id, $0) })
        let spaceIndex = Dictionary(uniqueKeysWithValues: topology.spaces.enumerated().map { ($1.id, $0) })
        let tenantScenarios = Dictionary(uniqueKeysWithValues: plan.tenantScenarios.compactMap { id, s in tenantIndex[id].map { ($0, s) } })
        let spaceScenarios = Dictionary(uniqueKeysWithValues: plan.spaceScenarios.compactMap { id, s in spaceIndex[id].map { ($0, s) } })
        faults = topology.points.map { plan.faults[$0.id] ?? [] }

        // Each lease slot of each space behaves as its tenant's kind, in its tenant's working time.
        var behaviours: [[SpaceBehaviour]] = []
        for (index, space) in topology.spaces.enumerated() {
            let buildingIndex = topology.floors[space.floorIndex].buildingIndex
            let building = topology.buildings[buildingIndex]
            var slots: [SpaceBehaviour] = []
            for entry in topology.leasesBySpace[index] {
                let tenant = topology.tenants[entry.tenant]
                let workingTime = WorkingTime(
                    hours: workingTimes.tenantHours[entry.tenant] ?? workingTimes.defaultHours,
                    calendar: workingTimes.calendars[buildingIndex] ?? .none, timeZone: building.timeZone)
                slots.append(SpaceBehaviour(
                    area: space.area, capacity: space.capacity, profile: plan.kind(of: tenant).profile, workingTime: workingTime,
                    scenario: spaceScenarios[index] ?? tenantScenarios[entry.tenant]))
            }
            slots.append(SpaceBehaviour.vacant(area: space.area, timeZone: building.timeZone))
            behaviours.append(slots)
        }
        self.behaviours = behaviours
        spacesByFloor = topology.floors.indices.map { floor in topology.spaces.indices.filter { topology.spaces[$0].floorIndex == floor } }

        let noise = Noise(seed: seed)
        phase = topology.points.indices.map { Int64(noise.unit($0, -1) * Double(interval - 1000)) }
        registerStart = topology.points.enumerated().map { index, point in
            guard point.quantity.isCounter else { return 0 }
            // A meter with a known rollover starts just below it, so the register wraps early in the run.
            if let rollover = point.rollover { return rollover * (1 - 0.0005 * noise.unit(index, -2)) }
            return (noise.unit(index, -2) * 50_000).rounded()
        }
        counted = Array(repeating: 0, count: topology.points.count)
        resetEpoch = Array(repeating: Int.min, count: topology.points.count)
    }

    /// The instant by which every reading of the next tick has happened (publish the tick no earlier).
    public var nextTickEnd: Int64 { start + Int64(tick + 1) * interval }

    /// What a space is doing at `time` (its tenant, by lease, on that local date).
    public func activity(ofSpace space: Int, at time: Int64) -> SpaceActivity {
        let slots = behaviours[space]
        let vacant = slots[slots.count - 1]
        let day = LocalInstant(milliseconds: time, in: vacant.workingTime.timeZone).date
        for (slot, entry) in topology.leasesBySpace[space].enumerated() where entry.lease.covers(day) {
            return slots[slot].activity(at: time)
        }
        return vacant.activity(at: time)
    }

    /// The readings of the next tick, in time order; advances to the tick after.
    public mutating func nextTick() -> [SimulatedReading] {
        let tickStart = start + Int64(tick) * interval
        let hours = Double(interval) / 3_600_000
        var readings: [SimulatedReading] = []
        readings.reserveCapacity(topology.points.count)
        for (index, point) in topology.points.enumerated() {
            let time = tickStart + phase[index]
            let activity = activity(of: point, at: time)
            let wobble = noise.factor(0.05, index, tick)
            var value: Double
            switch point.quantity {
            case .power: value = activity.power * wobble
            case .occupancy: value = (activity.occupancy * noise.factor(0.1, index, tick)).rounded()
            case .presence: value = activity.occupancy >= 0.5 ? 1 : 0
            case .energy: value = count(index, activity.power * wobble * hours, at: time)
            case .water: value = count(index, activity.waterPerHour * wobble * hours, at: time)
            case .gas: value = count(index, activity.waterPerHour * 0.5 * wobble * hours, at: time)
            case .output: value = count(index, activity.outputPerHour * wobble * hours, at: time)
            }
            guard !isSilent(index, at: time) else { continue }
            value /= point.quantity.scale(from: point.unit)
            readings.append(SimulatedReading(point: index, time: time, value: value))
        }
        tick += 1
        readings.sort { $0.time < $1.time }
        return readings
    }

    /// A space point follows its space; a floor point the sum of the floor's spaces (water adds washrooms).
    private func activity(of point: Point, at time: Int64) -> SpaceActivity {
        if let space = point.spaceIndex { return activity(ofSpace: space, at: time) }
        var total = SpaceActivity.zero
        for space in spacesByFloor[point.floorIndex] {
            let part = activity(ofSpace: space, at: time)
            total.occupancy += part.occupancy
            total.power += part.power
            total.waterPerHour += part.waterPerHour
            total.outputPerHour += part.outputPerHour
        }
        total.waterPerHour += 0.02 + 0.004 * total.occupancy
        return total
    }

    /// Adds to a counter and returns its register: restarted by a reset fault, wrapped at its rollover.
    private mutating func count(_ index: Int, _ amount: Double, at time: Int64) -> Double {
        counted[index] += max(amount, 0)
        for case .counterReset(let period) in faults[index] {
            let periodMillis = Int64(period * 1000)
            let offset = Int64(noise.unit(index, -3) * Double(periodMillis))
            let epoch = Int((time - offset).quotientRoundingDown(periodMillis))
            if resetEpoch[index] != Int.min && epoch != resetEpoch[index] {
                registerStart[index] = -counted[index]
            }
            resetEpoch[index] = epoch
        }
        var register = registerStart[index] + counted[index]
        if let rollover = topology.points[index].rollover, register > rollover {
            register = register.truncatingRemainder(dividingBy: rollover)
        }
        return (register * 1000).rounded() / 1000
    }

    private func isSilent(_ index: Int, at time: Int64) -> Bool {
        for case .dropout(let period, let duration) in faults[index] {
            let periodMillis = Int64(period * 1000)
            let offset = Int64(noise.unit(index, -4) * Double(periodMillis))
            let into = (time - offset) - (time - offset).quotientRoundingDown(periodMillis) * periodMillis
            if Double(into) < duration * 1000 { return true }
        }
        return false
    }
}

extension Int64 {
    /// Division rounding towards minus infinity.
    func quotientRoundingDown(_ divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
