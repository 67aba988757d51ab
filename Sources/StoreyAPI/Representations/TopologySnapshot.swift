import Foundation
import StoreyCore
import StoreyStore

/// The topology in force, with the look-ups the API needs; a reload makes a new one.
public final class TopologySnapshot: Sendable {
    public let topology: Topology
    private let indices: [ScopeKind: [String: Int]]

    public init(_ topology: Topology) {
        self.topology = topology
        func index(_ ids: [String]) -> [String: Int] {
            Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        }
        indices = [
            .point: topology.pointByID,
            .space: index(topology.spaces.map(\.id)),
            .tenant: index(topology.tenants.map(\.id)),
            .floor: index(topology.floors.map(\.id)),
            .building: index(topology.buildings.map(\.id)),
        ]
    }

    public func scope(kind: ScopeKind, id: String) -> Scope? {
        indices[kind]?[id].map { Scope(kind, $0) }
    }

    /// The time zone a scope's windows are aligned to (UTC for a tenant with no lease).
    public func timeZone(of scope: Scope) -> TimeZone {
        topology.buildingIndex(of: scope).map { topology.buildings[$0].timeZone } ?? TimeZone(identifier: "UTC")!
    }

    /// A window's figures with the densities of the area in effect on its first local day.
    func windowFigures(of scope: Scope, windowStart: Int64, rows: [(Quantity, FigureValues)]) -> WindowFigures {
        let day = timeZone(of: scope).localDate(seconds: windowStart)
        let landMu = scope.kind == .building ? topology.buildings[scope.index].landAreaMu : nil
        return WindowFigures(windowStart: windowStart, rows: rows, leasedArea: topology.densityArea(of: scope, on: day), landAreaMu: landMu)
    }

    /// Groups stored rows by scope and window; rows of scopes the topology no longer has are left out.
    func assemble(_ rows: [StoredFigure]) -> [ScopeWindow: WindowFigures] {
        var grouped: [ScopeWindow: [(Quantity, FigureValues)]] = [:]
        for row in rows {
            guard let scope = scope(kind: row.scopeKind, id: row.scopeID) else { continue }
            grouped[ScopeWindow(scope: scope, windowStart: row.windowStart), default: []].append((row.quantity, row.values))
        }
        var result: [ScopeWindow: WindowFigures] = [:]
        for (key, rows) in grouped {
            result[key] = windowFigures(of: key.scope, windowStart: key.windowStart, rows: rows)
        }
        return result
    }

    /// The tenant leasing a space today (in its building's time zone).
    func tenantOfSpace(_ space: Int, at seconds: Int64) -> Int? {
        let day = timeZone(of: Scope(.space, space)).localDate(seconds: seconds)
        return topology.tenantIndex(ofSpace: space, on: day)
    }
}

struct ScopeWindow: Hashable {
    var scope: Scope
    var windowStart: Int64
}

/// `KIND:ID`, how a scope is named in query parameters and events.
enum ScopeName {
    static func parse(_ text: String, in snapshot: TopologySnapshot, parameter: String) throws(Problem) -> Scope {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let kind = ScopeKind(rawValue: String(parts[0])) else {
            throw Problem.badParameter(parameter, "\"\(text)\" is not KIND:ID; KIND is one of \(ScopeKind.allCases.map(\.rawValue).joined(separator: ", ")), e.g. tenant:xinda-electronics")
        }
        guard let scope = snapshot.scope(kind: kind, id: String(parts[1])) else {
            throw Problem.notFound("there is no \(kind.rawValue) \"\(parts[1])\" in the topology", parameter: parameter)
        }
        return scope
    }
}
