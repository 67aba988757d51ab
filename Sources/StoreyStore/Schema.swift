import GRDB
import StoreyCore

/// The database's shape, as migrations applied in order. A released migration is never edited:
/// a change is a new migration.
public enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: points, readings, figures") { db in
            // Points keep a stable number across reloads; raw readings refer to it.
            try db.execute(sql: """
                CREATE TABLE point (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    quantity TEXT NOT NULL
                );
                -- One row per point and instant: a duplicate reading is refused by the key, so it changes nothing twice.
                CREATE TABLE reading (
                    point INTEGER NOT NULL REFERENCES point(id),
                    time INTEGER NOT NULL,          -- milliseconds since the Unix epoch
                    value REAL NOT NULL,
                    PRIMARY KEY (point, time)
                ) WITHOUT ROWID;
                CREATE INDEX reading_by_time ON reading(time);
                -- Window figures of every scope; every column merges by addition or maximum (see FigureValues).
                CREATE TABLE figure (
                    scope_kind TEXT NOT NULL,       -- point, space, tenant, floor, building
                    scope_id TEXT NOT NULL,
                    quantity TEXT NOT NULL,
                    resolution TEXT NOT NULL,       -- minute, hour, day, month
                    window_start INTEGER NOT NULL,  -- Unix seconds, aligned to the building's local time
                    amount REAL NOT NULL,
                    sample_sum REAL NOT NULL,
                    sample_count INTEGER NOT NULL,
                    sample_max REAL,
                    level_sum REAL NOT NULL,
                    level_minutes INTEGER NOT NULL,
                    level_peak REAL,
                    readings INTEGER NOT NULL,
                    PRIMARY KEY (scope_kind, scope_id, quantity, resolution, window_start)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: integer keys for figure rows") { db in
            // Intake spends most of its storage time seeking figure rows; integer keys make the key
            // compact and its comparisons cheap. The `figure` view keeps the readable shape of v1 for
            // operators and reports.
            try db.execute(sql: """
                CREATE TABLE scope (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,             -- point, space, tenant, floor, building
                    key TEXT NOT NULL,              -- its configuration id
                    UNIQUE (kind, key)
                );
                CREATE TABLE quantity (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
                INSERT INTO quantity VALUES (1, 'power'), (2, 'energy'), (3, 'water'), (4, 'gas'),
                    (5, 'occupancy'), (6, 'presence'), (7, 'output');
                CREATE TABLE resolution (code INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
                INSERT INTO resolution VALUES (1, 'minute'), (2, 'hour'), (3, 'day'), (4, 'month');
                CREATE TABLE figure_row (
                    scope INTEGER NOT NULL REFERENCES scope(id),
                    quantity INTEGER NOT NULL REFERENCES quantity(code),
                    resolution INTEGER NOT NULL REFERENCES resolution(code),
                    window_start INTEGER NOT NULL,
                    amount REAL NOT NULL,
                    sample_sum REAL NOT NULL,
                    sample_count INTEGER NOT NULL,
                    sample_max REAL,
                    level_sum REAL NOT NULL,
                    level_minutes INTEGER NOT NULL,
                    level_peak REAL,
                    readings INTEGER NOT NULL,
                    PRIMARY KEY (scope, quantity, resolution, window_start)
                ) WITHOUT ROWID;
                INSERT INTO scope(kind, key) SELECT DISTINCT scope_kind, scope_id FROM figure;
                INSERT INTO figure_row
                    SELECT s.id, q.code, r.code, f.window_start, f.amount, f.sample_sum, f.sample_count, f.sample_max,
                        f.level_sum, f.level_minutes, f.level_peak, f.readings
                    FROM figure f
                    JOIN scope s ON s.kind = f.scope_kind AND s.key = f.scope_id
                    JOIN quantity q ON q.name = f.quantity
                    JOIN resolution r ON r.name = f.resolution;
                DROP TABLE figure;
                CREATE VIEW figure AS
                    SELECT s.kind AS scope_kind, s.key AS scope_id, q.name AS quantity, r.name AS resolution,
                        f.window_start, f.amount, f.sample_sum, f.sample_count, f.sample_max, f.level_sum,
                        f.level_minutes, f.level_peak, f.readings
                    FROM figure_row f
                    JOIN scope s ON s.id = f.scope
                    JOIN quantity q ON q.code = f.quantity
                    JOIN resolution r ON r.code = f.resolution;
                """)
        }
        migrator.registerMigration("v3: alerts, their history, silences and the outbox") { db in
            // Alert state, its history and the outbox change in one transaction: a transition is never
            // recorded without its notification, nor notified without being recorded.
            try db.execute(sql: """
                -- One row per rule and scope that has ever held: its whole state machine as JSON (StoreyCore.Alert).
                CREATE TABLE alert (
                    fingerprint TEXT PRIMARY KEY,
                    rule TEXT NOT NULL,
                    scope_kind TEXT NOT NULL,
                    scope_id TEXT NOT NULL,
                    state TEXT NOT NULL,            -- inactive, pending, firing, resolved
                    episode INTEGER NOT NULL,
                    severity TEXT NOT NULL,
                    labels TEXT NOT NULL,           -- JSON object
                    snapshot TEXT NOT NULL,         -- JSON of StoreyCore.Alert
                    updated_at INTEGER NOT NULL     -- milliseconds since the Unix epoch
                );
                -- Every transition, with the values and the reason behind it.
                CREATE TABLE alert_transition (
                    id INTEGER PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    scope_kind TEXT NOT NULL,
                    scope_id TEXT NOT NULL,
                    building TEXT,
                    floor TEXT,
                    tenant TEXT,
                    episode INTEGER NOT NULL,
                    from_state TEXT NOT NULL,
                    to_state TEXT NOT NULL,
                    time INTEGER NOT NULL,          -- milliseconds since the Unix epoch
                    value REAL,
                    limit_value REAL,
                    resolve_level REAL,
                    unit TEXT,
                    reason TEXT NOT NULL,           -- e.g. held_for_duration, no_data, acknowledged
                    detail TEXT,                    -- words: which inputs had gaps, who acknowledged…
                    severity TEXT NOT NULL,
                    flapping INTEGER NOT NULL
                );
                CREATE INDEX alert_transition_by_time ON alert_transition(time);
                CREATE INDEX alert_transition_by_alert ON alert_transition(fingerprint, time);
                CREATE TABLE silence (
                    id TEXT PRIMARY KEY,
                    matchers TEXT NOT NULL,         -- JSON array of {name, value, isNegative}
                    starts_at INTEGER NOT NULL,
                    ends_at INTEGER NOT NULL,
                    creator TEXT NOT NULL,
                    comment TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                -- What to deliver, in order. The delivery side reads it by id and keeps its own progress.
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    created_at INTEGER NOT NULL,    -- milliseconds since the Unix epoch
                    fingerprint TEXT NOT NULL,
                    kind TEXT NOT NULL,             -- firing, resolved, reminder, flapping
                    notification TEXT NOT NULL      -- JSON of StoreyCore.AlertNotification
                );
                -- How far the evaluator has judged, so a restart neither repeats nor skips a window.
                CREATE TABLE evaluator_progress (
                    name TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                );
                """)
        }
        registerDelivery(&migrator)
        migrator.registerMigration("v5: raw readings without the index by time") { db in
            // Every reading paid for a second B-tree insert to serve only the hourly pruning, which now
            // walks the primary key point by point (ReadingStore.pruneReadings).
            try db.execute(sql: "DROP INDEX reading_by_time")
        }
        migrator.registerMigration("v6: how far the intake journal is stored") { db in
            // Written with each batch of readings: at start, the journal's messages beyond it are stored first.
            try db.execute(sql: """
                CREATE TABLE intake_journal (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    generation INTEGER NOT NULL,
                    position INTEGER NOT NULL       -- byte offset in the journal file
                );
                """)
        }
        registerDeliveryPruning(&migrator)
        migrator.registerMigration("v8: a point's day and month rows are made from its hour rows") { db in
            // Intake stopped writing them (ReadingStore+PointWindows.swift); left, they would never grow again.
            // Its hour rows hold the same readings, so nothing is lost.
            try db.execute(sql: """
                DELETE FROM figure_row WHERE resolution IN (\(code(Resolution.day)), \(code(Resolution.month)))
                    AND scope IN (SELECT id FROM scope WHERE kind = 'point')
                """)
        }
        migrator.registerMigration("v9: a scope's day and month rows take in its hours once they close") { db in
            // Older versions added every reading to its scopes' day and month rows at once: every hour stored
            // so far is in them. (The newest hour row of each scope and quantity is one seek; MAX over
            // figure_row would read every minute row.)
            try db.execute(sql: """
                CREATE TABLE figure_fold (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    folded_before INTEGER NOT NULL  -- Unix seconds: hour rows of spaces, tenants, floors and
                                                    -- buildings starting before it are in their day and month rows
                );
                INSERT INTO figure_fold(id, folded_before)
                    SELECT 1, COALESCE(MAX((SELECT window_start + 1 FROM figure_row f
                        WHERE f.scope = s.id AND f.quantity = q.code AND f.resolution = \(code(Resolution.hour))
                        ORDER BY window_start DESC LIMIT 1)), 0)
                    FROM scope s, quantity q WHERE s.kind != 'point';
                """)
        }
        migrator.registerMigration("v10: a point's hours are made from its readings once they close") { db in
            // Intake stopped adding each reading to its point's hour row (ReadingStore+PointHours.swift): a point's
            // hours starting at or after `hours_folded_before` are made from its raw readings, when asked for and once
            // they close. Every hour an older version stored counts as made (its newest may still be open: readings
            // for it keep being added to its row).
            try db.execute(sql: """
                ALTER TABLE point ADD COLUMN hours_folded_before INTEGER NOT NULL DEFAULT 0;
                UPDATE point SET hours_folded_before = COALESCE((SELECT f.window_start + 1 FROM figure_row f
                    WHERE f.scope = (SELECT s.id FROM scope s WHERE s.kind = 'point' AND s.key = point.key)
                        AND f.quantity = (SELECT q.code FROM quantity q WHERE q.name = point.quantity)
                        AND f.resolution = \(code(Resolution.hour))
                    ORDER BY f.window_start DESC LIMIT 1), 0);
                """)
        }
        return migrator
    }

    /// The codes of the `quantity` and `resolution` tables (v2). Fixed forever: stored rows use them.
    public static func code(_ quantity: Quantity) -> Int {
        switch quantity {
        case .power: 1
        case .energy: 2
        case .water: 3
        case .gas: 4
        case .occupancy: 5
        case .presence: 6
        case .output: 7
        }
    }

    public static func code(_ resolution: Resolution) -> Int {
        switch resolution {
        case .minute: 1
        case .hour: 2
        case .day: 3
        case .month: 4
        }
    }
}
