/// The levels of the estate that figures are kept for.
public enum ScopeKind: String, Sendable, CaseIterable, Codable {
    case point, space, tenant, floor, building
}

/// One point, space, tenant, floor or building, by its index in the topology.
public struct Scope: Sendable, Hashable, Codable {
    public var kind: ScopeKind
    public var index: Int
    public init(_ kind: ScopeKind, _ index: Int) {
        self.kind = kind
        self.index = index
    }
}

/// Which figure row a contribution goes to.
public struct FigureKey: Sendable, Hashable {
    public var scope: Scope
    public var quantity: Quantity
    public var resolution: Resolution
    /// Unix seconds of the window's start (aligned to the building's local time).
    public var windowStart: Int64
    public init(scope: Scope, quantity: Quantity, resolution: Resolution, windowStart: Int64) {
        self.scope = scope
        self.quantity = quantity
        self.resolution = resolution
        self.windowStart = windowStart
    }
}

/// The accumulators of one figure row. Every field merges by addition or by maximum, so a row can be
/// built from any number of partial contributions in any order, and stored contributions simply add up.
///
/// - counters (energy, water, gas, output): `amount` is the consumption or production in the window;
/// - gauges (power, occupancy, presence): a scope's *level* in a minute is the sum of its points' mean
///   values in that minute (a floor's power is the sum of its meters'); `levelSum / levelMinutes` is the
///   mean level over the window and `levelPeak` its highest one-minute level;
/// - points also keep their raw samples (`sampleSum`, `sampleCount`, `sampleMax`).
public struct FigureValues: Sendable, Equatable {
    public var amount: Double = 0
    public var sampleSum: Double = 0
    public var sampleCount: Int = 0
    public var sampleMax: Double = -.infinity
    public var levelSum: Double = 0
    public var levelMinutes: Int = 0
    public var levelPeak: Double = -.infinity
    public var readings: Int = 0

    public init() {}

    public init(
        amount: Double, sampleSum: Double, sampleCount: Int, sampleMax: Double,
        levelSum: Double, levelMinutes: Int, levelPeak: Double, readings: Int
    ) {
        self.amount = amount
        self.sampleSum = sampleSum
        self.sampleCount = sampleCount
        self.sampleMax = sampleMax
        self.levelSum = levelSum
        self.levelMinutes = levelMinutes
        self.levelPeak = levelPeak
        self.readings = readings
    }

    public mutating func merge(_ other: FigureValues) {
        amount += other.amount
        sampleSum += other.sampleSum
        sampleCount += other.sampleCount
        sampleMax = max(sampleMax, other.sampleMax)
        levelSum += other.levelSum
        levelMinutes += other.levelMinutes
        levelPeak = max(levelPeak, other.levelPeak)
        readings += other.readings
    }

    /// Mean level over the window (mean power kW, mean occupancy persons, presence share 0…1).
    public var meanLevel: Double? { levelMinutes > 0 ? levelSum / Double(levelMinutes) : nil }
    public var peakLevel: Double? { levelPeak.isFinite ? levelPeak : nil }
}
