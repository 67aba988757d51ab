import Foundation
import StoreyCore

/// A window's figures as the API shows them (units in the OpenAPI document: kWh, m³, kW, persons, m²).
struct FiguresJSON: Codable, Sendable, Equatable {
    var windowStart: String
    var resolution: String?
    var energy: Double
    var water: Double
    var gas: Double
    var output: Double
    var meanPower: Double?
    var peakPower: Double?
    var meanOccupancy: Double?
    var peakOccupancy: Double?
    var presenceShare: Double?
    var leasedArea: Double
    var energyIntensity: Double?
    var occupancyDensity: Double?
    var outputDensity: Double?
    var energyPerMu: Double?
    var outputPerMu: Double?
    /// Readings behind each quantity: zero energy with no readings is missing data, not idle space.
    var readings: [String: Int]

    init(_ figures: WindowFigures, resolution: Resolution?) {
        windowStart = Timestamps.format(seconds: figures.windowStart)
        self.resolution = resolution?.rawValue
        energy = figures.energy
        water = figures.water
        gas = figures.gas
        output = figures.output
        meanPower = figures.meanPower
        peakPower = figures.peakPower
        meanOccupancy = figures.meanOccupancy
        peakOccupancy = figures.peakOccupancy
        presenceShare = figures.presenceShare
        leasedArea = figures.leasedArea
        energyIntensity = figures.energyIntensity
        occupancyDensity = figures.occupancyDensity
        outputDensity = figures.outputDensity
        energyPerMu = figures.energyPerMu
        outputPerMu = figures.outputPerMu
        readings = Dictionary(uniqueKeysWithValues: figures.readings.map { ($0.key.rawValue, $0.value) })
    }
}

/// The figure names a series may ask for, each read from `WindowFigures`.
enum FigureName: String, CaseIterable, Sendable {
    case energy, water, gas, output, meanPower, peakPower, meanOccupancy, peakOccupancy, presenceShare
    case leasedArea, energyIntensity, occupancyDensity, outputDensity, energyPerMu, outputPerMu

    /// The figure's value; nil when the quantity behind it had no readings in the window (a counter with
    /// none shows 0, which would look like an idle space).
    func value(of figures: WindowFigures) -> Double? {
        if let quantity = counter, (figures.readings[quantity] ?? 0) == 0 { return nil }
        return switch self {
        case .energy: figures.energy
        case .water: figures.water
        case .gas: figures.gas
        case .output: figures.output
        case .meanPower: figures.meanPower
        case .peakPower: figures.peakPower
        case .meanOccupancy: figures.meanOccupancy
        case .peakOccupancy: figures.peakOccupancy
        case .presenceShare: figures.presenceShare
        case .leasedArea: figures.leasedArea
        case .energyIntensity: figures.energyIntensity
        case .occupancyDensity: figures.occupancyDensity
        case .outputDensity: figures.outputDensity
        case .energyPerMu: figures.energyPerMu
        case .outputPerMu: figures.outputPerMu
        }
    }

    private var counter: Quantity? {
        switch self {
        case .energy, .energyIntensity, .energyPerMu: .energy
        case .water: .water
        case .gas: .gas
        case .output, .outputDensity, .outputPerMu: .output
        default: nil
        }
    }
}

/// Instants on the wire are RFC 3339 in UTC; local dates are `YYYY-MM-DD` in the building's time zone.
enum Timestamps {
    static func format(seconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
    }

    static func format(milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// `2026-11-27T08:00:00Z`, with or without fractional seconds or an offset, or a bare Unix time in seconds.
    static func parse(_ text: String) -> Int64? {
        if let seconds = Int64(text) { return seconds }
        if let date = try? Date(text, strategy: .iso8601) { return Int64(date.timeIntervalSince1970.rounded(.down)) }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return Int64(date.timeIntervalSince1970.rounded(.down))
        }
        return nil
    }
}

extension TimeZone {
    /// The local date holding an instant.
    func localDate(seconds: Int64) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(seconds)))
        return LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// The instant (Unix seconds) a local date begins.
    func startOfDay(_ day: LocalDate) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = self
        let date = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day))!
        return Int64(calendar.startOfDay(for: date).timeIntervalSince1970.rounded())
    }
}
