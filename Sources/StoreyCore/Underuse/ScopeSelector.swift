/// Which scopes a rule watches: every scope of one kind, some by configuration id, or the tenants whose
/// labels match (e.g. `industry_chain: biomedicine`).
public struct ScopeSelector: Sendable, Equatable {
    public enum Match: Sendable, Equatable {
        case all
        case ids(Set<String>)
        /// Every pair must be among the scope's labels. Only tenants carry labels in the topology.
        case labels([String: String])
    }

    public var kind: ScopeKind
    public var match: Match

    public init(_ kind: ScopeKind, _ match: Match = .all) {
        self.kind = kind
        self.match = match
    }

    public func selects(_ scope: Scope, in topology: Topology) -> Bool {
        guard scope.kind == kind else { return false }
        switch match {
        case .all: return true
        case .ids(let ids): return ids.contains(topology.scopeID(scope))
        case .labels(let wanted):
            let labels = scope.kind == .tenant ? topology.tenants[scope.index].labels : [:]
            return wanted.allSatisfy { labels[$0.key] == $0.value }
        }
    }

    /// The scopes of the topology this selector picks, resolved once per configuration load.
    public func scopes(in topology: Topology) -> [Scope] {
        let count =
            switch kind {
            case .point: topology.points.count
            case .space: topology.spaces.count
            case .tenant: topology.tenants.count
            case .floor: topology.floors.count
            case .building: topology.buildings.count
            }
        return (0..<count).map { Scope(kind, $0) }.filter { selects($0, in: topology) }
    }
}
