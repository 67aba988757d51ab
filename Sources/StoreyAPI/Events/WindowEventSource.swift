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
    let pacing: Duration

    public init(
        view: OperatorView, newestReading: @escaping @Sendable () -> Int64?, logger: Logger,
        tick: Duration = .milliseconds(250), heartbeat: Duration = .seconds(15), pacing: Duration = .seconds(1)
    ) {
        self.view = view
        self.newestReading = newestReading
        self.logger = logger
        self.tick = tick
        self.heartbeat = heartbeat
        self.pacing = pacing
    }

    struct WindowEventJSON: Codable {
        var resolution: String
        var windowStart: String
        var building: String
        /// Windows of this resolution that closed since the building's previous event and were not sent
        /// on their own (paced: see `WindowPacer`); absent when none were.
        var skipped: Int?
        var scopes: [ScopeFiguresJSON]
    }

    struct ScopeFiguresJSON: Codable {
        var kind: String
        var id: String
        var figures: FiguresJSON
    }

    public func run() async throws {
        var closer = WindowCloser()
        var pacer = WindowPacer(spacing: pacing)
        var lastStatus: DaemonStatus?
        var lastHeartbeat = ContinuousClock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let status = view.status()
            if status != lastStatus {
                lastStatus = status
                view.events.publish(try OperatorView.statusEvent(status))
            }
            pacer.add(closer.advance(newestReading: newestReading(), now: view.clock()))
            if !view.events.isWatched() {
                pacer.drop()
            } else if let due = pacer.release(at: .now) {
                do {
                    // Store reads and JSON encoding off the shared task threads (`BlockingWork`).
                    try await BlockingWork.shared.run { [self] in try publishClosed(minutes: due.minutes, overflow: due.overflow) }
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

    /// Publishes, for each building, the newest of the given closed minutes that has figures, and the
    /// newest hour they close (the minute that ends an hour of the building's local time closes that
    /// hour), each an event with an id to resume from. The older windows are counted in the event's
    /// `skipped`, with `overflow` more minutes that closed before these. One minute, as when windows
    /// close at their real pace, is one event (and its hour).
    public func publishClosed(minutes: [Int64], overflow: Int = 0) throws {
        let snapshot = view.snapshot
        let topology = snapshot.topology
        let minutes = minutes.sorted()
        let minuteFigures = snapshot.assemble(try view.store.windowFigures(resolution: .minute, windowStarts: Set(minutes)))
        var hoursClosed: [[Int64]] = []  // per building, oldest first
        for building in topology.buildings.indices {
            var aligner = WindowAligner(timeZone: topology.buildings[building].timeZone)
            hoursClosed.append(minutes.compactMap { minute in
                aligner.windows(at: (minute + 60) * 1000).hour == minute + 60 ? aligner.windows(at: minute * 1000).hour : nil
            })
        }
        let hours = Set(hoursClosed.joined())
        let hourFigures = hours.isEmpty ? [:] : snapshot.assemble(try view.store.windowFigures(resolution: .hour, windowStarts: hours))
        // Which windows have figures in which building, found in one pass over each set of figures.
        struct WindowOfBuilding: Hashable {
            var start: Int64
            var building: Int
        }
        func present(_ figures: [ScopeWindow: WindowFigures]) -> Set<WindowOfBuilding> {
            Set(figures.keys.compactMap { key in topology.buildingIndex(of: key.scope).map { WindowOfBuilding(start: key.windowStart, building: $0) } })
        }
        let (minutesPresent, hoursPresent) = (present(minuteFigures), present(hourFigures))
        for building in topology.buildings.indices {
            for (resolution, starts, figures, found, before) in [
                (Resolution.minute, minutes, minuteFigures, minutesPresent, overflow), (.hour, hoursClosed[building], hourFigures, hoursPresent, 0),
            ] {
                guard let index = starts.lastIndex(where: { found.contains(WindowOfBuilding(start: $0, building: building)) }),
                    let data = try eventData(
                        resolution: resolution, windowStart: starts[index], building: building, skipped: before + index,
                        figures: figures, snapshot: snapshot)
                else { continue }
                view.events.publishResumable(name: "window", data: data)
            }
        }
    }

    private func eventData(
        resolution: Resolution, windowStart: Int64, building: Int, skipped: Int, figures: [ScopeWindow: WindowFigures],
        snapshot: TopologySnapshot
    ) throws -> String? {
        let topology = snapshot.topology
        var scopes: [ScopeFiguresJSON] = []
        for (key, values) in figures where key.windowStart == windowStart && topology.buildingIndex(of: key.scope) == building {
            scopes.append(ScopeFiguresJSON(kind: key.scope.kind.rawValue, id: topology.scopeID(key.scope), figures: FiguresJSON(values, resolution: resolution)))
        }
        guard !scopes.isEmpty else { return nil }
        scopes.sort { ($0.kind, $0.id) < ($1.kind, $1.id) }
        let json = WindowEventJSON(
            resolution: resolution.rawValue, windowStart: Timestamps.format(seconds: windowStart), building: topology.buildings[building].id,
            skipped: skipped > 0 ? skipped : nil, scopes: scopes)
        return String(decoding: try JSONOutput.encoder.encode(json), as: UTF8.self)
    }
}
