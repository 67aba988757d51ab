import Foundation
import Testing
@testable import StoreyCore

@Suite struct PayloadDecoderTests {
    let decoder = PayloadDecoder(maximumPayloadBytes: 1024)
    let now: Int64 = 1_790_000_000_000

    func decode(_ text: String) throws(RejectionReason) -> [DecodedValue] {
        var values: [DecodedValue] = []
        let bytes = Array(text.utf8)
        var failure: RejectionReason?
        bytes.withUnsafeBytes { raw in
            do throws(RejectionReason) { try decoder.decode(raw, now: now, into: &values) } catch { failure = error }
        }
        if let failure { throw failure }
        return values
    }

    @Test func plainNumberIsOneValueAtReceiptTime() throws {
        #expect(try decode(" 21.5\n") == [DecodedValue(value: 21.5)])
        #expect(try decode("true") == [DecodedValue(value: 1)])
    }

    @Test func jsonObjectWithUnixSecondsOrRFC3339() throws {
        #expect(try decode(#"{"value": 12.5, "ts": 1790000000}"#) == [DecodedValue(time: 1_790_000_000_000, value: 12.5)])
        #expect(try decode(#"{"value": 3, "ts": "2026-11-27T08:00:00+08:00"}"#)
            == [DecodedValue(time: TestTopology.millis("2026-11-27T08:00:00"), value: 3)])
        #expect(try decode(#"{"value": 3, "ts": 1790000000123}"#) == [DecodedValue(time: 1_790_000_000_123, value: 3)])
        #expect(try decode(#"{"value": 4}"#) == [DecodedValue(value: 4)])
    }

    @Test func arrayIsABatch() throws {
        let values = try decode(#"[{"value": 1, "ts": 1790000000}, {"value": 2, "ts": 1790000060}]"#)
        #expect(values.map(\.value) == [1, 2])
        #expect(values.map(\.time) == [1_790_000_000_000, 1_790_000_060_000])
    }

    @Test func senMLWithBaseNameBaseTimeAndRelativeTimes() throws {
        let values = try decode(#"""
            [{"bn": "a3-", "bt": 1790000000, "bu": "kW", "n": "east-kw", "v": 12.5},
             {"n": "west-kw", "v": 8, "t": 60},
             {"n": "east-kwh", "u": "kWh", "s": 1234.5, "t": 60}]
            """#)
        #expect(values == [
            DecodedValue(name: "a3-east-kw", time: 1_790_000_000_000, value: 12.5, unit: "kW"),
            DecodedValue(name: "a3-west-kw", time: 1_790_000_060_000, value: 8, unit: "kW"),
            DecodedValue(name: "a3-east-kwh", time: 1_790_000_060_000, value: 1234.5, unit: "kWh"),
        ])
    }

    @Test func senMLRelativeToNowWhenTimeIsSmall() throws {
        let values = try decode(#"[{"n": "p", "v": 1, "t": -30}]"#)
        #expect(values.first?.time == now - 30_000)
    }

    @Test(arguments: [
        ("", RejectionReason.malformed), ("abc", .malformed), ("nan", .notFinite), ("inf", .notFinite),
        ("{\"value\": \"x\"}", .malformed), ("{\"val\": 1}", .malformed), ("[1, 2]", .malformed), ("{", .malformed),
        ("{\"value\": 1, \"ts\": \"yesterday\"}", .badTimestamp), ("{\"value\": 1, \"ts\": -5}", .badTimestamp),
        ("[]", .malformed), ("{\"value\": true}", .malformed),
    ])
    func malformedPayloadsAreRefusedByReason(payload: String, reason: RejectionReason) {
        #expect(throws: reason) { try decode(payload) }
    }

    /// The flat-object fast path must read exactly what the general JSON path reads, or step aside.
    @Test(arguments: [
        #"{"value": 12.5, "ts": 1790000000}"#, #"{"ts":1790000000.25,"value":-3}"#, #" { "value" : 0 } "#,
        #"{"value": 1e3}"#, #"{"value": 1E-2, "ts": 1790000000123}"#, #"{"value": 01}"#, #"{"value": 1.}"#,
        #"{"value": .5}"#, #"{"value": +1}"#, #"{"value": 1, "value": 2}"#, #"{"value": 1,}"#, #"{"value": 1} x"#,
        #"{"value": "1"}"#, #"{"value": 1, "ts": "2026-11-27T08:00:00Z"}"#, #"{"value": 1, "unit": "W"}"#,
        #"{"val\u0075e": 1}"#, #"{"value": 1e999}"#, #"{"value": -0}"#, #"{"value": 1, "ts": -5}"#, #"{}"#,
        #"{"value": 2"#, #"{"value": 2, "ts": 1790000000, "extra": true}"#, #"{"value": -}"#,
    ])
    func fastPathAgreesWithTheGeneralParser(payload: String) throws {
        var general: Result<[DecodedValue], RejectionReason> = .success([])
        var fast: DecodedValue?
        Array(payload.utf8).withUnsafeBytes { raw in
            fast = PayloadDecoder.flatValueObject(raw)
            general = Result { () throws(RejectionReason) -> [DecodedValue] in
                var values: [DecodedValue] = []
                try decoder.decodeGeneralJSON(raw, now: now, into: &values)
                return values
            }
        }
        if let fast {
            #expect(general == .success([fast]))
        }
    }

    @Test func commonShapesTakeTheFastPathAndOddOnesDoNot() {
        func fast(_ text: String) -> DecodedValue? { Array(text.utf8).withUnsafeBytes { PayloadDecoder.flatValueObject($0) } }
        #expect(fast(#"{"value": 12.5, "ts": 1790000000}"#) == DecodedValue(time: 1_790_000_000_000, value: 12.5))
        #expect(fast(#"{"ts":1790000000.25,"value":-3}"#) == DecodedValue(time: 1_790_000_000_250, value: -3))
        #expect(fast(#" { "value" : 0 } "#) == DecodedValue(value: 0))
        #expect(fast(#"{"value": 01}"#) == nil)
        #expect(fast(#"{"value": 1, "value": 2}"#) == nil)
        #expect(fast(#"{"value": 1, "ts": "2026-11-27T08:00:00Z"}"#) == nil)
        #expect(fast(#"{"value": 1e999}"#) == nil)
    }

    @Test func oversizePayloadIsRefused() {
        #expect(throws: RejectionReason.oversize) { try decode(String(repeating: "1", count: 2000)) }
    }
}

@Suite struct ReadingBinderTests {
    let topology = TestTopology.make()
    let now = TestTopology.millis("2026-07-01T10:00:00")

    func bind(_ topic: String, _ payload: String) -> ([Reading], [RejectionReason]) {
        var readings: [Reading] = []
        var rejections: [RejectionReason] = []
        var scratch: [DecodedValue] = []
        var receipts = ReceiptTimes()
        Array(payload.utf8).withUnsafeBytes { raw in
            ReadingBinder().bind(
                topic: topic, payload: raw, now: now, topology: topology, scratch: &scratch, readings: &readings,
                rejections: &rejections, receipts: &receipts)
        }
        return (readings, rejections)
    }

    @Test func topicNamesThePoint() {
        let (readings, rejections) = bind("storey/tower/1/s1/s1-kw", "42")
        #expect(readings == [Reading(point: 0, time: now, value: 42)])
        #expect(rejections.isEmpty)
    }

    @Test func bareNumbersReadInTheSameMillisecondStayTwoReadings() {
        var readings: [Reading] = []
        var rejections: [RejectionReason] = []
        var scratch: [DecodedValue] = []
        var receipts = ReceiptTimes()
        for payload in ["1", "2", #"{"value": 3, "ts": 1782871200}"#] {
            Array(payload.utf8).withUnsafeBytes { raw in
                ReadingBinder().bind(
                    topic: "storey/tower/1/s1/s1-kw", payload: raw, now: now, topology: topology, scratch: &scratch,
                    readings: &readings, rejections: &rejections, receipts: &receipts)
            }
        }
        #expect(readings.map(\.time) == [now, now + 1, 1_782_871_200_000])
    }

    @Test func unknownTopicIsCounted() {
        #expect(bind("storey/tower/9/x/y", "1").1 == [.unknownTopic])
        #expect(bind("storey/tower/9/x/y", "garbage").1 == [.unknownTopic])
    }

    @Test func futureTimestampBeyondToleranceIsRefused() {
        let inAnHour = (now + 3_600_000) / 1000
        #expect(bind("storey/tower/1/s1/s1-kw", "{\"value\": 1, \"ts\": \(inAnHour)}").1 == [.futureTimestamp])
        let inAMinute = (now + 60_000) / 1000
        #expect(bind("storey/tower/1/s1/s1-kw", "{\"value\": 1, \"ts\": \(inAMinute)}").1.isEmpty)
    }

    @Test func negativeOccupancyAndAbsurdPowerAreRefused() {
        #expect(bind("storey/tower/1/s1/s1-people", "-3").1 == [.negative])
        #expect(bind("storey/tower/1/s1/s1-kw", "1e12").1 == [.outOfRange])
        #expect(bind("storey/tower/1/s1/s1-kwh", "-1").1 == [.negative])
    }

    @Test func unitsAreConvertedOrRefused() {
        let (readings, _) = bind("storey/tower/1/s1/s1-kw", #"[{"n": "s1-kw", "u": "W", "v": 1500}]"#)
        #expect(readings.first?.value == 1.5)
        #expect(bind("storey/tower/1/s1/s1-kw", #"[{"n": "s1-kw", "u": "Cel", "v": 21}]"#).1 == [.unitMismatch])
        #expect(bind("storey/tower/1/s1/s1-kw", #"[{"n": "nope", "v": 21}]"#).1 == [.unknownPoint])
    }
}
