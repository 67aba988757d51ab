import Foundation
import Hummingbird
import Synchronization

/// One Server-Sent Event. Events with an `id` are kept for a while so a client that reconnects with
/// `Last-Event-ID` gets what it missed.
///
/// The event is put in the `text/event-stream` format once, when it is made: every client is sent the
/// same bytes (a `ByteBuffer` shares its storage), so 200 clients cost one encoding, not 200.
public struct StreamEvent: Sendable, Equatable {
    public let id: Int64?
    public let name: String
    /// The event as it goes on the wire. Only these bytes are kept (a window event of a large building
    /// is ~100 kB, and the hub keeps `keptEvents` of them for resumption).
    public let wire: ByteBuffer

    /// - Parameter data: one line of JSON.
    public init(id: Int64? = nil, name: String, data: String) {
        self.id = id
        self.name = name
        var text = ""
        if let id { text += "id: \(id)\n" }
        text += "event: \(name)\ndata: \(data)\n\n"
        wire = ByteBuffer(string: text)
    }

    /// The JSON line, read back from the wire bytes.
    public var data: String {
        let text = String(buffer: wire)
        guard let start = text.range(of: "data: ") else { return "" }
        return String(text[start.upperBound...].dropLast(2))
    }
}

/// Fans events out to the event-stream clients without ever waiting for one.
///
/// Each client has its own bounded buffer. Publishing only appends to the buffers (under a lock, no
/// I/O); a client whose buffer is full is too slow to keep up and is dropped, so a stalled browser
/// never slows whoever publishes, and intake never publishes directly (see `WindowEventSource`).
public final class EventHub: Sendable {
    private struct Client {
        var continuation: AsyncStream<StreamEvent>.Continuation
    }

    private struct State {
        var clients: [Int: Client] = [:]
        var nextClient = 0
        /// The newest events with ids, oldest first, for `Last-Event-ID` resumption.
        var recent: [StreamEvent] = []
        var dropped = 0
        var connections = 0
        var closed = false
        /// When the last client went away: its reconnection may ask for what was published since.
        var lastClientLeft: ContinuousClock.Instant?
        /// The id of the last resumable event; ids start from the clock (milliseconds) so that they keep
        /// growing across restarts.
        var lastID = Int64(Date().timeIntervalSince1970 * 1000)
    }

    private let state = Mutex(State())
    public let clientBuffer: Int
    public let keptEvents: Int

    public init(clientBuffer: Int = 256, keptEvents: Int = 1024) {
        self.clientBuffer = clientBuffer
        self.keptEvents = keptEvents
    }

    /// What a new client gets: its stream, the kept events after its `Last-Event-ID`, and whether
    /// some it asked for were no longer kept (it should then reload the live state).
    public struct Subscription: Sendable {
        public var events: AsyncStream<StreamEvent>
        public var missed: [StreamEvent]
        public var gap: Bool
    }

    public func subscribe(lastEventID: Int64?) -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: StreamEvent.self, bufferingPolicy: .bufferingOldest(clientBuffer))
        let (id, missed, gap, closed): (Int, [StreamEvent], Bool, Bool) = state.withLock { state in
            let id = state.nextClient
            state.nextClient += 1
            if !state.closed {
                state.clients[id] = Client(continuation: continuation)
                state.connections += 1
            }
            guard let lastEventID else { return (id, [], false, state.closed) }
            let missed = state.recent.filter { ($0.id ?? .min) > lastEventID }
            // Resumable if the kept events reach back to the one the client saw last.
            let gap = state.recent.first.map { ($0.id ?? .min) > lastEventID } ?? false
            return (id, missed, gap, state.closed)
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                if state.clients.removeValue(forKey: id) != nil { state.lastClientLeft = .now }
            }
        }
        if closed { continuation.finish() }
        return Subscription(events: stream, missed: missed, gap: gap)
    }

    /// Publishes an event that reconnecting clients may resume from: the hub gives it the next id.
    /// Window figures use this; alert transitions and point silences should too.
    @discardableResult
    public func publishResumable(name: String, data: String) -> Int64 {
        let id = state.withLock { state in
            state.lastID += 1
            return state.lastID
        }
        publish(StreamEvent(id: id, name: name, data: data))
        return id
    }

    /// Hands an event to every client; drops the clients that cannot take it. An event with an id is
    /// kept for resumption (ids must grow; `publishResumable` hands them out).
    public func publish(_ event: StreamEvent) {
        let tooSlow: [AsyncStream<StreamEvent>.Continuation] = state.withLock { state in
            if event.id != nil {
                state.recent.append(event)
                if state.recent.count > keptEvents { state.recent.removeFirst(state.recent.count - keptEvents) }
            }
            var tooSlow: [AsyncStream<StreamEvent>.Continuation] = []
            for (id, client) in state.clients {
                if case .dropped = client.continuation.yield(event) {
                    tooSlow.append(client.continuation)
                    state.clients.removeValue(forKey: id)
                    state.dropped += 1
                    state.lastClientLeft = .now
                }
            }
            return tooSlow
        }
        // Full: the client has not read `clientBuffer` events. It gets what is buffered, then its stream
        // ends and it must reconnect (resuming with Last-Event-ID). Finished outside the lock, since
        // finishing calls the stream's termination handler, which takes it.
        for continuation in tooSlow { continuation.finish() }
    }

    /// Ends every stream (graceful shutdown: open streams would otherwise hold the HTTP server up).
    public func close() {
        let clients = state.withLock { state in
            state.closed = true
            defer { state.clients.removeAll() }
            return Array(state.clients.values)
        }
        for client in clients { client.continuation.finish() }
    }

    public var clientCount: Int { state.withLock { $0.clients.count } }

    /// Whether anyone may read what is published now: a client is connected, or one left less than
    /// `resumeWindow` ago and may come back with `Last-Event-ID`. Building window events costs store
    /// reads and JSON for every closed minute, so nobody watching means nothing is built.
    public func isWatched(resumeWindow: Duration = .seconds(300)) -> Bool {
        state.withLock { state in
            if !state.clients.isEmpty { return true }
            guard let left = state.lastClientLeft else { return false }
            return ContinuousClock.now - left < resumeWindow
        }
    }
    /// Clients dropped for being too slow, since start.
    public var droppedClients: Int { state.withLock { $0.dropped } }
    /// Clients that connected, since start.
    public var connections: Int { state.withLock { $0.connections } }
}
