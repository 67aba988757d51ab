/// A sensor that misbehaves the way real ones do: it goes silent for a while, or its counter restarts.
public enum SensorFault: Sendable, Equatable {
    /// Silent for `duration` seconds once in every `period` seconds (where in the period depends on the seed).
    case dropout(period: Double, duration: Double)
    /// The counter restarts from zero once in every `period` seconds (a meter replaced or power-cycled).
    case counterReset(period: Double)
}
