extension PostgresSchema {
    /// The outbox and the delivery side's progress: SQLite's v3 outbox and v4/v7 delivery tables, with
    /// what several instances sharing them need besides:
    /// - `outbox.routed` instead of a routing cursor: instances append outbox rows in concurrent
    ///   transactions, so ids do not commit in order and a cursor could pass a row not yet visible;
    /// - `delivery_message.claimed_by` / `claimed_until`: the instance sending a message, and until when
    ///   its claim holds (renewed while it runs; another instance may take the message once it lapses).
    static let outboxAndDelivery = [
        """
        CREATE TABLE outbox (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created_at BIGINT NOT NULL,        -- milliseconds since the Unix epoch
            fingerprint TEXT NOT NULL,
            kind TEXT NOT NULL,                -- firing, resolved, reminder, flapping
            notification TEXT NOT NULL,        -- JSON of StoreyCore.AlertNotification
            routed BOOLEAN NOT NULL DEFAULT false
        )
        """,
        "CREATE INDEX outbox_unrouted ON outbox(id) WHERE NOT routed",
        """
        CREATE TABLE delivery_item (
            outbox_id BIGINT NOT NULL,
            receiver TEXT NOT NULL,
            recipient TEXT NOT NULL,           -- '' for a webhook
            route TEXT NOT NULL,               -- the route's path in the routing tree, e.g. 0.2
            group_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            episode BIGINT NOT NULL,
            kind TEXT NOT NULL,
            routed_at BIGINT NOT NULL,
            held BOOLEAN NOT NULL DEFAULT false, -- once it waited for a mute to end
            message BIGINT,                    -- delivery_message.id once put in a message
            skipped TEXT,                      -- why it will not be sent (superseded, repeat interval…)
            PRIMARY KEY (outbox_id, receiver, recipient)
        )
        """,
        "CREATE INDEX delivery_item_waiting ON delivery_item(outbox_id) WHERE message IS NULL AND skipped IS NULL",
        "CREATE INDEX delivery_item_by_message ON delivery_item(message) WHERE message IS NOT NULL",
        "CREATE INDEX delivery_item_by_alert ON delivery_item(receiver, recipient, fingerprint, episode)",
        "CREATE INDEX delivery_item_skipped ON delivery_item(routed_at) WHERE skipped IS NOT NULL",
        """
        CREATE TABLE delivery_message (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            receiver TEXT NOT NULL,
            recipient TEXT NOT NULL,
            group_key TEXT NOT NULL,
            message_key TEXT NOT NULL,         -- webhook-id, or the mail's Message-ID
            thread_key TEXT,                   -- the Message-ID a mail answers (In-Reply-To)
            state TEXT NOT NULL,               -- pending, delivered, dead
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT,
            last_reason TEXT,
            created_at BIGINT NOT NULL,
            delivered_at BIGINT,
            dead_at BIGINT,
            claimed_by TEXT,                   -- the instance sending it
            claimed_until BIGINT               -- when that claim lapses unless renewed
        )
        """,
        "CREATE INDEX delivery_message_pending ON delivery_message(receiver, recipient, group_key, id) WHERE state = 'pending'",
        "CREATE INDEX delivery_message_by_group ON delivery_message(receiver, recipient, group_key, id)",
        "CREATE INDEX delivery_message_due ON delivery_message(next_attempt_at) WHERE state = 'pending'",
        "CREATE INDEX delivery_message_claimed ON delivery_message(claimed_by) WHERE state = 'pending' AND claimed_by IS NOT NULL",
        "CREATE INDEX delivery_message_dead ON delivery_message(dead_at) WHERE state = 'dead'",
        "CREATE INDEX delivery_message_delivered ON delivery_message(delivered_at) WHERE state = 'delivered'",
        """
        CREATE TABLE delivery_receiver (
            name TEXT PRIMARY KEY,
            disabled_at BIGINT,
            reason TEXT
        )
        """,
    ]
}

