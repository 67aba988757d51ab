import Foundation
import StoreyCore
import StoreySimulation
import Testing

/// What a tenant of a kind does at a given local time: the model, without MQTT.
@Suite struct SpaceBehaviourTests {
    let simulation = SmallTower.simulation()

    func activity(_ space: String, _ time: String) -> SpaceActivity {
        simulation.activity(ofSpace: SmallTower.space(space), at: SmallTower.at(time))
    }

    @Test func assemblyShiftFillsTheSpaceAndTheNightIsEmpty() {
        let profile = TenantKind.electronicsAssembly.profile
        let working = activity("assembly", "2026-11-25 09:30")
        #expect(abs(working.occupancy - 50 * profile.attendance) < 0.01)
        #expect(abs(working.power - 1000 * (profile.baseLoad + profile.workingLoad)) < 0.01)
        #expect(working.outputPerHour > 0)
        let night = activity("assembly", "2026-11-25 03:00")
        #expect(night.occupancy == 0)
        #expect(abs(night.power - 1000 * profile.baseLoad) < 0.01)
        #expect(night.outputPerHour == 0)
        // The second shift works until 23:00.
        #expect(activity("assembly", "2026-11-25 21:00").occupancy > 40)
        #expect(activity("assembly", "2026-11-25 23:10").occupancy == 0)
    }

    @Test func peopleArriveOverTheFirstMinutesOfAShift() {
        let arriving = activity("assembly", "2026-11-25 07:05").occupancy
        let settled = activity("assembly", "2026-11-25 08:00").occupancy
        #expect(arriving > 0 && arriving < settled)
    }

    @Test func mealBreakInTheMiddleOfALongShiftEmptiesTheSpaceButMachinesRun() {
        // 07:00–15:00 is 8 hours: the canteen break is 10:30–11:15.
        let before = activity("assembly", "2026-11-25 10:15")
        let lunch = activity("assembly", "2026-11-25 10:45")
        let after = activity("assembly", "2026-11-25 11:30")
        #expect(lunch.occupancy < before.occupancy * 0.2)
        #expect(lunch.power < before.power && lunch.power > 1000 * TenantKind.electronicsAssembly.profile.baseLoad)
        #expect(after.occupancy == before.occupancy)
    }

    @Test func weekendsAndHolidaysAreIdleAndMakeUpDaysAreWorked() {
        #expect(activity("assembly", "2026-11-28 10:00").occupancy > 0)   // Saturday has one shift
        #expect(activity("assembly", "2026-11-28 17:00").occupancy == 0)  // …until 16:00
        #expect(activity("assembly", "2026-11-29 10:00").occupancy == 0)  // Sunday
        #expect(activity("assembly", "2026-10-01 10:00").occupancy == 0)  // a Thursday, but National Day
        #expect(activity("assembly", "2026-10-11 10:00").occupancy > 40)  // a Sunday worked as a Friday (调休)
    }

    @Test func nightShiftRunsPastMidnightAndBelongsToTheDayItStarts() {
        #expect(activity("machining", "2026-11-25 23:30").occupancy > 0)  // Wednesday night
        #expect(activity("machining", "2026-11-26 03:00").occupancy > 0)  // …into Thursday morning
        #expect(activity("machining", "2026-11-28 03:00").occupancy > 0)  // Friday's shift runs into Saturday
        #expect(activity("machining", "2026-11-29 03:00").occupancy == 0) // Saturday has no night shift
        #expect(activity("machining", "2026-11-25 12:00").occupancy == 0)
        // An eight-hour night shift breaks for a meal too, at 01:30.
        #expect(activity("machining", "2026-11-26 01:45").occupancy < activity("machining", "2026-11-26 01:00").occupancy * 0.2)
    }

    @Test func hoardedSpaceHoldsAHandfulOfPeopleAndProducesNothing() {
        let hoard = activity("hoard", "2026-11-25 09:30")
        let busy = activity("assembly", "2026-11-25 09:30")
        #expect(hoard.occupancy > 0 && hoard.occupancy <= 3)
        #expect(hoard.outputPerHour == 0)
        #expect(hoard.power < busy.power * 0.15)
    }

    @Test func stoppedLineStandsStillForAWeekInEveryFour() {
        #expect(activity("line", "2026-11-20 10:00").outputPerHour > 0)   // Friday before
        #expect(activity("line", "2026-11-23 10:00").outputPerHour == 0)  // stopped from Monday 23rd…
        #expect(activity("line", "2026-11-23 10:00").occupancy <= 2)
        #expect(activity("line", "2026-11-28 10:00").outputPerHour == 0)  // …through the week
        #expect(activity("line", "2026-11-30 10:00").outputPerHour > 0)   // running again
        #expect(activity("line", "2026-12-21 10:00").outputPerHour == 0)  // four weeks on, stopped again
        #expect(UnderuseScenario.lineStopped(from: LocalDate("2026-11-23")!, days: 7, repeatEvery: nil).applies(on: LocalDate("2026-12-21")!) == false)
    }

    @Test func darkSpaceDrawsOnlyItsBaseLoadAllDay() {
        for time in ["2026-11-25 03:00", "2026-11-25 10:00", "2026-11-25 20:00"] {
            let dark = activity("dark", time)
            #expect(dark.occupancy == 0)
            #expect(dark.outputPerHour == 0)
            #expect(dark.power <= 4.0 + 1e-9)
        }
    }

    @Test func vacantSpaceHasStandbyPowerOnly() {
        let vacant = SpaceBehaviour.vacant(area: 500, timeZone: SmallTower.shanghai).activity(at: SmallTower.at("2026-11-25 10:00"))
        #expect(vacant == SpaceActivity(occupancy: 0, power: 1, waterPerHour: 0, outputPerHour: 0))
    }
}
