import Foundation
import StoreyCore

/// The payload shapes real devices send, all of which storeyd accepts (`PayloadDecoder`).
public enum PayloadShape: Sendable, CaseIterable {
    /// `{"value":12.5,"ts":1764201600.250}`
    case valueObject
    /// `[{"value":12.5,"ts":1764201600.250}]`: a batch, as a tenant's production system reports.
    case batch
    /// `[{"bt":1764201600.250,"u":"m3","v":12.5}]` (RFC 8428), or `"vb":true` for presence.
    case senML

    /// Water and gas meters and presence sensors speak SenML here, output comes in batches, the rest as
    /// a value object: the simulated tower exercises every shape.
    public static func of(_ quantity: Quantity) -> PayloadShape {
        switch quantity {
        case .water, .gas, .presence: .senML
        case .output: .batch
        case .power, .energy, .occupancy: .valueObject
        }
    }

    /// The payload carrying `value` (in `unit`) measured at `time` (milliseconds since the epoch).
    public func payload(value: Double, time: Int64, quantity: Quantity, unit: String) -> String {
        let seconds = Self.seconds(time)
        let number = Self.number(value)
        switch self {
        case .valueObject:
            return "{\"value\":\(number),\"ts\":\(seconds)}"
        case .batch:
            return "[{\"value\":\(number),\"ts\":\(seconds)}]"
        case .senML:
            if quantity == .presence { return "[{\"bt\":\(seconds),\"vb\":\(value >= 0.5)}]" }
            return "[{\"bt\":\(seconds),\"u\":\"\(unit)\",\"v\":\(number)}]"
        }
    }

    /// Unix seconds with milliseconds, exactly (no binary fraction noise).
    static func seconds(_ milliseconds: Int64) -> String {
        let whole = milliseconds.quotientRoundingDown(1000)
        let fraction = milliseconds - whole * 1000
        return "\(whole).\(String(fraction + 1000).dropFirst())"
    }

    /// Up to three decimals, no exponent.
    static func number(_ value: Double) -> String {
        String(format: "%.3f", value)
    }
}