extension PostgresSchema {
    /// Points, readings and window figures: SQLite's v1/v2 (integer keys for figure rows) and v6's intake
    /// journal position, in PostgreSQL's types.
    static let readingsAndFigures = [
        """
        CREATE TABLE point (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            quantity TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE reading (
            point BIGINT NOT NULL REFERENCES point(id),
            time BIGINT NOT NULL,              -- milliseconds since the Unix epoch
            value DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (point, time)
        )
        """,
        """
        CREATE TABLE scope (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind TEXT NOT NULL,                -- point, space, tenant, floor, building
            key TEXT NOT NULL,                 -- its configuration id
            UNIQUE (kind, key)
        )
        """,
        "CREATE TABLE quantity (code SMALLINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "INSERT INTO quantity VALUES (1, 'power'), (2, 'energy'), (3, 'water'), (4, 'gas'), (5, 'occupancy'), (6, 'presence'), (7, 'output')",
        "CREATE TABLE resolution (code SMALLINT PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        "INSERT INTO resolution VALUES (1, 'minute'), (2, 'hour'), (3, 'day'), (4, 'month')",
        """
        CREATE TABLE figure_row (
            scope BIGINT NOT NULL REFERENCES scope(id),
            quantity SMALLINT NOT NULL REFERENCES quantity(code),
            resolution SMALLINT NOT NULL REFERENCES resolution(code),
            window_start BIGINT NOT NULL,      -- Unix seconds, aligned to the building's local time
            amount DOUBLE PRECISION NOT NULL,
            sample_sum DOUBLE PRECISION NOT NULL,
            sample_count BIGINT NOT NULL,
            sample_max DOUBLE PRECISION,
            level_sum DOUBLE PRECISION NOT NULL,
            level_minutes BIGINT NOT NULL,
            level_peak DOUBLE PRECISION,
            readings BIGINT NOT NULL,
            PRIMARY KEY (scope, quantity, resolution, window_start)
        )
        """,
        """
        CREATE VIEW figure AS
            SELECT s.kind AS scope_kind, s.key AS scope_id, q.name AS quantity, r.name AS resolution,
                f.window_start, f.amount, f.sample_sum, f.sample_count, f.sample_max, f.level_sum,
                f.level_minutes, f.level_peak, f.readings
            FROM figure_row f
            JOIN scope s ON s.id = f.scope
            JOIN quantity q ON q.code = f.quantity
            JOIN resolution r ON r.code = f.resolution
        """,
        // Per intake (a shard's own MQTT session, later): the journal position its readings reached.
        """
        CREATE TABLE intake_journal (
            intake TEXT PRIMARY KEY,
            generation BIGINT NOT NULL,
            position BIGINT NOT NULL
        )
        """,
    ]
}

extension PostgresSchema {
    /// Alert state machines, their history, silences and the evaluator's progress: SQLite's v3 (the
    /// outbox is p1's). Labels are JSONB, so history and alerts filter by building, floor and tenant.
    static let alerts = [
        """
        CREATE TABLE alert (
            fingerprint TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            scope_kind TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            state TEXT NOT NULL,               -- inactive, pending, firing, resolved
            episode BIGINT NOT NULL,
            severity TEXT NOT NULL,
            labels JSONB NOT NULL,
            snapshot TEXT NOT NULL,            -- JSON of StoreyCore.Alert
            updated_at BIGINT NOT NULL         -- milliseconds since the Unix epoch
        )
        """,
        """
        CREATE TABLE alert_transition (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            rule TEXT NOT NULL,
            scope_kind TEXT NOT NULL,
            scope_id TEXT NOT NULL,
            building TEXT,
            floor TEXT,
            tenant TEXT,
            episode BIGINT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            time BIGINT NOT NULL,
            value DOUBLE PRECISION,
            limit_value DOUBLE PRECISION,
            resolve_level DOUBLE PRECISION,
            unit TEXT,
            reason TEXT NOT NULL,
            detail TEXT,
            severity TEXT NOT NULL,
            flapping BOOLEAN NOT NULL
        )
        """,
        "CREATE INDEX alert_transition_by_time ON alert_transition(time)",
        "CREATE INDEX alert_transition_by_alert ON alert_transition(fingerprint, time)",
        """
        CREATE TABLE silence (
            id TEXT PRIMARY KEY,
            matchers TEXT NOT NULL,            -- JSON array of {name, value, isNegative}
            starts_at BIGINT NOT NULL,
            ends_at BIGINT NOT NULL,
            creator TEXT NOT NULL,
            comment TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )
        """,
        """
        CREATE TABLE evaluator_progress (
            name TEXT PRIMARY KEY,
            value BIGINT NOT NULL
        )
        """,
    ]
}

extension PostgresSchema {
    /// Which instance holds which shard, written by the holder under the shard's advisory lock (the lock
    /// is the truth; this row is what operators see, with when the holder last said it still holds it).
    static let shards = [
        """
        CREATE TABLE shard_owner (
            shard TEXT PRIMARY KEY,
            instance TEXT NOT NULL,
            since BIGINT NOT NULL,             -- milliseconds since the Unix epoch (the server's clock)
            seen_at BIGINT NOT NULL
        )
        """,
    ]
}

extension PostgresSchema {
    /// An instance asking for a shard it is configured to own and finds held (by a standby that took it
    /// over while the owner was away): the standby hands it back. Refreshed every try; a request not
    /// refreshed for a few tries is stale (its instance gone) and ignored.
    static let shardRequests = [
        """
        CREATE TABLE shard_request (
            shard TEXT PRIMARY KEY,
            instance TEXT NOT NULL,
            asked_at BIGINT NOT NULL           -- milliseconds since the Unix epoch (the server's clock)
        )
        """,
    ]
}

extension PostgresSchema {
    /// Per intake, the time of the newest reading it stored (the event stream's windows close by it).
    static let intakeNewest = [
        """
        CREATE TABLE intake_newest (
            intake TEXT PRIMARY KEY,
            time BIGINT NOT NULL               -- milliseconds since the Unix epoch
        )
        """,
    ]
}
