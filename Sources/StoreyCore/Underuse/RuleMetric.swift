/// What a rule measures in a window of a scope's figures.
public enum RuleMetric: String, Sendable, CaseIterable, Codable {
    /// kWh per m² of leased area per hour of the window.
    case energyIntensity = "energy_intensity"
    /// Mean persons present.
    case meanOccupancy = "mean_occupancy"
    /// Mean persons present as a percentage of the design capacity.
    case occupancyOverCapacity = "occupancy_over_capacity"
    /// Mean power, kW.
    case power
    /// Output (money) per m² of leased area in the window; compared with a tenant's monthly target.
    case outputDensity = "output_density"

    /// The quantities the metric is built from: a gap in any of them makes the window "no data".
    public var quantities: Set<Quantity> {
        switch self {
        case .energyIntensity: [.energy]
        case .meanOccupancy, .occupancyOverCapacity: [.occupancy]
        case .power: [.power]
        case .outputDensity: [.output]
        }
    }

    public var unit: String {
        switch self {
        case .energyIntensity: "kWh/m²/h"
        case .meanOccupancy: "persons"
        case .occupancyOverCapacity: "%"
        case .power: "kW"
        case .outputDensity: "per m²"
        }
    }

    /// The metric's value in `observation`, nil when the figures do not hold it.
    public func value(in observation: WindowObservation) -> Double? {
        let figures = observation.figures
        switch self {
        case .energyIntensity:
            let hours = Double(observation.end - observation.start) / 3_600_000
            guard hours > 0 else { return nil }
            return figures.energyIntensity.map { $0 / hours }
        case .meanOccupancy:
            return figures.meanOccupancy
        case .occupancyOverCapacity:
            guard let capacity = observation.designCapacity, capacity > 0 else { return nil }
            return figures.meanOccupancy.map { $0 / capacity * 100 }
        case .power:
            return figures.meanPower
        case .outputDensity:
            return figures.outputDensity
        }
    }
}
