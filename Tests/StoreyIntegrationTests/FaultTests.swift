import Foundation
import Logging
import StoreyIntake
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults around the real storeyd, each counting what was lost (target: zero). docs/proof.md, "Faults".
@Suite(.timeLimit(.minutes(3)))
struct FaultTests {
    /// mosquitto's persistence is a snapshot: it writes its whole in-memory database on `autosave_interval`
    /// (seconds, or with `autosave_on_changes` a number of changes) and at a clean stop, never per message.
    /// Here it saves after every change, its most careful setting, and still a message it acknowledged
    /// to the publisher after the last save (or sent to storeyd before it, still unacknowledged) may
    /// vanish with `kill -9`, or come back from the older snapshot and be sent again. What Storey
    /// answers for is every message storeyd itself acknowledged (from then on the broker will not send
    /// it again): that is stored, once. A tap between storeyd and the broker (`MQTTTap`) sees those
    /// acknowledgements, so a missing reading is counted against the broker when storeyd never
    /// acknowledged it and against Storey when it did. The publisher sends a chunk again when the
    /// connection died before the whole chunk was acknowledged, as a device with a retry buffer would.
    @Test func brokerKilledWithSigkillDuringAQoS1StreamEveryReadingStoreydAcknowledgedIsStoredOnce() async throws {
        let broker = try await TestBroker(TestBrokerOptions(persistence: true, maxQueuedMessages: 0, autosave: .afterChanges(1)))
        defer { broker.stop() }
        let tap = try MQTTTap(brokerPort: broker.port)
        defer { tap.stop() }
        let daemon = try StoreydProcess(topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(tap.port)")
        try daemon.start()
        try await daemon.waitUntilReady()

        // 2,400 readings streamed over at least 8 s while the broker is killed 5 times, then one more,
        // the last, published once the broker is up for good: delivered in order, it comes after all the others.
        let readings = counterReadings(2401)
        let port = broker.port
        let publishing = Task { try await publishAtLeastOnce(Array(readings.dropLast()), port: port, pace: .milliseconds(70)) }
        for _ in 0..<5 {
            // Each kill cuts a live connection: storeyd subscribed again (its backoff may outlast the gap).
            try await daemon.waitUntilReady(timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(Int.random(in: 500...1500)))
            let connections = tap.connectionCount
            broker.kill9()
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...600)))
            try await broker.start()
            // A new connection through the tap before the next kill: /readyz alone may still say
            // subscribed before storeyd has noticed the cut (CI once saw 2 reconnects for 5 kills).
            try await daemon.waitUntil("storeyd connected again", timeout: .seconds(30)) { tap.connectionCount > connections }
        }
        let interruptedChunks = try await publishing.value
        try await publishReadings([readings.last!], port: port)
        let lastValue = 1000 + readings.count - 1
        try await daemon.waitUntil("the last reading stored", timeout: .seconds(40)) {
            try await daemon.query("SELECT COUNT(*) FROM reading WHERE value = \(lastValue)") == "1"
        }
        let accepted = try await daemon.metric("storey_readings_accepted_total")
        let duplicates = try await daemon.metric("storey_readings_duplicate_total")
        let reconnects = try await daemon.metric("storey_mqtt_reconnects")
        #expect(try await daemon.stop() == 0)

        let published = Set(1000..<1000 + readings.count)
        let stored = try await daemon.storedCounterValues()
        let acknowledged = Set(tap.acknowledgedPayloads.compactMap(readingValue))
        let missing = published.subtracting(stored)
        let lostByStorey = missing.intersection(acknowledged)
        let lostByBroker = missing.subtracting(acknowledged)
        print("""
            broker kill -9 ×5 during a QoS 1 stream: published \(published.count), acknowledged by storeyd \(acknowledged.count) \
            (\(tap.acknowledgedPayloads.count) with repeats), stored \(stored.count), lost by the broker \(lostByBroker.count), \
            lost by Storey \(lostByStorey.count), duplicates ignored \(Int(duplicates)), chunks published again \(interruptedChunks)
            """)
        #expect(lostByStorey.isEmpty, "storeyd acknowledged but did not store: \(lostByStorey.sorted().prefix(20))")
        #expect(stored.isSubset(of: published))
        // Every reading stored came through the tap (so the attribution above is sound).
        #expect(stored.isSubset(of: Set(tap.deliveredPayloads.compactMap(readingValue))))
        // Once each: counted once by intake, and the counter's energy is its rise over what was stored.
        #expect(Int(accepted) == stored.count)
        let energy = try await daemon.counterEnergy()
        #expect(energy == Double(stored.max()! - stored.min()!))
        // The kills landed during the stream: chunks were cut off, storeyd reconnected after each.
        #expect(interruptedChunks > 0, "no kill interrupted the publisher")
        #expect(reconnects >= 5)
        #expect(tap.connectionCount >= 6)
    }

    /// storeyd's database on a small tmpfs that fills up while QoS 1 readings stream in. Storey must not
    /// drop anything: the batch in hand is kept and retried, the MQTT thread stops reading once its
    /// hand-off buffer is full, so the rest stays queued at the broker, and what storeyd took is on file
    /// in the intake journal (so it is killed with `kill -9` while the disk is full); the log says the
    /// disk is full, `/readyz` says the store is not writable, the watchdog is still pinged (a restart
    /// would not make room), and once space returns every reading is stored exactly once.
    @Test(.enabled(if: geteuid() == 0, "needs root to mount a small tmpfs for the database (scripts/test runs as root in CI)"))
    func databaseDiskFullPausesIntakeWithBackPressureAndResumesLosingNothing() async throws {
        let mountPoint = try makeTemporaryDirectory(prefix: "storey-full-disk")
        guard mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=64m,mode=0700") == 0 else {
            throw TestSupportError("cannot mount a tmpfs at \(mountPoint.path): \(String(cString: strerror(errno)))")
        }
        defer { umount2(mountPoint.path, Int32(MNT_DETACH)) }
        // The broker queues without limit for storeyd's session (its default, 1,000, would drop the excess).
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let bufferLimit = 100
        let daemon = try StoreydProcess(
            topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)",
            mqttSection: "intake:\n  max_buffered_messages: \(bufferLimit)", databaseDirectory: mountPoint)
        daemon.extraEnvironment = ["WATCHDOG_USEC": "1000000"]
        defer { daemon.kill9() }
        try daemon.start()
        try await daemon.waitUntilReady()
        let readings = counterReadings(3000)
        try await publishReadings(Array(readings[..<300]), port: broker.port)
        try await daemon.waitUntil("300 stored") { try await daemon.query("SELECT COUNT(*) FROM reading") == "300" }

        let filler = mountPoint.appendingPathComponent("filler").path
        try fillDisk(with: filler)
        let publishing = Task { [port = broker.port] in try await publishReadings(Array(readings[300...]), port: port) }
        try await daemon.waitUntil("the store error logged") { daemon.log.contains("cannot store readings") }
        // The broker acknowledged every reading to the publisher: each is with storeyd or the broker.
        try await publishing.value
        let storedWhileFull = try await daemon.query("SELECT COUNT(*) FROM reading")
        try await Task.sleep(for: .seconds(3))
        #expect(try await daemon.query("SELECT COUNT(*) FROM reading") == storedWhileFull, "stored while the disk was full")
        #expect(daemon.isRunning)
        // Failing for longer than a watchdog period (1 s here), and still pinging.
        let pings = daemon.notify.kinds.filter { $0 == "WATCHDOG=1" }.count
        try await Task.sleep(for: .seconds(1.5))
        #expect(daemon.notify.kinds.filter { $0 == "WATCHDOG=1" }.count > pings, "the watchdog went unpinged while the disk was full")
        #expect(!daemon.log.contains("intake made no progress"))
        let metrics = try await daemon.metrics()
        #expect(metrics["storey_store_errors_total", default: 0] > 0)
        // Back-pressure: storeyd holds at most its hand-off buffer and the batch it retries; the rest waits at the broker.
        let buffered = Int(metrics["storey_mqtt_buffered_messages", default: -1])
        let handedToStorage = Int(metrics["storey_mqtt_messages_total", default: -1])
        let heldByStoreyd = handedToStorage - Int(storedWhileFull)! + buffered
        #expect((0...bufferLimit).contains(buffered))
        #expect(heldByStoreyd <= 4 * bufferLimit, "storeyd took \(heldByStoreyd) readings it could not store")
        print("disk full: stored \(storedWhileFull) before it filled, storeyd holding \(heldByStoreyd), the broker \(3000 - Int(storedWhileFull)! - heldByStoreyd)")
        // Said plainly: the log names the full disk, /readyz the unwritable store.
        #expect(daemon.log.contains("database or disk is full") || daemon.log.contains("No space left on device"))
        #expect(try await daemon.httpStatus("/readyz") == 503)
        #expect(try await daemon.httpBody("/readyz").contains("store: not writable"))

        // What storeyd holds went on file in the journal's reserved space, so even `kill -9` now loses
        // none of it (the broker will not send those readings again).
        let journalFailed = daemon.log.contains("cannot keep received messages in the intake journal")
        #expect(!journalFailed, "the intake journal could not be written while the disk was full")
        daemon.kill9()

        // Space returns, storeyd starts again: everything is stored, once.
        try FileManager.default.removeItem(atPath: filler)
        try daemon.start()
        try await daemon.waitUntil("all 3000 stored", timeout: .seconds(60)) { try await daemon.query("SELECT COUNT(*) FROM reading") == "3000" }
        #expect(daemon.log.contains("storing messages received before the last stop"))
        let energy = try await daemon.counterEnergy()
        #expect(energy == 2999)
        #expect(try await daemon.metric("storey_readings_accepted_total") == Double(3000 - Int(storedWhileFull)!))
        try await daemon.waitUntil("ready again") { try await daemon.httpStatus("/readyz") == 200 }
        #expect(try await daemon.stop() == 0)
    }

    /// The database's disk stops answering (its file system frozen): a store write hangs with no error, so
    /// after two watchdog periods storeyd stops pinging the watchdog and says why — under systemd it is
    /// then killed and started again, the better outcome for a hung write. Once the disk answers again it
    /// pings again and stores every reading once.
    @Test(.enabled(if: geteuid() == 0, "needs root to mount a file system of its own and freeze it (scripts/test runs as root in CI)"))
    func aDatabaseDiskThatStopsAnsweringStopsTheWatchdogPings() async throws {
        let (made, why) = try await FreezableDisk.make()
        guard let disk = made else { try Test.cancel("skipped: no file system of its own to freeze here (\(why))") }
        let broker = try await TestBroker(TestBrokerOptions(maxQueuedMessages: 0))
        defer { broker.stop() }
        let daemon = try StoreydProcess(
            topology: IntegrationTopology.text, brokerURL: "mqtt://127.0.0.1:\(broker.port)", databaseDirectory: disk.mountPoint)
        daemon.extraEnvironment = ["WATCHDOG_USEC": "1000000"]
        defer { daemon.kill9() }
        try daemon.start()
        try await daemon.waitUntilReady()
        let readings = counterReadings(1000)
        try await publishReadings(Array(readings[..<200]), port: broker.port)
        try await daemon.waitUntil("200 stored") { try await daemon.query("SELECT COUNT(*) FROM reading") == "200" }
        let pingsBefore = daemon.notify.kinds.filter { $0 == "WATCHDOG=1" }.count
        #expect(pingsBefore >= 1, "pinged while storing")

        try disk.freeze(true)
        // Thawed before anything else on the way out: a process blocked on a frozen disk cannot be killed.
        defer { if disk.isFrozen { try? disk.freeze(false) } }
        let publishing = Task { [port = broker.port] in try await publishReadings(Array(readings[200...]), port: port) }
        // The next commit blocks; two watchdog periods (1 s each) later storeyd withholds its pings.
        try await daemon.waitUntil("the stuck write said", timeout: .seconds(20)) { daemon.log.contains("intake made no progress for a watchdog period") }
        let pingsWhileStuck = daemon.notify.kinds.filter { $0 == "WATCHDOG=1" }.count
        try await Task.sleep(for: .seconds(2.5))
        #expect(daemon.notify.kinds.filter { $0 == "WATCHDOG=1" }.count == pingsWhileStuck, "pinged while a store write was stuck")
        #expect(daemon.isRunning)

        try disk.freeze(false)
        try await daemon.waitUntil("pinging again") { daemon.notify.kinds.filter { $0 == "WATCHDOG=1" }.count > pingsWhileStuck }
        try await publishing.value
        try await daemon.waitUntil("all 1000 stored", timeout: .seconds(60)) { try await daemon.query("SELECT COUNT(*) FROM reading") == "1000" }
        #expect(try await daemon.counterEnergy() == 999)
        #expect(try await daemon.stop() == 0)
    }
}

