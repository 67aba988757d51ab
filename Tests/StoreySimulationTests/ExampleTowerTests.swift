import Foundation
import StoreyConfig
import StoreyCore
import StoreySimulation
import Testing

/// The tower `scripts/demo` simulates (Deploy/config: topology.yaml, storey.yaml and simulation.yaml), as
/// the issue describes it: the kinds of tenant, the meters of every space, the planned underuse and
/// faults, and its own working hours and holiday calendar driving the model.
@Suite struct ExampleTowerTests {
    let topology: Topology
    let plan: SimulationPlan
    let simulation: TowerSimulation

    init() throws {
        let configuration = try ConfigurationLoader.load(file: SimulationPlanTests.deployFolder.appendingPathComponent("storey.yaml").path)
        let file = SimulationPlanTests.deployFolder.appendingPathComponent("simulation.yaml").path
        topology = configuration.topology
        plan = try SimulationPlan(yaml: String(contentsOfFile: file, encoding: .utf8), file: file)
        simulation = TowerSimulation(topology: topology, workingTimes: configuration.workingTimes, plan: plan, seed: 1, start: 0, interval: 60_000)
    }

    /// What the space `id` is doing at a tower time written `2026-11-25 10:00`.
    func activity(_ id: String, _ time: String) throws -> SpaceActivity {
        let space = try #require(topology.spaces.firstIndex { $0.id == id }, "no space \(id)")
        let parts = time.split(separator: " ")
        let clock = parts[1].split(separator: ":").map { Int($0)! }
        let instant = LocalInstant(date: LocalDate(parts[0])!, minuteOfDay: clock[0] * 60 + clock[1])
        return simulation.activity(ofSpace: space, at: instant.milliseconds(in: topology.buildings[0].timeZone))
    }

    func area(_ id: String) -> Double {
        topology.spaces.first { $0.id == id }?.area ?? .nan
    }

    @Test func tenantsOfTheKindsTheIssueNamesAreThere() {
        let kinds = Set(topology.tenants.map { plan.kind(of: $0) })
        for kind in [TenantKind.electronicsAssembly, .medicalCleanRoom, .researchLab, .packagingLine] {
            #expect(kinds.contains(kind), "no \(kind.rawValue) tenant")
        }
    }

    @Test func everyLeasedSpaceHasPowerEnergyAndPeopleAndEveryFloorWater() {
        let leased = Set(topology.tenants.flatMap { $0.leases.map(\.spaceIndex) })
        #expect(leased.count >= 35)
        for space in leased {
            let quantities = Set(topology.points.filter { $0.place == .space(space) }.map(\.quantity))
            #expect(quantities.isSuperset(of: [.power, .energy, .occupancy]), "\(topology.spaces[space].id) has only \(quantities)")
        }
        for (index, floor) in topology.floors.enumerated() {
            #expect(topology.points.contains { $0.floorIndex == index && $0.quantity == .water }, "level \(floor.level) has no water meter")
        }
    }

    @Test func planHasTheThreeUnderusersAndFaultySensors() {
        #expect(plan.tenantScenarios["hongtu-holdings"] == .hoarding)
        #expect(plan.spaceScenarios["a11-02"] == .dark)
        guard case .lineStopped(_, let days, _) = plan.tenantScenarios["mingda-packaging"] else {
            Issue.record("mingda-packaging's line does not stop: \(String(describing: plan.tenantScenarios["mingda-packaging"]))")
            return
        }
        #expect(days == 7)
        let faults = plan.faults.values.flatMap { $0 }
        #expect(faults.contains { if case .dropout = $0 { true } else { false } })
        #expect(faults.contains { if case .counterReset = $0 { true } else { false } })
    }

    @Test func twoShiftAssemblyWorksItsShiftsAndBreaksForLunch() throws {
        // Xinda (a3-east): 07:00–15:00 and 15:00–23:00 on weekdays; Wednesday 25 November 2026.
        let morning = try activity("a3-east", "2026-11-25 10:15")
        #expect(morning.occupancy > 0 && morning.outputPerHour > 0)
        #expect(try activity("a3-east", "2026-11-25 21:00").occupancy > 0)
        #expect(try activity("a3-east", "2026-11-25 23:30").occupancy == 0)
        // The eight-hour shift's meal break.
        #expect(try activity("a3-east", "2026-11-25 10:45").occupancy < morning.occupancy * 0.2)
    }

    @Test func weekendsAndTheTowersHolidaysAreIdleAndItsMakeUpDaysWorked() throws {
        #expect(try activity("a3-east", "2026-11-29 10:00").occupancy == 0)  // Sunday
        #expect(try activity("a3-east", "2026-11-28 20:00").occupancy == 0)  // Saturday: one shift, to 16:00
        #expect(try activity("a3-east", "2026-10-01 10:00").occupancy == 0)  // National Day, a Thursday
        #expect(try activity("a3-east", "2026-10-10 20:00").occupancy > 0)   // a Saturday worked as Friday
    }

    @Test func theThreeUnderusersShowInTheModel() throws {
        let busy = try activity("a3-east", "2026-11-25 10:00")
        let hoarded = try activity("a17-whole", "2026-11-25 10:00")
        #expect(hoarded.outputPerHour == 0 && hoarded.occupancy <= 3 && hoarded.power > 0)
        let dark = try activity("a11-02", "2026-11-25 10:00")
        #expect(dark.occupancy == 0 && dark.outputPerHour == 0 && dark.power > 0)
        #expect(dark.power / area("a11-02") < busy.power / area("a3-east") * 0.2)
        // Mingda's line (a2-east) stands still the week from Monday 23 November, and runs the week before.
        #expect(try activity("a2-east", "2026-11-20 10:00").outputPerHour > 0)
        #expect(try activity("a2-east", "2026-11-25 10:00").outputPerHour == 0)
    }
}
