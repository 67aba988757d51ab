/// What a point measures. Counters report a running total; gauges report a level.
public enum Quantity: String, Sendable, CaseIterable, Codable {
    case power        // kW, gauge
    case energy       // kWh, counter
    case water        // m³, counter
    case gas          // m³, counter
    case occupancy    // persons, gauge
    case presence     // 0/1, gauge
    case output       // units or money, counter

    /// A counter's readings are running totals: figures are built from the differences between them.
    public var isCounter: Bool {
        switch self {
        case .energy, .water, .gas, .output: true
        case .power, .occupancy, .presence: false
        }
    }

    /// The unit a point of this quantity reports in unless its configuration says otherwise.
    public var defaultUnit: String {
        switch self {
        case .power: "kW"
        case .energy: "kWh"
        case .water, .gas: "m3"
        case .occupancy: "persons"
        case .presence: "1"
        case .output: "units"
        }
    }

    /// Units a point of this quantity may declare (and SenML records may carry).
    public var acceptedUnits: Set<String> {
        switch self {
        case .power: ["kW", "W"]
        case .energy: ["kWh", "Wh"]
        case .water, .gas: ["m3", "l", "L"]
        case .occupancy: ["persons", "count", "/"]
        case .presence: ["1", "/", "bool"]
        case .output: ["units", "CNY", "USD", "EUR", "money"]
        }
    }

    /// The factor that turns a value in `unit` into this quantity's default unit.
    public func scale(from unit: String) -> Double {
        switch unit {
        case "W", "Wh": 0.001
        case "l", "L": 0.001
        default: 1
        }
    }
}
