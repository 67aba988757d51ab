import CFileSpace
import Foundation
import Logging
import Synchronization

/// A small MQTT publisher on libmosquitto, for tests, the simulator and benchmarks.
///
/// `publish` suspends while `maxInFlight` messages await their acknowledgement (QoS 1/2) or their
/// write (QoS 0), so large QoS 1 loads go through at the broker's pace instead of overrunning it.
/// It does not reconnect: a lost connection fails the outstanding and later calls.
public final class MQTTPublisher: Sendable {
    public let settings: MQTTSettings
    public let maxInFlight: Int
    let logger: Logger
    let wakeup = LoopWakeup()
    let shared = Mutex(SharedState())

    struct Outgoing: Sendable {
        var topic: String
        var payload: [UInt8]
        var qos: Int
        var retain: Bool
    }

    struct SharedState {
        enum Phase { case idle, connecting, connected, closed }
        var phase = Phase.idle
        var failure: MQTTError?
        var queue: [Outgoing] = []
        /// Handed to `publish` and not yet acknowledged (or written, for QoS 0).
        var outstanding = 0
        var disconnectRequested = false
        var connectWaiter: CheckedContinuation<Void, any Error>?
        var capacityWaiters: [CheckedContinuation<Void, any Error>] = []
        var flushWaiters: [CheckedContinuation<Void, any Error>] = []
        var closedWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// `settings.subscriptions` are ignored; the client id should be unique to this publisher.
    public init(settings: MQTTSettings, maxInFlight: Int = 200, logger: Logger = Logger(label: "storey.mqtt.publisher")) {
        var settings = settings
        settings.subscriptions = []
        self.settings = settings
        self.maxInFlight = max(1, maxInFlight)
        self.logger = logger
    }

