import Foundation
import StoreyCore

// Rule evaluation cost (issue 3): 10,000 tenants with 5 rules each, one minute of readings for all of
// them, then every tenant's closed window judged. Run: swift run -c release storey-bench-rules [TENANTS]
//
// Printed side by side: aggregating the minute's readings (the intake work the same minute costs) and
// judging the windows, so the evaluator's share of a minute is plain.

let tenantCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000 : 10_000
let spacesPerFloor = 40
let zone = TimeZone(identifier: "Asia/Shanghai")!

var floors: [Floor] = []
var spaces: [Space] = []
var points: [Point] = []
var tenants: [Tenant] = []
let start = LocalDate(year: 2020, month: 1, day: 1)
for index in 0..<tenantCount {
    let floor = index / spacesPerFloor
    if floors.count == floor { floors.append(Floor(id: "b/\(floor)", buildingIndex: 0, level: floor, grossArea: 4_000)) }
    spaces.append(Space(id: "s\(index)", floorIndex: floor, area: 100, capacity: 10))
    for (quantity, unit) in [(Quantity.power, "kW"), (.energy, "kWh"), (.occupancy, "persons")] {
        points.append(Point(
            id: "s\(index)-\(quantity.rawValue)", quantity: quantity, unit: unit, place: .space(index), floorIndex: floor,
            buildingIndex: 0, topic: "b/\(floor)/s\(index)/\(quantity.rawValue)", maximum: 1e9))
    }
    tenants.append(Tenant(id: "t\(index)", name: "t\(index)", leases: [Lease(spaceIndex: index, start: start, end: nil)]))
}
let topology = Topology(
    buildings: [Building(id: "b", name: "b", timeZone: zone, landArea: 10_000)], floors: floors, spaces: spaces, tenants: tenants,
    points: points)

// Five rules per tenant, judged per minute so that one minute of readings closes one window each.
let all = ScopeSelector(.tenant)
let rules = [
    UnderuseRule(name: "energy", scope: all, metric: .energyIntensity, window: .minute, condition: .below(0.05), applies: .always),
    UnderuseRule(name: "capacity", scope: all, metric: .meanOccupancy, window: .minute, condition: .belowPercentOfCapacity(15), applies: .always),
    UnderuseRule(name: "baseline", scope: all, metric: .power, window: .minute, condition: .belowPercentOfBaseline(30), applies: .always),
    UnderuseRule(name: "power", scope: all, metric: .power, window: .minute, condition: .below(1), holdFor: 180_000, applies: .always),
    UnderuseRule(name: "people", scope: all, metric: .meanOccupancy, window: .minute, condition: .below(1), holdFor: 180_000, applies: .always),
]

struct NoHistory: FigureHistory {
    func storedFigure(_ key: FigureKey) -> FigureValues? { nil }
    func latestMinute(scope: Scope, quantity: Quantity) -> (start: Int64, values: FigureValues)? { nil }
    func counterNeighbours(point: Int, around time: Int64) -> (previous: (time: Int64, value: Double)?, next: (time: Int64, value: Double)?) { (nil, nil) }
}

let minuteStart: Int64 = 1_782_867_600_000   // 09:00 on 1 July 2026 in Shanghai
var evaluator = UnderuseEvaluator(rules: rules, topology: topology, workingTimes: WorkingTimeTable(defaultHours: WorkingHours([:])))
var aligner = WindowAligner(timeZone: zone)
let day = aligner.windows(at: minuteStart).localDate
let members = ScopeMembers(topology, on: day)
let coverage = WindowCoverage()

@MainActor func minute(_ round: Int) -> (aggregate: Duration, prepare: Duration, judge: Duration, actions: Int) {
    let clock = ContinuousClock()
    let time = minuteStart + Int64(round) * 60_000
    var aggregator = Aggregator(topology: topology)
    var figures: [FigureKey: FigureValues] = [:]
    let aggregate = clock.measure {
        // Every point reports once in the minute; some tenants are idle (underused), most are working.
        for (index, point) in topology.points.enumerated() {
            let tenant = index / 3
            let busy = tenant % 7 != 0
            let value: Double =
                switch point.quantity {
                case .power: busy ? 40 : 0.5
                case .energy: Double(round) * (busy ? 0.7 : 0.01)
                default: busy ? 8 : 0
                }
            aggregator.add(Reading(point: index, time: time + Int64(index % 50_000), value: value), history: NoHistory())
        }
        figures = aggregator.takePending()
    }
    var actions = 0
    var observations: [WindowObservation] = []
    observations.reserveCapacity(tenantCount)
    let prepare = clock.measure {
        let windowStart = time / 1000
        for tenant in 0..<tenantCount {
            let scope = Scope(.tenant, tenant)
            var rows: [(Quantity, FigureValues)] = []
            for quantity in [Quantity.power, .energy, .occupancy] {
                if let values = figures[FigureKey(scope: scope, quantity: quantity, resolution: .minute, windowStart: windowStart)] {
                    rows.append((quantity, values))
                }
            }
            let missing = coverage.missing(
                [.power, .energy, .occupancy], points: members.points(of: scope), in: topology, start: time, end: time + 60_000,
                readings: { point in
                    figures[FigureKey(scope: Scope(.point, point), quantity: topology.points[point].quantity, resolution: .minute, windowStart: windowStart)]?.readings ?? 0
                })
            let observation = WindowObservation(
                scope: scope, resolution: .minute, start: time, end: time + 60_000,
                figures: WindowFigures(windowStart: windowStart, rows: rows, leasedArea: 100), missing: missing,
                designCapacity: 10, baselines: [.power: .level(40, weeks: 4)])
            observations.append(observation)
        }
    }
    let judge = clock.measure {
        for observation in observations { actions += evaluator.windowChanged(observation).count }
    }
    return (aggregate, prepare, judge, actions)
}

func ms(_ duration: Duration) -> String {
    String(format: "%.1f ms", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
}

print("tenants: \(tenantCount), rules per tenant: \(rules.count), points: \(points.count)")
print("minute\taggregate the minute's readings\tgather each tenant's window figures and gaps\tjudge them (\(tenantCount * rules.count) rule evaluations)\talert actions")
var judged: [Duration] = []
for round in 1...6 {
    // The first minute anchors the counters (no energy yet); the later ones are the steady state.
    let result = minute(round)
    if round > 1 { judged.append(result.judge) }
    print("\(round)\t\(ms(result.aggregate))\t\(ms(result.prepare))\t\(ms(result.judge))\t\(result.actions)")
}
let sorted = judged.sorted()
print("judging, median of minutes 2–6: \(ms(sorted[sorted.count / 2]))  (target: under 50 ms)")
