import Foundation
import Logging
import PostgresNIO
import StoreyCore
import StoreyStore

/// Alert state, history, silences and the outbox on PostgreSQL: what SQLite's `AlertStore` does, in the
/// database the figures are judged from. A tick's changes are one transaction, so state, history and
/// outbox never disagree. Evaluator progress is named per building window (`tower-a/hour`), so the
/// instances owning different buildings never write the same row.
public final class PostgresAlertStore: Sendable {
    public let database: PostgresStore

    public init(database: PostgresStore) {
        self.database = database
    }

    private var client: PostgresClient { database.client }
    private var logger: Logger { database.logger }

    // MARK: State

    /// Every alert saved, to restore the evaluator after a restart.
    public func loadAlerts() async throws -> [Alert] {
        let decoder = JSONDecoder()
        var alerts: [Alert] = []
        for try await snapshot in try await client.query("SELECT snapshot FROM alert ORDER BY fingerprint", logger: logger).decode(String.self) {
            if let alert = try? decoder.decode(Alert.self, from: Data(snapshot.utf8)) { alerts.append(alert) }
        }
        return alerts
    }

    public func loadSilences() async throws -> [Silence] {
        let rows = try await client.query(
            "SELECT id, matchers, starts_at, ends_at, creator, comment FROM silence ORDER BY starts_at", logger: logger)
        var silences: [Silence] = []
        for try await (id, matchers, start, end, creator, comment) in rows.decode((String, String, Int64, Int64, String, String).self) {
            let decoded = (try? JSONDecoder().decode([LabelMatcher].self, from: Data(matchers.utf8))) ?? []
            silences.append(Silence(id: id, matchers: decoded, start: start, end: end, creator: creator, comment: comment))
        }
        return silences
    }

    /// How far the evaluator has judged, by name (e.g. `tower-a/hour`).
    public func progress() async throws -> [String: Int64] {
        var progress: [String: Int64] = [:]
        for try await (name, value) in try await client.query("SELECT name, value FROM evaluator_progress", logger: logger).decode((String, Int64).self) {
            progress[name] = value
        }
        return progress
    }

