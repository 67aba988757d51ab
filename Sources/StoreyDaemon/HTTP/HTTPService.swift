import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import StoreyAPI
import StoreyConfig
import StoreyCore
import Synchronization

/// What the health endpoints ask of the rest of the daemon.
public struct HealthProbe: Sendable {
    /// Subscribed to the broker.
    public var brokerConnected: @Sendable () -> Bool
    /// The store accepts writes.
    public var storeWritable: @Sendable () -> Bool
}

/// The HTTP side: `/healthz` (alive), `/readyz` (broker connected and store writable), `/metrics`, and the
/// operator's view (`StoreyAPI`: `/api/v1`, the event stream, the dashboard at `/`), over HTTPS when the
/// configuration names a certificate.
enum HTTPService {
    /// `listening` is set once the server is bound and answering.
    static func application(
        address: HostPort, access: HTTPAccessConfiguration, metrics: StoreyMetrics, health: HealthProbe, view: OperatorView,
        listening: HTTPListening, logger: Logger
    ) throws -> some ApplicationProtocol {
        // HEAD is answered like GET, without the body (monitors and proxies probe with it).
        let router = Router(context: OperatorRequestContext.self, options: .autoGenerateHeadEndpoints)
        view.addMiddleware(to: router)
        router.get("healthz") { _, _ in
            "ok\n"
        }
        router.get("readyz") { _, _ -> Response in
            let broker = health.brokerConnected()
            // A read of the database: off the shared task threads, like every other.
            let store = (try? await BlockingWork.shared.run { health.storeWritable() }) ?? false
            let body = "broker: \(broker ? "connected" : "not connected")\nstore: \(store ? "writable" : "not writable")\n"
            return Response(
                status: broker && store ? .ok : .serviceUnavailable,
                headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        let eventStream = EventStreamMetrics(registry: metrics.registry)
        router.get("metrics") { _, _ -> Response in
            eventStream.update(from: view.events)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        view.addRoutes(to: router)
        for path in ["/healthz", "/readyz", "/metrics"] { view.knownPaths.declare(path, [.get, .head]) }
        var server = HTTPServerBuilder.http1()
        if let tls = access.tls {
            server = try .tls(.http1(), tlsConfiguration: try tlsConfiguration(tls))
        }
        return Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: "storeyd"),
            onServerRunning: { _ in listening.set() },
            logger: logger)
    }

    /// The server side of TLS from PEM files; an unreadable file stops start-up with its path.
    static func tlsConfiguration(_ files: HTTPTLSFiles) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        } catch {
            throw HTTPTLSError(description: "cannot use the HTTPS certificate \(files.certificateFile) and key \(files.keyFile): \(error)")
        }
    }
}

/// Whether the HTTP server is listening yet. READY=1 waits for it: systemd, and whatever starts after
/// storeyd, may ask `/readyz` the moment it is sent (a test saw no answer there under load, when READY=1
/// went out on the subscription alone).
final class HTTPListening: Sendable {
    private struct State {
        var listening = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    func set() {
        let waiters = state.withLock { state in
            state.listening = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the server is listening, or at once when the waiting task is cancelled (the daemon
    /// stopping before its server ever listened must not leave the waiter suspended for good).
    func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.listening || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

struct HTTPTLSError: Error, CustomStringConvertible {
    var description: String
}