/// A file system of the test's own (ext4 in a file, through a loop device: tmpfs cannot be frozen) that
/// can be frozen as a hung disk or a dead network volume is: writes block, with no error, until thawed.
final class FreezableDisk {
    let mountPoint: URL
    private(set) var isFrozen = false

    /// Nil, saying why, where this machine cannot make one (no loop device, say).
    static func make() async throws -> (FreezableDisk?, String) {
        let image = try makeTemporaryDirectory(prefix: "storey-disk-image").appendingPathComponent("disk.img")
        let mountPoint = try makeTemporaryDirectory(prefix: "storey-disk")
        guard FileManager.default.createFile(atPath: image.path, contents: nil), truncate(image.path, 64 << 20) == 0 else {
            throw TestSupportError("cannot make \(image.path)")
        }
        let mkfs = try await runCommand(URL(fileURLWithPath: "/usr/sbin/mkfs.ext4"), ["-q", "-F", image.path])
        guard mkfs.status == 0 else { return (nil, "mkfs.ext4: \(mkfs.errorOutput)") }
        let mounted = try await runCommand(URL(fileURLWithPath: "/usr/bin/mount"), ["-o", "loop", image.path, mountPoint.path])
        guard mounted.status == 0 else { return (nil, "mount -o loop: \(mounted.errorOutput)") }
        return (FreezableDisk(mountPoint: mountPoint), "")
    }

