import CFileSpace
import Foundation
import Synchronization

/// Where a hand-off ends in the intake journal: the journal's generation (it starts again empty once
/// everything in it is stored) and the byte offset just after the hand-off's last message.
public struct JournalPosition: Sendable, Equatable {
    public var generation: Int64
    public var offset: Int64
    public init(generation: Int64, offset: Int64) {
        self.generation = generation
        self.offset = offset
    }
}

/// Received messages, written to a file before they are handed to storage.
///
/// Once a QoS 1 message is acknowledged the broker will not send it again: a message waiting in memory
/// for storage would die with the process. The network loop therefore appends every read round's messages
/// to this file (one `pwrite(2)` a round, no `fsync`: like SQLite's WAL with `synchronous=NORMAL`, it
/// survives the process being killed, not a power cut) before its write step may send their PUBACKs
/// (`Mosquitto.configure` defers libmosquitto's writes to the loop). Sending the PUBACK before the message
/// was on file, as libmosquitto does by itself, left a window that a test killing storeyd 20 times during a
/// stream hit about once in five CI runs; a `pwrite` per message, as the callback once did, cost a third of
/// the loop thread's time in a drain. Storage records the position it has stored up to in the same transaction
/// as the readings; at start, whatever lies beyond that position is stored first. Once everything in
/// the file is stored and it has grown past `restartAbove`, the loop empties it and starts a new
/// generation.
///
/// The journal keeps `reserve` bytes of disk allocated beyond its end (`fallocate`, the file's size
/// unchanged). When the disk fills up, storage fails and intake stops reading once its hand-off buffer
/// is full; the messages it took in up to then still go on file in the reserved space, so they
/// survive the process being killed or restarted before space returns. (Without it, every journal
/// write failed with ENOSPC too, and up to `max_buffered_messages` acknowledged messages lived only in memory.)
///
/// Layout: an 8-byte magic and the generation (Int64, little-endian), then per message: body length
/// (UInt32), QoS (UInt8), retain (UInt8), receipt time in ms (Int64), topic length (UInt16), topic, payload.
public final class IntakeJournal: Sendable {
    static let magic: [UInt8] = Array("STORYJ01".utf8)
    static let headerSize: Int64 = 16
    static let recordHeaderSize = 4 + 1 + 1 + 8 + 2

    public let path: String
    let restartAbove: Int64
    /// Disk space kept allocated beyond the end; topped up once less than half of it is left.
    let reserve: Int64
    private let descriptor: Int32
    /// Where the allocated space ends (nil: allocation is not possible here, do not try again).
    private let reservedEnd = Mutex<Int64?>(0)
    /// The network loop's side: generation and size of the file as written.
    private let written: Mutex<JournalPosition>
    /// Storage's side: the position stored up to.
    private let stored = Mutex<JournalPosition?>(nil)
    /// What was in the file beyond the stored position when it was opened.
    private let leftOver: Mutex<MQTTBatch?>
    /// When the write in progress began (nil: none): a disk that stops answering blocks the network loop
    /// here, in the message callback, so nothing reaches storage and only this shows it (the watchdog's
    /// question, `isStuck`).
    private let writingSince = Mutex<ContinuousClock.Instant?>(nil)

