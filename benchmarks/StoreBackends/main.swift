import Foundation
import Logging
import StoreyCore
import StoreyPostgres
import StoreyStore

// The same readings stored by SQLite's ReadingStore and PostgreSQL's PostgresReadingStore, side by side
// in one run: readings a second through the store alone (no MQTT), in the batches intake makes.
// Run by benchmarks/stores.sh, which starts a throwaway PostgreSQL cluster; by hand:
//   storey-bench-stores COUNT POINTS BATCH POSTGRES_URL PASSWORD_FILE

let arguments = CommandLine.arguments
guard arguments.count == 6, let count = Int(arguments[1]), let pointCount = Int(arguments[2]), let batchSize = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: storey-bench-stores COUNT POINTS BATCH POSTGRES_URL PASSWORD_FILE\n".utf8))
    exit(2)
}
let password = try String(contentsOfFile: arguments[5], encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

// A tower of spaces with an energy counter, a power gauge and an occupancy count each, 40 spaces a floor.
let spaceCount = max(1, pointCount / 3)
var floors: [Floor] = []
var spaces: [Space] = []
var points: [Point] = []
var tenants: [Tenant] = []
for index in 0..<spaceCount {
    let floor = index / 40
    if floors.count == floor { floors.append(Floor(id: "b/\(floor)", buildingIndex: 0, level: floor, grossArea: 4_000)) }
    spaces.append(Space(id: "s\(index)", floorIndex: floor, area: 100, capacity: 10))
    for (quantity, unit) in [(Quantity.energy, "kWh"), (.power, "kW"), (.occupancy, "persons")] {
        points.append(Point(
            id: "s\(index)-\(quantity.rawValue)", quantity: quantity, unit: unit, place: .space(index), floorIndex: floor, buildingIndex: 0,
            topic: "b/\(floor)/s\(index)/\(quantity.rawValue)", maximum: 1e9))
    }
    tenants.append(Tenant(id: "t\(index)", name: "t\(index)", leases: [Lease(spaceIndex: index, start: LocalDate(year: 2020, month: 1, day: 1), end: nil)]))
}
let topology = Topology(
    buildings: [Building(id: "b", name: "b", timeZone: TimeZone(identifier: "Asia/Shanghai")!, landArea: 10_000)], floors: floors, spaces: spaces,
    tenants: tenants, points: points)

// Every point in turn, one reading each per round, rounds 10 s apart (a meter every 10 s), in time order.
let start: Int64 = 1_782_867_600_000
var batches: [[Reading]] = []
var batch: [Reading] = []
batch.reserveCapacity(batchSize)
for index in 0..<count {
    let point = index % points.count
    let round = Int64(index / points.count)
    let value: Double = switch points[point].quantity {
    case .energy: Double(round) * 0.3 + Double(point)
    case .occupancy: Double((index * 7) % 11)
    default: Double((index * 13) % 500) / 10
    }
    batch.append(Reading(point: point, time: start + round * 10_000 + Int64(point % 1000), value: value))
    if batch.count == batchSize {
        batches.append(batch)
        batch.removeAll(keepingCapacity: true)
    }
}
if !batch.isEmpty { batches.append(batch) }

let batchCount = batches.count
func report(_ name: String, _ elapsed: Duration, stored: Int) {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print(String(format: "%@: %d readings in %.2f s: %.0f readings/s (%d batches of %d)", name, stored, seconds, Double(stored) / seconds, batchCount, batchSize))
}

// SQLite, as storeyd opens it.
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("storey-bench-stores-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: directory) }
let sqlite = try ReadingStore(path: directory.appendingPathComponent("storey.db").path, topology: topology)
var began = ContinuousClock.now
var stored = 0
for batch in batches { stored += try sqlite.ingest(batch).stored }
report("sqlite", ContinuousClock.now - began, stored: stored)

// PostgreSQL, on the database the URL names (emptied of earlier runs' readings first).
var logger = Logger(label: "bench")
logger.logLevel = .warning
let database = try await PostgresStore(try PostgresLocation(url: arguments[4]), password: password, logger: logger)
try await database.client.query("TRUNCATE reading, figure_row, point, scope RESTART IDENTITY CASCADE")
let postgres = try await PostgresReadingStore(database: database, topology: topology)
began = ContinuousClock.now
stored = 0
for batch in batches { stored += try await postgres.ingest(batch).stored }
report("postgresql", ContinuousClock.now - began, stored: stored)
database.close()
