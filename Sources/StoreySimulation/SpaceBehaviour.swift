import Foundation
import StoreyCore

/// What a space is doing at one instant, before any sensor noise.
public struct SpaceActivity: Sendable, Equatable {
    /// Persons present.
    public var occupancy: Double
    /// kW drawn by the whole space.
    public var power: Double
    /// m³ of water an hour.
    public var waterPerHour: Double
    /// Output (money) an hour.
    public var outputPerHour: Double

    public init(occupancy: Double, power: Double, waterPerHour: Double, outputPerHour: Double) {
        self.occupancy = occupancy
        self.power = power
        self.waterPerHour = waterPerHour
        self.outputPerHour = outputPerHour
    }

    public static let zero = SpaceActivity(occupancy: 0, power: 0, waterPerHour: 0, outputPerHour: 0)
}

/// One space as its tenant uses it: the tenant's kind, working time and any underuse scenario.
/// `activity(at:)` is a pure function of the instant, so the model is tested without any I/O.
public struct SpaceBehaviour: Sendable {
    public var area: Double
    public var capacity: Int
    public var profile: ActivityProfile
    public var workingTime: WorkingTime
    public var scenario: UnderuseScenario?

    public init(area: Double, capacity: Int, profile: ActivityProfile, workingTime: WorkingTime, scenario: UnderuseScenario? = nil) {
        self.area = area
        self.capacity = capacity
        self.profile = profile
        self.workingTime = workingTime
        self.scenario = scenario
    }

    /// A space nobody leases: standby power only.
    public static func vacant(area: Double, timeZone: TimeZone) -> SpaceBehaviour {
        SpaceBehaviour(
            area: area, capacity: 0,
            profile: ActivityProfile(baseLoad: 0.002, workingLoad: 0, attendance: 0, breakLoad: 0, waterPerHour: 0, outputPerHour: 0),
            workingTime: WorkingTime(hours: WorkingHours([:]), timeZone: timeZone))
    }

    public func activity(at milliseconds: Int64) -> SpaceActivity {
        let base = profile.baseLoad * area
        let day = LocalInstant(milliseconds: milliseconds, in: workingTime.timeZone).date
        let scenario = self.scenario.flatMap { $0.applies(on: day) ? $0 : nil }
        if scenario == .dark {
            return SpaceActivity(occupancy: 0, power: min(profile.baseLoad, 0.004) * area, waterPerHour: 0, outputPerHour: 0)
        }
        guard let position = ShiftPosition(at: milliseconds, in: workingTime) else {
            // Nights, weekends and holidays: the base load (a hoarded space has little equipment to idle), nobody in.
            return SpaceActivity(occupancy: 0, power: scenario == .hoarding ? 0.3 * base : base, waterPerHour: 0, outputPerHour: 0)
        }
        let crew = Double(capacity) * profile.attendance * position.presence
        switch scenario {
        case .hoarding?:
            // A handful of people and the lights: the floor is held, not used.
            let people = min(Double(capacity), 3) * position.presence
            return SpaceActivity(occupancy: people, power: 0.3 * base + 0.003 * area, waterPerHour: 0.002 * people, outputPerHour: 0)
        case .lineStopped?:
            // Maintenance staff only; the process load is off.
            let people = min(Double(capacity), 2) * position.presence
            return SpaceActivity(occupancy: people, power: base + 0.05 * profile.workingLoad * area, waterPerHour: 0.002 * people, outputPerHour: 0)
        case .dark?, nil:
            break
        }
        if position.isMealBreak {
            let level = profile.breakLoad
            return SpaceActivity(
                occupancy: crew * 0.15, power: base + profile.workingLoad * area * level,
                waterPerHour: profile.waterPerHour * area * level, outputPerHour: profile.outputPerHour * area * level)
        }
        let level = 0.4 + 0.6 * position.presence
        return SpaceActivity(
            occupancy: crew, power: base + profile.workingLoad * area * level,
            waterPerHour: profile.waterPerHour * area * level, outputPerHour: profile.outputPerHour * area * level)
    }
}
