import GRDB

/// The database's shape, as migrations applied in order. A released migration is never edited:
/// a change is a new migration.
enum Schema {
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
        return migrator
    }
}
