import Foundation

/// Messages handed from the network loop to the consumer in one piece.
///
/// Topics and payloads sit in one contiguous byte array; each message is a few offsets into it.
/// Reading a payload through `withPayload` copies nothing; `topic(_:)` makes the one `String`.
public struct MQTTBatch: Sendable, RandomAccessCollection {
    struct Record: Sendable {
        var topicStart: Int
        var topicLength: Int
        var payloadStart: Int
        var payloadLength: Int
        var qos: UInt8
        var retain: Bool
        /// Milliseconds since the Unix epoch when the network loop read it (set per read round).
        var receivedAt: Int64 = 0
    }

    var bytes: [UInt8]
    var records: [Record]
    /// When the network loop handed the first of these messages over.
    public internal(set) var receivedAt: Date
    /// Where these messages end in the intake journal, if one keeps them: storage records it with them.
    public internal(set) var journalPosition: JournalPosition?

    init(bytes: [UInt8] = [], records: [Record] = [], receivedAt: Date = Date()) {
        self.bytes = bytes
        self.records = records
        self.receivedAt = receivedAt
    }

    public var count: Int { records.count }
    public var startIndex: Int { 0 }
    public var endIndex: Int { records.count }

    public subscript(position: Int) -> Message { Message(batch: self, index: position) }

    public func topic(_ index: Int) -> String {
        let record = records[index]
        return bytes.withUnsafeBufferPointer { buffer in
            String(decoding: UnsafeBufferPointer(rebasing: buffer[record.topicStart..<record.topicStart + record.topicLength]), as: UTF8.self)
        }
    }

    /// The topic's UTF-8 bytes, without making a `String`.
    public func withTopic<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let record = records[index]
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[record.topicStart..<record.topicStart + record.topicLength])) }
    }

    public func withPayload<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let record = records[index]
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[record.payloadStart..<record.payloadStart + record.payloadLength])) }
    }

    /// A copy of the payload; `withPayload` avoids the copy.
    public func payload(_ index: Int) -> [UInt8] {
        let record = records[index]
        return Array(bytes[record.payloadStart..<record.payloadStart + record.payloadLength])
    }

    public func qos(_ index: Int) -> Int { Int(records[index].qos) }

    /// When this message was read from the socket, in milliseconds since the Unix epoch: the time a
    /// reading without a timestamp of its own is given.
    public func receivedAtMilliseconds(_ index: Int) -> Int64 { records[index].receivedAt }

    public func retain(_ index: Int) -> Bool { records[index].retain }

    /// Bytes of topics and payloads held.
    public var byteCount: Int { bytes.count }

    /// One message of a batch, read lazily.
    public struct Message: Sendable {
        public let batch: MQTTBatch
        public let index: Int

        public var topic: String { batch.topic(index) }
        public var payload: [UInt8] { batch.payload(index) }
        public var qos: Int { batch.qos(index) }
        public var retain: Bool { batch.retain(index) }
        public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try batch.withPayload(index, body)
        }
    }
}

extension MQTTBatch {
    /// Appends one message; the only copy of its bytes on the way to the consumer.
    mutating func append(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8, retain: Bool) {
        let topicStart = bytes.count
        bytes.append(contentsOf: topic)
        let payloadStart = bytes.count
        bytes.append(contentsOf: payload)
        records.append(
            Record(
                topicStart: topicStart, topicLength: topic.count,
                payloadStart: payloadStart, payloadLength: payload.count,
                qos: qos, retain: retain))
    }

    /// Moves all of `other` to the end of this batch.
    mutating func append(contentsOf other: MQTTBatch) {
        let shift = bytes.count
        bytes.append(contentsOf: other.bytes)
        // Room grown geometrically: `reserveCapacity` allocates exactly what it is asked, so asking for
        // `count + other.count` at every append reallocated and copied the whole waiting buffer at every read
        // round (a QoS 1 drain hands over many small rounds: 8 % of the MQTT loop thread, in memmove).
        let needed = records.count + other.records.count
        if records.capacity < needed { records.reserveCapacity(Swift.max(needed, 2 * records.capacity)) }
        for var record in other.records {
            record.topicStart += shift
            record.payloadStart += shift
            records.append(record)
        }
        if other.journalPosition != nil { journalPosition = other.journalPosition }
    }

    var isEmptyBatch: Bool { records.isEmpty }
}
