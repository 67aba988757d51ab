import Foundation

/// One value found in a payload, before it is bound to a point.
public struct DecodedValue: Sendable, Equatable {
    /// SenML name (base name + name) when the record gives one; nil means the topic's own point.
    public var name: String?
    /// Milliseconds since the Unix epoch; nil means "the time of receipt".
    public var time: Int64?
    public var value: Double
    /// Unit named in the payload (SenML `u`/`bu`, or `unit` in a JSON object), if any.
    public var unit: String?

    public init(name: String? = nil, time: Int64? = nil, value: Double, unit: String? = nil) {
        self.name = name
        self.time = time
        self.value = value
        self.unit = unit
    }
}

/// Turns the payloads real devices send into values:
/// - a plain number (`21.5`), or `true`/`false` for presence sensors;
/// - a JSON object `{"value": 12.5, "ts": …}` (`ts` optional: RFC 3339 text, or Unix seconds;
///   a number above 10¹¹ is taken as milliseconds, which many devices send);
/// - a JSON array of such objects (a batch);
/// - SenML JSON (RFC 8428): records with `bn`, `bt`, `bu`, `n`, `u`, `v`, `vb`, `s`, `t`, relative times included.
public struct PayloadDecoder: Sendable {
    public var maximumPayloadBytes: Int

    public init(maximumPayloadBytes: Int = 64 * 1024) {
        self.maximumPayloadBytes = maximumPayloadBytes
    }

    /// Appends the payload's values to `values`; throws the reason when the payload as a whole is refused.
    /// `now` is the receipt time in milliseconds: it resolves SenML relative times.
    public func decode(_ payload: UnsafeRawBufferPointer, now: Int64, into values: inout [DecodedValue]) throws(RejectionReason) {
        guard payload.count <= maximumPayloadBytes else { throw .oversize }
        guard let first = payload.firstIndex(where: { !Self.isSpace($0) }) else { throw .malformed }
        switch payload[first] {
        case UInt8(ascii: "{"):
            // Most JSON devices send exactly {"value": N, "ts": N}: read that shape directly, and leave
            // everything else (and anything unusual in it) to Foundation's parser.
            if let value = Self.flatValueObject(payload) {
                values.append(value)
            } else {
                try decodeJSON(payload, now: now, into: &values)
            }
        case UInt8(ascii: "["):
            try decodeJSON(payload, now: now, into: &values)
        default:
            values.append(DecodedValue(value: try Self.plainNumber(payload)))
        }
    }

