/// Tells a window with gaps from a quiet one. A counter that did not report shows zero consumption,
/// exactly like an idle space: a window is judged only when every point behind a quantity delivered
/// most of the readings its expected interval implies.
public struct WindowCoverage: Sendable {
    /// The share of the expected readings a point must deliver (0…1).
    public var required: Double

    public init(required: Double = 0.8) {
        self.required = required
    }

    /// The quantities among `needed` whose points did not all report through `[start, end)`: a quantity
    /// with no point at all in the scope counts as missing too (nothing measures it).
    ///
    /// `readings(point)` is the number of readings the point delivered in the window.
    public func missing(
        _ needed: Set<Quantity>, points: [Int], in topology: Topology, start: Int64, end: Int64,
        readings: (Int) -> Int
    ) -> Set<Quantity> {
        var missing = Set<Quantity>()
        var measured = Set<Quantity>()
        let length = Double(end - start)
        for index in points {
            let point = topology.points[index]
            guard needed.contains(point.quantity) else { continue }
            measured.insert(point.quantity)
            let expected = length / Double(max(point.expectedInterval, 1))
            if Double(readings(index)) < expected * required { missing.insert(point.quantity) }
        }
        return missing.union(needed.subtracting(measured))
    }
}

/// The points behind each scope's figures on one local day, found in one pass over the points: a
/// tenant's are those of the spaces it leases that day; a floor's include its floor-level meters.
public struct ScopeMembers: Sendable {
    public let day: LocalDate
    private var members: [ScopeKind: [[Int]]] = [:]

    public init(_ topology: Topology, on day: LocalDate) {
        self.day = day
        members[.point] = topology.points.indices.map { [$0] }
        members[.space] = Array(repeating: [], count: topology.spaces.count)
        members[.tenant] = Array(repeating: [], count: topology.tenants.count)
        members[.floor] = Array(repeating: [], count: topology.floors.count)
        members[.building] = Array(repeating: [], count: topology.buildings.count)
        for (index, point) in topology.points.enumerated() {
            if let space = point.spaceIndex {
                members[.space]![space].append(index)
                if let tenant = topology.tenantIndex(ofSpace: space, on: day) { members[.tenant]![tenant].append(index) }
            }
            members[.floor]![point.floorIndex].append(index)
            members[.building]![point.buildingIndex].append(index)
        }
    }

    public func points(of scope: Scope) -> [Int] { members[scope.kind]![scope.index] }
}

extension Topology {
    /// Persons the scope's spaces are designed for on `day` (leased spaces only, above a space), nil if
    /// none is given.
    public func designCapacity(of scope: Scope, on day: LocalDate) -> Double? {
        var total = 0
        if scope.kind == .tenant {
            var seen = Set<Int>()
            for lease in tenants[scope.index].leases where lease.covers(day) && seen.insert(lease.spaceIndex).inserted {
                total += spaces[lease.spaceIndex].capacity
            }
            return total > 0 ? Double(total) : nil
        }
        for (index, space) in spaces.enumerated() {
            let included: Bool
            switch scope.kind {
            case .point: included = points[scope.index].spaceIndex == index
            case .space: included = index == scope.index
            case .tenant: included = tenantIndex(ofSpace: index, on: day) == scope.index
            case .floor: included = space.floorIndex == scope.index && tenantIndex(ofSpace: index, on: day) != nil
            case .building:
                included = floors[space.floorIndex].buildingIndex == scope.index && tenantIndex(ofSpace: index, on: day) != nil
            }
            if included { total += space.capacity }
        }
        return total > 0 ? Double(total) : nil
    }
}
