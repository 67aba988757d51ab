import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A transparent TCP relay between one MQTT client and a broker that reads the MQTT packets going
/// through it: a witness, outside the client, of which QoS 1 messages the client acknowledged.
///
/// Every byte is passed on unchanged. From the broker's side it notes each PUBLISH (packet id →
/// payload); from the client's side each PUBACK. A message the client acknowledged is one the broker
/// will not send again, so from then on keeping it is the client's job alone. When either side closes,
/// both are closed (the client then reconnects to the tap, which dials the broker afresh; while the
/// broker is down the tap closes each new connection at once, as a refused connection would).
public final class MQTTTap: Sendable {
    public let port: Int
    private let brokerPort: Int
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var acknowledged: [[UInt8]] = []
        var delivered: [[UInt8]] = []
        var connections = 0
        var open: Set<Int32> = []
        var stopped = false
    }

    /// Listens on a free loopback port and relays each connection to the broker at `brokerPort`.
    public init(brokerPort: Int) throws {
        self.brokerPort = brokerPort
        port = freePort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw TestSupportError("MQTT tap cannot listen on port \(port): \(String(cString: strerror(errno)))")
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Payloads of the PUBLISH packets the client acknowledged with a PUBACK, in order (a message the
    /// broker sent again and the client acknowledged again appears twice).
    public var acknowledgedPayloads: [String] {
        state.withLock { $0.acknowledged }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Payloads of every PUBLISH packet relayed to the client, acknowledged or not, in order.
    public var deliveredPayloads: [String] {
        state.withLock { $0.delivered }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Client connections relayed to the broker so far.
    public var connectionCount: Int { state.withLock { $0.connections } }

    /// Closes every relayed connection at once, mid-packet if it comes to that, as a dropped link
    /// would; new connections are still relayed.
    public func cut() {
        state.withLock { state in
            for descriptor in state.open { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
    }

    /// Stops listening and closes every relayed connection.
    public func stop() {
        // Under the lock, so that no descriptor is closed (and its number reused) meanwhile.
        state.withLock { state in
            state.stopped = true
            for descriptor in state.open { shutdown(descriptor, Int32(SHUT_RDWR)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit {
        stop()
        close(listener)
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            if state.withLock({ $0.stopped }) {
                close(client)
                return
            }
            let broker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(brokerPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(broker, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                // The broker is down: the client sees its connection closed and tries again later.
                close(broker)
                close(client)
                continue
            }
            state.withLock {
                $0.connections += 1
                $0.open.formUnion([client, broker])
            }
            let thread = Thread { [self] in relay(client: client, broker: broker) }
            thread.start()
        }
    }

    /// Copies bytes both ways until one side closes, reading the packets on the way.
    private func relay(client: Int32, broker: Int32) {
        var fromBroker = PacketReader()
        var fromClient = PacketReader()
        var protocolLevel: UInt8 = 4
        var awaitingAck: [UInt16: [UInt8]] = [:]
        var buffer = [UInt8](repeating: 0, count: 65536)
        var descriptors = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: broker, events: Int16(POLLIN), revents: 0)]
        relaying: while true {
            guard poll(&descriptors, 2, 1000) >= 0 || errno == EINTR else { break }
            for index in 0..<2 where descriptors[index].revents != 0 {
                let source = descriptors[index].fd
                let destination = source == client ? broker : client
                let count = read(source, &buffer, buffer.count)
                guard count > 0 else { break relaying }
                guard Self.writeAll(destination, buffer[0..<count]) else { break relaying }
                if source == broker {
                    for packet in fromBroker.append(buffer[0..<count]) {
                        guard let publish = PacketReader.publish(packet, protocolLevel: protocolLevel) else { continue }
                        state.withLock { $0.delivered.append(publish.payload) }
                        if let id = publish.packetID { awaitingAck[id] = publish.payload }
                    }
                } else {
                    for packet in fromClient.append(buffer[0..<count]) {
                        if let level = PacketReader.connectProtocolLevel(packet) { protocolLevel = level }
                        // PUBACK (type 4): the packet id comes first, in MQTT 3.1.1 and 5 alike.
                        guard packet.type == 4, packet.body.count >= 2 else { continue }
                        let id = UInt16(packet.body[0]) << 8 | UInt16(packet.body[1])
                        if let payload = awaitingAck.removeValue(forKey: id) {
                            state.withLock { $0.acknowledged.append(payload) }
                        }
                    }
                }
            }
        }
        state.withLock { state in
            state.open.subtract([client, broker])
            close(client)
            close(broker)
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + done, bytes.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }
}

/// Splits one direction of an MQTT byte stream into packets (fixed header, remaining length, body).
struct PacketReader {
    struct Packet {
        var type: UInt8
        var flags: UInt8
        var body: [UInt8]
    }

    private var pending: [UInt8] = []

    mutating func append(_ bytes: ArraySlice<UInt8>) -> [Packet] {
        pending.append(contentsOf: bytes)
        var packets: [Packet] = []
        var offset = 0
        while offset + 2 <= pending.count {
            var length = 0
            var multiplier = 1
            var index = offset + 1
            var complete = false
            while index < pending.count && index < offset + 5 {
                let byte = pending[index]
                length += Int(byte & 0x7f) * multiplier
                multiplier *= 128
                index += 1
                if byte & 0x80 == 0 {
                    complete = true
                    break
                }
            }
            guard complete, index + length <= pending.count else { break }
            packets.append(Packet(type: pending[offset] >> 4, flags: pending[offset] & 0x0f, body: Array(pending[index..<index + length])))
            offset = index + length
        }
        pending.removeFirst(offset)
        return packets
    }

    /// A CONNECT's protocol level (type 1: protocol name, then the level byte; 5 means MQTT 5).
    static func connectProtocolLevel(_ packet: Packet) -> UInt8? {
        guard packet.type == 1, packet.body.count >= 2 else { return nil }
        let nameLength = Int(packet.body[0]) << 8 | Int(packet.body[1])
        return packet.body.count > 2 + nameLength ? packet.body[2 + nameLength] : nil
    }

    /// A PUBLISH packet's packet id (QoS 1 and 2 only) and payload; nil for other packets. In MQTT 5
    /// (`protocolLevel` 5) properties come between the two.
    static func publish(_ packet: Packet, protocolLevel: UInt8) -> (packetID: UInt16?, payload: [UInt8])? {
        guard packet.type == 3, packet.body.count >= 2 else { return nil }
        let body = packet.body
        var offset = 2 + (Int(body[0]) << 8 | Int(body[1]))
        var packetID: UInt16?
        if (packet.flags >> 1) & 0x03 > 0 {
            guard offset + 2 <= body.count else { return nil }
            packetID = UInt16(body[offset]) << 8 | UInt16(body[offset + 1])
            offset += 2
        }
        if protocolLevel == 5 {
            // Properties: a variable-length integer, then that many bytes.
            var length = 0
            var multiplier = 1
            while offset < body.count {
                let byte = body[offset]
                offset += 1
                length += Int(byte & 0x7f) * multiplier
                multiplier *= 128
                if byte & 0x80 == 0 { break }
            }
            offset += length
        }
        guard offset <= body.count else { return nil }
        return (packetID, Array(body[offset...]))
    }
}
