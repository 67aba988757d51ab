/// Evaluates the rules of an estate as windows change, and keeps one `Alert` per rule and scope.
///
/// Rules are resolved to scopes once, at load: a changed window finds its rules by one lookup, so the
/// cost of a tick follows the windows that changed, not every rule over every scope. It returns actions
/// for its owner to persist and deliver; it keeps no clock and does no I/O.
public struct UnderuseEvaluator: Sendable {
    public let rules: [UnderuseRule]
    public let topology: Topology
    public var workingTimes: WorkingTimeTable
    public let flapPeriod: Int64
    public let repeatInterval: Int64?
    public private(set) var alerts: [AlertKey: Alert] = [:]
    public private(set) var silences: [Silence] = []
    /// The latest judgement of each rule on each scope, alert or not: what operators look at to see a
    /// baseline still learning or a scope without data.
    public private(set) var latest: [AlertKey: ConditionResult] = [:]

    public struct AlertKey: Sendable, Hashable {
        public var rule: Int
        public var scope: Scope
    }

    private struct WindowKey: Hashable {
        var scope: Scope
        var resolution: Resolution
    }

    private var rulesByWindow: [WindowKey: [Int]] = [:]
    private var silentPointRules: [Int: [Int]] = [:]
    private var lastTick: Int64 = .min

    public init(
        rules: [UnderuseRule], topology: Topology, workingTimes: WorkingTimeTable,
        flapPeriod: Int64 = 3_600_000, repeatInterval: Int64? = 4 * 3_600_000
    ) {
        self.rules = rules
        self.topology = topology
        self.workingTimes = workingTimes
        self.flapPeriod = flapPeriod
        self.repeatInterval = repeatInterval
        for (index, rule) in rules.enumerated() {
            for scope in rule.scope.scopes(in: topology) {
                if rule.isSilentPointRule {
                    silentPointRules[scope.index, default: []].append(index)
                } else {
                    rulesByWindow[WindowKey(scope: scope, resolution: rule.window), default: []].append(index)
                }
            }
        }
    }

    /// The window sizes some rule judges.
    public var resolutions: Set<Resolution> { Set(rulesByWindow.keys.map(\.resolution)) }

    /// The scopes some rule judges at `resolution`, and what each needs to be judged: the quantities
    /// whose gaps matter and the metrics that need a baseline.
    public func watchedScopes(at resolution: Resolution) -> [(scope: Scope, quantities: Set<Quantity>, baselineMetrics: Set<RuleMetric>)] {
        // In scope order, so that what a tick or an evaluation reports comes out the same every run.
        rulesByWindow.sorted { ($0.key.scope.kind.ordinal, $0.key.scope.index) < ($1.key.scope.kind.ordinal, $1.key.scope.index) }
            .compactMap { key, indices in
            guard key.resolution == resolution else { return nil }
            var quantities = Set<Quantity>()
            var baselineMetrics = Set<RuleMetric>()
            for index in indices {
                let rule = rules[index]
                quantities.formUnion(rule.condition.quantities(metric: rule.metric))
                if case .belowPercentOfBaseline = rule.condition { baselineMetrics.insert(rule.metric) }
            }
            return (key.scope, quantities, baselineMetrics)
        }
    }

    /// The points some silent-point rule watches.
    public var watchedPoints: [Int] { Array(silentPointRules.keys).sorted() }

