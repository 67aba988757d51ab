// The one file that touches libmosquitto: every unsafe pointer, C callback and file descriptor lives here.
import CMosquitto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `mosquitto_lib_init` is the one libmosquitto call that is not thread-safe: run it exactly once.
enum MosquittoLibrary {
    private static let initialized: Int32 = mosquitto_lib_init()

    static func initialize() {
        _ = initialized
    }

    static func describe(_ rc: Int32) -> String {
        if rc == MOSQ_ERR_ERRNO.rawValue {
            return String(cString: strerror(errno))
        }
        if rc == MOSQ_ERR_KEEPALIVE.rawValue {
            // libmosquitto 2.0.11 has no text for it ("Unknown error.").
            return "keep-alive timeout: the broker did not answer a ping in time"
        }
        return String(cString: mosquitto_strerror(rc))
    }
}

/// A non-blocking pipe that wakes the network loop's `poll()` from any thread
/// (stop, consumer drained the buffer, work queued).
final class LoopWakeup: Sendable {
    let descriptor: Int32
    private let writeDescriptor: Int32

    init() {
        var descriptors: [Int32] = [-1, -1]
        let rc = pipe(&descriptors)
        precondition(rc == 0, "pipe failed: \(String(cString: strerror(errno)))")
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        descriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    func signal() {
        var byte: UInt8 = 1
        // A full pipe already means "wake up": EAGAIN is fine.
        _ = write(writeDescriptor, &byte, 1)
    }

    func drain() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(descriptor, $0.baseAddress, $0.count) }) == 32 {}
    }

    deinit {
        close(descriptor)
        close(writeDescriptor)
    }
}

/// What one `poll()` reported.
struct LoopEvents {
    var woken = false
    var readable = false
    var writable = false
    var hangUp = false
}

/// Callbacks from libmosquitto, delivered on the network loop's thread while it is inside a `Mosquitto` call.
/// Received messages do not come through here: they go straight into `Mosquitto.received`.
protocol MosquittoEvents: AnyObject {
    func mosquittoConnAck(reasonCode: Int32, sessionPresent: Bool, reason: String)
    func mosquittoDisconnected(code: Int32, reason: String)
    func mosquittoSubAck(messageID: Int32, grantedQoS: [Int32])
    func mosquittoPublished(messageID: Int32)
    func mosquittoLog(level: Int32, message: String)
}

/// One libmosquitto client handle, driven by a network loop of our own (`poll()`, not `select()`).
///
/// Only the loop thread may call its methods; `LoopWakeup.signal()` is the only cross-thread entry.
final class Mosquitto: @unchecked Sendable {
    private let handle: OpaquePointer
    private let wakeup: LoopWakeup
    private let settings: MQTTSettings
    private var connectProperties: OpaquePointer?
    private var pollDescriptors = [pollfd](repeating: pollfd(), count: 2)
    /// Messages received since the loop last took them; appended to by the message callback.
    var received = MQTTBatch()
    weak var events: (any MosquittoEvents)?

    /// Creates and configures a client; throws an error that names the setting or file at fault.
    /// `deferWrites`: packets go out only from the loop's write step (see `configure`); the intake needs it,
    /// a publisher does not (and is about a third slower with it: 9.3 s instead of 6.3 s for 100,000 QoS 1
    /// messages in `publisherPushesOneHundredThousandQoS1MessagesReliably`).
    static func make(settings: MQTTSettings, wakeup: LoopWakeup, events: any MosquittoEvents, deferWrites: Bool) throws -> Mosquitto {
        MosquittoLibrary.initialize()
        try Self.validate(settings)
        guard let handle = mosquitto_new(settings.clientID.isEmpty ? nil : settings.clientID, settings.cleanSession, nil) else {
            throw MQTTError.library(operation: "mosquitto_new", reason: String(cString: strerror(errno)))
        }
        let client = Mosquitto(handle: handle, settings: settings, wakeup: wakeup)
        client.events = events
        try client.configure(deferWrites: deferWrites)
        return client
    }

    private init(handle: OpaquePointer, settings: MQTTSettings, wakeup: LoopWakeup) {
        self.handle = handle
        self.settings = settings
        self.wakeup = wakeup
    }

    deinit {
        mosquitto_destroy(handle)
        if connectProperties != nil {
            mosquitto_property_free_all(&connectProperties)
        }
    }