    private init(mountPoint: URL) { self.mountPoint = mountPoint }

    /// FIFREEZE / FITHAW on the mount point, as fsfreeze(8) does.
    func freeze(_ on: Bool) throws {
        let descriptor = open(mountPoint.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw TestSupportError("cannot open \(mountPoint.path)") }
        defer { close(descriptor) }
        var unused: Int32 = 0
        guard ioctl(descriptor, on ? 0xC004_5877 : 0xC004_5878, &unused) == 0 else {
            throw TestSupportError("\(on ? "FIFREEZE" : "FITHAW") \(mountPoint.path): \(String(cString: strerror(errno)))")
        }
        isFrozen = on
    }

    deinit {
        if isFrozen { try? freeze(false) }
        umount2(mountPoint.path, Int32(MNT_DETACH))
    }
}

/// Publishes `readings` at QoS 1, `chunk` at a time, `pace` apart. When the connection dies before a
/// whole chunk was acknowledged it connects again (waiting for the broker to come back) and publishes
/// that chunk again: at least once, as a device with a retry buffer would. Returns the chunks sent again.
func publishAtLeastOnce(
    _ readings: [(topic: String, payload: String)], port: Int, chunk: Int = 20, pace: Duration, timeout: Duration = .seconds(120)
) async throws -> Int {
    let deadline = ContinuousClock.now + timeout
    var publisher: MQTTPublisher?
    var interrupted = 0
    var start = 0
    // Refused connections while the broker is down are expected here, not worth a warning each.
    var logger = Logger(label: "storey.test.publisher")
    logger.logLevel = .critical
    while start < readings.count {
        guard ContinuousClock.now < deadline else { throw TestSupportError("publishing took longer than \(timeout)") }
        var connected = publisher != nil
        do {
            if publisher == nil {
                let fresh = MQTTPublisher(
                    settings: MQTTSettings(port: port, clientID: uniqueName("pub"), cleanSession: true), maxInFlight: chunk, logger: logger)
                try await fresh.connect()
                publisher = fresh
                connected = true
            }
            for (topic, payload) in readings[start..<min(start + chunk, readings.count)] {
                try await publisher!.publish(topic: topic, payload: payload, qos: 1)
            }
            try await publisher!.flush()
            start += chunk
            try await Task.sleep(for: pace)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if connected { interrupted += 1 }
            await publisher?.disconnect()
            publisher = nil
            try await Task.sleep(for: .milliseconds(50))
        }
    }
    await publisher?.disconnect()
    return interrupted
}

/// The `value` of a JSON reading payload, as an integer (the counters here rise by whole kWh).
func readingValue(_ payload: String) -> Int? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any],
        let value = object["value"] as? Double
    else { return nil }
    return Int(value)
}

/// Writes zeros to `path` until the file system has no space left (ENOSPC).
func fillDisk(with path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw TestSupportError("cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    let block = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let count = block.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            guard errno == ENOSPC else { throw TestSupportError("cannot fill \(path): \(String(cString: strerror(errno)))") }
            return
        }
    }
}
