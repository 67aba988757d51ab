/// One value of a point at one time, after decoding and validation.
public struct Reading: Sendable, Equatable {
    /// Index of the point in the topology it was resolved against.
    public var point: Int
    /// Milliseconds since the Unix epoch.
    public var time: Int64
    /// In the point quantity's default unit (kW, kWh, m³, persons, 0/1, units).
    public var value: Double

    public init(point: Int, time: Int64, value: Double) {
        self.point = point
        self.time = time
        self.value = value
    }
}

/// Why a payload or a reading was refused; the raw value is the `reason` label of
/// `storey_readings_rejected_total`.
public enum RejectionReason: String, Sendable, CaseIterable, Error {
    case oversize            // payload longer than the configured limit
    case malformed           // neither a number, nor JSON of an accepted shape
    case notFinite = "not_finite"
    case badTimestamp = "bad_timestamp"
    case futureTimestamp = "future_timestamp"
    case unknownTopic = "unknown_topic"
    case unknownPoint = "unknown_point"      // a SenML record names a point the topology lacks
    case unitMismatch = "unit_mismatch"
    case negative                            // a negative occupancy, power or counter
    case outOfRange = "out_of_range"         // beyond the point's believable maximum, or presence not 0/1
    case counterJump = "counter_jump"        // a counter increase no meter could have made
}