    private static func validate(_ settings: MQTTSettings) throws {
        if !settings.cleanSession && settings.clientID.isEmpty {
            throw MQTTError.invalidSettings("a persistent session (cleanSession false) needs a fixed client id")
        }
        if !(1...65535).contains(settings.port) {
            throw MQTTError.invalidSettings("port \(settings.port) is not in 1...65535")
        }
        if !(5...65535).contains(settings.keepAlive) {
            throw MQTTError.invalidSettings("keepAlive \(settings.keepAlive) s is not in 5...65535")
        }
        if !(1...65535).contains(settings.receiveMaximum) {
            throw MQTTError.invalidSettings("receiveMaximum \(settings.receiveMaximum) is not in 1...65535")
        }
        for subscription in settings.subscriptions where !(0...2).contains(subscription.qos) {
            throw MQTTError.invalidSettings("subscription '\(subscription.topicFilter)' has QoS \(subscription.qos); use 0, 1 or 2")
        }
        if let tls = settings.tls {
            try checkReadable(tls.caFile, role: "TLS CA file")
            if (tls.certFile == nil) != (tls.keyFile == nil) {
                throw MQTTError.invalidSettings("a TLS client certificate needs both certFile and keyFile")
            }
            if let cert = tls.certFile { try checkReadable(cert, role: "TLS client certificate file") }
            if let key = tls.keyFile { try checkReadable(key, role: "TLS client key file") }
        }
    }

    private static func checkReadable(_ path: String, role: String) throws {
        if access(path, R_OK) != 0 {
            throw MQTTError.unreadableFile(role: role, path: path)
        }
    }

