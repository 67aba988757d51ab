import Foundation
import StoreyCore

/// A period as reports take it: whole local days, `from` to `to` inclusive.
public struct ReportPeriod: Sendable, Equatable {
    public var from: LocalDate
    public var to: LocalDate

    public init(from: LocalDate, to: LocalDate) {
        self.from = from
        self.to = to
    }

    public var days: [LocalDate] {
        var days: [LocalDate] = []
        var day = from
        while day <= to {
            days.append(day)
            day = day.adding(days: 1)
        }
        return days
    }

    /// The period in months, day by day (a day of November is 1/30 of a month): whole calendar months
    /// count exactly 1, so monthly targets apply as they are written.
    public var months: Double {
        var daysByMonth: [Int: Int] = [:]
        for day in days { daysByMonth[day.year * 12 + day.month - 1, default: 0] += 1 }
        return daysByMonth.reduce(0) { sum, entry in
            sum + Double(entry.value) / Double(LocalDate.daysIn(month: entry.key % 12 + 1, year: entry.key / 12))
        }
    }
}

/// One line of a density report: a tenant's or a building's figures over a period, against its targets.
public struct DensityReportLine: Sendable, Equatable, Codable {
    public var scope: String
    public var id: String
    public var name: String
    public var building: String?
    public var from: String
    public var to: String
    public var days: Int
    /// Mean over the period's days of the area leased on each day, m².
    public var leasedArea: Double
    /// Design capacity of the leased spaces (mean over the days), persons.
    public var capacity: Double
    public var energy: Double
    public var water: Double
    public var gas: Double
    public var output: Double
    public var meanOccupancy: Double?
    public var peakOccupancy: Double?
    /// Share of measured minutes with presence, 0…1.
    public var presenceShare: Double?
    /// Mean occupancy in working time over design capacity, 0…1 (minutes outside the scope's working
    /// hours, on holidays and with no data do not count).
    public var utilisation: Double?
    public var energyIntensity: Double?
    /// Water per m² of leased area over the period, m³/m².
    public var waterIntensity: Double?
    public var occupancyDensity: Double?
    public var outputDensity: Double?
    /// The tenant's targets for this period (monthly targets × months), per m², and the gap to them
    /// (density − target: negative output gap = short of target; positive energy gap = over budget).
    public var outputTarget: Double?
    public var outputGap: Double?
    public var energyTarget: Double?
    public var energyGap: Double?
    /// Land-use figures (亩均), for a building.
    public var landAreaMu: Double?
    public var energyPerMu: Double?
    public var outputPerMu: Double?
    public var outputPerKWh: Double?
    /// Readings behind each quantity (zero energy with no readings is missing data).
    public var readings: [String: Int]
    /// Scheduled working hours in the period (the scope's shifts, less holidays, plus make-up days).
    public var workingHours: Double?
    /// Share of measured working minutes with presence, 0…1: the occupied share of scheduled working time.
    public var occupiedShare: Double?
}

extension DensityReportLine {
    /// Builds a line from the scope's day rows (all quantities, any order).
    ///
    /// Counters add up; gauges merge their level sums and minutes, so means are over the minutes that
    /// had data. Areas and capacity are means over the days because leases start and end mid-period.
    /// Utilisation comes from `working` (occupancy in working time) when given, else from every minute.
    public static func make(
        scope: Scope, topology: Topology, period: ReportPeriod, dayRows: [(Quantity, FigureValues)],
        working: WorkingTimeLevels? = nil, workingHours: Double? = nil
    ) -> DensityReportLine {
        var merged: [Quantity: FigureValues] = [:]
        for (quantity, values) in dayRows { merged[quantity, default: FigureValues()].merge(values) }
        let days = period.days
        var areaSum = 0.0
        var capacitySum = 0.0
        for day in days {
            areaSum += topology.densityArea(of: scope, on: day)
            capacitySum += Double(capacity(of: scope, topology: topology, on: day))
        }
        let area = days.isEmpty ? 0 : areaSum / Double(days.count)
        let capacity = days.isEmpty ? 0 : capacitySum / Double(days.count)
        let landMu = scope.kind == .building ? topology.buildings[scope.index].landAreaMu : nil
        let figures = WindowFigures(windowStart: 0, rows: merged.map { ($0.key, $0.value) }, leasedArea: area, landAreaMu: landMu)

        var line = DensityReportLine(
            scope: scope.kind.rawValue, id: topology.scopeID(scope), name: name(of: scope, topology: topology),
            building: topology.buildingIndex(of: scope).map { topology.buildings[$0].id },
            from: period.from.description, to: period.to.description, days: days.count, leasedArea: area, capacity: capacity,
            energy: figures.energy, water: figures.water, gas: figures.gas, output: figures.output,
            meanOccupancy: figures.meanOccupancy, peakOccupancy: figures.peakOccupancy, presenceShare: figures.presenceShare,
            utilisation: capacity > 0 ? (working.map { $0.occupancy.meanLevel } ?? figures.meanOccupancy).map { $0 / capacity } : nil,
            energyIntensity: figures.energyIntensity, waterIntensity: area > 0 ? figures.water / area : nil,
            occupancyDensity: figures.occupancyDensity, outputDensity: figures.outputDensity,
            landAreaMu: landMu, energyPerMu: figures.energyPerMu, outputPerMu: figures.outputPerMu,
            outputPerKWh: scope.kind == .building && figures.energy > 0 ? figures.output / figures.energy : nil,
            readings: Dictionary(uniqueKeysWithValues: figures.readings.map { ($0.key.rawValue, $0.value) }),
            workingHours: workingHours, occupiedShare: working?.presence.meanLevel)
        if scope.kind == .tenant {
            let targets = topology.tenants[scope.index].targets
            line.outputTarget = targets.outputPerSquareMetrePerMonth.map { $0 * period.months }
            line.energyTarget = targets.energyPerSquareMetrePerMonth.map { $0 * period.months }
            if let target = line.outputTarget, let density = line.outputDensity { line.outputGap = density - target }
            if let target = line.energyTarget, let density = line.energyIntensity { line.energyGap = density - target }
        }
        return line
    }

