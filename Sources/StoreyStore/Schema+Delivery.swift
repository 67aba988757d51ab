import GRDB

extension Schema {
    /// The delivery side's own progress beside the outbox it reads (v4). The outbox is only read, except
    /// that pruning deletes rows delivery has finished with (v7's indexes serve pruning).
    static func registerDelivery(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: delivery items, messages, receivers and the routing cursor") { db in
            try db.execute(sql: """
                -- How far the outbox has been routed: rows above it are still to be routed.
                CREATE TABLE delivery_cursor (
                    name TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                );
                -- One row per outbox row, receiver and recipient ('' for a webhook): a routed notification
                -- waiting to be put in a message (its group's wait, a mute), in one, or skipped (and why).
                CREATE TABLE delivery_item (
                    outbox_id INTEGER NOT NULL,
                    receiver TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    route TEXT NOT NULL,            -- the route's path in the routing tree, e.g. 0.2
                    group_key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    episode INTEGER NOT NULL,
                    kind TEXT NOT NULL,             -- firing, resolved, reminder, flapping
                    routed_at INTEGER NOT NULL,     -- milliseconds since the Unix epoch
                    held INTEGER NOT NULL DEFAULT 0, -- 1 once it waited for a mute to end
                    message INTEGER,                -- delivery_message.id once put in a message
                    skipped TEXT,                   -- why it will not be sent (superseded, repeat interval…)
                    PRIMARY KEY (outbox_id, receiver, recipient)
                ) WITHOUT ROWID;
                CREATE INDEX delivery_item_waiting ON delivery_item(receiver, recipient, group_key, outbox_id)
                    WHERE message IS NULL AND skipped IS NULL;
                CREATE INDEX delivery_item_by_message ON delivery_item(message) WHERE message IS NOT NULL;
                CREATE INDEX delivery_item_by_alert ON delivery_item(receiver, recipient, fingerprint, episode);
                -- One message to one receiver (and recipient): what is sent, with the same id on every attempt.
                CREATE TABLE delivery_message (
                    id INTEGER PRIMARY KEY,
                    receiver TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    group_key TEXT NOT NULL,
                    message_key TEXT NOT NULL,      -- webhook-id, or the mail's Message-ID
                    thread_key TEXT,                -- the Message-ID a mail answers (In-Reply-To)
                    state TEXT NOT NULL,            -- pending, delivered, dead
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    last_reason TEXT,               -- timeout, connection, http_5xx, http_429, refused…
                    created_at INTEGER NOT NULL,
                    delivered_at INTEGER,
                    dead_at INTEGER
                );
                CREATE INDEX delivery_message_pending ON delivery_message(receiver, recipient, group_key, id)
                    WHERE state = 'pending';
                CREATE INDEX delivery_message_by_group ON delivery_message(receiver, recipient, group_key, id);
                CREATE INDEX delivery_message_due ON delivery_message(next_attempt_at) WHERE state = 'pending';
                CREATE INDEX delivery_message_dead ON delivery_message(dead_at) WHERE state = 'dead';
                -- A receiver that said it is gone for good (HTTP 410) stays disabled until replayed.
                CREATE TABLE delivery_receiver (
                    name TEXT PRIMARY KEY,
                    disabled_at INTEGER,
                    reason TEXT
                );
                """)
        }
    }

    /// Indexes for pruning what delivery has finished with (v7).
    static func registerDeliveryPruning(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7: indexes for pruning delivered messages and skipped items") { db in
            try db.execute(sql: """
                CREATE INDEX delivery_message_delivered ON delivery_message(delivered_at) WHERE state = 'delivered';
                CREATE INDEX delivery_item_skipped ON delivery_item(routed_at) WHERE skipped IS NOT NULL;
                """)
        }
    }
}
