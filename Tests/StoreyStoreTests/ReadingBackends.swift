import Foundation
import GRDB
import PostgresNIO
import StoreyCore
import StoreyPostgres
@testable import StoreyStore
import StoreyTestSupport
import Testing

/// The reading store's backends, for tests that run the same steps on each.
enum ReadingBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql
    var testDescription: String { rawValue }
}

/// One reading store as the tests use it, whatever the backend.
protocol TestedReadingStore: Sendable {
    @discardableResult func ingest(_ readings: [Reading]) async throws -> IngestResult
    func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64) async throws -> [StoredFigure]
    func readingCount() async throws -> Int
    func pruneReadings(before: Int64) async throws -> Int
    func replaceTopology(_ topology: Topology) async throws
    // The operator's view's questions.
    func windowFigures(resolution: Resolution, windowStarts: Set<Int64>) async throws -> [StoredFigure]
    func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) async throws -> [StoredFigure]
    func lastReadingTimes(pointIDs: [String]) async throws -> [String: Int64]
    /// Rows the store keeps, by SQL (the same statement on both backends).
    func count(_ sql: String) async throws -> Int
    /// The same database opened again, as by a new process (no caches).
    func reopened(_ topology: Topology) async throws -> TestedReadingStore
}

extension TestedReadingStore {
    func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity? = nil, from: Int64 = .min, to: Int64 = .max) async throws -> [StoredFigure] {
        try await figures(scope: scope, id: id, resolution: resolution, quantity: quantity, from: from, to: to)
    }
}

enum ReadingStores {
    static func open(_ backend: ReadingBackend, _ topology: Topology) async throws -> TestedReadingStore {
        switch backend {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("storey-store-\(UUID().uuidString).db").path
            return SQLiteReadings(store: try ReadingStore(path: path, topology: topology))
        case .postgresql:
            let database = try await TestPostgres.freshStore(prefix: "readings")
            return PostgresReadings(store: try await PostgresReadingStore(database: database, topology: topology))
        }
    }
}

struct SQLiteReadings: TestedReadingStore {
    let store: ReadingStore
    func ingest(_ readings: [Reading]) async throws -> IngestResult { try store.ingest(readings) }
    func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64) async throws -> [StoredFigure] {
        try store.figures(scope: scope, id: id, resolution: resolution, quantity: quantity, from: from, to: to)
    }
    func readingCount() async throws -> Int { try store.readingCount() }
    func windowFigures(resolution: Resolution, windowStarts: Set<Int64>) async throws -> [StoredFigure] {
        try store.windowFigures(resolution: resolution, windowStarts: windowStarts)
    }
    func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) async throws -> [StoredFigure] {
        try store.figures(kind: kind, resolution: resolution, from: from, to: to)
    }
    func lastReadingTimes(pointIDs: [String]) async throws -> [String: Int64] { try store.lastReadingTimes(pointIDs: pointIDs) }
    func pruneReadings(before time: Int64) async throws -> Int { try store.pruneReadings(before: time) }
    func replaceTopology(_ topology: Topology) async throws { try store.replaceTopology(topology) }
    func count(_ sql: String) async throws -> Int { try await store.writer.read { try Int.fetchOne($0, sql: sql) ?? -1 } }
    func reopened(_ topology: Topology) async throws -> TestedReadingStore {
        SQLiteReadings(store: try ReadingStore(path: store.path, topology: topology))
    }
}

struct PostgresReadings: TestedReadingStore {
    let store: PostgresReadingStore
    func ingest(_ readings: [Reading]) async throws -> IngestResult { try await store.ingest(readings) }
    func figures(scope: ScopeKind, id: String, resolution: Resolution, quantity: Quantity?, from: Int64, to: Int64) async throws -> [StoredFigure] {
        try await store.figures(scope: scope, id: id, resolution: resolution, quantity: quantity, from: from, to: to)
    }
    func readingCount() async throws -> Int { try await store.readingCount() }
    func windowFigures(resolution: Resolution, windowStarts: Set<Int64>) async throws -> [StoredFigure] {
        try await store.windowFigures(resolution: resolution, windowStarts: windowStarts)
    }
    func figures(kind: ScopeKind, resolution: Resolution, from: Int64, to: Int64) async throws -> [StoredFigure] {
        try await store.figures(kind: kind, resolution: resolution, from: from, to: to)
    }
    func lastReadingTimes(pointIDs: [String]) async throws -> [String: Int64] { try await store.lastReadingTimes(pointIDs: pointIDs) }
    func pruneReadings(before time: Int64) async throws -> Int { try await store.pruneReadings(before: time) }
    func replaceTopology(_ topology: Topology) async throws { try await store.replaceTopology(topology) }
    func count(_ sql: String) async throws -> Int {
        for try await value in try await store.database.client.query(PostgresQuery(unsafeSQL: sql)).decode(Int.self) { return value }
        return -1
    }
    func reopened(_ topology: Topology) async throws -> TestedReadingStore {
        PostgresReadings(store: try await PostgresReadingStore(database: store.database, topology: topology))
    }
}