    /// Takes back alerts saved before a restart or kept across a reload: each finds its rule and scope in
    /// this configuration by fingerprint (rule name, scope kind and id). Alerts whose rule or scope is gone
    /// are returned, untouched.
    /// `now` places a pending alert saved before it fired (it has no start yet) for its labels.
    @discardableResult
    public mutating func restore(_ saved: [Alert], now: Int64) -> [Alert] {
        var keys: [AlertFingerprint: AlertKey] = [:]
        for (window, indices) in rulesByWindow {
            for index in indices {
                let key = AlertKey(rule: index, scope: window.scope)
                keys[AlertFingerprint(rule: rules[index].name, scopeKind: window.scope.kind, scopeID: topology.scopeID(window.scope))] = key
            }
        }
        for (point, indices) in silentPointRules {
            for index in indices {
                let scope = Scope(.point, point)
                keys[AlertFingerprint(rule: rules[index].name, scopeKind: .point, scopeID: topology.scopeID(scope))] = AlertKey(rule: index, scope: scope)
            }
        }
        var orphans: [Alert] = []
        for var alert in saved {
            guard let key = keys[alert.fingerprint] else {
                orphans.append(alert)
                continue
            }
            alert.rebind(to: key.scope)
            alert.policy = AlertPolicy(holdFor: rules[key.rule].holdFor, flapPeriod: flapPeriod, repeatInterval: repeatInterval)
            alert.severity = rules[key.rule].severity
            alert.labels = labels(of: key, at: alert.episodeStart ?? alert.firingSince ?? now)
            alert.annotations = rules[key.rule].annotations
            alerts[key] = alert
        }
        return orphans
    }

    /// A window of one scope closed or changed: evaluates the rules that watch it.
    public mutating func windowChanged(_ observation: WindowObservation, now: Int64? = nil) -> [AlertAction] {
        guard let ruleIndices = rulesByWindow[WindowKey(scope: observation.scope, resolution: observation.resolution)]
        else { return [] }
        // Working time is calendar arithmetic: worked out once per window, and only if a rule asks.
        let needsWorkingTime = ruleIndices.contains { rules[$0].applies == .workingTime }
        let workingMinutes = needsWorkingTime
            ? workingTimes.workingTime(of: observation.scope, in: topology)?.workingMinutes(from: observation.start, to: observation.end) ?? 0
            : 0
        var actions: [AlertAction] = []
        for index in ruleIndices {
            let key = AlertKey(rule: index, scope: observation.scope)
            // Most windows hold nothing and have no alert yet: nothing to look up or remember.
            let active = alerts[key]?.isActive ?? false
            let result = rules[index].evaluate(observation, workingMinutes: workingMinutes, alertActive: active)
            latest[key] = result
            actions += handle(.evaluated(result, span: observation.start..<observation.end), for: key, now: now)
        }
        return actions
    }

    /// A point's silence checked at `now` (after it reported, or when its deadline passed).
    public mutating func pointChecked(
        point: Int, lastReading: Int64?, expectedInterval: Int64, watchedSince: Int64, now: Int64
    ) -> [AlertAction] {
        guard let ruleIndices = silentPointRules[point] else { return [] }
        var actions: [AlertAction] = []
        for index in ruleIndices {
            let rule = rules[index]
            let result = rule.evaluateSilence(
                lastReading: lastReading, watchedSince: watchedSince, expectedInterval: expectedInterval, now: now)
            // Silence counts towards `for` from when it began, not from when it was noticed.
            let from = min(now, rule.silenceStart(lastReading: lastReading, watchedSince: watchedSince, expectedInterval: expectedInterval))
            latest[AlertKey(rule: index, scope: Scope(.point, point))] = result
            actions += handle(.evaluated(result, span: from..<now), for: AlertKey(rule: index, scope: Scope(.point, point)))
        }
        return actions
    }

    public mutating func acknowledge(_ fingerprint: AlertFingerprint, _ acknowledgement: Acknowledgement) -> [AlertAction] {
        guard let key = alerts.first(where: { $0.value.fingerprint == fingerprint })?.key else { return [] }
        return handle(.acknowledged(acknowledgement), for: key)
    }

    public mutating func unacknowledge(_ fingerprint: AlertFingerprint, by: String, at time: Int64) -> [AlertAction] {
        guard let key = alerts.first(where: { $0.value.fingerprint == fingerprint })?.key else { return [] }
        return handle(.unacknowledged(by: by, at: time), for: key)
    }

    /// Adds or replaces a silence; effective at once for the alerts it matches.
    public mutating func addSilence(_ silence: Silence, now: Int64) -> [AlertAction] {
        silences.removeAll { $0.id == silence.id }
        silences.append(silence)
        return refreshSilences(now: now)
    }

