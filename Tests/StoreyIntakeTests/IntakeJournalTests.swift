import Foundation
@testable import StoreyIntake
import StoreyTestSupport
import Testing

struct IntakeJournalTests {
    func batch(_ payloads: [String], receivedAt: Int64 = 1_700_000_000_000) -> MQTTBatch {
        var batch = MQTTBatch()
        for (index, payload) in payloads.enumerated() {
            let topic = Array("storey/b/1/s\(index)/kw".utf8)
            let bytes = Array(payload.utf8)
            topic.withUnsafeBytes { topic in bytes.withUnsafeBytes { batch.append(topic: topic, payload: $0, qos: 1, retain: false) } }
            batch.records[batch.records.count - 1].receivedAt = receivedAt + Int64(index)
        }
        return batch
    }

    func payloads(_ batch: MQTTBatch?) -> [String] {
        guard let batch else { return [] }
        return batch.indices.map { index in batch.withPayload(index) { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func whatWasNotStoredIsReadBackAfterARestartWithTopicsAndReceiptTimes() throws {
        let path = try makeTemporaryDirectory().appendingPathComponent("journal").path
        let first = try IntakeJournal(path: path, storedUpTo: nil)
        #expect(first.takeUnstored() == nil)
        let stored = try first.append(batch(["1", "2"]))
        _ = try first.append(batch(["3", "{\"value\":4}"], receivedAt: 1_800_000_000_000))

        // Storage recorded the first hand-off only; the second died with the process.
        let second = try IntakeJournal(path: path, storedUpTo: stored)
        let unstored = try #require(second.takeUnstored())
        #expect(payloads(unstored) == ["3", "{\"value\":4}"])
        #expect(unstored.topic(1) == "storey/b/1/s1/kw")
        #expect(unstored.receivedAtMilliseconds(0) == 1_800_000_000_000)
        #expect(unstored.qos(0) == 1)
        #expect(second.takeUnstored() == nil, "handed out once")
        // Storing them records the end of the file: a third start finds nothing.
        let end = try #require(unstored.journalPosition)
        #expect(try IntakeJournal(path: path, storedUpTo: end).takeUnstored() == nil)
    }

    @Test func aTornLastRecordIsDroppedAndTheFileCarriesOnFromTheLastWholeOne() throws {
        let path = try makeTemporaryDirectory().appendingPathComponent("journal").path
        let journal = try IntakeJournal(path: path, storedUpTo: nil)
        let first = try journal.append(batch(["1"]))
        _ = try journal.append(batch(["2"]))
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size - 3)) == 0)

        let reopened = try IntakeJournal(path: path, storedUpTo: nil)
        #expect(payloads(reopened.takeUnstored()) == ["1"])
        let next = try reopened.append(batch(["3"]))
        #expect(payloads(try IntakeJournal(path: path, storedUpTo: first).takeUnstored()) == ["3"])
        #expect(next.generation == first.generation)
    }

    @Test func onceEverythingIsStoredALargeJournalStartsAgainEmptyInANewGeneration() throws {
        let path = try makeTemporaryDirectory().appendingPathComponent("journal").path
        let journal = try IntakeJournal(path: path, storedUpTo: nil, restartAbove: 100)
        let big = String(repeating: "9", count: 200)
        let first = try journal.append(batch([big]))
        // Not stored yet: the file keeps growing.
        let second = try journal.append(batch(["2"]))
        #expect(second.generation == first.generation && second.offset > first.offset)
        journal.markStored(second)
        let third = try journal.append(batch(["3"]))
        #expect(third.generation == first.generation + 1)
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(Int64(size) == third.offset)
        #expect(size < 100)
        // A restart with storage at the old generation's end finds the new generation's message.
        #expect(payloads(try IntakeJournal(path: path, storedUpTo: second).takeUnstored()) == ["3"])
    }

    @Test func aFileThatIsNotAJournalIsReplacedNotRead() throws {
        let path = try makeTemporaryDirectory().appendingPathComponent("journal").path
        try "not a journal at all".write(toFile: path, atomically: true, encoding: .utf8)
        let journal = try IntakeJournal(path: path, storedUpTo: JournalPosition(generation: 4, offset: 1000))
        #expect(journal.takeUnstored() == nil)
        #expect(try journal.append(batch(["1"])).generation == 5)
    }

    /// Space for what intake takes in while the disk is full: allocated ahead, the file's size unchanged
    /// (so a restart reads only whole records).
    @Test func diskSpaceIsReservedBeyondTheEndWithoutGrowingTheFile() throws {
        let path = try makeTemporaryDirectory().appendingPathComponent("journal").path
        let reserve: Int64 = 1 << 20
        let journal = try IntakeJournal(path: path, storedUpTo: nil, reserve: reserve)
        let end = try journal.append(batch(["1", "2", "3"]))
        var status = stat()
        #expect(stat(path, &status) == 0)
        #expect(Int64(status.st_size) == end.offset)
        #expect(Int64(status.st_blocks) * 512 >= end.offset + reserve / 2)
        #expect(payloads(try IntakeJournal(path: path, storedUpTo: nil).takeUnstored()) == ["1", "2", "3"])
    }
}
