import Foundation
import Hummingbird
import StoreyCore
import StoreyStore

/// What the alert routes change through the daemon: the underuse monitor applies an acknowledgement or a
/// silence at once and commits it with the transitions it causes (so the outbox sees a silence ending).
public protocol AlertDesk: Sendable {
    func acknowledge(_ fingerprint: String, by: String, comment: String) throws -> Bool
    func unacknowledge(_ fingerprint: String, by: String) throws -> Bool
    func addSilence(_ silence: Silence) throws
    func expireSilence(id: String) throws
}

/// `/api/v1/alerts…` and `/api/v1/silences…`:
/// - `GET alerts?state=&building=&floor=&tenant=&rule=&from=&to=`: alerts as they stand, newest change first;
/// - `GET alerts/history?…` (same filters, and `fingerprint=`): every transition, oldest first;
/// - `GET alerts/{fingerprint}`: one alert and its history;
/// - `POST alerts/{fingerprint}/acknowledgement` `{"by": "…", "comment": "…"}`, `DELETE` the same to take it back;
/// - `GET silences`, `POST silences` `{"matchers": [{"name", "value", "isNegative"}], "startsAt", "endsAt", "createdBy", "comment"}`,
///   `DELETE silences/{id}` (expires it now).
extension OperatorView {
    struct AlertJSON: Codable {
        var fingerprint: String
        var rule: String
        var scope: String
        var state: String
        var episode: Int
        var severity: String
        var flapping: Bool
        var silenced: Bool
        var since: String?
        var resolvedAt: String?
        var value: Double?
        var limit: Double?
        var unit: String?
        var labels: [String: String]
        var annotations: [String: String]
        var acknowledgement: AcknowledgementJSON?
        var updatedAt: String
        var history: [AlertTransitionJSON]?
    }

    struct AcknowledgementJSON: Codable {
        var by: String
        var at: String
        var comment: String
    }

    struct AcknowledgeBody: Codable {
        var by: String?
        var comment: String?
    }

    struct SilenceJSON: Codable {
        var id: String?
        var matchers: [LabelMatcher]
        var startsAt: String?
        var endsAt: String
        var createdBy: String
        var comment: String?
        var active: Bool?
    }

    static func iso(_ milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
    }

    static func json(_ alert: Alert, updatedAt: Int64, history: [TransitionRecord]? = nil) -> AlertJSON {
        AlertJSON(
            fingerprint: alert.fingerprint.value, rule: alert.rule, scope: "\(alert.scope.kind.rawValue):\(alert.scopeID)",
            state: alert.state.rawValue, episode: alert.episode, severity: alert.severity.rawValue, flapping: alert.isFlapping,
            silenced: alert.isSilenced, since: alert.episodeStart.map(iso), resolvedAt: alert.resolvedAt.map(iso),
            value: alert.values?.value, limit: alert.values?.limit, unit: alert.values?.unit, labels: alert.labels,
            annotations: alert.annotations,
            acknowledgement: alert.acknowledgement.map { AcknowledgementJSON(by: $0.by, at: iso($0.at), comment: $0.comment) },
            updatedAt: iso(updatedAt), history: history?.map(AlertTransitionJSON.init))
    }

    /// Sends alert transitions on the event stream as `alert` events (resumable, like window events), in
    /// the shape the history shows them.
    public func publishAlertEvents(_ transitions: [(transition: AlertTransition, place: AlertPlace)]) {
        for (transition, place) in transitions {
            guard let data = try? JSONOutput.encoder.encode(AlertTransitionJSON(transition, place: place)) else { continue }
            _ = events.publishResumable(name: "alert", data: String(decoding: data, as: UTF8.self))
        }
    }

    /// Sends recorded transitions (an estate's, read back from the shared store) as `alert` events.
    public func publishAlertEvents(_ records: [TransitionRecord]) {
        for record in records {
            guard let data = try? JSONOutput.encoder.encode(AlertTransitionJSON(record)) else { continue }
            _ = events.publishResumable(name: "alert", data: String(decoding: data, as: UTF8.self))
        }
    }

