import ArgumentParser
import Foundation
import Logging
import StoreyConfig
import StoreyCore
import StoreyPostgres
import StoreyStore

/// `storey`: the operator's command-line tool.
@main
struct Storey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storey",
        abstract: "The operator's tool for Storey: check configuration, list topics, read figures and alerts, simulate a tower, replay recorded data, follow alert delivery.",
        subcommands: [Check.self, Topics.self, Figures.self, Alerts.self, Evaluate.self, Simulate.self, Replay.self, Outbox.self])
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String = "/etc/storey/storey.yaml"

    @Option(name: .customLong("mqtt-url"), help: "Broker, mqtt://HOST:PORT (env STOREY_MQTT_URL).")
    var mqttURL: String?

    @Option(name: .long, help: "SQLite database file (env STOREY_DATABASE).")
    var database: String?

    /// Loads the configuration, or prints every error (file:line: field: message) and exits 1.
    func load() throws -> Configuration {
        do {
            return try ConfigurationLoader.load(
                file: config, overrides: .from(mqttURL: mqttURL, databasePath: database, httpAddress: nil))
        } catch {
            for problem in error.errors {
                FileHandle.standardError.write(Data("\(problem)\n".utf8))
            }
            throw ExitCode(1)
        }
    }
}

/// Opens an estate's PostgreSQL database for one command (two connections, warnings only) and closes it
/// after `body`: `storey figures`, `alerts` and `outbox` read the whole estate there, from any host.
func withEstateDatabase<T>(_ storage: PostgresStorage, command: String, _ body: (PostgresStore) async throws -> T) async throws -> T {
    var logger = Logger(label: "storey.\(command)")
    logger.logLevel = .warning
    let database = try await PostgresStore(storage.location, password: try storage.password?.read(), logger: logger, maximumConnections: 2)
    defer { database.close() }
    return try await body(database)
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a configuration; exit non-zero with errors naming file, line and field.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        let topology = configuration.topology
        let delivery = configuration.delivery.map { "; delivery: \($0.receivers.count) receivers" } ?? ""
        var storage = ""
        if case .postgresql(let estate) = configuration.storage {
            storage = "; storage: PostgreSQL, instance \(estate.instance), \(estate.shards.count) shards, owns \(estate.owns.joined(separator: ","))\(estate.standby ? ", standby" : "")"
        }
        print("\(options.config): ok: \(topology.buildings.count) buildings, \(topology.floors.count) floors, \(topology.spaces.count) spaces, \(topology.tenants.count) tenants, \(topology.points.count) points, \(configuration.rules.count) rules\(delivery)\(storage)")
    }
}

struct Topics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print one line per point: TOPIC, POINT_ID, QUANTITY, UNIT, tab-separated.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration = try options.load()
        var out = ""
        for point in configuration.topology.points {
            out += "\(point.topic)\t\(point.id)\t\(point.quantity.rawValue)\t\(point.unit)\n"
        }
        print(out, terminator: "")
    }
}

struct Figures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print stored figures and densities of one scope, window by window.",
        discussion: "Example: storey figures --config storey.yaml --scope tenant:xinda-electronics --resolution hour")
    @OptionGroup var options: ConfigOption

    @Option(help: "KIND:ID, where KIND is point, space, tenant, floor or building (a floor's id is BUILDING/LEVEL).")
    var scope: String

    @Option(help: "minute, hour, day or month.")
    var resolution: Resolution = .hour

    @Option(help: "Only the last N windows.")
    var last: Int = 24

    @Flag(help: "JSON lines instead of a table.")
    var json = false

    func run() async throws {
        let configuration = try options.load()
        let topology = configuration.topology
        let parts = scope.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = ScopeKind(rawValue: parts[0]) else {
            throw ValidationError("--scope must be KIND:ID with KIND one of \(ScopeKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let found = topology.scope(kind: kind, id: parts[1]) else {
            throw ValidationError("no \(kind.rawValue) \"\(parts[1])\" in \(options.config)")
        }
        let rows: [StoredFigure]
        switch configuration.storage {
        case .sqlite:
            rows = try ReadingStore(path: configuration.databasePath, topology: topology).figures(scope: kind, id: parts[1], resolution: resolution)
        case .postgresql(let storage):
            rows = try await withEstateDatabase(storage, command: "figures") { database in
                try await PostgresReadingStore(database: database, topology: topology, intake: "storey-figures")
                    .figures(scope: kind, id: parts[1], resolution: resolution)
            }
        }
        let building = topology.buildingIndex(of: found).map { topology.buildings[$0] }
        var aligner = WindowAligner(timeZone: building?.timeZone ?? .gmt)
        let windows = Dictionary(grouping: rows, by: \.windowStart).sorted { $0.key < $1.key }.suffix(last)
        let formatter = DateFormatter()
        formatter.timeZone = building?.timeZone ?? .gmt
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        if !json {
            print(["window (local)", "kWh", "kWh/m²", "mean kW", "peak kW", "mean persons", "persons/100m²", "output/m²"].joined(separator: "\t"))
        }
        for (start, group) in windows {
            let day = aligner.windows(at: start * 1000).localDate
            let figures = WindowFigures(
                windowStart: start, rows: group.map { ($0.quantity, $0.values) },
                leasedArea: topology.densityArea(of: found, on: day),
                landAreaMu: kind == .building ? building?.landAreaMu : nil)
            let label = formatter.string(from: Date(timeIntervalSince1970: Double(start)))
            if json {
                let object: [String: Any] = [
                    "window_start": label, "energy_kwh": figures.energy, "energy_intensity_kwh_m2": figures.energyIntensity ?? NSNull(),
                    "mean_power_kw": figures.meanPower ?? NSNull(), "peak_power_kw": figures.peakPower ?? NSNull(),
                    "mean_occupancy": figures.meanOccupancy ?? NSNull(), "occupancy_per_100m2": figures.occupancyDensity ?? NSNull(),
                    "output": figures.output, "output_per_m2": figures.outputDensity ?? NSNull(), "water_m3": figures.water,
                    "leased_area_m2": figures.leasedArea, "energy_kwh_per_mu": figures.energyPerMu ?? NSNull(),
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                func f(_ value: Double?, _ digits: Int = 2) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? "-" }
                print([label, f(figures.energy), f(figures.energyIntensity, 4), f(figures.meanPower), f(figures.peakPower),
                       f(figures.meanOccupancy, 1), f(figures.occupancyDensity), f(figures.outputDensity, 4)].joined(separator: "\t"))
            }
        }
    }
}

extension Resolution: ExpressibleByArgument {}