    static func name(of scope: Scope, topology: Topology) -> String {
        switch scope.kind {
        case .tenant: topology.tenants[scope.index].name
        case .building: topology.buildings[scope.index].name
        default: topology.scopeID(scope)
        }
    }

    /// Design capacity of the spaces a tenant (or, for a building, anyone) leases on `day`.
    static func capacity(of scope: Scope, topology: Topology, on day: LocalDate) -> Int {
        switch scope.kind {
        case .tenant:
            var seen = Set<Int>()
            return topology.tenants[scope.index].leases.filter { $0.covers(day) && seen.insert($0.spaceIndex).inserted }
                .reduce(0) { $0 + topology.spaces[$1.spaceIndex].capacity }
        case .building:
            return topology.spaces.indices.filter {
                topology.floors[topology.spaces[$0].floorIndex].buildingIndex == scope.index && topology.tenantIndex(ofSpace: $0, on: day) != nil
            }.reduce(0) { $0 + topology.spaces[$1].capacity }
        case .floor:
            return topology.spaces.indices.filter { topology.spaces[$0].floorIndex == scope.index && topology.tenantIndex(ofSpace: $0, on: day) != nil }
                .reduce(0) { $0 + topology.spaces[$1].capacity }
        case .space:
            return topology.spaces[scope.index].capacity
        case .point:
            return topology.points[scope.index].spaceIndex.map { topology.spaces[$0].capacity } ?? 0
        }
    }

    /// The CSV columns, in order (the JSON field names).
    public static let csvColumns = [
        "scope", "id", "name", "building", "from", "to", "days", "leasedArea", "capacity", "energy", "water", "gas", "output",
        "meanOccupancy", "peakOccupancy", "presenceShare", "utilisation", "energyIntensity", "waterIntensity", "occupancyDensity", "outputDensity",
        "outputTarget", "outputGap", "energyTarget", "energyGap", "landAreaMu", "energyPerMu", "outputPerMu", "outputPerKWh",
        "workingHours", "occupiedShare",
    ]

    var csvFields: [String] {
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "" }
            return String(format: "%.6g", value)
        }
        return [
            scope, id, name, building ?? "", from, to, String(days), number(leasedArea), number(capacity), number(energy), number(water),
            number(gas), number(output), number(meanOccupancy), number(peakOccupancy), number(presenceShare), number(utilisation),
            number(energyIntensity), number(waterIntensity), number(occupancyDensity), number(outputDensity), number(outputTarget), number(outputGap),
            number(energyTarget), number(energyGap), number(landAreaMu), number(energyPerMu), number(outputPerMu), number(outputPerKWh),
            number(workingHours), number(occupiedShare),
        ]
    }
}

/// RFC 4180 CSV: a header line, then one line per report line; fields quoted when they need it.
public enum ReportCSV {
    public static func render(_ lines: [DensityReportLine]) -> String {
        var text = DensityReportLine.csvColumns.joined(separator: ",") + "\r\n"
        for line in lines {
            text += line.csvFields.map(quote).joined(separator: ",") + "\r\n"
        }
        return text
    }

    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