    func addAlertRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        let alerts = store
        api.get("alerts") { request, _ -> Response in
            let query = request.uri.queryParameters
            var state: AlertState?
            if let text = query["state"].map(String.init) {
                guard let parsed = AlertState(rawValue: text) else {
                    throw Problem.badParameter("state", "\"\(text)\" is not one of pending, firing, resolved, inactive")
                }
                state = parsed
            }
            let (from, to) = try Self.period(query)
            let (building, floor, tenant, rule) = (query["building"].map(String.init), query["floor"].map(String.init),
                query["tenant"].map(String.init), query["rule"].map(String.init))
            return try await BlockingWork.shared.run { [state] in
                let found = try alerts.alerts(state: state, building: building, floor: floor, tenant: tenant, rule: rule)
                let inPeriod = found.filter { entry in
                    (from.map { entry.updatedAt >= $0 } ?? true) && (to.map { (entry.alert.episodeStart ?? entry.updatedAt) < $0 } ?? true)
                }
                return try JSONOutput.response(["alerts": inPeriod.map { Self.json($0.alert, updatedAt: $0.updatedAt) }])
            }
        }
        api.get("alerts/history") { request, _ -> Response in
            let query = request.uri.queryParameters
            let (from, to) = try Self.period(query)
            let filter = TransitionFilter(
                fingerprint: query["fingerprint"].map(String.init), building: query["building"].map(String.init),
                floor: query["floor"].map(String.init), tenant: query["tenant"].map(String.init), rule: query["rule"].map(String.init),
                from: from, to: to, limit: 10_000)
            return try await BlockingWork.shared.run {
                try JSONOutput.response(["transitions": try alerts.transitions(filter).map(AlertTransitionJSON.init)])
            }
        }
        api.get("alerts/:fingerprint") { _, context -> Response in
            let fingerprint = try context.parameters.require("fingerprint")
            return try await BlockingWork.shared.run {
                guard let entry = try alerts.alert(fingerprint: fingerprint) else {
                    throw Problem.notFound("no alert \(fingerprint)", parameter: "fingerprint")
                }
                let history = try alerts.transitions(TransitionFilter(fingerprint: fingerprint, limit: 10_000))
                return try JSONOutput.response(Self.json(entry.alert, updatedAt: entry.updatedAt, history: history))
            }
        }
        api.post("alerts/:fingerprint/acknowledgement") { request, context -> Response in
            let fingerprint = try context.parameters.require("fingerprint")
            let body = try await Self.decode(AcknowledgeBody.self, from: request, context: context)
            let desk = try self.desk()
            return try await BlockingWork.shared.run {
                guard try alerts.alert(fingerprint: fingerprint) != nil else {
                    throw Problem.notFound("no alert \(fingerprint)", parameter: "fingerprint")
                }
                guard try desk.acknowledge(fingerprint, by: body.by ?? "operator", comment: body.comment ?? "") else {
                    throw Problem(.conflict, type: Problem.base + "not-firing", title: "Only a firing alert can be acknowledged",
                        detail: "alert \(fingerprint) is not firing")
                }
                let entry = try alerts.alert(fingerprint: fingerprint)!
                return try JSONOutput.response(Self.json(entry.alert, updatedAt: entry.updatedAt))
            }
        }
        api.delete("alerts/:fingerprint/acknowledgement") { request, context -> Response in
            let fingerprint = try context.parameters.require("fingerprint")
            let desk = try self.desk()
            let by = request.uri.queryParameters["by"].map(String.init) ?? "operator"
            return try await BlockingWork.shared.run {
                guard try alerts.alert(fingerprint: fingerprint) != nil else {
                    throw Problem.notFound("no alert \(fingerprint)", parameter: "fingerprint")
                }
                guard try desk.unacknowledge(fingerprint, by: by) else {
                    throw Problem(.conflict, type: Problem.base + "not-acknowledged", title: "The alert is not acknowledged",
                        detail: "alert \(fingerprint) is not a firing, acknowledged alert")
                }
                let entry = try alerts.alert(fingerprint: fingerprint)!
                return try JSONOutput.response(Self.json(entry.alert, updatedAt: entry.updatedAt))
            }
        }
        api.get("silences") { request, _ -> Response in
            let now = self.clock() * 1000
            let expired = request.uri.queryParameters["expired"].map(String.init)
            guard expired == nil || expired == "true" || expired == "false" else {
                throw Problem.badParameter("expired", "\"\(expired!)\" is not true or false")
            }
            let all = expired == "true"
            let silences = try await BlockingWork.shared.run { try alerts.loadSilences().filter { all || $0.end > now } }
            return try JSONOutput.response(["silences": silences.map {
                SilenceJSON(id: $0.id, matchers: $0.matchers, startsAt: Self.iso($0.start), endsAt: Self.iso($0.end),
                    createdBy: $0.creator, comment: $0.comment, active: $0.isActive(at: now))
            }])
        }
        api.post("silences") { request, context -> Response in
            let body = try await Self.decode(SilenceJSON.self, from: request, context: context)
            guard !body.matchers.isEmpty else { throw Problem.badParameter("matchers", "a silence needs at least one label matcher") }
            let now = self.clock() * 1000
            let start = try body.startsAt.map { try Self.instant($0, parameter: "startsAt") * 1000 } ?? now
            let end = try Self.instant(body.endsAt, parameter: "endsAt") * 1000
            guard end > start else { throw Problem.badParameter("endsAt", "a silence must end after it starts") }
            let silence = Silence(
                id: UUID().uuidString.lowercased(), matchers: body.matchers, start: start, end: end, creator: body.createdBy,
                comment: body.comment ?? "")
            let desk = try self.desk()
            try await BlockingWork.shared.run { try desk.addSilence(silence) }
            var answer = body
            answer.id = silence.id
            answer.startsAt = Self.iso(start)
            answer.active = silence.isActive(at: now)
            return try JSONOutput.response(answer, status: .created)
        }
        api.delete("silences/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            let desk = try self.desk()
            return try await BlockingWork.shared.run {
                guard try alerts.loadSilences().contains(where: { $0.id == id }) else {
                    throw Problem.notFound("no silence \(id)", parameter: "id")
                }
                try desk.expireSilence(id: id)
                return Response(status: .noContent)
            }
        }
        for path in ["alerts", "alerts/history", "silences"] { knownPaths.declare("/api/v1/" + path, path == "silences" ? [.get, .head, .post] : [.get, .head]) }
    }

    /// `from` and `to` (RFC 3339 or Unix seconds) in milliseconds.
    static func period(_ query: Parameters) throws -> (Int64?, Int64?) {
        let from = try query["from"].map { try instant(String($0), parameter: "from") * 1000 }
        let to = try query["to"].map { try instant(String($0), parameter: "to") * 1000 }
        return (from, to)
    }

    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw Problem(.badRequest, type: Problem.base + "bad-body", title: "The request body is not acceptable",
                detail: "expected JSON \(T.self): \(error)")
        }
    }

    func desk() throws -> AlertDesk {
        guard let desk = alertDesk.withLock({ $0 }) else { throw Problem.unavailable("alerts are not judged by this process") }
        return desk
    }
}
