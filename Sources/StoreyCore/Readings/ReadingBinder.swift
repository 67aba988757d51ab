/// Binds decoded values to the topology's points and refuses what no real device could have meant.
public struct ReadingBinder: Sendable {
    public var decoder: PayloadDecoder
    /// How far ahead of the receiving clock a timestamp may be (clock skew), in milliseconds.
    public var futureTolerance: Int64

    public init(decoder: PayloadDecoder = PayloadDecoder(), futureTolerance: Int64 = 5 * 60 * 1000) {
        self.decoder = decoder
        self.futureTolerance = futureTolerance
    }

    /// Decodes one message and appends its readings; each refused value appends its reason instead.
    /// A payload refused as a whole yields one reason and no reading.
    ///
    /// A value without a timestamp takes `now`, the time of receipt; `receipts` keeps those times strictly
    /// increasing per point, so two bare numbers read in the same millisecond stay two readings.
    /// Timestamps are refused beyond `futureTolerance` past `now` or past `latest`, the latest time the
    /// receiving host has known (a `SteadyWallClock`): a reading valid before the host's clock stepped back
    /// is still valid after.
    public func bind(
        topic: String, payload: UnsafeRawBufferPointer, now: Int64, latest: Int64? = nil, topology: Topology,
        scratch: inout [DecodedValue], readings: inout [Reading], rejections: inout [RejectionReason],
        receipts: inout ReceiptTimes
    ) {
        let topicPoint = topology.pointByTopic[topic]
        scratch.removeAll(keepingCapacity: true)
        do {
            try decoder.decode(payload, now: now, into: &scratch)
        } catch {
            rejections.append(topicPoint == nil ? .unknownTopic : error)
            return
        }
        for decoded in scratch {
            let pointIndex: Int
            if let name = decoded.name {
                // SenML names its point: by id, or by its own topic.
                guard let index = topology.pointByID[name] ?? topology.pointByTopic[name] else {
                    rejections.append(.unknownPoint)
                    continue
                }
                pointIndex = index
            } else if let topicPoint {
                pointIndex = topicPoint
            } else {
                rejections.append(.unknownTopic)
                continue
            }
            switch validate(decoded, point: topology.points[pointIndex], now: now, latest: latest) {
            case .success(let reading):
                let time = decoded.time == nil ? receipts.next(for: pointIndex, at: reading.time) : reading.time
                readings.append(Reading(point: pointIndex, time: time, value: reading.value))
            case .failure(let reason):
                rejections.append(reason)
            }
        }
    }

    func validate(_ decoded: DecodedValue, point: Point, now: Int64, latest: Int64? = nil) -> Result<(time: Int64, value: Double), RejectionReason> {
        let quantity = point.quantity
        var value = decoded.value * quantity.scale(from: point.unit)
        if let unit = decoded.unit, unit != point.unit {
            guard quantity.acceptedUnits.contains(unit) else { return .failure(.unitMismatch) }
            value = decoded.value * quantity.scale(from: unit)
        }
        guard value.isFinite else { return .failure(.notFinite) }
        let time = decoded.time ?? now
        guard time <= max(now, latest ?? now) + futureTolerance else { return .failure(.futureTimestamp) }
        switch quantity {
        case .presence:
            guard value == 0 || value == 1 else { return .failure(.outOfRange) }
        case .power:
            guard abs(value) <= point.maximum else { return .failure(.outOfRange) }
        case .occupancy:
            guard value >= 0 else { return .failure(.negative) }
            guard value <= point.maximum else { return .failure(.outOfRange) }
        case .energy, .water, .gas, .output:
            guard value >= 0 else { return .failure(.negative) }
            guard value < 1e15 else { return .failure(.outOfRange) }
        }
        return .success((time, value))
    }
}

/// Receipt times handed to readings that carry no timestamp, strictly increasing per point.
public struct ReceiptTimes: Sendable {
    private var last: [Int: Int64] = [:]

    public init() {}

    mutating func next(for point: Int, at time: Int64) -> Int64 {
        let given = max(time, (last[point] ?? .min) + 1)
        last[point] = given
        return given
    }

    /// Forgets points not heard from for a while, so the table stays as small as the set of bare-number points.
    public mutating func forget(before time: Int64) {
        if last.count > 10_000 { last = last.filter { $0.value >= time } }
    }
}
