import Foundation
import Hummingbird
import StoreyCore

/// `GET /api/v1/topology`: buildings → floors → spaces (with today's tenant), tenants with leases, points.
extension OperatorView {
    struct TopologyJSON: Codable {
        var buildings: [BuildingJSON]
        var tenants: [TenantJSON]
        var points: [PointJSON]
    }

    struct BuildingJSON: Codable {
        var id: String
        var name: String
        var timeZone: String
        var landArea: Double
        var landAreaMu: Double
        var floors: [FloorJSON]
    }

    struct FloorJSON: Codable {
        var id: String
        var level: Int
        var grossArea: Double
        var spaces: [SpaceJSON]
    }

    struct SpaceJSON: Codable {
        var id: String
        var area: Double
        var capacity: Int
        /// The tenant leasing it today, if any.
        var tenant: String?
    }

    struct TenantJSON: Codable {
        var id: String
        var name: String
        var labels: [String: String]
        var leases: [LeaseJSON]
        var targets: TargetsJSON
    }

    struct LeaseJSON: Codable {
        var space: String
        var start: String
        var end: String?
    }

    struct TargetsJSON: Codable {
        var outputPerM2Month: Double?
        var energyPerM2Month: Double?
    }

    struct PointJSON: Codable {
        var id: String
        var quantity: String
        var unit: String
        var topic: String
        var building: String
        var floor: String
        var space: String?
    }

    func addTopologyRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        api.get("topology") { request, _ -> Response in
            // Changes only with a reload (which empties the cache) or a lease starting or ending at a
            // local midnight: encoded once per half hour, not per request (100,000 points: megabytes),
            // and not sent again to a client that holds it (its tag).
            let answer = try await BlockingWork.shared.run {
                try self.topologyCache.value(for: "\(self.clock() / 1800)", maximumAge: .seconds(1800)) {
                    try JSONOutput.encoder.encode(self.topologyJSON())
                }
            }
            return answer.response(to: request)
        }
    }

    func topologyJSON() -> TopologyJSON {
        let snapshot = self.snapshot
        let topology = snapshot.topology
        let now = clock()
        var floorsByBuilding = Array(repeating: [FloorJSON](), count: topology.buildings.count)
        var spacesByFloor = Array(repeating: [SpaceJSON](), count: topology.floors.count)
        for (index, space) in topology.spaces.enumerated() {
            let tenant = snapshot.tenantOfSpace(index, at: now).map { topology.tenants[$0].id }
            spacesByFloor[space.floorIndex].append(SpaceJSON(id: space.id, area: space.area, capacity: space.capacity, tenant: tenant))
        }
        for (index, floor) in topology.floors.enumerated() {
            floorsByBuilding[floor.buildingIndex].append(
                FloorJSON(id: floor.id, level: floor.level, grossArea: floor.grossArea, spaces: spacesByFloor[index]))
        }
        let buildings = topology.buildings.enumerated().map { index, building in
            BuildingJSON(
                id: building.id, name: building.name, timeZone: building.timeZone.identifier, landArea: building.landArea,
                landAreaMu: building.landAreaMu, floors: floorsByBuilding[index].sorted { $0.level < $1.level })
        }
        let tenants = topology.tenants.map { tenant in
            TenantJSON(
                id: tenant.id, name: tenant.name, labels: tenant.labels,
                leases: tenant.leases.map { LeaseJSON(space: topology.spaces[$0.spaceIndex].id, start: $0.start.description, end: $0.end?.description) },
                targets: TargetsJSON(outputPerM2Month: tenant.targets.outputPerSquareMetrePerMonth, energyPerM2Month: tenant.targets.energyPerSquareMetrePerMonth))
        }
        let points = topology.points.map { point in
            PointJSON(
                id: point.id, quantity: point.quantity.rawValue, unit: point.unit, topic: point.topic,
                building: topology.buildings[point.buildingIndex].id, floor: topology.floors[point.floorIndex].id,
                space: point.spaceIndex.map { topology.spaces[$0].id })
        }
        return TopologyJSON(buildings: buildings, tenants: tenants, points: points)
    }
}