    private func check(_ rc: Int32, _ operation: String) throws {
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            throw MQTTError.library(operation: operation, reason: MosquittoLibrary.describe(rc))
        }
    }

    private func configure(deferWrites: Bool) throws {
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        // Outgoing packets then wait in libmosquitto's queue for our loop's write step instead of going out
        // from inside a read. Unthreaded, it sends a QoS 1 PUBACK before calling the message callback, so a
        // kill in between lost a message the broker counted as delivered; now the PUBACK leaves after the
        // read round's messages are in the intake journal (`IntakeLoop.handOff`).
        if deferWrites { try check(mosquitto_threaded_set(handle, true), "deferring outgoing packets to the loop") }
        let version = settings.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        try check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version), "setting the MQTT protocol version")
        try check(mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(settings.receiveMaximum)), "setting the receive maximum")
        if settings.protocolVersion == .v5 && !settings.cleanSession {
            try check(
                mosquitto_property_add_int32(&connectProperties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), settings.sessionExpiry),
                "adding the session-expiry property")
        }
        if let username = settings.username {
            try check(mosquitto_username_pw_set(handle, username, settings.password), "setting username and password")
        }
        if let tls = settings.tls {
            try check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "loading TLS files (CA \(tls.caFile))")
            // 1 = SSL_VERIFY_PEER; TLS 1.2 minimum (libmosquitto 2.0.11 would otherwise allow 1.1).
            try check(mosquitto_tls_opts_set(handle, 1, "tlsv1.2", nil), "setting TLS options")
            try check(mosquitto_tls_insecure_set(handle, false), "enabling host-name verification")
        }

        mosquitto_connect_with_flags_callback_set(handle) { handle, context, rc, flags in
            guard let client = Mosquitto.client(context) else { return }
            if rc == 0 { Mosquitto.logWhileConnecting(handle, false) }
            let reason: String
            if client.settings.protocolVersion == .v5 {
                reason = String(cString: mosquitto_reason_string(rc))
            } else {
                reason = String(cString: mosquitto_connack_string(rc))
            }
            client.events?.mosquittoConnAck(reasonCode: rc, sessionPresent: flags & 1 != 0, reason: reason)
        }
        mosquitto_disconnect_callback_set(handle) { handle, context, rc in
            Mosquitto.logWhileConnecting(handle, true)
            guard let client = Mosquitto.client(context) else { return }
            client.events?.mosquittoDisconnected(code: rc, reason: MosquittoLibrary.describe(rc))
        }
        mosquitto_subscribe_callback_set(handle) { _, context, mid, count, granted in
            guard let client = Mosquitto.client(context) else { return }
            let qos = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
            client.events?.mosquittoSubAck(messageID: mid, grantedQoS: qos)
        }
        mosquitto_publish_callback_set(handle) { _, context, mid in
            Mosquitto.client(context)?.events?.mosquittoPublished(messageID: mid)
        }
        Self.logWhileConnecting(handle, true)
        // The hot path: one copy of topic and payload into the batch, nothing else.
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let client = Mosquitto.client(context), let message else { return }
            let topicLength = message.pointee.topic.map { strlen($0) } ?? 0
            client.received.append(
                topic: UnsafeRawBufferPointer(start: message.pointee.topic, count: topicLength),
                payload: UnsafeRawBufferPointer(start: message.pointee.payload, count: Int(message.pointee.payloadlen)),
                qos: UInt8(truncatingIfNeeded: message.pointee.qos),
                retain: message.pointee.retain)
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            client.received.records[client.received.records.count - 1].receivedAt = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        }
    }

    /// libmosquitto's warnings and errors reach our log only while connecting (TCP, TLS, CONNACK: a refused
    /// certificate is told there), not once connected: with a log callback set, libmosquitto formats every
    /// debug line it has (two a QoS 1 message, a `malloc` and a `vsnprintf` each), 6 % of the MQTT loop
    /// thread in a drain. A connection that ends mid-session is still logged, from the disconnect callback's code.
    private static func logWhileConnecting(_ handle: OpaquePointer?, _ on: Bool) {
        guard on else {
            mosquitto_log_callback_set(handle, nil)
            return
        }
        mosquitto_log_callback_set(handle) { _, context, level, text in
            guard let client = Mosquitto.client(context), let text else { return }
            if level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING) != 0 {
                client.events?.mosquittoLog(level: level, message: String(cString: text))
            }
        }
    }

    private static func client(_ context: UnsafeMutableRawPointer?) -> Mosquitto? {
        guard let context else { return nil }
        return Unmanaged<Mosquitto>.fromOpaque(context).takeUnretainedValue()
    }

    // MARK: Operations (loop thread only)

    /// Opens the TCP connection (blocking until TCP is up; TLS and CONNACK continue in the loop) and sends CONNECT.
    func connect() throws {
        let rc = mosquitto_connect_bind_v5(handle, settings.host, Int32(settings.port), Int32(settings.keepAlive), nil, connectProperties)
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            throw MQTTError.connectionFailed("\(settings.host):\(settings.port): \(MosquittoLibrary.describe(rc))")
        }
    }

    /// Sends SUBSCRIBE; returns the message id its SUBACK will carry.
    func subscribe(_ subscription: MQTTSubscription) throws -> Int32 {
        var mid: Int32 = 0
        let rc = mosquitto_subscribe_v5(handle, &mid, subscription.topicFilter, Int32(subscription.subscribedQoS), 0, nil)
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            throw MQTTError.library(operation: "subscribing to '\(subscription.topicFilter)'", reason: MosquittoLibrary.describe(rc))
        }
        return mid
    }

    func publish(topic: String, payload: [UInt8], qos: Int, retain: Bool) throws {
        let rc = payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, nil, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain)
        }
        if rc != MOSQ_ERR_SUCCESS.rawValue {
            throw MQTTError.library(operation: "publishing to '\(topic)'", reason: MosquittoLibrary.describe(rc))
        }
    }

    /// Sends an UNSUBSCRIBE for a filter never subscribed to: a packet the broker answers and that changes
    /// nothing, sent only so that libmosquitto sees traffic going out (see `IntakeLoop.keepOutgoingTraffic`).
    func sendLivenessProbe() {
        _ = mosquitto_unsubscribe_v5(handle, nil, "storey-liveness-probe/\(settings.clientID)", nil)
    }

    /// Sends DISCONNECT (keeping a persistent session) and closes the socket.
    func disconnect() {
        _ = mosquitto_disconnect(handle)
    }

    /// At the end of a loop: disconnects, writes what is queued (the DISCONNECT last) for about a second
    /// at most, then waits up to `lingerMilliseconds` for the broker to close its side.
    ///
    /// libmosquitto closes the socket as soon as the DISCONNECT is written. Closed with unread bytes
    /// waiting (the broker keeps sending while we stop), the kernel resets the connection, and the broker
    /// throws away what it had not yet read: the last acknowledgements, even the DISCONNECT, so the
    /// session's messages came again to the next session (seen in 5 of 8 runs of a test that stopped
    /// right after reading 80 messages: 53 to 79 of them delivered again). A reconnect before the broker
    /// has read them loses them the same way. So the connection is held open through a duplicate
    /// descriptor: our side is shut for writing, and what still arrives is read and discarded (never
    /// handled, so never acknowledged) until the broker, having read everything up to the DISCONNECT,
    /// closes the connection.
    func disconnectAndFlush(lingerMilliseconds: Int = 2000) {
        let socket = mosquitto_socket(handle)
        let held = socket >= 0 ? dup(socket) : -1
        defer { if held >= 0 { close(held) } }
        disconnect()
        var attempts = 0
        while isSocketOpen && wantsWrite && attempts < 10 {
            _ = waitForEvents(reading: false, timeoutMilliseconds: 100)
            _ = write()
            attempts += 1
        }
        // Still open: the DISCONNECT did not leave, and waiting for the broker to close would be in vain.
        guard held >= 0, !isSocketOpen else { return }
        shutdown(held, Int32(SHUT_WR))
        let deadline = ContinuousClock.now + .milliseconds(lingerMilliseconds)
        var discard = [UInt8](repeating: 0, count: 16_384)
        while ContinuousClock.now < deadline {
            var descriptor = pollfd(fd: held, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 100) >= 0 || errno == EINTR else { return }
            guard descriptor.revents != 0 else { continue }
            let count = discard.withUnsafeMutableBytes { recv(held, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { return }  // the broker closed: it read everything we sent
            if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return }
        }
    }

    var isSocketOpen: Bool { mosquitto_socket(handle) >= 0 }

    /// Waits for the wake-up descriptor and, if open, the socket. `reading` false leaves POLLIN out
    /// (back-pressure); `writing` false leaves POLLOUT out (acknowledgements waiting for storage).
    func waitForEvents(reading: Bool, writing: Bool = true, timeoutMilliseconds: Int32) -> LoopEvents {
        let socket = mosquitto_socket(handle)
        var socketEvents: Int16 = 0
        if reading { socketEvents |= Int16(POLLIN) }
        if writing && socket >= 0 && mosquitto_want_write(handle) { socketEvents |= Int16(POLLOUT) }
        pollDescriptors[0] = pollfd(fd: wakeup.descriptor, events: Int16(POLLIN), revents: 0)
        pollDescriptors[1] = pollfd(fd: socket, events: socketEvents, revents: 0)
        let count = socket >= 0 ? 2 : 1
        let ready = pollDescriptors.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t(count), timeoutMilliseconds) }
        var events = LoopEvents()
        guard ready > 0 else { return events }
        if pollDescriptors[0].revents & Int16(POLLIN) != 0 {
            wakeup.drain()
            events.woken = true
        }
        if count == 2 {
            let revents = pollDescriptors[1].revents
            events.readable = revents & Int16(POLLIN) != 0
            events.writable = revents & Int16(POLLOUT) != 0
            events.hangUp = revents & Int16(POLLHUP | POLLERR) != 0
        }
        return events
    }

    /// Reads and handles up to `maxPackets` packets, stopping early when the socket has nothing more.
    /// Returns whether more may be waiting (the cap was reached), so the loop polls with a zero timeout.
    func read(maxPackets: Int) -> (more: Bool, failure: Int32?) {
        var packets = 0
        while packets < maxPackets {
            // libmosquitto handles at most one packet per call here and reports "socket empty" only through errno.
            // But a QoS 1 message sets errno too: queueing its PUBACK writes a byte to a socket pair of its own,
            // which nothing reads here, so that write fails with EAGAIN. A call that brought a message in has read
            // a packet whatever errno says (taken for "empty", it ended every QoS 1 read round after one message:
            // a poll, a journal write and a hand-off per message).
            errno = 0
            let messagesBefore = received.count
            let rc = mosquitto_loop_read(handle, 1)
            if rc != MOSQ_ERR_SUCCESS.rawValue { return (false, rc) }
            if mosquitto_socket(handle) < 0 { return (false, nil) }
            if (errno == EAGAIN || errno == EWOULDBLOCK) && received.count == messagesBefore { return (false, nil) }
            packets += 1
        }
        return (true, nil)
    }

    func write() -> Int32? {
        let rc = mosquitto_loop_write(handle, 1)
        return rc == MOSQ_ERR_SUCCESS.rawValue ? nil : rc
    }

    /// Keep-alive pings and timeouts.
    func misc() {
        _ = mosquitto_loop_misc(handle)
    }

    var wantsWrite: Bool { mosquitto_want_write(handle) }
}
