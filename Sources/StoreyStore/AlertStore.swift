import Foundation
import GRDB
import StoreyCore

/// One row of alert history, as `storey alerts` and the API show it.
public struct TransitionRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var fingerprint: String
    public var rule: String
    public var scopeKind: String
    public var scopeID: String
    public var building: String?
    public var floor: String?
    public var tenant: String?
    public var episode: Int
    public var from: String
    public var to: String
    /// Milliseconds since the Unix epoch.
    public var time: Int64
    public var value: Double?
    public var limit: Double?
    public var resolveLevel: Double?
    public var unit: String?
    public var reason: String
    public var detail: String?
    public var severity: String
    public var flapping: Bool

    public init(
        id: Int64, fingerprint: String, rule: String, scopeKind: String, scopeID: String, building: String?, floor: String?, tenant: String?,
        episode: Int, from: String, to: String, time: Int64, value: Double?, limit: Double?, resolveLevel: Double?, unit: String?,
        reason: String, detail: String?, severity: String, flapping: Bool
    ) {
        self.id = id
        self.fingerprint = fingerprint
        self.rule = rule
        self.scopeKind = scopeKind
        self.scopeID = scopeID
        self.building = building
        self.floor = floor
        self.tenant = tenant
        self.episode = episode
        self.from = from
        self.to = to
        self.time = time
        self.value = value
        self.limit = limit
        self.resolveLevel = resolveLevel
        self.unit = unit
        self.reason = reason
        self.detail = detail
        self.severity = severity
        self.flapping = flapping
    }
}

/// Which history to list; nil matches everything.
public struct TransitionFilter: Sendable {
    public var fingerprint: String?
    public var building: String?
    public var floor: String?
    public var tenant: String?
    public var rule: String?
    /// Milliseconds since the Unix epoch, `from ≤ time < to`.
    public var from: Int64?
    public var to: Int64?
    public var limit = 1000

    public init(
        fingerprint: String? = nil, building: String? = nil, floor: String? = nil, tenant: String? = nil, rule: String? = nil,
        from: Int64? = nil, to: Int64? = nil, limit: Int = 1000
    ) {
        self.fingerprint = fingerprint
        self.building = building
        self.floor = floor
        self.tenant = tenant
        self.rule = rule
        self.from = from
        self.to = to
        self.limit = limit
    }
}

/// Where an alert's scope sits in the estate, stored with each transition so history is filtered by
/// building, floor and tenant without the topology of the day.
public struct AlertPlace: Sendable, Equatable {
    public var building: String?
    public var floor: String?
    public var tenant: String?

    public init(building: String? = nil, floor: String? = nil, tenant: String? = nil) {
        self.building = building
        self.floor = floor
        self.tenant = tenant
    }
}

/// Alert state, history, silences and the outbox, in the same SQLite database as the figures they are
/// judged from. A tick's changes are one transaction: state, history and outbox never disagree.
public final class AlertStore: Sendable {
    let database: DatabasePool
    private let scopeIDs = ScopeIDCache()
    /// For a point's hours not made yet, which come from its readings (ReadingStore+PointHours.swift).
    private let readings: ReadingStore

    public init(_ store: ReadingStore) {
        self.database = store.database
        self.readings = store
    }

    // MARK: State

    /// Every alert saved, to restore the evaluator after a restart.
    public func loadAlerts() throws -> [Alert] {
        try database.read { db in
            let decoder = JSONDecoder()
            return try String.fetchAll(db, sql: "SELECT snapshot FROM alert ORDER BY fingerprint").compactMap {
                try? decoder.decode(Alert.self, from: Data($0.utf8))
            }
        }
    }