    /// The fast path: most meters publish a bare number.
    static func plainNumber(_ payload: UnsafeRawBufferPointer) throws(RejectionReason) -> Double {
        var start = payload.startIndex
        var end = payload.endIndex
        while start < end, isSpace(payload[start]) { start += 1 }
        while end > start, isSpace(payload[end - 1]) { end -= 1 }
        guard end > start, end - start <= 64 else { throw .malformed }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: payload[start..<end]), as: UTF8.self)
        switch text {
        case "true": return 1
        case "false": return 0
        default: break
        }
        // Double("nan") and Double("inf") parse; devices that send them are refused by name.
        guard let value = Double(text) else { throw .malformed }
        guard value.isFinite else { throw .notFinite }
        return value
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `{"value": N}` or `{"value": N, "ts": N}` (keys in either order, numbers only, no duplicates);
    /// nil for anything else, which then takes the general path with the same result.
    static func flatValueObject(_ payload: UnsafeRawBufferPointer) -> DecodedValue? {
        var reader = FlatJSONReader(bytes: payload)
        guard reader.skip(UInt8(ascii: "{")) else { return nil }
        var value: Double?
        var seconds: Double?
        repeat {
            guard let key = reader.key() else { return nil }
            guard let number = reader.number() else { return nil }
            switch key {
            case .value where value == nil: value = number
            case .ts where seconds == nil: seconds = number
            default: return nil
            }
        } while reader.skip(UInt8(ascii: ","))
        guard reader.skip(UInt8(ascii: "}")), reader.atEnd, let value, value.isFinite else { return nil }
        guard let seconds else { return DecodedValue(value: value) }
        guard let millis = try? milliseconds(seconds: seconds) else { return nil }
        return DecodedValue(time: millis, value: value)
    }

    /// The general path alone, for tests that hold the fast path to it.
    func decodeGeneralJSON(_ payload: UnsafeRawBufferPointer, now: Int64, into values: inout [DecodedValue]) throws(RejectionReason) {
        try decodeJSON(payload, now: now, into: &values)
    }

    private func decodeJSON(_ payload: UnsafeRawBufferPointer, now: Int64, into values: inout [DecodedValue]) throws(RejectionReason) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(payload), options: [])
        } catch {
            throw .malformed
        }
        if let record = object as? [String: Any] {
            if Self.isSenML(record) {
                try decodeSenML([record], now: now, into: &values)
            } else {
                values.append(try Self.valueObject(record))
            }
        } else if let array = object as? [Any] {
            let records = array.compactMap { $0 as? [String: Any] }
            guard records.count == array.count, !records.isEmpty else { throw .malformed }
            if records.contains(where: Self.isSenML) {
                try decodeSenML(records, now: now, into: &values)
            } else {
                for record in records { values.append(try Self.valueObject(record)) }
            }
        } else {
            throw .malformed
        }
    }

    private static let senMLKeys: Set<String> = ["bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vb", "vs", "vd", "s", "t", "ut"]

    private static func isSenML(_ record: [String: Any]) -> Bool {
        record["value"] == nil && !record.isEmpty && record.keys.allSatisfy(senMLKeys.contains)
    }

    /// `{"value": 12.5, "ts": "2026-11-27T08:00:00+08:00", "unit": "kW"}`
    private static func valueObject(_ record: [String: Any]) throws(RejectionReason) -> DecodedValue {
        guard let raw = record["value"] else { throw .malformed }
        let value = try number(raw)
        var time: Int64?
        if let ts = record["ts"] ?? record["timestamp"] ?? record["time"] {
            time = try timestamp(ts)
        }
        let unit = record["unit"] as? String
        return DecodedValue(time: time, value: value, unit: unit)
    }

    private func decodeSenML(_ records: [[String: Any]], now: Int64, into values: inout [DecodedValue]) throws(RejectionReason) {
        var baseName = ""
        var baseTime = 0.0
        var baseUnit: String?
        var baseValue = 0.0
        for record in records {
            if let bn = record["bn"] { guard let bn = bn as? String else { throw .malformed }; baseName = bn }
            if let bt = record["bt"] { baseTime = try Self.number(bt) }
            if let bu = record["bu"] { guard let bu = bu as? String else { throw .malformed }; baseUnit = bu }
            if let bv = record["bv"] { baseValue = try Self.number(bv) }
            let value: Double
            if let v = record["v"] {
                value = baseValue + (try Self.number(v))
            } else if let s = record["s"] {
                value = try Self.number(s)
            } else if let vb = record["vb"] {
                guard Self.isBoolean(vb), let flag = vb as? Bool else { throw .malformed }
                value = flag ? 1 : 0
            } else if record["vs"] != nil || record["vd"] != nil {
                throw .malformed  // text and data values carry no reading
            } else {
                continue  // a record that only sets base fields
            }
            let name = baseName + ((record["n"] as? String) ?? "")
            let t = baseTime + (try record["t"].map { v throws(RejectionReason) in try Self.number(v) } ?? 0)
            // RFC 8428 §4.5.3: a resolved time below 2^28 is relative to now. One reaching back before 1970
            // (t = -1e300, or bt + t overflowing to -inf) is refused rather than converted, which would trap.
            let millis: Int64?
            if t == 0 && record["t"] == nil && record["bt"] == nil && baseTime == 0 {
                millis = nil
            } else if t < 268_435_456 {
                guard t * 1000 > -Double(now) else { throw .badTimestamp }
                millis = now + Int64((t * 1000).rounded())
            } else {
                millis = try Self.milliseconds(seconds: t)
            }
            values.append(DecodedValue(name: name.isEmpty ? nil : name, time: millis, value: value, unit: (record["u"] as? String) ?? baseUnit))
        }
    }

    /// JSON `true`/`false` arrive as boolean NSNumbers; on Linux `1 is Bool` is true too, so ask the type.
    private static func isBoolean(_ raw: Any) -> Bool {
        guard let number = raw as? NSNumber else { return raw is Bool }
        return String(describing: type(of: number)).contains("Boolean")
    }

    private static func number(_ raw: Any) throws(RejectionReason) -> Double {
        if isBoolean(raw) { throw .malformed }
        if let number = raw as? NSNumber {
            let value = number.doubleValue
            guard value.isFinite else { throw .notFinite }
            return value
        }
        if let text = raw as? String {
            guard let value = Double(text) else { throw .malformed }
            guard value.isFinite else { throw .notFinite }
            return value
        }
        throw .malformed
    }

    private static func timestamp(_ raw: Any) throws(RejectionReason) -> Int64 {
        if let text = raw as? String {
            if let seconds = Double(text) { return try milliseconds(seconds: seconds) }
            guard let date = parseRFC3339(text) else { throw .badTimestamp }
            return Int64((date.timeIntervalSince1970 * 1000).rounded())
        }
        guard let seconds = try? number(raw) else { throw .badTimestamp }
        return try milliseconds(seconds: seconds)
    }

    /// Unix seconds; values above 10¹¹ are milliseconds (10¹¹ seconds is the year 5138).
    private static func milliseconds(seconds: Double) throws(RejectionReason) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { throw .badTimestamp }
        let millis = seconds > 1e11 ? seconds : seconds * 1000
        guard millis < 1e15 else { throw .badTimestamp }
        return Int64(millis.rounded())
    }

    private static func parseRFC3339(_ text: String) -> Date? {
        let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let plain = Date.ISO8601FormatStyle()
        return (try? withFraction.parse(text)) ?? (try? plain.parse(text))
    }
}

/// Reads the one flat JSON shape `PayloadDecoder.flatValueObject` accepts, strictly to the JSON grammar
/// (RFC 8259), so that whatever it accepts the general parser would read the same way.
private struct FlatJSONReader {
    enum Key { case value, ts }

    let bytes: UnsafeRawBufferPointer
    var index: Int

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var atEnd: Bool {
        var copy = self
        copy.skipSpace()
        return copy.index == bytes.endIndex
    }

    mutating func skipSpace() {
        while index < bytes.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func skip(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.endIndex, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// `"value":` or `"ts":`
    mutating func key() -> Key? {
        guard skip(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.endIndex, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        index += 1
        guard skip(UInt8(ascii: ":")) else { return nil }
        if name.elementsEqual("value".utf8) { return .value }
        if name.elementsEqual("ts".utf8) { return .ts }
        return nil
    }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number() -> Double? {
        skipSpace()
        let start = index
        func digits() -> Int {
            let from = index
            while index < bytes.endIndex, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - from
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.endIndex else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            return nil
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return nil }
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return nil }
        }
        guard index - start <= 40 else { return nil }
        return Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }
}
