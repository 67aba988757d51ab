import Foundation
import StoreyTestSupport
import Testing

/// `storey evaluate` on the real recordings: the rules of the test's own configurations
/// (`Tests/Fixtures/`) over a year of CU-BEMS floors and the ROBOD lecture rooms.
@Suite(.timeLimit(.minutes(5)))
struct EvaluateTests {
    static let fixtures = SimulateAndReplayTests.repository.appendingPathComponent("Tests/Fixtures")
    static let cubems = SharedData.file("cubems/floors-hourly-kw.csv")
    static let floorMaps = (1...7).flatMap { ["--map", "Floor\($0)=f\($0)-kw", "--map", "Floor\($0)=f\($0)-kwh:sum"] }

    struct Transition: Decodable {
        var local_time: String
        var rule: String
        var scope: String
        var from: String
        var to: String
        var value: Double?
    }

    static func evaluate(_ arguments: [String]) async throws -> (transitions: [Transition], lines: [String]) {
        let result = try await runCommand(CommandLineTests.storey, ["evaluate"] + arguments + ["--json"], timeout: .seconds(240))
        #expect(result.status == 0, "\(result.errorOutput)")
        let lines = result.output.split(separator: "\n").map(String.init)
        let decoder = JSONDecoder()
        let transitions = lines.filter { !$0.hasPrefix("{\"summary\"") }.compactMap { try? decoder.decode(Transition.self, from: Data($0.utf8)) }
        return (transitions, lines)
    }

    /// The holidays of the fixture configuration, as `YYYY-MM-DD`.
    static func holidays(in config: String) throws -> [String] {
        let text = try String(contentsOfFile: config, encoding: .utf8)
        return text.matches(of: /20\d\d-\d\d-\d\d/).map { String(text[$0.range]) }.filter { text.contains("holidays") && $0 >= "2018-07-01" }
    }

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func cubemsFloorsUnderuseIsFoundAndHolidaysRaiseNothing() async throws {
        let config = Self.fixtures.appendingPathComponent("cubems/storey.yaml").path
        let (transitions, _) = try await Self.evaluate([Self.cubems, "--config", config, "--time-zone", "+07:00"] + Self.floorMaps)
        func starts(_ rule: String) -> [Transition] { transitions.filter { $0.rule == rule && $0.to == "pending" } }
        func fires(_ rule: String) -> [Transition] { transitions.filter { $0.rule == rule && $0.to == "firing" } }

        // Floor 1's load barely changes between working days and weekends: underused from the first days.
        #expect(fires("energy-intensity-low").contains { $0.scope == "tenant:floor-1" && $0.local_time.hasPrefix("2018-07-02") })
        // Floor 4's recurring idle Tuesdays, judged both in absolute terms and against its own baseline.
        #expect(fires("energy-intensity-low").filter { $0.scope == "tenant:floor-4" && $0.local_time.contains("Tue") }.count >= 10)
        #expect(fires("power-below-baseline").contains { $0.scope == "tenant:floor-4" })
        // The baseline needs two weeks of history: nothing before mid-July 2018.
        #expect(starts("power-below-baseline").allSatisfy { $0.local_time >= "2018-07-15" })
        // No underuse starts on a public holiday of the calendar.
        let holidays = try Self.holidays(in: config)
        #expect(holidays.count == 18)
        let onHolidays = transitions.filter { transition in holidays.contains { transition.local_time.hasPrefix($0) } && transition.to != "resolved" }
        #expect(onHolidays.isEmpty, "\(onHolidays.map { "\($0.local_time) \($0.rule) \($0.scope) → \($0.to)" })")
        // The short blank stretches are not silences of 3 hourly intervals.
        #expect(fires("point-silent").isEmpty)

        // Without the calendar, the same holidays look like underused working days.
        let folder = try makeTemporaryDirectory(prefix: "cubems-no-holidays")
        let withoutHolidays = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: #"holidays: \[[^\]]*\]"#, with: "holidays: []", options: .regularExpression)
        let bare = folder.appendingPathComponent("storey.yaml").path
        try withoutHolidays.write(toFile: bare, atomically: true, encoding: .utf8)
        let (bareTransitions, _) = try await Self.evaluate(["--from", Self.cubems, "--config", bare, "--time-zone", "+07:00"] + Self.floorMaps)
        let firedOnHolidays = bareTransitions.filter { transition in
            transition.to == "firing" && holidays.contains { transition.local_time.hasPrefix($0) }
        }
        #expect(firedOnHolidays.count >= 5, "\(firedOnHolidays.count) alerts fired on holidays without the calendar")
    }

    @Test(.enabled(if: SharedData.isPresent, Comment(rawValue: SharedData.absent)))
    func robodUtilisationMatchesAnIndependentCount() async throws {
        let config = Self.fixtures.appendingPathComponent("robod/storey.yaml").path
        for (room, seats) in [(1, 40.0), (2, 40.0)] {
            let file = SharedData.file("robod/room\(room)-lecture.csv")
            let (_, lines) = try await Self.evaluate([file, "--config", config, "--map", "occupant_count=room\(room)-people", "--summary"])
            let summaries = lines.filter { $0.hasPrefix("{\"summary\"") }
            let line = try #require(summaries.first { $0.contains("lecture-room-\(room)") })
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let summary = try #require(object["summary"] as? [String: Any])
            let storey = try #require(summary["utilisation_percent"] as? Double)

            // Independently: the mean of the non-blank occupant_count cells over the seats.
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let rows = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            let column = try #require(rows[0].firstIndex(of: "occupant_count"))
            let counts = rows.dropFirst().compactMap { Double($0[column].trimmingCharacters(in: .whitespaces)) }
            let expected = counts.reduce(0, +) / Double(counts.count) / seats * 100
            #expect(counts.count > 1000)
            #expect(abs(storey - expected) <= expected * 0.005, "Storey \(storey)% vs \(expected)% from \(counts.count) readings")
        }
    }
}
