import StoreyCore

/// What `storey simulate` makes the tenants of a topology do: each tenant's kind, the deliberate underuse,
/// and the sensors that misbehave. Read from `simulation.yaml` beside the topology (ids refer to it).
public struct SimulationPlan: Sendable, Equatable {
    /// Tenant id → kind, for tenants that should behave other than their `activity` label says.
    public var kinds: [String: TenantKind]
    /// Underuse by tenant id (all its spaces) or by space id.
    public var tenantScenarios: [String: UnderuseScenario]
    public var spaceScenarios: [String: UnderuseScenario]
    /// Point id → its faults.
    public var faults: [String: [SensorFault]]

    public init(
        kinds: [String: TenantKind] = [:], tenantScenarios: [String: UnderuseScenario] = [:],
        spaceScenarios: [String: UnderuseScenario] = [:], faults: [String: [SensorFault]] = [:]
    ) {
        self.kinds = kinds
        self.tenantScenarios = tenantScenarios
        self.spaceScenarios = spaceScenarios
        self.faults = faults
    }

    /// The tenant's kind: as the plan says, else as its `activity` label says, else a likely one for its
    /// industry chain.
    public func kind(of tenant: Tenant) -> TenantKind {
        if let kind = kinds[tenant.id] { return kind }
        if let kind = tenant.labels["activity"].flatMap(TenantKind.init(rawValue:)) { return kind }
        switch tenant.labels["chain"] {
        case "electronics"?: return .electronicsAssembly
        case "biomedicine"?: return .researchLab
        case "new-energy"?: return .batteryAssembly
        case "logistics"?: return .warehouse
        default: return .designStudio
        }
    }

    /// Ids the plan names that the topology lacks, each as a message naming the id and where it was expected.
    public func unknownIDs(in topology: Topology) -> [String] {
        let tenants = Set(topology.tenants.map(\.id))
        let spaces = Set(topology.spaces.map(\.id))
        let points = Set(topology.pointByID.keys)
        var problems: [String] = []
        for id in kinds.keys.sorted() where !tenants.contains(id) { problems.append("tenants: no tenant \"\(id)\" in the topology") }
        for id in tenantScenarios.keys.sorted() where !tenants.contains(id) { problems.append("underuse: no tenant \"\(id)\" in the topology") }
        for id in spaceScenarios.keys.sorted() where !spaces.contains(id) { problems.append("underuse: no space \"\(id)\" in the topology") }
        for id in faults.keys.sorted() where !points.contains(id) { problems.append("faults: no point \"\(id)\" in the topology") }
        return problems
    }
}
