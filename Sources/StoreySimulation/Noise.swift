/// Deterministic noise: a pure function of the seed and a few integers, so a simulation with the same
/// seed publishes the same stream whatever order its parts are computed in.
public struct Noise: Sendable {
    public var seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// Uniform in [0, 1).
    public func unit(_ a: Int, _ b: Int = 0, _ c: Int = 0) -> Double {
        var x = seed &+ UInt64(bitPattern: Int64(a)) &* 0x9E37_79B9_7F4A_7C15
        x = Self.mix(x ^ (UInt64(bitPattern: Int64(b)) &* 0xC2B2_AE3D_27D4_EB4F))
        x = Self.mix(x ^ (UInt64(bitPattern: Int64(c)) &* 0x1656_67B1_9E37_79F9))
        return Double(x >> 11) / Double(1 << 53)
    }

    /// `1 ± spread`, e.g. spread 0.05 gives 0.95 ..< 1.05.
    public func factor(_ spread: Double, _ a: Int, _ b: Int = 0, _ c: Int = 0) -> Double {
        1 + spread * (2 * unit(a, b, c) - 1)
    }

    /// SplitMix64's finaliser.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
