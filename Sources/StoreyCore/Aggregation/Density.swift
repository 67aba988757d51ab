/// The figures of one scope over one window, with the densities operators grade space by.
public struct WindowFigures: Sendable, Equatable {
    public var windowStart: Int64
    public var energy: Double = 0            // kWh
    public var water: Double = 0             // m³
    public var gas: Double = 0               // m³
    public var output: Double = 0            // units or money
    public var meanPower: Double?            // kW
    public var peakPower: Double?            // kW, highest one-minute level
    public var meanOccupancy: Double?        // persons
    public var peakOccupancy: Double?        // persons
    public var presenceShare: Double?        // 0…1
    /// Leased area the densities divide by, m² (for a building or floor, its leased spaces).
    public var leasedArea: Double
    public var energyIntensity: Double?      // kWh/m²
    public var occupancyDensity: Double?     // persons per 100 m²
    public var outputDensity: Double?        // output per m²
    /// Per mu of land (1 mu = 666.67 m²), for a building.
    public var energyPerMu: Double?
    public var outputPerMu: Double?
    /// Readings behind each quantity's figures: a counter with none shows 0 kWh exactly like an idle
    /// space, so whoever judges underuse must look here (missing data is not underuse).
    public var readings: [Quantity: Int] = [:]

    /// Combines the stored rows of one scope and window (one row per quantity).
    public init(windowStart: Int64, rows: [(Quantity, FigureValues)], leasedArea: Double, landAreaMu: Double? = nil) {
        self.windowStart = windowStart
        self.leasedArea = leasedArea
        for (quantity, values) in rows {
            readings[quantity, default: 0] += values.readings
            switch quantity {
            case .energy: energy += values.amount
            case .water: water += values.amount
            case .gas: gas += values.amount
            case .output: output += values.amount
            case .power:
                meanPower = values.meanLevel
                peakPower = values.peakLevel
            case .occupancy:
                meanOccupancy = values.meanLevel
                peakOccupancy = values.peakLevel
            case .presence:
                presenceShare = values.meanLevel
            }
        }
        if leasedArea > 0 {
            energyIntensity = energy / leasedArea
            occupancyDensity = meanOccupancy.map { $0 * 100 / leasedArea }
            outputDensity = output / leasedArea
        }
        if let landAreaMu, landAreaMu > 0 {
            energyPerMu = energy / landAreaMu
            outputPerMu = output / landAreaMu
        }
    }
}

extension Topology {
    /// The area a scope's densities divide by on `day`: a tenant's leased spaces, a space's or point's own
    /// space, or the leased spaces of a floor or building.
    public func densityArea(of scope: Scope, on day: LocalDate) -> Double {
        switch scope.kind {
        case .tenant:
            return leasedArea(ofTenant: scope.index, on: day)
        case .space:
            return spaces[scope.index].area
        case .point:
            if let space = points[scope.index].spaceIndex { return spaces[space].area }
            return leasedArea(where: { $0.floorIndex == points[scope.index].floorIndex }, on: day)
        case .floor:
            return leasedArea(where: { $0.floorIndex == scope.index }, on: day)
        case .building:
            return leasedArea(where: { floors[$0.floorIndex].buildingIndex == scope.index }, on: day)
        }
    }

    /// Finds a scope by its kind and configuration id.
    public func scope(kind: ScopeKind, id: String) -> Scope? {
        let index: Int? =
            switch kind {
            case .point: pointByID[id]
            case .space: spaces.firstIndex { $0.id == id }
            case .tenant: tenants.firstIndex { $0.id == id }
            case .floor: floors.firstIndex { $0.id == id }
            case .building: buildings.firstIndex { $0.id == id }
            }
        return index.map { Scope(kind, $0) }
    }

    /// The building a scope belongs to (a tenant's: that of its first lease).
    public func buildingIndex(of scope: Scope) -> Int? {
        switch scope.kind {
        case .point: points[scope.index].buildingIndex
        case .space: floors[spaces[scope.index].floorIndex].buildingIndex
        case .tenant: tenants[scope.index].leases.first.map { floors[spaces[$0.spaceIndex].floorIndex].buildingIndex }
        case .floor: floors[scope.index].buildingIndex
        case .building: scope.index
        }
    }
}
