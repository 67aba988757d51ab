import StoreyCore

/// Where the underuse monitor keeps alert state, history, silences and the outbox, and reads the figures
/// it judges: SQLite's `AlertStore`, or PostgreSQL's through a bridge that waits for each answer
/// (`BlockingPostgresAlerts`). Called from the monitor's own thread (`BlockingWork`), never from Swift's
/// shared ones: a call may wait on the database.
public protocol AlertStorage: Sendable {
    func loadAlerts() throws -> [Alert]
    func loadSilences() throws -> [Silence]
    func progress() throws -> [String: Int64]
    /// One tick's or one operator action's changes, all or nothing; returns the outbox rows added.
    func commit(
        alerts: [Alert], actions: [AlertAction], places: (AlertTransition) -> AlertPlace, progress: [String: Int64],
        silencesSaved: [Silence], silencesRemoved: [String], now: Int64
    ) throws -> Int
    /// Per scope, its figure rows (one per quantity present) for the window `windowStart ..< windowEnd`.
    func figureRows(
        of scopes: [(kind: ScopeKind, id: String)], quantities: [Quantity], resolution: Resolution, windowStart: Int64, windowEnd: Int64
    ) throws -> [[(Quantity, FigureValues)]]
    func pointReadings(of points: [(id: String, quantity: Quantity)], resolution: Resolution, windowStart: Int64, windowEnd: Int64) throws -> [Int]
}

extension AlertStore: AlertStorage {}
