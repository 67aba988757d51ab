import Foundation
import StoreyIntake
import StoreyTestSupport
import Testing

/// Bad input in bulk through the real broker and daemon: oversize and deeply nested payloads, topics that
/// are not valid UTF-8, and a flood of topics no point has. Each is counted by reason, logged at a limited
/// rate, costs bounded memory, and good readings keep flowing meanwhile.
@Suite(.timeLimit(.minutes(5)))
struct BadInputTests {
    /// Resident and peak resident memory of a process, in KiB, from /proc.
    static func memory(_ pid: Int32) throws -> (rss: Int, peak: Int) {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// CPU seconds (user + system) a process has used, from /proc/PID/stat.
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.lastIndex(of: ")")!...].split(separator: " ")
        return (Double(fields[12])! + Double(fields[13])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test func oversizeNestedAndUnknownInputIsCountedLoggedSparinglyAndCostsBoundedMemory() async throws {
        // No queue limit at the broker: its default (1000 messages per client) would drop good readings
        // during the flood before storeyd saw them.
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)")
        try daemon.start()
        try await daemon.waitUntilReady()
        let publisher = MQTTPublisher(settings: MQTTSettings(port: broker.port, clientID: uniqueName("flood"), cleanSession: true), maxInFlight: 200)
        try await publisher.connect()

        // Warm up with good readings, then take the baseline.
        for index in 0..<200 { try await publisher.publish(topic: IntegrationTopology.peopleTopic, payload: "\(index % 30)", qos: 1) }
        try await publisher.flush()
        try await daemon.waitUntil("warm-up stored") { try await daemon.metric("storey_readings_accepted_total") == 200 }
        let before = try Self.memory(daemon.pid)
        let cpuBefore = try Self.cpuSeconds(daemon.pid)

        // The flood, with one good reading after every ten bad messages.
        let oversize = String(repeating: "7", count: 256 * 1024)
        let nestedArrays = String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)
        let nestedObjects = String(repeating: "{\"v\":", count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        let unknownTopics = 6_000
        var good = 0
        var bad = (oversize: 0, malformed: 0, unknown: 0)
        let started = ContinuousClock.now
        for index in 0..<(unknownTopics + 600) {
            if index < 100 {
                try await publisher.publish(topic: IntegrationTopology.kwTopic, payload: oversize, qos: 1)
                bad.oversize += 1
            } else if index < 600 {
                try await publisher.publish(topic: IntegrationTopology.kwTopic, payload: index % 2 == 0 ? nestedArrays : nestedObjects, qos: 1)
                bad.malformed += 1
            } else {
                // Every one a topic never seen before, under the subscribed prefix.
                try await publisher.publish(topic: "storey/t/1/s1/unknown-\(index)", payload: "5", qos: 1)
                bad.unknown += 1
            }
            if index % 10 == 9 {
                try await publisher.publish(topic: IntegrationTopology.peopleTopic, payload: "\(index % 30)", qos: 1)
                good += 1
            }
        }
        try await publisher.flush()
        await publisher.disconnect()

        // Topics that are not UTF-8, or hold control characters, straight onto the wire: the broker drops
        // such a publisher ("malformed packet"); storeyd never sees the topic and carries on.
        try await Self.publishRawTopics([Array("storey/t/1/s1/".utf8) + [0xC3, 0x28], Array("storey/t/1/s1/a\n<0>forged".utf8)], port: broker.port)

        try await daemon.waitUntil("all \(200 + good) good readings stored", timeout: .seconds(120)) {
            try await daemon.metric("storey_readings_accepted_total") == Double(200 + good)
        }
        try await daemon.waitUntil("every bad message counted", timeout: .seconds(30)) {
            let metrics = try await daemon.metrics()
            return metrics["storey_readings_rejected_total{reason=\"unknown_topic\"}"] == Double(bad.unknown)
        }
        let elapsed = ContinuousClock.now - started
        let after = try Self.memory(daemon.pid)
        let cpu = try Self.cpuSeconds(daemon.pid) - cpuBefore
        let metrics = try await daemon.metrics()
        #expect(metrics["storey_readings_rejected_total{reason=\"oversize\"}"] == Double(bad.oversize))
        #expect(metrics["storey_readings_rejected_total{reason=\"malformed\"}"] == Double(bad.malformed))
        #expect(metrics["storey_readings_rejected_total{reason=\"unknown_topic\"}"] == Double(bad.unknown))

        // Logged at a limited rate: one line per reason per 10 s, however many arrive.
        let refusalLines = daemon.log.split(separator: "\n").filter { $0.contains("reading refused") }
        let seconds = Double(elapsed.components.seconds) + 1
        let allowed = 3 * (Int(seconds / 10) + 2)
        #expect(refusalLines.count <= allowed, "\(refusalLines.count) refusal lines for \(bad.oversize + bad.malformed + bad.unknown) refusals in \(seconds) s")
        #expect(refusalLines.contains { $0.contains("reason=oversize") })
        #expect(refusalLines.contains { $0.contains("reason=unknown_topic") && $0.contains("suppressed=") })
        #expect(!daemon.log.contains("forged"))

        // Bounded memory: 25 MB of oversize payloads and 6,000 unknown topics leave the resident size
        // within a few tens of MB of where it was.
        let growth = after.rss - before.rss
        print("bad-input flood: \(bad.oversize) oversize (256 KiB), \(bad.malformed) nested, \(bad.unknown) unknown topics, \(good) good;",
              "RSS \(before.rss / 1024) → \(after.rss / 1024) MiB, peak \(after.peak / 1024) MiB; CPU \(String(format: "%.2f", cpu)) s over \(elapsed)")
        #expect(growth < 64 * 1024, "RSS grew by \(growth / 1024) MiB")
        #expect(after.peak - before.rss < 128 * 1024, "peak RSS \(after.peak / 1024) MiB from \(before.rss / 1024) MiB")
        #expect(daemon.isRunning)
        #expect(try await daemon.stop() == 0)
    }

    /// Connects with a raw MQTT 3.1.1 CONNECT and publishes one QoS 0 message per topic, bytes as given,
    /// each on a connection of its own (the broker closes one that sends a malformed topic).
    static func publishRawTopics(_ topics: [[UInt8]], port: Int) async throws {
        let script = """
            import socket, sys
            def packet(kind, body):
                length, encoded = len(body), b""
                while True:
                    digit, length = length % 128, length // 128
                    encoded += bytes([digit | (0x80 if length else 0)])
                    if not length: break
                return bytes([kind]) + encoded + body
            def text(b): return len(b).to_bytes(2, "big") + b
            for topic in sys.argv[2:]:
                c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                c.sendall(packet(0x10, text(b"MQTT") + bytes([4, 2]) + (60).to_bytes(2, "big") + text(b"raw-topics")))
                assert c.recv(4)[:1] == b"\\x20", "no CONNACK"
                c.sendall(packet(0x30, text(bytes.fromhex(topic)) + b"5"))
                c.settimeout(2)
                closed = c.recv(16) == b""
                print("closed" if closed else "open")
                c.close()
            """
        let hex = topics.map { $0.map { String(format: "%02x", $0) }.joined() }
        let result = try await runCommand(URL(fileURLWithPath: try locatePython()), ["-c", script, "\(port)"] + hex, timeout: .seconds(20))
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.split(separator: "\n") == Array(repeating: "closed", count: topics.count), "the broker kept a publisher of a malformed topic")
    }
}