    /// Writes one tick, all or nothing (see `AlertStore.commit`). Returns the number of outbox rows added.
    @discardableResult
    public func commit(
        alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64] = [:],
        silencesSaved: [Silence] = [], silencesRemoved: [String] = [], now: Int64
    ) async throws -> Int {
        try await commit(
            alerts: alerts, actions: actions, placed: Self.places(of: actions, places), progress: progress, silencesSaved: silencesSaved,
            silencesRemoved: silencesRemoved, now: now)
    }

    /// Where each recorded transition of `actions` sits, in their order.
    static func places(of actions: [AlertAction], _ places: (AlertTransition) -> AlertPlace) -> [AlertPlace] {
        actions.compactMap { action in
            if case .record(let transition) = action { places(transition) } else { nil }
        }
    }

    /// `commit`, with the recorded transitions' places given (`placed`, in order) and, for a shard's
    /// monitor, fenced: nothing is written unless `fence`'s instance still holds its shard.
    func commit(
        alerts: [Alert], actions: [AlertAction], placed: [AlertPlace], progress: [String: Int64], silencesSaved: [Silence],
        silencesRemoved: [String], now: Int64, fence: ShardFence? = nil
    ) async throws -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoded before the transaction: nothing in it waits on anything but the database. Each kind of row
        // goes in as one statement over arrays, not one a row: the transaction is fenced (a shard's monitor holds
        // its lock meanwhile), and an outage that changes hundreds of alerts in a tick made as many round trips.
        let latest = Dictionary(alerts.enumerated().map { ($1.fingerprint.value, $0) }, uniquingKeysWith: { _, last in last })
        let saved = try alerts.enumerated().filter { latest[$1.fingerprint.value] == $0 }.map { _, alert in
            (alert, String(decoding: try encoder.encode(alert.labels), as: UTF8.self), String(decoding: try encoder.encode(alert), as: UTF8.self))
        }
        var history: [TransitionRow] = []
        var notifications: [(AlertNotification, String)] = []
        for action in actions {
            switch action {
            case .record(let transition): history.append(TransitionRow(transition, place: placed[history.count], order: history.count))
            case .notify(let notification): notifications.append((notification, String(decoding: try encoder.encode(notification), as: UTF8.self)))
            }
        }
        let historyJSON = try TransitionRow.encoder.encode(history)
        let silences = try silencesSaved.map { ($0, String(decoding: try encoder.encode($0.matchers), as: UTF8.self)) }
        let logger = self.logger
        try await database.transaction { connection in
            try await fence?.check(connection, logger: logger)
            if !saved.isEmpty {
                try await connection.query("""
                    INSERT INTO alert(fingerprint, rule, scope_kind, scope_id, state, episode, severity, labels, snapshot, updated_at)
                    SELECT t.fingerprint, t.rule, t.scope_kind, t.scope_id, t.state, t.episode, t.severity, t.labels::jsonb, t.snapshot, \(now)
                    FROM unnest(\(saved.map(\.0.fingerprint.value)), \(saved.map(\.0.rule)), \(saved.map(\.0.scope.kind.rawValue)),
                        \(saved.map(\.0.scopeID)), \(saved.map(\.0.state.rawValue)), \(saved.map(\.0.episode)), \(saved.map(\.0.severity.rawValue)),
                        \(saved.map(\.1)), \(saved.map(\.2))) AS t(fingerprint, rule, scope_kind, scope_id, state, episode, severity, labels, snapshot)
                    ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, episode = excluded.episode,
                        severity = excluded.severity, labels = excluded.labels, snapshot = excluded.snapshot, updated_at = excluded.updated_at
                    """, logger: logger)
            }
            if !history.isEmpty {
                // As JSON: several columns may be null, which PostgresNIO's arrays cannot carry. In the actions'
                // order, which the ids (and so the history's order) follow.
                try await connection.query("""
                    INSERT INTO alert_transition(fingerprint, rule, scope_kind, scope_id, building, floor, tenant, episode,
                        from_state, to_state, time, value, limit_value, resolve_level, unit, reason, detail, severity, flapping)
                    SELECT fingerprint, rule, scope_kind, scope_id, building, floor, tenant, episode, from_state, to_state, time,
                        value, limit_value, resolve_level, unit, reason, detail, severity, flapping
                    FROM jsonb_to_recordset(\(String(decoding: historyJSON, as: UTF8.self))::jsonb) AS t(
                        n bigint, fingerprint text, rule text, scope_kind text, scope_id text, building text, floor text, tenant text,
                        episode bigint, from_state text, to_state text, time bigint, value double precision, limit_value double precision,
                        resolve_level double precision, unit text, reason text, detail text, severity text, flapping boolean)
                    ORDER BY n
                    """, logger: logger)
            }
            if !notifications.isEmpty {
                try await connection.query("""
                    INSERT INTO outbox(created_at, fingerprint, kind, notification)
                    SELECT \(now), t.fingerprint, t.kind, t.notification
                    FROM unnest(\(notifications.map(\.0.fingerprint.value)), \(notifications.map(\.0.kind.rawValue)), \(notifications.map(\.1)))
                        WITH ORDINALITY AS t(fingerprint, kind, notification, n)
                    ORDER BY t.n
                    """, logger: logger)
            }
            // Silences are an operator's doing, one or two at a time.
            for (silence, matchers) in silences {
                try await connection.query("""
                    INSERT INTO silence(id, matchers, starts_at, ends_at, creator, comment, created_at)
                    VALUES (\(silence.id), \(matchers), \(silence.start), \(silence.end), \(silence.creator), \(silence.comment), \(now))
                    ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at, ends_at = excluded.ends_at,
                        creator = excluded.creator, comment = excluded.comment, created_at = excluded.created_at
                    """, logger: logger)
            }
            if !silencesRemoved.isEmpty {
                try await connection.query("UPDATE silence SET ends_at = LEAST(ends_at, \(now)) WHERE id = ANY(\(silencesRemoved))", logger: logger)
            }
            if !progress.isEmpty {
                let named = progress.sorted { $0.key < $1.key }
                try await connection.query("""
                    INSERT INTO evaluator_progress(name, value) SELECT * FROM unnest(\(named.map(\.key)), \(named.map(\.value)))
                    ON CONFLICT (name) DO UPDATE SET value = excluded.value
                    """, logger: logger)
            }
        }
        return notifications.count
    }

    // MARK: What rules are judged on

    /// The figure rows of `scopes` for one window, per scope and quantity.
    public func figureRows(
        of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64
    ) async throws -> [[(Quantity, FigureValues)]] {
        let rows = try await client.query("""
            SELECT t.i, f.quantity, f.amount, f.sample_sum, f.sample_count, f.sample_max, f.level_sum, f.level_minutes, f.level_peak, f.readings
            FROM unnest(\(scopes.map(\.kind.rawValue)), \(scopes.map(\.id))) WITH ORDINALITY AS t(kind, key, i)
            JOIN scope s ON s.kind = t.kind AND s.key = t.key
            JOIN figure_row f ON f.scope = s.id AND f.resolution = \(Schema.code(resolution)) AND f.window_start = \(windowStart)
                AND f.quantity = ANY(\(quantities.map { Schema.code($0) })::smallint[])
            """, logger: logger)
        var byScope = [[Quantity: FigureValues]](repeating: [:], count: scopes.count)
        let byCode = Dictionary(uniqueKeysWithValues: quantities.map { (Schema.code($0), $0) })
        for try await c in rows.decode((Int, Int, Double, Double, Int, Double?, Double, Int, Double?, Int).self) {
            guard let quantity = byCode[c.1] else { continue }
            byScope[c.0 - 1][quantity] = FigureValues(
                amount: c.2, sampleSum: c.3, sampleCount: c.4, sampleMax: c.5 ?? -.infinity, levelSum: c.6, levelMinutes: c.7,
                levelPeak: c.8 ?? -.infinity, readings: c.9)
        }
        // In the order the quantities were asked for, as SQLite's store answers.
        return byScope.map { rows in quantities.compactMap { quantity in rows[quantity].map { (quantity, $0) } } }
    }

    /// The number of readings each point (by id) delivered in the window `windowStart ..< windowEnd` (seconds).
    /// PostgreSQL keeps a point's hour, day and month rows: beyond the minute, the window's own row answers.
    public func pointReadings(
        of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) async throws -> [Int] {
        let ids = points.map(\.id)
        var counts = [Int](repeating: 0, count: points.count)
        let rows: PostgresRowSequence
        if resolution == .minute {
            // Points have no minute rows: count their readings.
            rows = try await client.query("""
                SELECT t.i, COUNT(r.time)::bigint FROM unnest(\(ids)) WITH ORDINALITY AS t(key, i)
                JOIN point p ON p.key = t.key
                JOIN reading r ON r.point = p.id AND r.time >= \(windowStart * 1000) AND r.time < \(windowEnd * 1000)
                GROUP BY t.i
                """, logger: logger)
        } else {
            rows = try await client.query("""
                SELECT t.i, f.readings FROM unnest(\(ids), \(points.map { Schema.code($0.quantity) })::smallint[]) WITH ORDINALITY AS t(key, quantity, i)
                JOIN scope s ON s.kind = 'point' AND s.key = t.key
                JOIN figure_row f ON f.scope = s.id AND f.quantity = t.quantity AND f.resolution = \(Schema.code(resolution))
                    AND f.window_start = \(windowStart)
                """, logger: logger)
        }
        for try await (ordinal, count) in rows.decode((Int, Int).self) { counts[ordinal - 1] = count }
        return counts
    }

    // MARK: Reading back, for operators

    /// Alerts as they stand, newest change first, filtered by state and by the building, floor, tenant and
    /// rule labels; nil matches everything.
    public func alerts(
        state: AlertState? = nil, building: String? = nil, floor: String? = nil, tenant: String? = nil, rule: String? = nil,
        fingerprint: String? = nil, limit: Int = 10_000
    ) async throws -> [(alert: Alert, updatedAt: Int64)] {
        let rows = try await client.query("""
            SELECT snapshot, updated_at FROM alert
            WHERE (\(state?.rawValue)::text IS NULL OR state = \(state?.rawValue))
              AND (\(building)::text IS NULL OR labels->>'building' = \(building))
              AND (\(floor)::text IS NULL OR labels->>'floor' = \(floor))
              AND (\(tenant)::text IS NULL OR labels->>'tenant' = \(tenant))
              AND (\(rule)::text IS NULL OR rule = \(rule))
              AND (\(fingerprint)::text IS NULL OR fingerprint = \(fingerprint))
            ORDER BY updated_at DESC LIMIT \(limit)
            """, logger: logger)
        let decoder = JSONDecoder()
        var alerts: [(alert: Alert, updatedAt: Int64)] = []
        for try await (snapshot, updatedAt) in rows.decode((String, Int64).self) {
            if let alert = try? decoder.decode(Alert.self, from: Data(snapshot.utf8)) { alerts.append((alert, updatedAt)) }
        }
        return alerts
    }

    public func transitions(_ filter: TransitionFilter = TransitionFilter()) async throws -> [TransitionRecord] {
        try await records(client.query("""
            SELECT \(unescaped: Self.transitionColumns)
            FROM alert_transition
            WHERE (\(filter.fingerprint)::text IS NULL OR fingerprint = \(filter.fingerprint))
              AND (\(filter.building)::text IS NULL OR building = \(filter.building))
              AND (\(filter.floor)::text IS NULL OR floor = \(filter.floor))
              AND (\(filter.tenant)::text IS NULL OR tenant = \(filter.tenant))
              AND (\(filter.rule)::text IS NULL OR rule = \(filter.rule))
              AND (\(filter.from)::bigint IS NULL OR time >= \(filter.from))
              AND (\(filter.to)::bigint IS NULL OR time < \(filter.to))
            ORDER BY time, id LIMIT \(filter.limit)
            """, logger: logger))
    }

    /// The transitions recorded with an id above `id`, by id (the estate's event stream: `TransitionFeed`).
    public func transitions(above id: Int64, limit: Int = 5000) async throws -> [TransitionRecord] {
        try await records(client.query("""
            SELECT \(unescaped: Self.transitionColumns) FROM alert_transition WHERE id > \(id) ORDER BY id LIMIT \(limit)
            """, logger: logger))
    }

    /// The id of the newest transition recorded (0 when there is none).
    public func newestTransitionID() async throws -> Int64 {
        for try await id in try await client.query("SELECT COALESCE(MAX(id), 0)::bigint FROM alert_transition", logger: logger).decode(Int64.self) {
            return id
        }
        return 0
    }

    private static let transitionColumns = """
        id, fingerprint, rule, scope_kind, scope_id, building, floor, tenant, episode, from_state, to_state, time,
        value, limit_value, resolve_level, unit, reason, detail, severity, flapping
        """

    private func records(_ rows: PostgresRowSequence) async throws -> [TransitionRecord] {
        var records: [TransitionRecord] = []
        for try await c in rows.decode(
            (Int64, String, String, String, String, String?, String?, String?, Int, String, String, Int64, Double?, Double?, Double?, String?,
             String, String?, String, Bool).self)
        {
            records.append(TransitionRecord(
                id: c.0, fingerprint: c.1, rule: c.2, scopeKind: c.3, scopeID: c.4, building: c.5, floor: c.6, tenant: c.7, episode: c.8,
                from: c.9, to: c.10, time: c.11, value: c.12, limit: c.13, resolveLevel: c.14, unit: c.15, reason: c.16, detail: c.17,
                severity: c.18, flapping: c.19))
        }
        return records
    }

    /// Outbox rows, oldest first (the delivery side keeps its own progress).
    public func outbox(after id: Int64 = 0, limit: Int = 1000) async throws -> [(id: Int64, notification: AlertNotification)] {
        let rows = try await client.query(
            "SELECT id, notification FROM outbox WHERE id > \(id) ORDER BY id LIMIT \(limit)", logger: logger)
        var entries: [(id: Int64, notification: AlertNotification)] = []
        for try await (id, json) in rows.decode((Int64, String).self) {
            if let notification = try? JSONDecoder().decode(AlertNotification.self, from: Data(json.utf8)) { entries.append((id, notification)) }
        }
        return entries
    }

    /// Removes alert history older than `before`, by the rules of SQLite's `AlertStore.pruneHistory`
    /// (an open alert's current episode stays whole), in chunks.
    @discardableResult
    public func pruneHistory(before: Int64, chunk: Int = 2000) async throws -> Int {
        var removed = 0
        while true {
            let count = try await first(Int.self, client.query("""
                WITH gone AS (
                    DELETE FROM alert_transition WHERE id IN (
                        SELECT t.id FROM alert_transition t
                        WHERE t.time < \(before)
                          AND NOT EXISTS (SELECT 1 FROM alert a
                              WHERE a.fingerprint = t.fingerprint AND t.episode >= a.episode
                                AND (a.state IN ('pending', 'firing') OR a.updated_at >= \(before)))
                        ORDER BY t.time LIMIT \(chunk))
                    RETURNING 1)
                SELECT COUNT(*)::bigint FROM gone
                """, logger: logger)) ?? 0
            removed += count
            if count < chunk { return removed }
        }
    }
}