    public mutating func removeSilence(id: String, now: Int64) -> [AlertAction] {
        silences.removeAll { $0.id == id }
        return refreshSilences(now: now)
    }

    /// Time passes: silences start and end, reminders fall due, flapping settles.
    public mutating func tick(now: Int64) -> [AlertAction] {
        var actions = silences.contains { $0.isActive(at: lastTick) != $0.isActive(at: now) } ? refreshSilences(now: now) : []
        lastTick = now
        silences.removeAll { $0.end <= now }
        for key in alerts.keys where alerts[key]!.state == .firing || alerts[key]!.isFlapping {
            actions += alerts[key]!.handle(.tick(at: now))
        }
        return actions
    }

    /// The labels routes and silences match on: the tenant's own labels, the rule's, and where the alert
    /// is — its scope's id, and the building, floor, space and tenant it lies in (a space's or a point's
    /// tenant is the one leasing the space on the local day of `time`, when the alert started) — with
    /// `rule` (also `alertname`, as Alertmanager names it) and `severity`.
    public func labels(of key: AlertKey, at time: Int64) -> [String: String] {
        let rule = rules[key.rule]
        var place: [String: String] = [:]
        var tenant: Int?
        var space: Int?
        switch key.scope.kind {
        case .tenant: tenant = key.scope.index
        case .space: space = key.scope.index
        case .point:
            let point = topology.points[key.scope.index]
            place["floor"] = topology.floors[point.floorIndex].id
            if case .space(let index) = point.place { space = index }
        case .floor, .building: break
        }
        if let space {
            let floor = topology.spaces[space].floorIndex
            place["space"] = topology.spaces[space].id
            place["floor"] = topology.floors[floor].id
            let timeZone = topology.buildings[topology.floors[floor].buildingIndex].timeZone
            tenant = topology.tenantIndex(ofSpace: space, on: LocalInstant(milliseconds: time, in: timeZone).date)
        }
        if let tenant { place["tenant"] = topology.tenants[tenant].id }
        if let building = topology.buildingIndex(of: key.scope) { place["building"] = topology.buildings[building].id }
        place[key.scope.kind.rawValue] = topology.scopeID(key.scope)

        var labels = tenant.map { topology.tenants[$0].labels } ?? [:]
        labels.merge(rule.labels) { $1 }
        labels.merge(place) { $1 }
        labels["rule"] = rule.name
        labels["alertname"] = rule.name
        labels["severity"] = rule.severity.rawValue
        return labels
    }

    private mutating func handle(_ event: AlertEvent, for key: AlertKey, now: Int64? = nil) -> [AlertAction] {
        if alerts[key] == nil {
            guard case .evaluated(.holds, let span) = event else { return [] }   // nothing to remember yet
            alerts[key] = newAlert(for: key, at: span.upperBound)
        }
        return alerts[key]!.handle(event, now: now)
    }

    private func newAlert(for key: AlertKey, at time: Int64) -> Alert {
        let rule = rules[key.rule]
        let labels = labels(of: key, at: time)
        var alert = Alert(
            rule: rule.name, scope: key.scope, scopeID: topology.scopeID(key.scope), severity: rule.severity,
            policy: AlertPolicy(holdFor: rule.holdFor, flapPeriod: flapPeriod, repeatInterval: repeatInterval),
            labels: labels, annotations: rule.annotations)
        if silences.contains(where: { $0.isActive(at: time) && $0.matches(labels) }) {
            _ = alert.handle(.silenceStarted(at: time))
        }
        return alert
    }

    private mutating func refreshSilences(now: Int64) -> [AlertAction] {
        // `tick` finds silences that started or ended by comparing with the last time it looked.
        lastTick = max(lastTick, now)
        var actions: [AlertAction] = []
        for key in alerts.keys {
            let silenced = silences.contains { $0.isActive(at: now) && $0.matches(alerts[key]!.labels) }
            if silenced && !alerts[key]!.isSilenced {
                actions += alerts[key]!.handle(.silenceStarted(at: now))
            } else if !silenced && alerts[key]!.isSilenced {
                actions += alerts[key]!.handle(.silenceEnded(at: now))
            }
        }
        return actions
    }
}
