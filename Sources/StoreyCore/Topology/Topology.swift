import Foundation

/// 1 mu (亩), the unit of land that local governments grade land-use efficiency by.
public let squareMetresPerMu = 666.67

/// Buildings, floors, spaces, tenants with their leases, and points: everything Storey knows about the estate.
///
/// Built once from configuration and then only read; a reload builds a new one.
/// Identifiers are strings from the configuration; the dense `Int` indices are for the hot path.
public struct Topology: Sendable {
    public var buildings: [Building]
    public var floors: [Floor]
    public var spaces: [Space]
    public var tenants: [Tenant]
    public var points: [Point]

    /// Topic → point index, for intake.
    public let pointByTopic: [String: Int]
    /// Point id → point index, for SenML records that name their point.
    public let pointByID: [String: Int]
    /// Space index → the leases of it (tenant index, lease), so intake finds a reading's tenant quickly.
    public let leasesBySpace: [[(tenant: Int, lease: Lease)]]

    public init(buildings: [Building], floors: [Floor], spaces: [Space], tenants: [Tenant], points: [Point]) {
        self.buildings = buildings
        self.floors = floors
        self.spaces = spaces
        self.tenants = tenants
        self.points = points
        var byTopic: [String: Int] = [:]
        var byID: [String: Int] = [:]
        byTopic.reserveCapacity(points.count)
        byID.reserveCapacity(points.count)
        for (index, point) in points.enumerated() {
            byTopic[point.topic] = index
            byID[point.id] = index
        }
        self.pointByTopic = byTopic
        self.pointByID = byID
        var leases = Array(repeating: [(tenant: Int, lease: Lease)](), count: spaces.count)
        for (tenantIndex, tenant) in tenants.enumerated() {
            for lease in tenant.leases { leases[lease.spaceIndex].append((tenantIndex, lease)) }
        }
        self.leasesBySpace = leases
    }

    /// The tenant leasing a space on `day` (a local calendar date), if any.
    public func tenantIndex(ofSpace space: Int, on day: LocalDate) -> Int? {
        for entry in leasesBySpace[space] where entry.lease.covers(day) {
            return entry.tenant
        }
        return nil
    }

    /// The area a tenant leases on `day`: the sum of the spaces whose leases are in effect then.
    public func leasedArea(ofTenant tenant: Int, on day: LocalDate) -> Double {
        var seen = Set<Int>()
        var area = 0.0
        for lease in tenants[tenant].leases where lease.covers(day) && seen.insert(lease.spaceIndex).inserted {
            area += spaces[lease.spaceIndex].area
        }
        return area
    }

    /// Leased area of a floor or a building on `day`: every space under some lease then.
    public func leasedArea(where include: (Space) -> Bool, on day: LocalDate) -> Double {
        var area = 0.0
        for (index, space) in spaces.enumerated() where include(space) {
            if tenantIndex(ofSpace: index, on: day) != nil { area += space.area }
        }
        return area
    }
}

public struct Building: Sendable, Equatable {
    public var id: String
    public var name: String
    public var timeZone: TimeZone
    /// Land area of the plot, m²; the per-mu figures divide by it.
    public var landArea: Double
    public init(id: String, name: String, timeZone: TimeZone, landArea: Double) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.landArea = landArea
    }
    public var landAreaMu: Double { landArea / squareMetresPerMu }
}

public struct Floor: Sendable, Equatable {
    public var id: String            // "tower-a/12"
    public var buildingIndex: Int
    public var level: Int
    public var grossArea: Double
    public init(id: String, buildingIndex: Int, level: Int, grossArea: Double) {
        self.id = id
        self.buildingIndex = buildingIndex
        self.level = level
        self.grossArea = grossArea
    }
}

public struct Space: Sendable, Equatable {
    public var id: String
    public var floorIndex: Int
    public var area: Double
    public var capacity: Int
    public init(id: String, floorIndex: Int, area: Double, capacity: Int) {
        self.id = id
        self.floorIndex = floorIndex
        self.area = area
        self.capacity = capacity
    }
}

public struct Tenant: Sendable, Equatable {
    public var id: String
    public var name: String
    public var labels: [String: String]
    public var leases: [Lease]
    public var targets: TenantTargets
    public init(id: String, name: String, labels: [String: String] = [:], leases: [Lease], targets: TenantTargets = TenantTargets()) {
        self.id = id
        self.name = name
        self.labels = labels
        self.leases = leases
        self.targets = targets
    }
}

/// What the operator expects of a tenant's leased space, per m² a month (the target rule compares them).
public struct TenantTargets: Sendable, Equatable {
    public var outputPerSquareMetrePerMonth: Double?
    public var energyPerSquareMetrePerMonth: Double?
    public init(outputPerSquareMetrePerMonth: Double? = nil, energyPerSquareMetrePerMonth: Double? = nil) {
        self.outputPerSquareMetrePerMonth = outputPerSquareMetrePerMonth
        self.energyPerSquareMetrePerMonth = energyPerSquareMetrePerMonth
    }
}

/// A tenant's lease of one space from `start` to `end` inclusive (local dates; `end` nil = open-ended).
public struct Lease: Sendable, Equatable {
    public var spaceIndex: Int
    public var start: LocalDate
    public var end: LocalDate?
    public init(spaceIndex: Int, start: LocalDate, end: LocalDate?) {
        self.spaceIndex = spaceIndex
        self.start = start
        self.end = end
    }
    public func covers(_ day: LocalDate) -> Bool {
        day >= start && (end.map { day <= $0 } ?? true)
    }
}

/// Where a point is bound: a space, or a whole floor (e.g. a floor's main water meter).
public enum PointPlace: Sendable, Equatable {
    case space(Int)
    case floor(Int)
}

public struct Point: Sendable, Equatable {
    public var id: String
    public var quantity: Quantity
    public var unit: String
    public var place: PointPlace
    public var floorIndex: Int
    public var buildingIndex: Int
    public var topic: String
    /// For counters: the value after which the register rolls over to zero, if known.
    public var rollover: Double?
    /// Largest believable value (gauges) or increase per hour (counters); beyond it a reading is refused.
    public var maximum: Double
    /// How often the point reports, milliseconds: a window with fewer readings than it implies has a gap,
    /// and a silent-point rule counts silence in these intervals.
    public var expectedInterval: Int64
    public init(
        id: String, quantity: Quantity, unit: String, place: PointPlace, floorIndex: Int, buildingIndex: Int,
        topic: String, rollover: Double? = nil, maximum: Double, expectedInterval: Int64 = 60_000
    ) {
        self.expectedInterval = expectedInterval
        self.id = id
        self.quantity = quantity
        self.unit = unit
        self.place = place
        self.floorIndex = floorIndex
        self.buildingIndex = buildingIndex
        self.topic = topic
        self.rollover = rollover
        self.maximum = maximum
    }
    public var spaceIndex: Int? {
        if case .space(let index) = place { return index }
        return nil
    }
}

extension Topology {
    /// The configuration id of a scope, as stored with its figures.
    public func scopeID(_ scope: Scope) -> String {
        switch scope.kind {
        case .point: points[scope.index].id
        case .space: spaces[scope.index].id
        case .tenant: tenants[scope.index].id
        case .floor: floors[scope.index].id
        case .building: buildings[scope.index].id
        }
    }
}
