/// The lifecycle states of an alert.
public enum AlertState: String, Sendable, Codable, CaseIterable {
    case inactive, pending, firing, resolved
}

/// Why a transition happened, for history and for the notification text.
public enum TransitionReason: Sendable, Equatable {
    /// The condition started to hold; `for` has not elapsed.
    case conditionHolds
    /// The condition held for the rule's `for`.
    case heldForDuration
    /// A pending condition no longer holds.
    case conditionCleared
    /// A firing alert passed its resolve level.
    case resolved
    /// A pending condition could not be followed through a window without data.
    case noData(NoDataReason)
    /// Fired again soon after resolving: the same alert, marked flapping.
    case flapping
    /// Stayed resolved (or firing) for the flapping period.
    case flappingEnded
    case acknowledged(Acknowledgement)
    case unacknowledged(by: String)
}

/// One change of an alert, as a value: the store writes it to history and to the outbox in the same
/// transaction as the state it leads to.
public struct AlertTransition: Sendable, Equatable {
    public var fingerprint: AlertFingerprint
    public var rule: String
    public var scope: Scope
    public var scopeID: String
    /// Counts the alerts this rule and scope have raised; a flapping alert keeps its number.
    public var episode: Int
    public var from: AlertState
    public var to: AlertState
    /// Milliseconds since the Unix epoch (the end of the window that caused it).
    public var time: Int64
    public var values: Observation?
    public var reason: TransitionReason
    public var severity: Severity
    public var isFlapping: Bool
}

/// What to deliver, taken from the outbox by the delivery side. Stored in the outbox as JSON (its
/// `Codable` form, camelCase keys); the delivery side renders it for each receiver.
public struct AlertNotification: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case firing, resolved, reminder
        /// Fired again within the flapping period; later flaps are not notified until it settles.
        case flapping
    }

    public var kind: Kind
    public var fingerprint: AlertFingerprint
    public var rule: String
    public var scopeKind: ScopeKind
    public var scopeID: String
    /// Counts the alerts this rule and scope have raised: (fingerprint, episode) names one alert, for
    /// threading its mails and deduplicating its webhooks.
    public var episode: Int
    /// Milliseconds since the Unix epoch: when the change happened.
    public var time: Int64
    /// When the alert started firing, and when it resolved (for a resolved notice).
    public var startsAt: Int64?
    public var endsAt: Int64?
    public var values: Observation?
    public var severity: Severity
    public var isFlapping: Bool
    /// alertname, severity, building, the scope's kind → id, the tenant's labels and the rule's labels.
    public var labels: [String: String]
    /// The rule's annotations (summary, description, runbook…).
    public var annotations: [String: String]
}

/// What the alert state machine asks its owner to do.
public enum AlertAction: Sendable, Equatable {
    /// Write the transition to history and the outbox with the new state.
    case record(AlertTransition)
    /// Queue a notification for delivery.
    case notify(AlertNotification)
}

extension TransitionReason {
    /// A stable code for storage and filtering.
    public var code: String {
        switch self {
        case .conditionHolds: "condition_holds"
        case .heldForDuration: "held_for_duration"
        case .conditionCleared: "condition_cleared"
        case .resolved: "resolved"
        case .noData: "no_data"
        case .flapping: "flapping"
        case .flappingEnded: "flapping_ended"
        case .acknowledged: "acknowledged"
        case .unacknowledged: "unacknowledged"
        }
    }

    /// The particulars in words: which inputs had gaps, who acknowledged and why.
    public var detail: String? {
        switch self {
        case .noData(let reason): reason.description
        case .acknowledged(let acknowledgement):
            acknowledgement.comment.isEmpty ? "by \(acknowledgement.by)" : "by \(acknowledgement.by): \(acknowledgement.comment)"
        case .unacknowledged(let by): "by \(by)"
        default: nil
        }
    }
}

extension NoDataReason: CustomStringConvertible {
    public var description: String {
        switch self {
        case .gaps(let quantities): "gaps in \(quantities.map(\.rawValue).sorted().joined(separator: ", "))"
        case .noFigure(let metric): "no \(metric.rawValue) figure"
        case .notEnoughHistory(let weeks, let needed): "baseline has \(weeks) of \(needed) weeks of history"
        case .noDesignCapacity: "no design capacity configured"
        case .noTarget: "no target configured"
        case .notWatchedLongEnough: "not heard since watching began, too recently to judge"
        }
    }
}
