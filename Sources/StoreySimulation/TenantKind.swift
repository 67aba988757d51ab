/// The kinds of tenant found in an industry-upstairs tower, each with its own way of using space.
///
/// Working hours are not part of a kind: they come from the tenant's configuration (or the topology's
/// default), so that the simulated tower works when its configuration says it does.
public enum TenantKind: String, Sendable, CaseIterable, Codable {
    case electronicsAssembly = "electronics-assembly"
    case medicalCleanRoom = "medical-clean-room"
    case researchLab = "research-lab"
    case packagingLine = "packaging-line"
    case precisionMachining = "precision-machining"
    case batteryAssembly = "battery-assembly"
    case biomedicalPilotPlant = "biomedical-pilot-plant"
    case designStudio = "design-studio"
    case warehouse

    public var profile: ActivityProfile {
        switch self {
        case .electronicsAssembly:
            // SMT lines and reflow ovens: heavy process load, most seats filled each shift.
            ActivityProfile(baseLoad: 0.015, workingLoad: 0.11, attendance: 0.85, breakLoad: 0.7, waterPerHour: 0.0003, outputPerHour: 3.2)
        case .medicalCleanRoom:
            // Clean-room air handling runs round the clock; the process adds to it in working time.
            ActivityProfile(baseLoad: 0.07, workingLoad: 0.05, attendance: 0.7, breakLoad: 0.8, waterPerHour: 0.0012, outputPerHour: 4.5)
        case .researchLab:
            ActivityProfile(baseLoad: 0.02, workingLoad: 0.05, attendance: 0.75, breakLoad: 0.6, waterPerHour: 0.0002, outputPerHour: 0)
        case .packagingLine:
            ActivityProfile(baseLoad: 0.01, workingLoad: 0.08, attendance: 0.9, breakLoad: 0.3, waterPerHour: 0.0002, outputPerHour: 2.4)
        case .precisionMachining:
            ActivityProfile(baseLoad: 0.02, workingLoad: 0.14, attendance: 0.8, breakLoad: 0.6, waterPerHour: 0.0004, outputPerHour: 2.8)
        case .batteryAssembly:
            ActivityProfile(baseLoad: 0.025, workingLoad: 0.12, attendance: 0.85, breakLoad: 0.6, waterPerHour: 0.0002, outputPerHour: 3.6)
        case .biomedicalPilotPlant:
            ActivityProfile(baseLoad: 0.04, workingLoad: 0.08, attendance: 0.6, breakLoad: 0.7, waterPerHour: 0.002, outputPerHour: 3.0)
        case .designStudio:
            ActivityProfile(baseLoad: 0.008, workingLoad: 0.03, attendance: 0.8, breakLoad: 0.5, waterPerHour: 0.00005, outputPerHour: 0)
        case .warehouse:
            ActivityProfile(baseLoad: 0.004, workingLoad: 0.015, attendance: 0.5, breakLoad: 0.5, waterPerHour: 0.00002, outputPerHour: 0)
        }
    }
}

/// How a kind of tenant uses its space, per m² of it.
public struct ActivityProfile: Sendable, Equatable {
    /// kW per m² at all times: air handling, standby, lighting of the empty space.
    public var baseLoad: Double
    /// kW per m² added on top at full activity in working time.
    public var workingLoad: Double
    /// Share of the design capacity present in a shift.
    public var attendance: Double
    /// Share of the working load that keeps running while the shift is at its meal break.
    public var breakLoad: Double
    /// m³ of water per m² per hour at full activity.
    public var waterPerHour: Double
    /// Output (money) per m² per hour at full activity; 0 for tenants that report none.
    public var outputPerHour: Double

    public init(baseLoad: Double, workingLoad: Double, attendance: Double, breakLoad: Double, waterPerHour: Double, outputPerHour: Double) {
        self.baseLoad = baseLoad
        self.workingLoad = workingLoad
        self.attendance = attendance
        self.breakLoad = breakLoad
        self.waterPerHour = waterPerHour
        self.outputPerHour = outputPerHour
    }
}