    public func loadSilences() throws -> [Silence] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM silence ORDER BY starts_at").map { row in
                let matchers = (try? JSONDecoder().decode([LabelMatcher].self, from: Data((row["matchers"] as String).utf8))) ?? []
                return Silence(
                    id: row["id"], matchers: matchers, start: row["starts_at"], end: row["ends_at"], creator: row["creator"],
                    comment: row["comment"])
            }
        }
    }

    /// How far the evaluator has judged, by name (e.g. `tower-a/hour`).
    public func progress() throws -> [String: Int64] {
        try database.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, value FROM evaluator_progress").map {
                ($0["name"] as String, $0["value"] as Int64)
            })
        }
    }

    /// Writes one tick: the alerts whose state changed, the transitions (history) and notifications
    /// (outbox) the evaluator asked for, silences added or removed, and the evaluator's progress — all
    /// or nothing. Returns the number of outbox rows added.
    @discardableResult
    public func commit(
        alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64] = [:],
        silencesSaved: [Silence] = [], silencesRemoved: [String] = [], now: Int64
    ) throws -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try database.write { db in
            let saveAlert = try db.cachedStatement(sql: """
                INSERT INTO alert(fingerprint, rule, scope_kind, scope_id, state, episode, severity, labels, snapshot, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(fingerprint) DO UPDATE SET state = excluded.state, episode = excluded.episode,
                    severity = excluded.severity, labels = excluded.labels, snapshot = excluded.snapshot,
                    updated_at = excluded.updated_at
                """)
            for alert in alerts {
                try saveAlert.execute(arguments: [
                    alert.fingerprint.value, alert.rule, alert.scope.kind.rawValue, alert.scopeID, alert.state.rawValue,
                    alert.episode, alert.severity.rawValue, String(decoding: try encoder.encode(alert.labels), as: UTF8.self),
                    String(decoding: try encoder.encode(alert), as: UTF8.self), now,
                ])
            }
            let history = try db.cachedStatement(sql: """
                INSERT INTO alert_transition(fingerprint, rule, scope_kind, scope_id, building, floor, tenant, episode,
                    from_state, to_state, time, value, limit_value, resolve_level, unit, reason, detail, severity, flapping)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let outbox = try db.cachedStatement(sql: "INSERT INTO outbox(created_at, fingerprint, kind, notification) VALUES (?, ?, ?, ?)")
            var notified = 0
            for action in actions {
                switch action {
                case .record(let transition):
                    let place = places(transition)
                    try history.execute(arguments: [
                        transition.fingerprint.value, transition.rule, transition.scope.kind.rawValue, transition.scopeID,
                        place.building, place.floor, place.tenant, transition.episode, transition.from.rawValue,
                        transition.to.rawValue, transition.time, transition.values?.value, transition.values?.limit,
                        transition.values?.resolveLevel, transition.values?.unit, transition.reason.code, transition.reason.detail,
                        transition.severity.rawValue, transition.isFlapping,
                    ])
                case .notify(let notification):
                    try outbox.execute(arguments: [
                        now, notification.fingerprint.value, notification.kind.rawValue,
                        String(decoding: try encoder.encode(notification), as: UTF8.self),
                    ])
                    notified += 1
                }
            }
            let saveSilence = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO silence(id, matchers, starts_at, ends_at, creator, comment, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for silence in silencesSaved {
                try saveSilence.execute(arguments: [
                    silence.id, String(decoding: try encoder.encode(silence.matchers), as: UTF8.self), silence.start, silence.end,
                    silence.creator, silence.comment, now,
                ])
            }
            for id in silencesRemoved {
                try db.execute(sql: "UPDATE silence SET ends_at = MIN(ends_at, ?) WHERE id = ?", arguments: [now, id])
            }
            for (name, value) in progress {
                try db.execute(
                    sql: "INSERT INTO evaluator_progress(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    arguments: [name, value])
            }
            return notified
        }
    }

    // MARK: What rules are judged on

    /// The figure rows of `scopes` for one window (`windowStart ..< windowEnd`), per scope and quantity.
    public func figureRows(
        of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [[(Quantity, FigureValues)]] {
        try database.read { db in
            let ids = try scopeIDs.ids(for: scopes, db: db)
            let select = try db.cachedStatement(
                sql: "SELECT * FROM figure_row WHERE scope = ? AND quantity = ? AND resolution = ? AND window_start = ?")
            // A day's or month's hours that are not folded into it yet (ReadingStore+Folding.swift); a point's are
            // never (it has no day or month rows: ReadingStore+PointWindows.swift).
            let folds = resolution == .day || resolution == .month
            let folded = folds ? try Int64.fetchOne(db, sql: "SELECT folded_before FROM figure_fold WHERE id = 1") ?? 0 : 0
            let hours = try db.cachedStatement(sql: """
                SELECT * FROM figure_row WHERE scope = ? AND quantity = ? AND resolution = \(Schema.code(Resolution.hour))
                    AND window_start >= ? AND window_start < ?
                """)
            let (selected, hourly) = (try FigureColumns(select), try FigureColumns(hours))
            return try ids.enumerated().map { index, id in
                guard let id else { return [] }
                var rows: [(Quantity, FigureValues)] = []
                let unmade = scopes[index].kind == .point && resolution != .minute
                    ? try readings.unfoldedPointHours(db, id: scopes[index].id, from: windowStart, to: windowEnd) : []
                for quantity in quantities {
                    var values: FigureValues?
                    if let row = try Row.fetchOne(select, arguments: [id, Schema.code(quantity), Schema.code(resolution), windowStart]) {
                        values = selected.values(row)
                    }
                    let hoursFrom = scopes[index].kind == .point ? windowStart : max(folded, windowStart)
                    if folds && hoursFrom < windowEnd {
                        for row in try Row.fetchAll(hours, arguments: [id, Schema.code(quantity), hoursFrom, windowEnd]) {
                            var sum = values ?? FigureValues()
                            sum.merge(hourly.values(row))
                            values = sum
                        }
                    }
                    for hour in unmade where hour.quantity == quantity {
                        var sum = values ?? FigureValues()
                        sum.merge(hour.values)
                        values = sum
                    }
                    if let values { rows.append((quantity, values)) }
                }
                return rows
            }
        }
    }

    /// The number of readings each point (by id) delivered in the window `windowStart ..< windowEnd` (seconds).
    public func pointReadings(
        of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [Int] {
        try database.read { db in
            if resolution == .minute {
                // Points have no minute rows (ReadingStore+PointMinutes.swift): count their readings.
                let count = try db.cachedStatement(sql: """
                    SELECT COUNT(*) FROM reading WHERE point = (SELECT id FROM point WHERE key = ?) AND time >= ? AND time < ?
                    """)
                return try points.map { try Int.fetchOne(count, arguments: [$0.id, windowStart * 1000, windowEnd * 1000]) ?? 0 }
            }
            // Nor day or month rows (ReadingStore+PointWindows.swift): add up the window's hour rows.
            let ids = try scopeIDs.ids(for: points.map { (ScopeKind.point, $0.id) }, db: db)
            let select = try db.cachedStatement(sql: """
                SELECT TOTAL(readings) FROM figure_row
                WHERE scope = ? AND quantity = ? AND resolution = \(Schema.code(Resolution.hour)) AND window_start >= ? AND window_start < ?
                """)
            return try zip(ids, points).map { id, point in
                guard let id else { return 0 }
                let stored = Int(try Double.fetchOne(select, arguments: [id, Schema.code(point.quantity), windowStart, windowEnd]) ?? 0)
                // And the hours not made yet, from its readings (ReadingStore+PointHours.swift).
                let unmade = try readings.unfoldedPointHours(db, id: point.id, from: windowStart, to: windowEnd).reduce(0) { $0 + $1.values.readings }
                return stored + unmade
            }
        }
    }

    // MARK: Reading back, for operators

    /// Alerts as they stand (their saved state machines), newest change first, filtered by state and
    /// by the building, floor, tenant and rule labels; nil matches everything.
    public func alerts(
        state: AlertState? = nil, building: String? = nil, floor: String? = nil, tenant: String? = nil, rule: String? = nil,
        fingerprint: String? = nil, limit: Int = 10_000
    ) throws -> [(alert: Alert, updatedAt: Int64)] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        for (sql, value) in [
            ("state = ?", state?.rawValue), ("json_extract(labels, '$.building') = ?", building),
            ("json_extract(labels, '$.floor') = ?", floor), ("json_extract(labels, '$.tenant') = ?", tenant),
            ("rule = ?", rule), ("fingerprint = ?", fingerprint),
        ] {
            guard let value else { continue }
            conditions.append(sql)
            arguments += [value]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit]
        return try database.read { db in
            let decoder = JSONDecoder()
            return try Row.fetchAll(db, sql: "SELECT snapshot, updated_at FROM alert \(whereClause) ORDER BY updated_at DESC LIMIT ?", arguments: arguments)
                .compactMap { row in
                    guard let alert = try? decoder.decode(Alert.self, from: Data((row["snapshot"] as String).utf8)) else { return nil }
                    return (alert, row["updated_at"])
                }
        }
    }

    public func transitions(_ filter: TransitionFilter = TransitionFilter()) throws -> [TransitionRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        func match(_ column: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append("\(column) = ?")
            arguments += [value]
        }
        match("fingerprint", filter.fingerprint)
        match("building", filter.building)
        match("floor", filter.floor)
        match("tenant", filter.tenant)
        match("rule", filter.rule)
        if let from = filter.from {
            conditions.append("time >= ?")
            arguments += [from]
        }
        if let to = filter.to {
            conditions.append("time < ?")
            arguments += [to]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [filter.limit]
        return try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alert_transition \(whereClause) ORDER BY time, id LIMIT ?", arguments: arguments).map { row in
                TransitionRecord(
                    id: row["id"], fingerprint: row["fingerprint"], rule: row["rule"], scopeKind: row["scope_kind"],
                    scopeID: row["scope_id"], building: row["building"], floor: row["floor"], tenant: row["tenant"],
                    episode: row["episode"], from: row["from_state"], to: row["to_state"], time: row["time"], value: row["value"],
                    limit: row["limit_value"], resolveLevel: row["resolve_level"], unit: row["unit"], reason: row["reason"],
                    detail: row["detail"], severity: row["severity"], flapping: row["flapping"])
            }
        }
    }

    /// Outbox rows, oldest first (the delivery side keeps its own progress).
    public func outbox(after id: Int64 = 0, limit: Int = 1000) throws -> [(id: Int64, notification: AlertNotification)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, notification FROM outbox WHERE id > ? ORDER BY id LIMIT ?", arguments: [id, limit])
                .compactMap { row in
                    guard let notification = try? JSONDecoder().decode(AlertNotification.self, from: Data((row["notification"] as String).utf8))
                    else { return nil }
                    return (row["id"], notification)
                }
        }
    }
}

/// `scope` table ids by kind and configuration id; new scopes appear with reloads, so a miss asks again.
private final class ScopeIDCache: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var ids: [String: Int64] = [:]

    func ids(for scopes: [(kind: ScopeKind, id: String)], db: Database) throws -> [Int64?] {
        var known = lock.withLock { ids }
        if scopes.contains(where: { known["\($0.kind.rawValue)\u{1F}\($0.id)"] == nil }) {
            known = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, kind, key FROM scope") {
                known["\(row["kind"] as String)\u{1F}\(row["key"] as String)"] = row["id"]
            }
            lock.withLock { ids = known }
        }
        return scopes.map { known["\($0.kind.rawValue)\u{1F}\($0.id)"] }
    }
}

/// The store's figures as rules read them, by the scope indices of one topology.
public struct StoredFigures: WindowFigureSource {
    public let alerts: any AlertStorage
    public let topology: Topology

    public init(alerts: any AlertStorage, topology: Topology) {
        self.alerts = alerts
        self.topology = topology
    }

    public func figureRows(
        of scopes: [Scope], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [[(Quantity, FigureValues)]] {
        try alerts.figureRows(
            of: scopes.map { ($0.kind, topology.scopeID($0)) }, quantities: quantities, resolution: resolution, windowStart: windowStart,
            windowEnd: windowEnd)
    }

    public func pointReadings(of points: [Int], resolution: Resolution, windowStart: Int64, windowEnd: Int64) throws -> [Int] {
        try alerts.pointReadings(
            of: points.map { (topology.points[$0].id, topology.points[$0].quantity) }, resolution: resolution, windowStart: windowStart,
            windowEnd: windowEnd)
    }
}
