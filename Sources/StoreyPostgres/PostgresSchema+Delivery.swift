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
