import Foundation
import StoreyConfig
import StoreyCore
import StoreySimulation
import Testing

@Suite struct PlaybackClockTests {
    @Test func runsFasterButNeverAheadOfTheWallClock() {
        let day: Int64 = 86_400_000
        let clock = PlaybackClock(start: 1_000 * day, wallStart: 1_001 * day, speed: 144)
        // Ten wall minutes play a day…
        #expect(clock.playedTime(atWall: 1_001 * day + 600_000) == 1_001 * day)
        // …and then the played time follows the wall clock.
        #expect(clock.playedTime(atWall: 1_001 * day + 3_600_000) == 1_001 * day + 3_600_000)
        #expect(clock.wallTime(reaching: 1_000 * day + day / 2) == 1_001 * day + 300_000)
        #expect(clock.wallTime(reaching: 1_002 * day) == 1_002 * day)
        let asFastAsPossible = PlaybackClock(start: 0, wallStart: day, speed: 0)
        #expect(asFastAsPossible.wallTime(reaching: day / 2) == day / 2)
    }

    @Test func startsAndDurationsAsOperatorsTypeThem() {
        let now: Int64 = 1_795_708_800_000
        let shanghai = TimeZone(identifier: "Asia/Shanghai")!
        #expect(PlaybackTime.instant("now", now: now, timeZone: shanghai) == now)
        #expect(PlaybackTime.instant("-1d", now: now, timeZone: shanghai) == now - 86_400_000)
        #expect(PlaybackTime.instant("2026-11-25", now: now, timeZone: shanghai) == 1_795_536_000_000)
        #expect(PlaybackTime.instant("2026-11-25T00:00:00+08:00", now: now, timeZone: .gmt) == 1_795_536_000_000)
        #expect(PlaybackTime.instant("yesterday", now: now, timeZone: shanghai) == nil)
        #expect(PlaybackTime.duration("40m") == 2400)
        #expect(PlaybackTime.duration("1w") == 604_800)
        #expect(PlaybackTime.duration("5x") == nil)
    }
}

@Suite struct SimulationPlanTests {
    static var deployFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Deploy/config").standardized
    }

    @Test func exampleTowerAndItsPlanAgree() throws {
        let configuration = try ConfigurationLoader.load(file: Self.deployFolder.appendingPathComponent("storey.yaml").path)
        let file = Self.deployFolder.appendingPathComponent("simulation.yaml").path
        let plan = try SimulationPlan(yaml: String(contentsOfFile: file, encoding: .utf8), file: file)
        #expect(plan.unknownIDs(in: configuration.topology).isEmpty)
        #expect(plan.tenantScenarios["hongtu-holdings"] == .hoarding)
        #expect(plan.spaceScenarios["a11-02"] == .dark)
        #expect(plan.faults.values.flatMap { $0 }.contains { if case .counterReset = $0 { true } else { false } })
        let topology = configuration.topology
        #expect(topology.floors.count == 24)
        #expect((35...45).contains(topology.tenants.count))
        // Every tenant's activity label names a kind the simulator knows.
        #expect(topology.tenants.allSatisfy { $0.labels["activity"].flatMap(TenantKind.init(rawValue:)) != nil })
    }

    @Test func errorsNameFileLineAndField() {
        let text = """
            tenants:
              a: welding
            underuse:
              - { tenant: b, scenario: idle }
              - { tenant: c, scenario: line-stopped, days: 7 }
            faults:
              - { point: p, fault: dropout, every: 1h, for: 2h }
            colour: red
            """
        #expect {
            _ = try SimulationPlan(yaml: text, file: "plan.yaml")
        } throws: { error in
            let messages = (error as? SimulationPlanErrors)?.errors.map(\.description) ?? []
            return messages.contains { $0.hasPrefix("plan.yaml:2: tenants.a: \"welding\" is not one of") }
                && messages.contains { $0.hasPrefix("plan.yaml:4: underuse[0].scenario: \"idle\"") }
                && messages.contains { $0.hasPrefix("plan.yaml:5: underuse[1].from:") }
                && messages.contains { $0.hasPrefix("plan.yaml:7: faults[0].for:") }
                && messages.contains { $0.hasPrefix("plan.yaml:8: colour: unknown key") }
        }
    }

    @Test func idsTheTopologyLacksAreNamed() {
        let plan = SimulationPlan(tenantScenarios: ["ghost": .hoarding], faults: ["nowhere-kw": [.counterReset(period: 60)]])
        #expect(plan.unknownIDs(in: SmallTower.topology) == [
            "underuse: no tenant \"ghost\" in the topology", "faults: no point \"nowhere-kw\" in the topology",
        ])
    }
}

@Suite struct EmptyPlanTests {
    @Test func emptyPlanFileIsAnEmptyPlanAndAListIsAnError() throws {
        #expect(try SimulationPlan(yaml: "# nothing planned\n", file: "p.yaml") == SimulationPlan())
        #expect(throws: SimulationPlanErrors.self) { try SimulationPlan(yaml: "- a\n", file: "p.yaml") }
    }
}
