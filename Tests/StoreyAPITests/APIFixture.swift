import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreyAPI
import StoreyCore
import StoreyStore
import StoreyTestSupport
import Synchronization

/// A real store (SQLite in a temporary file) with a small tower and readings in it, the operator's view
/// over it, and a clock stopped at 2026-11-10 10:30:30 in Shanghai.
struct APIFixture {
    static let readToken = "read-token-0123456789"
    static let adminToken = "admin-token-0123456789"

    let store: ReadingStore
    let view: OperatorView
    let status: StatusBox

    /// Milliseconds of a local time in Shanghai, e.g. "2026-11-10T10:05:00".
    static func millis(_ local: String) -> Int64 {
        Int64(try! Date.ISO8601FormatStyle().parse(local + "+08:00").timeIntervalSince1970 * 1000)
    }

    static let now = millis("2026-11-10T10:30:30") / 1000

    static func topology() -> Topology {
        let buildings = [Building(id: "tower", name: "Tower", timeZone: TimeZone(identifier: "Asia/Shanghai")!, landArea: 6666.7)]
        let floors = [
            Floor(id: "tower/1", buildingIndex: 0, level: 1, grossArea: 1000),
            Floor(id: "tower/2", buildingIndex: 0, level: 2, grossArea: 1000),
        ]
        let spaces = [
            Space(id: "s1", floorIndex: 0, area: 400, capacity: 20),
            Space(id: "s2", floorIndex: 0, area: 600, capacity: 30),
            Space(id: "s3", floorIndex: 1, area: 1000, capacity: 50),
        ]
        let tenants = [
            Tenant(
                id: "alpha", name: "Alpha, Ltd", labels: ["chain": "electronics"],
                leases: [Lease(spaceIndex: 0, start: LocalDate("2026-01-01")!, end: nil)],
                targets: TenantTargets(outputPerSquareMetrePerMonth: 30, energyPerSquareMetrePerMonth: 10)),
            Tenant(id: "beta", name: "Beta 贝塔", leases: [Lease(spaceIndex: 2, start: LocalDate("2026-11-16")!, end: nil)]),
        ]
        func point(_ id: String, _ quantity: Quantity, space: Int, floor: Int) -> Point {
            Point(
                id: id, quantity: quantity, unit: quantity.defaultUnit, place: .space(space), floorIndex: floor, buildingIndex: 0,
                topic: "storey/tower/\(floor + 1)/\(spaces[space].id)/\(id)", maximum: 100_000)
        }
        let points = [
            point("s1-kwh", .energy, space: 0, floor: 0),     // 0
            point("s1-people", .occupancy, space: 0, floor: 0),  // 1
            point("s1-output", .output, space: 0, floor: 0),  // 2
            point("s2-kw", .power, space: 1, floor: 0),       // 3
            point("s3-kwh", .energy, space: 2, floor: 1),     // 4
        ]
        return Topology(buildings: buildings, floors: floors, spaces: spaces, tenants: tenants, points: points)
    }

    init(tokens: Bool = true, openHealth: Bool = true, failedTokenLimit: Int = 30, workingTimes: WorkingTimeTable = WorkingTimeTable(defaultHours: .always)) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("storey-api-\(UUID().uuidString).db").path
        store = try ReadingStore(path: path, topology: Self.topology())
        // Alpha: 10 kWh from 10:00 to 10:20, 12 persons, 600 output; s2 (vacant) draws 5 kW.
        try store.ingest([
            Reading(point: 0, time: Self.millis("2026-11-10T10:00:00"), value: 1000),
            Reading(point: 0, time: Self.millis("2026-11-10T10:10:00"), value: 1004),
            Reading(point: 0, time: Self.millis("2026-11-10T10:20:00"), value: 1010),
            Reading(point: 1, time: Self.millis("2026-11-10T10:29:10"), value: 12),
            Reading(point: 2, time: Self.millis("2026-11-10T08:00:00"), value: 5000),
            Reading(point: 2, time: Self.millis("2026-11-10T10:00:00"), value: 5600),
            Reading(point: 3, time: Self.millis("2026-11-10T10:29:30"), value: 5),
        ])
        let tokenTable = tokens ? try TokenTable.parse("read \(Self.readToken) dashboard\nadmin sha256:\(Self.hex(Self.adminToken)) operator\n") : nil
        let status = StatusBox()
        self.status = status
        view = OperatorView(
            store: store, topology: Self.topology(), workingTimes: workingTimes, access: AccessPolicy(tokens: tokenTable, openHealth: openHealth, failedAttempts: FailedTokenAttempts(limit: failedTokenLimit)), events: EventHub(clientBuffer: 4, keptEvents: 8),
            status: { status.value.withLock { $0 } }, clock: { Self.now })
    }

    static func hex(_ token: String) -> String {
        // The digest a token list holds, as `printf %s TOKEN | sha256sum` prints it.
        // Through ChildProcess, not Foundation's Process (whose run() crashed with many tests starting processes).
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("storey-sha256-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try! ChildProcess("/bin/sh", ["-c", "printf %s \"$0\" | sha256sum | cut -d' ' -f1", token], outputFile: output)
        while process.isRunning { usleep(1_000) }
        return ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The application as storeyd builds it: health and metrics stand-ins plus the operator's view.
    func application() -> some ApplicationProtocol {
        let router = Router(options: .autoGenerateHeadEndpoints)
        view.addMiddleware(to: router)
        router.get("healthz") { _, _ in "ok\n" }
        router.get("metrics") { _, _ in "storey_points 5\n" }
        view.addRoutes(to: router)
        view.knownPaths.declare("/healthz", [.get, .head])
        return Application(router: router)
    }

    static let read: HTTPFields = [.authorization: "Bearer \(readToken)"]
    static let admin: HTTPFields = [.authorization: "Bearer \(adminToken)"]
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func json() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }
}

/// The daemon status the fixture's view reports; tests change it.
final class StatusBox: Sendable {
    let value = Mutex(DaemonStatus(brokerConnected: true, storeWritable: true))
}
