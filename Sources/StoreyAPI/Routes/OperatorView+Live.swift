import Foundation
import Hummingbird
import StoreyCore

/// `GET /api/v1/live[?building=ID]`: per building, floor, space and tenant the figures of the windows in
/// progress (the last complete minute, this hour, today, this month), and when each point last reported.
extension OperatorView {
    struct LiveJSON: Codable {
        var generatedAt: String
        var status: DaemonStatus
        var buildings: [LiveBuildingJSON]
    }

    struct LiveBuildingJSON: Codable {
        var id: String
        var windows: WindowStartsJSON
        var figures: WindowSetJSON
        /// The building's usual power density for this hour of the week, kW/m² (absent until known).
        var baselinePowerDensity: Double?
        var floors: [LiveScopeJSON]
        var spaces: [LiveScopeJSON]
        var tenants: [LiveScopeJSON]
        var points: [PointActivityJSON]
    }

    struct WindowStartsJSON: Codable {
        var minute: String
        var hour: String
        var day: String
        var month: String
    }

    struct WindowSetJSON: Codable {
        var minute: FiguresJSON?
        var hour: FiguresJSON?
        var day: FiguresJSON?
        var month: FiguresJSON?
    }

    struct LiveScopeJSON: Codable {
        var id: String
        /// For a space: the tenant leasing it now.
        var tenant: String?
        var figures: WindowSetJSON
        /// The scope's usual power density for this hour of the week, kW/m² (absent until known).
        var baselinePowerDensity: Double?
    }

    struct PointActivityJSON: Codable {
        var id: String
        var quantity: String
        var lastReading: String?
    }

    func addLiveRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        api.get("live") { request, _ -> Response in
            let building = request.uri.queryParameters["building"].map(String.init)
            // A control room's screens all ask for the same building every few seconds: answer them from
            // one computation a second, so their number does not cost intake anything; made in the
            // background while the last one is given for up to 4 s more, so none of them waits for it.
            let answer = try await BlockingWork.shared.run {
                try self.liveCache.value(for: building ?? "", maximumAge: .seconds(1), servingStaleFor: .seconds(4)) {
                    try JSONOutput.encoder.encode(try self.liveJSON(building: building))
                }
            }
            return answer.response(to: request)
        }
    }

    func liveJSON(building wanted: String?) throws -> LiveJSON {
        let snapshot = self.snapshot
        let topology = snapshot.topology
        let now = clock()
        var buildingIndices = Array(topology.buildings.indices)
        if let wanted {
            guard let scope = snapshot.scope(kind: .building, id: wanted) else {
                throw Problem.notFound("there is no building \"\(wanted)\" in the topology", parameter: "building")
            }
            buildingIndices = [scope.index]
        }
        // Each building's windows, in its own time zone.
        var starts: [Int: [Resolution: Int64]] = [:]
        for index in buildingIndices {
            var aligner = WindowAligner(timeZone: topology.buildings[index].timeZone)
            let windows = aligner.windows(at: now * 1000)
            starts[index] = [.minute: windows.minute - 60, .hour: windows.hour, .day: windows.day, .month: windows.month]
        }
        var figures: [Resolution: [ScopeWindow: WindowFigures]] = [:]
        for resolution in Resolution.allCases {
            let wantedStarts = Set(starts.values.compactMap { $0[resolution] })
            figures[resolution] = snapshot.assemble(try store.windowFigures(resolution: resolution, windowStarts: wantedStarts))
        }
        func set(_ scope: Scope, building: Int) -> WindowSetJSON {
            func one(_ resolution: Resolution) -> FiguresJSON? {
                figures[resolution]?[ScopeWindow(scope: scope, windowStart: starts[building]![resolution]!)].map { FiguresJSON($0, resolution: resolution) }
            }
            return WindowSetJSON(minute: one(.minute), hour: one(.hour), day: one(.day), month: one(.month))
        }

        var result: [LiveBuildingJSON] = []
        for index in buildingIndices {
            let floors = topology.floors.indices.filter { topology.floors[$0].buildingIndex == index }
            let floorSet = Set(floors)
            let spaces = topology.spaces.indices.filter { floorSet.contains(topology.spaces[$0].floorIndex) }
            let tenants = topology.tenants.indices.filter { topology.buildingIndex(of: Scope(.tenant, $0)) == index }
            let points = topology.points.indices.filter { topology.points[$0].buildingIndex == index }
            let lastTimes = try store.lastReadingTimes(pointIDs: points.map { topology.points[$0].id })
            let windowStarts = starts[index]!
            let baselines = try baselinePowerDensities(building: index, hourStart: windowStarts[.hour]!, snapshot: snapshot)
            result.append(LiveBuildingJSON(
                id: topology.buildings[index].id,
                windows: WindowStartsJSON(
                    minute: Timestamps.format(seconds: windowStarts[.minute]!), hour: Timestamps.format(seconds: windowStarts[.hour]!),
                    day: Timestamps.format(seconds: windowStarts[.day]!), month: Timestamps.format(seconds: windowStarts[.month]!)),
                figures: set(Scope(.building, index), building: index),
                baselinePowerDensity: baselines[Scope(.building, index)],
                floors: floors.map {
                    LiveScopeJSON(id: topology.floors[$0].id, tenant: nil, figures: set(Scope(.floor, $0), building: index), baselinePowerDensity: baselines[Scope(.floor, $0)])
                },
                spaces: spaces.map { space in
                    LiveScopeJSON(
                        id: topology.spaces[space].id, tenant: snapshot.tenantOfSpace(space, at: now).map { topology.tenants[$0].id },
                        figures: set(Scope(.space, space), building: index), baselinePowerDensity: baselines[Scope(.space, space)])
                },
                tenants: tenants.map {
                    LiveScopeJSON(id: topology.tenants[$0].id, tenant: nil, figures: set(Scope(.tenant, $0), building: index), baselinePowerDensity: baselines[Scope(.tenant, $0)])
                },
                points: points.map { point in
                    let id = topology.points[point].id
                    return PointActivityJSON(id: id, quantity: topology.points[point].quantity.rawValue, lastReading: lastTimes[id].map { Timestamps.format(milliseconds: $0) })
                }))
        }
        return LiveJSON(generatedAt: Timestamps.format(seconds: now), status: status(), buildings: result)
    }
}
