import Foundation
import Hummingbird
import Logging
import StoreyConfig

/// What the health endpoints ask of the rest of the daemon.
public struct HealthProbe: Sendable {
    /// Subscribed to the broker.
    public var brokerConnected: @Sendable () -> Bool
    /// The store accepts writes.
    public var storeWritable: @Sendable () -> Bool
}

/// The HTTP side: `/healthz` (alive), `/readyz` (broker connected and store writable), `/metrics`.
enum HTTPService {
    static func application(address: HostPort, metrics: StoreyMetrics, health: HealthProbe, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in
            "ok\n"
        }
        router.get("readyz") { _, _ -> Response in
            let broker = health.brokerConnected()
            let store = health.storeWritable()
            let body = "broker: \(broker ? "connected" : "not connected")\nstore: \(store ? "writable" : "not writable")\n"
            return Response(
                status: broker && store ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "storeyd"),
            logger: logger)
    }
}
