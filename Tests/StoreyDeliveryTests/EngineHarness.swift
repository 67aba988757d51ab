import Foundation
import GRDB
import Logging
import StoreyDelivery
import StoreyStore
import StoreyTestSupport

/// A delivery engine on a real SQLite database, fed through the outbox table exactly as the alert side
/// feeds it, running until `stop()`.
final class EngineHarness: @unchecked Sendable {
    let directory: URL
    let databasePath: String
    let store: DeliveryStore
    let engine: DeliveryEngine
    private let writer: DatabaseQueue
    private var task: Task<Void, Never>?

    init(_ configuration: DeliveryConfiguration) throws {
        directory = try makeTemporaryDirectory(prefix: "storey-delivery")
        databasePath = directory.appendingPathComponent("storey.db").path
        store = try DeliveryStore(path: databasePath)
        writer = try DatabaseQueue(path: databasePath)
        var logger = Logger(label: "delivery-test")
        logger.logLevel = .debug
        engine = DeliveryEngine(store: store, senders: try ReceiverSenders(configuration), logger: logger)
    }

    /// Appends outbox rows (as the alert side does, in its own transaction); returns their ids.
    @discardableResult
    func insert(_ notifications: [String]) throws -> [Int64] {
        try writer.write { db in
            var ids: [Int64] = []
            for json in notifications {
                let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
                let fingerprint = (object["fingerprint"] as! [String: Any])["value"] as! String
                try db.execute(
                    sql: "INSERT INTO outbox(created_at, fingerprint, kind, notification) VALUES (?, ?, ?, ?)",
                    arguments: [Int64(Date().timeIntervalSince1970 * 1000), fingerprint, object["kind"] as! String, json])
                ids.append(db.lastInsertedRowID)
            }
            return ids
        }
    }

    func start() {
        let engine = self.engine
        task = Task { await engine.run() }
        engine.outboxChanged()
    }

    func stop() async {
        engine.stop()
        await task?.value
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("timed out waiting for \(what)")
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}

extension DeliveryConfiguration {
    /// Quick retries for tests.
    static func testing(receivers: [Receiver], route: Route) -> DeliveryConfiguration {
        var configuration = DeliveryConfiguration(receivers: receivers, route: route)
        configuration.retry.initialDelay = 0.2
        configuration.retry.maximumDelay = 1
        configuration.pollInterval = 0.2
        configuration.circuitBreaker.initialOpen = 0.5
        configuration.circuitBreaker.maximumOpen = 1
        return configuration
    }
}
