/// How an alert's lifecycle is timed, all in milliseconds.
public struct AlertPolicy: Sendable, Equatable, Codable {
    /// The rule's `for`.
    public var holdFor: Int64
    /// An alert that fires again within this time after resolving is the same alert, marked flapping,
    /// and its resolve is notified only once it has stayed resolved this long.
    public var flapPeriod: Int64
    /// A firing, unacknowledged, unsilenced alert is notified again after this long; nil for never.
    public var repeatInterval: Int64?

    public init(holdFor: Int64, flapPeriod: Int64 = 3_600_000, repeatInterval: Int64? = nil) {
        self.holdFor = holdFor
        self.flapPeriod = flapPeriod
        self.repeatInterval = repeatInterval
    }
}

/// What an alert is told.
public enum AlertEvent: Sendable, Equatable {
    /// The condition's result over `span` (milliseconds): a window, or for a silent point the time since
    /// it went silent. Spans already seen are not counted twice towards `for`.
    case evaluated(ConditionResult, span: Range<Int64>)
    case acknowledged(Acknowledgement)
    /// An acknowledgement taken back (by whom, when): reminders resume.
    case unacknowledged(by: String, at: Int64)
    case silenceStarted(at: Int64)
    case silenceEnded(at: Int64)
    /// Time passes: reminders, and the end of a flapping period.
    case tick(at: Int64)
}

/// One rule on one scope: the alert lifecycle as a value. It takes an event and returns actions; it does
/// no I/O, so it is tested without a clock or a store, and its owner persists it with the transitions.
///
/// inactive → pending (holds, `for` not elapsed) → firing → resolved → (pending → firing …)
///
/// `Codable` is its snapshot: the store keeps it beside the transitions, so that after a restart pending
/// timers go on counting and firing alerts stay firing.
public struct Alert: Sendable, Equatable, Codable {
    public let fingerprint: AlertFingerprint
    public let rule: String
    /// Its index is the topology's of the moment: after a reload or restart the owner rebinds it by id.
    public private(set) var scope: Scope
    public let scopeID: String
    public var severity: Severity
    public var labels: [String: String]
    public var annotations: [String: String]
    public var policy: AlertPolicy

    public private(set) var state: AlertState = .inactive
    public private(set) var episode = 0
    /// Time the condition has held, counted over the spans evaluated since it started holding.
    public private(set) var heldFor: Int64 = 0
    /// The end of the latest span counted: later spans count only beyond it.
    public private(set) var evaluatedUntil: Int64 = .min
    public private(set) var firingSince: Int64?
    /// When this episode first fired (flapping keeps it), for notifications' start time.
    public private(set) var episodeStart: Int64?
    public private(set) var resolvedAt: Int64?
    public private(set) var isFlapping = false
    public private(set) var isSilenced = false
    public private(set) var acknowledgement: Acknowledgement?
    public private(set) var values: Observation?
    public private(set) var lastNotified: Int64?
    /// A resolve held back while flapping, notified once the alert has stayed resolved.
    private var resolveOwed = false
    /// The wall clock during one `handle` call.
    private var sentClock: Int64?

    public init(
        rule: String, scope: Scope, scopeID: String, severity: Severity, policy: AlertPolicy,
        labels: [String: String] = [:], annotations: [String: String] = [:]
    ) {
        self.fingerprint = AlertFingerprint(rule: rule, scopeKind: scope.kind, scopeID: scopeID)
        self.rule = rule
        self.scope = scope
        self.scopeID = scopeID
        self.severity = severity
        self.policy = policy
        self.labels = labels
        self.annotations = annotations
    }

    /// The same alert on the scope's index in a reloaded topology.
    public mutating func rebind(to scope: Scope) {
        precondition(scope.kind == self.scope.kind, "an alert keeps its scope kind")
        self.scope = scope
    }

    /// Firing: the evaluator asks rules for their resolve level instead of their limit.
    public var isActive: Bool { state == .firing }

    /// `now` is the wall clock, when it differs from the event's data time (a window judged late, from
    /// readings delivered after an outage): reminders count from when a notice was actually sent.
    public mutating func handle(_ event: AlertEvent, now: Int64? = nil) -> [AlertAction] {
        sentClock = now
        defer { sentClock = nil }
        return switch event {
        case .evaluated(let result, let span): evaluated(result, span: span)
        case .acknowledged(let acknowledgement): acknowledged(acknowledgement)
        case .unacknowledged(let by, let time): unacknowledged(by: by, at: time)
        case .silenceStarted: silenceStarted()
        case .silenceEnded(let time): silenceEnded(at: time)
        case .tick(let time): tick(at: time)
        }
    }

