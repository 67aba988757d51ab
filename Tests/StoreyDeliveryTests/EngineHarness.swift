import Foundation
import Logging
import StoreyDelivery
import StoreyStore
import StoreyTestSupport

/// A delivery engine on a real database (SQLite, or PostgreSQL as several instances share it), fed
/// through the outbox table exactly as the alert side feeds it, running until `stop()`.
final class EngineHarness: @unchecked Sendable {
    let fixture: DeliveryStoreFixture
    var store: any DeliveryStorage { fixture.store }
    let engine: DeliveryEngine
    private var task: Task<Void, Never>?

    /// `through`: what the engine sees of the store (a wrapper that counts calls, say).
    convenience init(
        _ configuration: DeliveryConfiguration, backend: StoreBackend = .sqlite, through: (any DeliveryStorage) -> any DeliveryStorage = { $0 }
    ) async throws {
        try self.init(configuration, fixture: try await DeliveryStoreFixture.make(backend), through: through)
    }

    init(_ configuration: DeliveryConfiguration, fixture: DeliveryStoreFixture, through: (any DeliveryStorage) -> any DeliveryStorage = { $0 }) throws {
        self.fixture = fixture
        var logger = Logger(label: "delivery-test")
        logger.logLevel = .debug
        engine = DeliveryEngine(store: through(fixture.store), senders: try ReceiverSenders(configuration), logger: logger)
    }

    /// Appends outbox rows (as the alert side does, each in its own transaction); returns their ids.
    @discardableResult
    func insert(_ notifications: [String]) async throws -> [Int64] {
        var ids: [Int64] = []
        for json in notifications {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            let fingerprint = (object["fingerprint"] as! [String: Any])["value"] as! String
            ids.append(try await fixture.appendOutbox(Int64(Date().timeIntervalSince1970 * 1000), fingerprint, object["kind"] as! String, json))
        }
        return ids
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

    func waitUntil(_ what: String, timeout: Duration = .seconds(90), _ condition: () async throws -> Bool) async throws {
        try await StoreyTestSupport.waitUntil(what, timeout: timeout, condition)
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
