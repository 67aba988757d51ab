extension UnderuseRule {
    /// Evaluates the condition on one window. `workingMinutes` is the scope's working time within the
    /// window; `alertActive` asks for the resolve level (hysteresis) instead of the limit to clear.
    ///
    /// Gaps come first: a window whose inputs are incomplete is "no data" whatever its figures say, so a
    /// silent sensor never looks like an empty floor.
    public func evaluate(_ observation: WindowObservation, workingMinutes: Int, alertActive: Bool) -> ConditionResult {
        if !observation.missing.isEmpty {   // (most windows are complete: no sets built for them)
            let gaps = condition.quantities(metric: metric).intersection(observation.missing)
            if !gaps.isEmpty { return .noData(.gaps(gaps)) }
        }
        if applies == .workingTime {
            let windowMinutes = Int((observation.end - observation.start) / 60_000)
            // An hour counts when most of it is worked; a day or month when any of it is.
            let enough = observation.resolution == .hour || observation.resolution == .minute
                ? workingMinutes * 2 > windowMinutes : workingMinutes > 0
            if !enough { return .notApplicable(.outsideWorkingTime) }
        }
        if observation.figures.leasedArea <= 0 && observation.scope.kind != .point { return .notApplicable(.nothingLeased) }

        switch condition {
        case .darkSpace(let maximumOccupancy, let baseLoad):
            guard let occupancy = observation.figures.peakOccupancy else { return .noData(.noFigure(.meanOccupancy)) }
            guard let power = observation.figures.meanPower else { return .noData(.noFigure(.power)) }
            let resolveLevel = resolve.level(for: baseLoad)
            let observed = Observation(value: power, limit: baseLoad, resolveLevel: resolveLevel, unit: "kW")
            if occupancy > maximumOccupancy { return .clear(observed) }
            return power <= (alertActive ? resolveLevel : baseLoad) ? .holds(observed) : .clear(observed)
        case .silentPoint:
            // Judged from the point's last reading, not from a window: see `evaluateSilence`.
            return .notApplicable(.judgedElsewhere)
        default:
            break
        }

        guard let value = metric.value(in: observation) else {
            if metric == .occupancyOverCapacity, observation.designCapacity == nil { return .noData(.noDesignCapacity) }
            return .noData(.noFigure(metric))
        }
        let compared: Double
        let limit: Double
        let unit: String
        switch condition {
        case .below(let level):
            (compared, limit, unit) = (value, level, metric.unit)
        case .belowPercentOfCapacity(let percent):
            guard let capacity = observation.designCapacity, capacity > 0 else { return .noData(.noDesignCapacity) }
            (compared, limit, unit) = (value / capacity * 100, percent, "% of capacity")
        case .belowPercentOfBaseline(let percent):
            switch observation.baselines[metric] {
            case .level(let baseline, _)?:
                // A scope idle at this hour anyway cannot fall below its baseline.
                guard baseline > 0 else {
                    return .clear(Observation(value: 100, limit: percent, resolveLevel: resolve.level(for: percent), unit: "% of baseline"))
                }
                (compared, limit, unit) = (value / baseline * 100, percent, "% of baseline")
            case .notEnoughHistory(let weeks, let needed)?:
                return .noData(.notEnoughHistory(weeks: weeks, needed: needed))
            case nil:
                return .noData(.notEnoughHistory(weeks: 0, needed: 1))
            }
        case .belowTarget:
            guard let target = observation.monthlyTarget else { return .noData(.noTarget) }
            (compared, limit, unit) = (value, target, metric.unit)
        case .darkSpace, .silentPoint:
            return .notApplicable(.judgedElsewhere)
        }
        let resolveLevel = resolve.level(for: limit)
        let observed = Observation(value: compared, limit: limit, resolveLevel: resolveLevel, unit: unit)
        return compared < (alertActive ? resolveLevel : limit) ? .holds(observed) : .clear(observed)
    }

    /// Evaluates a silent-point rule at `now`: silent when the point's last reading (or, if it never
    /// reported, the start of watching) is more than `intervals` × `expectedInterval` ago. Always applies.
    public func evaluateSilence(lastReading: Int64?, watchedSince: Int64, expectedInterval: Int64, now: Int64) -> ConditionResult {
        guard case .silentPoint(let intervals) = condition, expectedInterval > 0 else { return .notApplicable(.judgedElsewhere) }
        // Silence counts from the later of the last reading and the start of watching (a restart, or the
        // broker connection coming back): an outage of our own is not the point falling silent. A point
        // not heard since watching began is "no data" until it has been watched long enough to say.
        let heard = lastReading.map { $0 >= watchedSince } ?? false
        let since = heard ? lastReading! : watchedSince
        let silentFor = Double(now - since) / Double(expectedInterval)
        if !heard && silentFor <= intervals { return .noData(.notWatchedLongEnough) }
        // Reported with the whole silence known, for the operator.
        let reported = Double(now - min(since, lastReading ?? since)) / Double(expectedInterval)
        let observed = Observation(value: reported, limit: intervals, resolveLevel: intervals, unit: "intervals")
        return silentFor > intervals ? .holds(observed) : .clear(observed)
    }

    /// When a silent-point rule's condition started to hold, for `for` to count from then.
    func silenceStart(lastReading: Int64?, watchedSince: Int64, expectedInterval: Int64) -> Int64 {
        let since = max(lastReading ?? watchedSince, watchedSince)
        guard case .silentPoint(let intervals) = condition else { return since }
        return since + Int64(intervals * Double(expectedInterval))
    }
}

extension RuleCondition {
    /// The quantities a condition reads, whose gaps make a window "no data".
    func quantities(metric: RuleMetric) -> Set<Quantity> {
        switch self {
        case .darkSpace: [.occupancy, .power]
        case .silentPoint: []
        default: metric.quantities
        }
    }
}