/// One transition as a row of `alert_transition`, in JSON for `jsonb_to_recordset` (keys are the columns;
/// `n` keeps the actions' order).
private struct TransitionRow: Encodable {
    var n: Int
    var fingerprint, rule, scope_kind, scope_id: String
    var building, floor, tenant: String?
    var episode: Int
    var from_state, to_state: String
    var time: Int64
    var value, limit_value, resolve_level: Double?
    var unit: String?
    var reason: String
    var detail: String?
    var severity: String
    var flapping: Bool

    init(_ transition: AlertTransition, place: AlertPlace, order: Int) {
        n = order
        fingerprint = transition.fingerprint.value
        rule = transition.rule
        scope_kind = transition.scope.kind.rawValue
        scope_id = transition.scopeID
        building = place.building
        floor = place.floor
        tenant = place.tenant
        episode = transition.episode
        from_state = transition.from.rawValue
        to_state = transition.to.rawValue
        time = transition.time
        value = transition.values?.value
        limit_value = transition.values?.limit
        resolve_level = transition.values?.resolveLevel
        unit = transition.values?.unit
        reason = transition.reason.code
        detail = transition.reason.detail
        severity = transition.severity.rawValue
        flapping = transition.isFlapping
    }

    // A nil is left out, which `jsonb_to_recordset` reads as null; a value that is not finite is written in
    // PostgreSQL's own spelling ("Infinity", "NaN"), which it reads back into the double precision column.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()
}