    /// Opens (or creates) the journal and reads what storage has not got yet: everything after
    /// `storedUpTo`, the position storage last recorded (nil for a new database).
    public init(path: String, storedUpTo: JournalPosition?, restartAbove: Int64 = 16 << 20, reserve: Int64 = 8 << 20) throws {
        self.path = path
        self.restartAbove = restartAbove
        self.reserve = reserve
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw MQTTError.journal("cannot open \(path): \(String(cString: strerror(errno)))") }
        descriptor = fd
        let contents = (try? Data(contentsOf: URL(fileURLWithPath: path))).map([UInt8].init) ?? []
        let (generation, end, batch) = Self.read(contents, after: storedUpTo)
        stored.withLock { $0 = storedUpTo }
        if end < Int64(contents.count) || contents.count < Self.headerSize {
            // A torn tail (the disk filled mid-write) or a new file: keep the good part, rewrite the header.
            guard ftruncate(fd, off_t(max(end, Self.headerSize))) == 0 else {
                throw MQTTError.journal("cannot truncate \(path): \(String(cString: strerror(errno)))")
            }
            try Self.writeHeader(fd, generation: generation, path: path)
        }
        let offset = max(end, Self.headerSize)
        written = Mutex(JournalPosition(generation: generation, offset: offset))
        leftOver = Mutex(batch)
        reserveAhead(of: offset)
    }

    deinit { close(descriptor) }

    /// The messages received before the last stop that storage has not got (once; nil when none), with
    /// the position to record when they are stored.
    public func takeUnstored() -> MQTTBatch? {
        leftOver.withLock { batch in
            defer { batch = nil }
            return batch
        }
    }

    /// Storage has stored everything up to `position`.
    public func markStored(_ position: JournalPosition) {
        stored.withLock { $0 = position }
    }

    /// Where the file ends now: every message appended so far lies before it.
    var writtenPosition: JournalPosition { written.withLock { $0 } }

    /// Appends a whole batch (the network loop, once a read round; before the PUBACKs of its messages can
    /// leave); returns where it ends. Throws if the file cannot be written; the batch is then handed over
    /// anyway, without the protection.
    @discardableResult
    func append(_ batch: MQTTBatch) throws -> JournalPosition {
        try write(batch)
        return writtenPosition
    }

    private func write(_ batch: MQTTBatch) throws {
        try written.withLock { position in
            if position.offset > restartAbove, stored.withLock({ $0 }) == position {
                // Everything in the file is stored: start again, empty.
                guard ftruncate(descriptor, off_t(Self.headerSize)) == 0 else { throw Self.failure("truncate", path) }
                try Self.writeHeader(descriptor, generation: position.generation + 1, path: path)
                position = JournalPosition(generation: position.generation + 1, offset: Self.headerSize)
                // Truncating gave the reserved space back.
                reservedEnd.withLock { if $0 != nil { $0 = 0 } }
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(batch.records.count * (Self.recordHeaderSize + 96))
            for record in batch.records {
                let body = UInt32(Self.recordHeaderSize - 4 + record.topicLength + record.payloadLength)
                Self.append(body, to: &bytes)
                bytes.append(record.qos)
                bytes.append(record.retain ? 1 : 0)
                Self.append(UInt64(bitPattern: record.receivedAt), to: &bytes)
                Self.append(UInt16(record.topicLength), to: &bytes)
                bytes.append(contentsOf: batch.bytes[record.topicStart..<record.topicStart + record.topicLength])
                bytes.append(contentsOf: batch.bytes[record.payloadStart..<record.payloadStart + record.payloadLength])
            }
            var done = 0
            writingSince.withLock { $0 = .now }
            defer { writingSince.withLock { $0 = nil } }
            while done < bytes.count {
                let count = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, bytes.count - done, off_t(position.offset) + off_t(done)) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    // Leave no torn record behind: the next message starts where this one should have.
                    let error = Self.failure("write", path)
                    _ = ftruncate(descriptor, off_t(position.offset))
                    reservedEnd.withLock { if $0 != nil { $0 = 0 } }
                    throw error
                }
                done += count
            }
            position.offset += Int64(bytes.count)
            reserveAhead(of: position.offset)
        }
    }

    /// Whether a write has been running for longer than `limit` (the disk stopped answering).
    public func isStuck(longerThan limit: Duration) -> Bool {
        guard let since = writingSince.withLock({ $0 }) else { return false }
        return ContinuousClock.now - since >= limit
    }

    /// Keeps at least half of `reserve` allocated beyond `offset`. Failing costs only the reserve: on a
    /// full disk it is tried again at the next write; where the file system cannot (EOPNOTSUPP), never.
    private func reserveAhead(of offset: Int64) {
        guard reserve > 0 else { return }
        reservedEnd.withLock { end in
            guard let allocated = end, allocated - offset < reserve / 2 else { return }
            if fallocate(descriptor, STOREY_FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(reserve)) == 0 {
                end = max(allocated, offset + reserve)
            } else if errno == EOPNOTSUPP || errno == ENOSYS {
                end = nil
            }
        }
    }

    // MARK: Reading at start

    /// The generation in the file, where its last whole record ends, and the messages after `storedUpTo`.
    static func read(_ contents: [UInt8], after storedUpTo: JournalPosition?) -> (generation: Int64, end: Int64, unstored: MQTTBatch?) {
        guard contents.count >= Int(headerSize), Array(contents[0..<8]) == magic else {
            // New, or not ours: a fresh generation beyond any storage has recorded.
            return ((storedUpTo?.generation ?? 0) + 1, 0, nil)
        }
        let generation = Int64(bitPattern: integer(contents, at: 8, bytes: 8))
        var start = Int(headerSize)
        if let storedUpTo {
            if storedUpTo.generation == generation {
                start = Int(min(max(storedUpTo.offset, headerSize), Int64(contents.count)))
            } else if storedUpTo.generation > generation {
                // Older than what storage recorded: everything in it was stored.
                return (storedUpTo.generation + 1, 0, nil)
            }
        }
        // Walk every record from the start to find where whole records end; collect those after `start`.
        var batch = MQTTBatch()
        var offset = Int(headerSize)
        while offset + recordHeaderSize <= contents.count {
            let body = Int(integer(contents, at: offset, bytes: 4))
            let topicLength = Int(integer(contents, at: offset + 14, bytes: 2))
            guard body >= recordHeaderSize - 4 + topicLength, offset + 4 + body <= contents.count else { break }
            if offset >= start {
                let topicStart = offset + recordHeaderSize
                let payloadStart = topicStart + topicLength
                let payloadEnd = offset + 4 + body
                contents[topicStart..<payloadStart].withUnsafeBytes { topic in
                    contents[payloadStart..<payloadEnd].withUnsafeBytes { payload in
                        batch.append(topic: topic, payload: payload, qos: contents[offset + 4], retain: contents[offset + 5] != 0)
                    }
                }
                batch.records[batch.records.count - 1].receivedAt = Int64(bitPattern: integer(contents, at: offset + 6, bytes: 8))
            }
            offset += 4 + body
        }
        batch.journalPosition = JournalPosition(generation: generation, offset: Int64(offset))
        return (generation, Int64(offset), batch.isEmptyBatch ? nil : batch)
    }

    private static func integer(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in (0..<count).reversed() { value = value << 8 | UInt64(bytes[offset + index]) }
        return value
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func writeHeader(_ fd: Int32, generation: Int64, path: String) throws {
        var header = magic
        append(generation, to: &header)
        let count = header.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        guard count == header.count else { throw failure("write", path) }
    }

    private static func failure(_ operation: String, _ path: String) -> MQTTError {
        .journal("cannot \(operation) \(path): \(String(cString: strerror(errno)))")
    }
}
