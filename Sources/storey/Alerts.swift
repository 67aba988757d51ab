import ArgumentParser
import Foundation
import StoreyConfig
import StoreyCore
import StoreyPostgres
import StoreyStore

/// `storey alerts`: the alerts Storey holds and their history, from the daemon's database.
struct Alerts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List alerts and their history (every transition, with values and reason).",
        discussion: """
            Without --history: one line per alert that is pending, firing or resolved, newest change first.
            With --history: every transition, oldest first, filtered by building, floor, tenant, rule and period.
            Times are the building's local time. Example:
              storey alerts --config storey.yaml --history --tenant xinda-electronics --since 2026-11-01
            """)
    @OptionGroup var options: ConfigOption

    @Flag(help: "Every transition instead of the current state.")
    var history = false

    @Option(help: "Only alerts in this state (pending, firing, resolved).")
    var state: AlertState?

    @Option(help: "Only this building (id).") var building: String?
    @Option(help: "Only this floor (BUILDING/LEVEL).") var floor: String?
    @Option(help: "Only this tenant (id).") var tenant: String?
    @Option(help: "Only this rule (name).") var rule: String?
    @Option(help: "Only this alert (fingerprint).") var fingerprint: String?
    @Option(help: "From this local date or date-time (YYYY-MM-DD[THH:MM]).") var since: String?
    @Option(help: "Until this local date or date-time (exclusive).") var until: String?

    @Flag(help: "JSON lines instead of a table.")
    var json = false

    func run() async throws {
        let configuration = try options.load()
        let timeZone = configuration.topology.buildings.first?.timeZone ?? .gmt
        let filter = TransitionFilter(
            fingerprint: fingerprint, building: building, floor: floor, tenant: tenant, rule: rule,
            from: try since.map { try Self.instant($0, timeZone) }, to: try until.map { try Self.instant($0, timeZone) },
            limit: 100_000)
        var records: [TransitionRecord]
        switch configuration.storage {
        case .sqlite:
            records = try AlertStore(try ReadingStore(path: configuration.databasePath, topology: configuration.topology)).transitions(filter)
        case .postgresql(let storage):
            // The whole estate's alerts, whichever instance judged them.
            records = try await withEstateDatabase(storage, command: "alerts") { try await PostgresAlertStore(database: $0).transitions(filter) }
        }
        if !history {
            // The current state of each alert is its latest transition.
            var latest: [String: TransitionRecord] = [:]
            for record in records { latest[record.fingerprint] = record }
            records = latest.values.filter { $0.to != AlertState.inactive.rawValue }.sorted { $0.time > $1.time }
        }
        if let state { records = records.filter { $0.to == state.rawValue } }
        let formatter = DateFormatter()
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            for record in records { print(String(decoding: try encoder.encode(record), as: UTF8.self)) }
            return
        }
        print(["time (local)", "state", "rule", "scope", "value", "limit", "reason", "fingerprint"].joined(separator: "\t"))
        for record in records {
            let value = record.value.map { String(format: "%.4g %@", $0, record.unit ?? "") } ?? "-"
            let limit = record.limit.map { String(format: "%.4g", $0) } ?? "-"
            let reason = record.detail.map { "\(record.reason) (\($0))" } ?? record.reason
            let state = history ? "\(record.from)→\(record.to)" : record.to + (record.flapping ? " (flapping)" : "")
            print([
                formatter.string(from: Date(timeIntervalSince1970: Double(record.time) / 1000)), state, record.rule,
                "\(record.scopeKind):\(record.scopeID)", value, limit, reason, record.fingerprint,
            ].joined(separator: "\t"))
        }
    }

    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, local time → milliseconds since the Unix epoch.
    static func instant(_ text: String, _ timeZone: TimeZone) throws -> Int64 {
        let parts = text.split(separator: "T", maxSplits: 1)
        guard let date = LocalDate(parts[0]) else { throw ValidationError("\"\(text)\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM") }
        var minute = 0
        if parts.count == 2 {
            let clock = parts[1].split(separator: ":")
            guard clock.count == 2, let hour = Int(clock[0]), let minutes = Int(clock[1]), (0..<24).contains(hour), (0..<60).contains(minutes)
            else { throw ValidationError("\"\(text)\" is not YYYY-MM-DD or YYYY-MM-DDTHH:MM") }
            minute = hour * 60 + minutes
        }
        return LocalInstant(date: date, minuteOfDay: minute).milliseconds(in: timeZone)
    }
}

extension AlertState: ExpressibleByArgument {}
