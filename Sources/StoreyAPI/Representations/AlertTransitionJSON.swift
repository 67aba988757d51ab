import Foundation
import StoreyCore
import StoreyStore

/// One change of an alert as the API shows it, in one shape wherever it appears: an alert's history
/// (`/api/v1/alerts/history`, `/api/v1/alerts/{fingerprint}`) reads it back from the store, the event
/// stream's `alert` event sends it as it happens. OpenAPI: `AlertTransition`.
struct AlertTransitionJSON: Codable, Equatable {
    var fingerprint: String
    var rule: String
    /// `KIND:ID`, e.g. `tenant:xinda-electronics`.
    var scope: String
    var building: String?
    var floor: String?
    var tenant: String?
    var episode: Int
    var from: String
    var to: String
    /// RFC 3339, milliseconds.
    var time: String
    var value: Double?
    var limit: Double?
    var unit: String?
    var reason: String
    var detail: String?
    var severity: String
    var flapping: Bool

    /// A transition read back from history.
    init(_ record: TransitionRecord) {
        fingerprint = record.fingerprint
        rule = record.rule
        scope = "\(record.scopeKind):\(record.scopeID)"
        building = record.building
        floor = record.floor
        tenant = record.tenant
        episode = record.episode
        from = record.from
        to = record.to
        time = OperatorView.iso(record.time)
        value = record.value
        limit = record.limit
        unit = record.unit
        reason = record.reason
        detail = record.detail
        severity = record.severity
        flapping = record.flapping
    }

    /// A transition as the monitor commits it, with the place history records for it.
    init(_ transition: AlertTransition, place: AlertPlace) {
        fingerprint = transition.fingerprint.value
        rule = transition.rule
        scope = "\(transition.scope.kind.rawValue):\(transition.scopeID)"
        building = place.building
        floor = place.floor
        tenant = place.tenant
        episode = transition.episode
        from = transition.from.rawValue
        to = transition.to.rawValue
        time = OperatorView.iso(transition.time)
        value = transition.values?.value
        limit = transition.values?.limit
        unit = transition.values?.unit
        reason = transition.reason.code
        detail = transition.reason.detail
        severity = transition.severity.rawValue
        flapping = transition.isFlapping
    }
}