    private mutating func evaluated(_ result: ConditionResult, span: Range<Int64>) -> [AlertAction] {
        // A window seen again (a late reading changed it) does not count twice.
        guard span.upperBound > evaluatedUntil else { return [] }
        let counted = span.upperBound - max(span.lowerBound, evaluatedUntil)
        evaluatedUntil = span.upperBound
        let time = span.upperBound
        switch result {
        case .notApplicable:
            return []
        case .noData(let reason):
            // Underuse is not claimed across a gap, and not denied either: a pending count starts over,
            // a firing alert stays as it is until there is data to judge.
            guard state == .pending else { return [] }
            heldFor = 0
            return [move(to: restingState, at: time, reason: .noData(reason))]
        case .clear(let observed):
            values = observed
            heldFor = 0
            switch state {
            case .pending:
                return [move(to: restingState, at: time, reason: .conditionCleared)]
            case .firing:
                var actions = [move(to: .resolved, at: time, reason: .resolved)]
                resolvedAt = time
                firingSince = nil
                acknowledgement = nil
                if isFlapping || isSilenced {
                    resolveOwed = isFlapping
                } else {
                    actions.append(notify(.resolved, at: time))
                }
                return actions
            case .resolved:
                return tick(at: time)
            case .inactive:
                return []
            }
        case .holds(let observed):
            values = observed
            switch state {
            case .inactive, .resolved:
                heldFor = counted
                return heldFor >= policy.holdFor
                    ? fire(at: time) : [move(to: .pending, at: time, reason: .conditionHolds)]
            case .pending:
                heldFor += counted
                return heldFor >= policy.holdFor ? fire(at: time) : []
            case .firing:
                heldFor += counted
                return tick(at: time)
            }
        }
    }

    private mutating func fire(at time: Int64) -> [AlertAction] {
        if let resolvedAt, time - resolvedAt <= policy.flapPeriod {
            // The same alert again: one alert, marked flapping, notified once for the whole flapping.
            let wasFlapping = isFlapping
            isFlapping = true
            resolveOwed = false
            firingSince = time
            self.resolvedAt = nil
            var actions = [move(to: .firing, at: time, reason: .flapping)]
            if !wasFlapping && !isSilenced { actions.append(notify(.flapping, at: time)) }
            return actions
        }
        episode += 1
        isFlapping = false
        acknowledgement = nil
        firingSince = time
        episodeStart = time
        resolvedAt = nil
        var actions = [move(to: .firing, at: time, reason: .heldForDuration)]
        if !isSilenced { actions.append(notify(.firing, at: time)) }
        return actions
    }

    private mutating func unacknowledged(by: String, at time: Int64) -> [AlertAction] {
        guard state == .firing, acknowledgement != nil else { return [] }
        acknowledgement = nil
        return [move(to: .firing, at: time, reason: .unacknowledged(by: by))]
    }

    private mutating func acknowledged(_ acknowledgement: Acknowledgement) -> [AlertAction] {
        guard state == .firing else { return [] }
        self.acknowledgement = acknowledgement
        return [move(to: .firing, at: acknowledgement.at, reason: .acknowledged(acknowledgement))]
    }

    private mutating func silenceStarted() -> [AlertAction] {
        isSilenced = true
        return []
    }

    /// Delivery was held back, not the state: a firing alert is notified the moment its silence ends.
    private mutating func silenceEnded(at time: Int64) -> [AlertAction] {
        isSilenced = false
        guard state == .firing else { return [] }
        return [notify(isFlapping ? .flapping : .firing, at: time)]
    }

    private mutating func tick(at time: Int64) -> [AlertAction] {
        switch state {
        case .firing:
            if isFlapping, let since = firingSince, time - since >= policy.flapPeriod {
                isFlapping = false
                return [move(to: .firing, at: time, reason: .flappingEnded)]
            }
            if let repeatInterval = policy.repeatInterval, let last = lastNotified, time - last >= repeatInterval,
                acknowledgement == nil, !isSilenced
            {
                return [notify(.reminder, at: time)]
            }
            return []
        case .resolved:
            guard isFlapping, let resolvedAt, time - resolvedAt >= policy.flapPeriod else { return [] }
            isFlapping = false
            var actions = [move(to: .resolved, at: time, reason: .flappingEnded)]
            if resolveOwed && !isSilenced { actions.append(notify(.resolved, at: time)) }
            resolveOwed = false
            return actions
        case .inactive, .pending:
            return []
        }
    }

    private var restingState: AlertState { episode > 0 ? .resolved : .inactive }

    private mutating func move(to next: AlertState, at time: Int64, reason: TransitionReason) -> AlertAction {
        let transition = AlertTransition(
            fingerprint: fingerprint, rule: rule, scope: scope, scopeID: scopeID, episode: episode, from: state, to: next,
            time: time, values: values, reason: reason, severity: severity, isFlapping: isFlapping)
        state = next
        return .record(transition)
    }

    private mutating func notify(_ kind: AlertNotification.Kind, at time: Int64) -> AlertAction {
        lastNotified = max(time, sentClock ?? time)
        return .notify(AlertNotification(
            kind: kind, fingerprint: fingerprint, rule: rule, scopeKind: scope.kind, scopeID: scopeID, episode: episode,
            time: time, startsAt: episodeStart, endsAt: state == .resolved ? resolvedAt : nil, values: values,
            severity: severity, isFlapping: isFlapping, labels: labels, annotations: annotations))
    }
}