    /// Connects and waits for the broker's CONNACK; throws if the broker cannot be reached or refuses.
    public func connect() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let first = shared.withLock { state -> Bool in
                guard state.phase == .idle else { return false }
                state.phase = .connecting
                state.connectWaiter = continuation
                return true
            }
            guard first else {
                continuation.resume(throwing: MQTTError.alreadyStarted)
                return
            }
            let thread = Thread { [self] in
                pthread_setname_np(pthread_self(), "storey-publish")  // for `top -H`; at most 15 bytes
                PublisherLoop.run(publisher: self)
            }
            thread.start()
        }
    }

    /// Queues one message; suspends while `maxInFlight` messages are outstanding.
    public func publish(topic: String, payload: [UInt8], qos: Int = 0, retain: Bool = false) async throws {
        precondition((0...2).contains(qos), "QoS must be 0, 1 or 2")
        let message = Outgoing(topic: topic, payload: payload, qos: qos, retain: retain)
        while true {
            enum Outcome { case queued(wake: Bool), full, failed(MQTTError) }
            let outcome = shared.withLock { state -> Outcome in
                if let failure = state.failure { return .failed(failure) }
                if state.phase != .connected || state.disconnectRequested { return .failed(.stopped) }
                if state.outstanding >= maxInFlight { return .full }
                state.outstanding += 1
                state.queue.append(message)
                return .queued(wake: state.queue.count == 1)
            }
            switch outcome {
            case .queued(let wake):
                if wake { wakeup.signal() }
                return
            case .failed(let error):
                throw error
            case .full:
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let resumeNow = shared.withLock { state -> Bool in
                        if state.failure != nil || state.outstanding < maxInFlight { return true }
                        state.capacityWaiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    public func publish(topic: String, payload: String, qos: Int = 0, retain: Bool = false) async throws {
        try await publish(topic: topic, payload: Array(payload.utf8), qos: qos, retain: retain)
    }

    /// Waits until every published message was acknowledged (QoS 1/2) or written (QoS 0).
    public func flush() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = shared.withLock { state -> Result<Void, MQTTError>? in
                if let failure = state.failure { return .failure(failure) }
                if state.outstanding == 0 { return .success(()) }
                state.flushWaiters.append(continuation)
                return nil
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Flushes (best effort), sends DISCONNECT and ends the loop thread.
    public func disconnect() async {
        try? await flush()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = shared.withLock { state -> Bool in
                if state.phase == .idle || state.phase == .closed { return true }
                state.disconnectRequested = true
                state.closedWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() } else { wakeup.signal() }
        }
    }
}

/// The publisher's network loop, on its own thread; the only place that calls libmosquitto for it.
final class PublisherLoop: MosquittoEvents {
    private let publisher: MQTTPublisher
    private var client: Mosquitto!
    private var connected = false
    private var disconnecting = false
    private var ended = false
    private var lastLibraryError: String?

    private init(publisher: MQTTPublisher) {
        self.publisher = publisher
    }

    static func run(publisher: MQTTPublisher) {
        let loop = PublisherLoop(publisher: publisher)
        do {
            loop.client = try Mosquitto.make(settings: publisher.settings, wakeup: publisher.wakeup, events: loop, deferWrites: false)
            try loop.client.connect()
        } catch let error as MQTTError {
            loop.end(error)
            return
        } catch {
            loop.end(.connectionFailed("\(error)"))
            return
        }
        loop.loop()
        loop.client = nil
    }

    private func loop() {
        let connectDeadline = ContinuousClock.now + .seconds(max(10, publisher.settings.keepAlive))
        while !ended {
            let events = client.waitForEvents(reading: true, timeoutMilliseconds: 200)
            if !connected && ContinuousClock.now > connectDeadline {
                end(.connectionFailed(lastLibraryError ?? "no CONNACK within the connect timeout"))
                break
            }
            if events.woken || connected {
                let (queue, disconnect) = publisher.shared.withLock { state in
                    defer { state.queue.removeAll(keepingCapacity: true) }
                    return (state.queue, state.disconnectRequested)
                }
                for message in queue {
                    do {
                        try client.publish(topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain)
                    } catch let error as MQTTError {
                        end(error)
                        return
                    } catch {}
                }
                if disconnect {
                    disconnecting = true
                    client.disconnectAndFlush()
                    end(nil)
                    return
                }
            }
            if client.isSocketOpen && (events.readable || events.hangUp) {
                if let failure = client.read(maxPackets: 4096).failure {
                    end(.connectionLost(lastLibraryError ?? MosquittoLibrary.describe(failure)))
                    return
                }
            }
            if client.isSocketOpen && (events.writable || client.wantsWrite) {
                if let failure = client.write() {
                    end(.connectionLost(lastLibraryError ?? MosquittoLibrary.describe(failure)))
                    return
                }
            }
            client.misc()
            if !client.isSocketOpen && !ended {
                end(connected ? .connectionLost(lastLibraryError ?? "connection closed") : .connectionFailed(lastLibraryError ?? "connection closed"))
            }
        }
    }

    /// Ends the loop: fails (or, with nil, completes) everything that waits.
    private func end(_ error: MQTTError?) {
        guard !ended else { return }
        ended = true
        if let error { publisher.logger.warning("MQTT publisher ended", metadata: ["error": "\(error)"]) }
        let state = publisher.shared.withLock { state -> MQTTPublisher.SharedState in
            let snapshot = state
            state.phase = .closed
            state.failure = error ?? .stopped
            state.connectWaiter = nil
            state.capacityWaiters = []
            state.flushWaiters = []
            state.closedWaiters = []
            state.queue = []
            return snapshot
        }
        let failure = error ?? .stopped
        state.connectWaiter?.resume(throwing: failure)
        for waiter in state.capacityWaiters { waiter.resume(throwing: failure) }
        for waiter in state.flushWaiters {
            if error == nil && state.outstanding == 0 { waiter.resume() } else { waiter.resume(throwing: failure) }
        }
        for waiter in state.closedWaiters { waiter.resume() }
    }

    func mosquittoConnAck(reasonCode: Int32, sessionPresent: Bool, reason: String) {
        guard reasonCode == 0 else {
            end(.connectionFailed("broker refused the connection: \(reason)"))
            return
        }
        connected = true
        let waiter = publisher.shared.withLock { state in
            state.phase = .connected
            defer { state.connectWaiter = nil }
            return state.connectWaiter
        }
        waiter?.resume()
    }

    func mosquittoDisconnected(code: Int32, reason: String) {
        if disconnecting {
            end(nil)
            return
        }
        end(connected ? .connectionLost(lastLibraryError ?? reason) : .connectionFailed(lastLibraryError ?? reason))
    }

    func mosquittoSubAck(messageID: Int32, grantedQoS: [Int32]) {}

    func mosquittoPublished(messageID: Int32) {
        let maxInFlight = publisher.maxInFlight
        let (capacity, flushed) = publisher.shared.withLock { state -> ([CheckedContinuation<Void, any Error>], [CheckedContinuation<Void, any Error>]) in
            state.outstanding -= 1
            var capacity: [CheckedContinuation<Void, any Error>] = []
            if state.outstanding < maxInFlight && !state.capacityWaiters.isEmpty {
                capacity = state.capacityWaiters
                state.capacityWaiters = []
            }
            var flushed: [CheckedContinuation<Void, any Error>] = []
            if state.outstanding == 0 {
                flushed = state.flushWaiters
                state.flushWaiters = []
            }
            return (capacity, flushed)
        }
        for waiter in capacity { waiter.resume() }
        for waiter in flushed { waiter.resume() }
    }

    func mosquittoLog(level: Int32, message: String) {
        lastLibraryError = message
    }
}
