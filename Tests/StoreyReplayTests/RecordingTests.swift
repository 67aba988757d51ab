import Foundation
@testable import StoreyReplay
import StoreyTestSupport
import Testing

/// Reading recorded CSV for replay: the real files in shared/data, and a file with every fault we refuse.
@Suite struct RecordingTests {
    static let floors = (1...7).map { "Floor\($0)" }
    static let bangkok = TimeZone(secondsFromGMT: 7 * 3600)

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func cubemsReadsPastItsByteOrderMarkAndSpreadsheetDatesAndSkipsBlankCells() throws {
        let mappings = Self.floors.map { ReplayMapping(column: $0, pointID: "cu-\($0.lowercased())-kw") }
        let recording = try Recording(
            file: SharedData.file("cubems/floors-hourly-kw.csv"), mappings: mappings,
            timestamps: RecordedTimestampParser(timeZone: Self.bangkok))
        #expect(recording.rowsRead == 8760)
        #expect(recording.unusableRows.isEmpty)
        #expect(recording.unusableCells.isEmpty)
        #expect(recording.blankCells == 10)
        #expect(recording.readingCount == (try SharedData.nonBlankCells("cubems/floors-hourly-kw.csv", columns: Self.floors)))
        // 7/1/18 0:00 at UTC+07:00, and 6/30/19 23:00.
        #expect(recording.rows.first?.time == 1_530_378_000_000)
        #expect(recording.rows.last?.time == 1_561_910_400_000)
        #expect(recording.rows.first?.line == 2)
        // Line 4690 has Floor4 and Floor5 blank: five readings.
        let row = try #require(recording.rows.first { $0.line == 4690 })
        #expect(row.values.map(\.mapping) == [0, 1, 2, 5, 6])
        #expect(abs(recording.rows[0].values[0].value - 9.334166667) < 1e-12)
    }

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func timestampsWithoutAnOffsetNeedATimeZoneAndSaySo() throws {
        let recording = try Recording(
            file: SharedData.file("cubems/floors-hourly-kw.csv"), mappings: [ReplayMapping(column: "Floor1", pointID: "p")],
            timestamps: RecordedTimestampParser(timeZone: nil))
        #expect(recording.rows.isEmpty)
        #expect(recording.unusableRows.count == 8760)
        #expect(recording.unusableRows.first?.description == "floors-hourly-kw.csv:2: time \"7/1/18 0:00\" has no UTC offset; give --time-zone (e.g. +07:00 or Asia/Bangkok)")
    }

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func robodReadsOffsetsAndSumsEnergyPerIntervalIntoACounter() throws {
        let file = "robod/room1-lecture.csv"
        let recording = try Recording(
            file: SharedData.file(file),
            mappings: [
                ReplayMapping(column: "occupant_count", pointID: "r1-people"),
                ReplayMapping(column: "plug_load_energy", pointID: "r1-plug-kwh", runningTotal: true),
            ],
            timestamps: RecordedTimestampParser(timeZone: nil))
        #expect(recording.rowsRead == 8352)
        #expect(recording.unusableRows.isEmpty)
        #expect(recording.rows.first?.time == 1_630_944_000_000)  // 2021-09-07 00:00 +08:00
        #expect(recording.readingCount == (try SharedData.nonBlankCells(file, columns: ["occupant_count", "plug_load_energy"])))
        let totals = recording.rows.flatMap { $0.values.filter { $0.mapping == 1 }.map(\.value) }
        #expect(zip(totals, totals.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(totals.last! > 10)
    }

