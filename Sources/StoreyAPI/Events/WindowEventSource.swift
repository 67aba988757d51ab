import Foundation
import Logging
import ServiceLifecycle
import StoreyCore
import StoreyStore

/// Publishes window figures to the event stream as windows close, and the daemon's status as it changes.
///
/// It runs beside intake, not in it: intake only records the time of the newest reading it stored (one
/// atomic store per batch); this service reads that, and reads the closed windows' figures through the
/// store's reader connections. So neither the store queries nor slow clients can slow intake.
public struct WindowEventSource: Service, CustomStringConvertible {
    public var description: String { "WindowEventSource" }
    let view: OperatorView
    let newestReading: @Sendable () -> Int64?
    let logger: Logger
    let tick: Duration
    let heartbeat: Duration

    public init(
        view: OperatorView, newestReading: @escaping @Sendable () -> Int64?, logger: Logger,
        tick: Duration = .milliseconds(250), heartbeat: Duration = .seconds(15)
    ) {
        self.view = view
        self.newestReading = newestReading
        self.logger = logger
        self.tick = tick
        self.heartbeat = heartbeat
    }

    struct WindowEventJSON: Codable {
        var resolution: String
        var windowStart: String
        var building: String
        var scopes: [ScopeFiguresJSON]
    }

    struct ScopeFiguresJSON: Codable {
        var kind: String
        var id: String
        var figures: FiguresJSON
    }

    public func run() async throws {
        var closer = WindowCloser()
        var lastStatus: DaemonStatus?
        var lastHeartbeat = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let status = view.status()
            if status != lastStatus {
                lastStatus = status
                view.events.publish(try OperatorView.statusEvent(status))
            }
            let closed = closer.advance(newestReading: newestReading(), now: view.clock())
            if !closed.isEmpty && view.events.isWatched() {
                do {
                    // Store reads and JSON encoding off the shared task threads (`BlockingWork`).
                    try await BlockingWork.shared.run { [self] in try publishClosed(minutes: closed) }
                } catch {
                    logger.error("cannot read closed windows for the event stream", metadata: ["error": "\(error)"])
                }
            }
            if ContinuousClock.now - lastHeartbeat >= heartbeat {
                lastHeartbeat = .now
                view.events.publish(StreamEvent(name: "heartbeat", data: "{\"time\":\"\(Timestamps.format(seconds: view.clock()))\"}"))
            }
            try? await Task.sleep(for: tick)
        }
        // Open streams would hold the HTTP server's shutdown up.
        view.events.close()
    }

    /// Publishes the figures of the given closed minutes, and of the hours they close, one event per
    /// window and building, each with an id to resume from.
    public func publishClosed(minutes: [Int64]) throws {
        let snapshot = view.snapshot
        let topology = snapshot.topology
        let minuteFigures = snapshot.assemble(try view.store.windowFigures(resolution: .minute, windowStarts: Set(minutes)))
        for minute in minutes.sorted() {
            for building in topology.buildings.indices {
                if let data = try eventData(resolution: .minute, windowStart: minute, building: building, figures: minuteFigures, snapshot: snapshot) {
                    view.events.publishResumable(name: "window", data: data)
                }
                // The minute that ends an hour of the building's local time closes that hour too.
                var aligner = WindowAligner(timeZone: topology.buildings[building].timeZone)
                let next = aligner.windows(at: (minute + 60) * 1000)
                if next.hour == minute + 60 {
                    let hour = aligner.windows(at: minute * 1000).hour
                    let hourFigures = snapshot.assemble(try view.store.windowFigures(resolution: .hour, windowStarts: [hour]))
                    if let data = try eventData(resolution: .hour, windowStart: hour, building: building, figures: hourFigures, snapshot: snapshot) {
                        view.events.publishResumable(name: "window", data: data)
                    }
                }
            }
        }
    }

    private func eventData(
        resolution: Resolution, windowStart: Int64, building: Int, figures: [ScopeWindow: WindowFigures], snapshot: TopologySnapshot
    ) throws -> String? {
        let topology = snapshot.topology
        var scopes: [ScopeFiguresJSON] = []
        for (key, values) in figures where key.windowStart == windowStart && topology.buildingIndex(of: key.scope) == building {
            scopes.append(ScopeFiguresJSON(kind: key.scope.kind.rawValue, id: topology.scopeID(key.scope), figures: FiguresJSON(values, resolution: resolution)))
        }
        guard !scopes.isEmpty else { return nil }
        scopes.sort { ($0.kind, $0.id) < ($1.kind, $1.id) }
        let json = WindowEventJSON(
            resolution: resolution.rawValue, windowStart: Timestamps.format(seconds: windowStart), building: topology.buildings[building].id, scopes: scopes)
        return String(decoding: try JSONOutput.encoder.encode(json), as: UTF8.self)
    }
}