    @Test func rowsThatCannotBeUsedAreNamedByLineAndReason() throws {
        let text = "\u{FEFF}time,kw,people\r\n"
            + "2026-11-25 08:00 +08:00,12.5,3\r\n"
            + "\"2026-11-25 08:05 +08:00\",\"1\n3.0\",4\r\n"         // a quoted field across two lines: not a number
            + "yesterday,1,2\r\n"
            + "2026-11-25 08:15 +08:00,1\r\n"
            + "2026-11-25 08:20 +08:00,,\r\n"
            + "2026-11-25T00:25:00Z,7.25,\r\n"
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID()).csv").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let recording = try Recording(
            file: file, mappings: [ReplayMapping(column: "kw", pointID: "a"), ReplayMapping(column: "people", pointID: "b")],
            timestamps: RecordedTimestampParser(timeZone: nil))
        let name = (file as NSString).lastPathComponent
        #expect(recording.rowsRead == 6)
        #expect(recording.rows.map(\.line) == [2, 3, 8])
        #expect(recording.readingCount == 4)
        #expect(recording.blankCells == 3)
        #expect(recording.unusableCells.map(\.description) == ["\(name):3: kw: \"1\n3.0\" is not a number"])
        #expect(recording.unusableRows.map(\.description) == [
            "\(name):5: time \"yesterday\" is not a timestamp this replayer reads (e.g. 2021-09-07 00:00 +08:00, 2021-09-07T00:00:00Z, 7/1/18 0:00)",
            "\(name):6: 2 fields, the header has 3",
            "\(name):7: every mapped cell is blank (kw, people)",
        ])
        #expect(recording.rows.last?.time == 1_795_566_300_000)  // 2026-11-25T00:25:00Z
    }

    @Test func unknownColumnsAreNamedWithTheHeader() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("replay-\(UUID()).csv").path
        try "time,kw\n2026-11-25 08:00 +08:00,1\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect {
            _ = try Recording(file: file, mappings: [ReplayMapping(column: "kW", pointID: "a")], timestamps: RecordedTimestampParser(timeZone: nil))
        } throws: { error in
            "\(error)" == "\(file):1: no column \"kW\"; the header has \"time\", \"kw\""
        }
    }

    @Test func timestampFormatsAndMappings() throws {
        let utc = RecordedTimestampParser(timeZone: TimeZone(identifier: "UTC"))
        #expect(try utc.milliseconds("7/1/18 0:00").get() == 1_530_403_200_000)
        #expect(try utc.milliseconds("12/31/2019 23:30").get() == 1_577_835_000_000)
        #expect(try utc.milliseconds("2021-09-07 00:00 +08:00").get() == 1_630_944_000_000)
        #expect(try utc.milliseconds("2021-09-07T00:00:00.500+08:00").get() == 1_630_944_000_500)
        #expect((try? utc.milliseconds("13/1/18 0:00").get()) == nil)
        #expect(RecordedTimestampParser.timeZone("+07:00")?.secondsFromGMT() == 25_200)
        #expect(RecordedTimestampParser.timeZone("Asia/Bangkok") != nil)
        #expect(RecordedTimestampParser.timeZone("7") == nil)
        #expect(ReplayMapping(argument: "plug_load_energy=r1-kwh:sum") == ReplayMapping(column: "plug_load_energy", pointID: "r1-kwh", runningTotal: true))
        #expect(ReplayMapping(argument: "a=b=c") == ReplayMapping(column: "a=b", pointID: "c"))
        #expect(ReplayMapping(argument: "Floor1") == nil)
    }
}

@Suite struct SpreadsheetStampTests {
    @Test func slashedStampsAreReadDirectlyAndAgreeWithTheFormatters() throws {
        let bangkok = try #require(RecordedTimestampParser.timeZone("+07:00"))
        let parser = RecordedTimestampParser(timeZone: bangkok)
        // 1 July 2018 00:00 at +07:00 is 30 June 17:00 UTC.
        #expect(try parser.milliseconds("7/1/18 0:00").get() == 1_530_378_000_000)
        #expect(try parser.milliseconds(" 12/31/18 23:59 ").get() == 1_546_275_540_000)
        #expect(RecordedTimestampParser.spreadsheetStamp("7/1/18 0:00", in: bangkok) == 1_530_378_000_000)
        // Not a date, or not this shape: left to the formatters, which refuse it or read it their way.
        #expect(RecordedTimestampParser.spreadsheetStamp("2/30/19 1:00", in: bangkok) == nil)
        #expect(RecordedTimestampParser.spreadsheetStamp("7/1/2018 0:00", in: bangkok) == nil)
        #expect(RecordedTimestampParser.spreadsheetStamp("7/1/18 24:00", in: bangkok) == nil)
        #expect((try? parser.milliseconds("2/30/19 1:00").get()) == nil)
        #expect(try parser.milliseconds("7/1/2018 0:00").get() == 1_530_378_000_000)
    }
}
