import Foundation
import Hummingbird
import StoreyCore
import StoreyStore

/// `GET /api/v1/reports/tenants` and `/api/v1/reports/buildings`: density figures for a month
/// (`month=2026-11`) or any period of whole local days (`from=2026-11-01&to=2026-11-15`), as JSON or
/// CSV (`format=csv`, or `Accept: text/csv`).
extension OperatorView {
    struct ReportJSON: Codable {
        var from: String
        var to: String
        var months: Double
        var lines: [DensityReportLine]
    }

    func addReportRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        api.get("reports/tenants") { request, _ -> Response in
            try await BlockingWork.shared.run { try self.reportResponse(request, kind: .tenant) }
        }
        api.get("reports/buildings") { request, _ -> Response in
            try await BlockingWork.shared.run { try self.reportResponse(request, kind: .building) }
        }
    }

    func reportResponse(_ request: Request, kind: ScopeKind) throws -> Response {
        let parameters = request.uri.queryParameters
        let csv: Bool
        switch parameters["format"].map(String.init) {
        case "csv": csv = true
        case "json": csv = false
        case nil: csv = request.headers[.accept]?.contains("text/csv") ?? false
        case let other?: throw Problem.badParameter("format", "\"\(other)\" is not a format; use json or csv")
        }
        let report = try self.report(
            kind: kind, month: parameters["month"].map(String.init), from: parameters["from"].map(String.init),
            to: parameters["to"].map(String.init), building: parameters["building"].map(String.init),
            tenant: kind == .tenant ? parameters["tenant"].map(String.init) : nil)
        guard csv else { return try JSONOutput.response(report) }
        let name = "storey-\(kind.rawValue)s-\(report.from)-\(report.to).csv"
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\""],
            body: ResponseBody(byteBuffer: ByteBuffer(string: ReportCSV.render(report.lines))))
    }

    func report(kind: ScopeKind, month: String?, from: String?, to: String?, building: String?, tenant: String?) throws -> ReportJSON {
        let snapshot = self.snapshot
        let topology = snapshot.topology
        let workingTimes = self.workingTimes
        let period = try Self.period(month: month, from: from, to: to)
        var buildingIndex: Int?
        if let building {
            guard let scope = snapshot.scope(kind: .building, id: building) else {
                throw Problem.notFound("there is no building \"\(building)\" in the topology", parameter: "building")
            }
            buildingIndex = scope.index
        }
        var scopes: [Scope]
        switch kind {
        case .tenant:
            if let tenant {
                guard let scope = snapshot.scope(kind: .tenant, id: tenant) else {
                    throw Problem.notFound("there is no tenant \"\(tenant)\" in the topology", parameter: "tenant")
                }
                scopes = [scope]
            } else {
                scopes = topology.tenants.indices.map { Scope(.tenant, $0) }
            }
        default:
            scopes = topology.buildings.indices.map { Scope(.building, $0) }
        }
        if let buildingIndex { scopes = scopes.filter { topology.buildingIndex(of: $0) == buildingIndex } }

        // Occupancy and presence by hour of every scope of this kind in one indexed query (one per scope was
        // too slow for a tower of tenants), kept by scope id; each scope takes its own period from them.
        var hourRows: [String: [StoredFigure]] = [:]
        if !scopes.isEmpty {
            let zones = scopes.map { snapshot.timeZone(of: $0) }
            let from = zones.map { $0.startOfDay(period.from) }.min()!
            let to = zones.map { $0.startOfDay(period.to.adding(days: 1)) }.max()!
            for row in try store.figures(kind: kind, resolution: .hour, from: from, to: to) where row.quantity == .occupancy || row.quantity == .presence {
                hourRows[row.scopeID, default: []].append(row)
            }
        }

        var lines: [DensityReportLine] = []
        for scope in scopes {
            let zone = snapshot.timeZone(of: scope)
            let rows = try store.figures(
                scope: scope.kind, id: topology.scopeID(scope), resolution: .day, quantity: nil,
                from: zone.startOfDay(period.from), to: zone.startOfDay(period.to.adding(days: 1)))
            let start = zone.startOfDay(period.from)
            let end = zone.startOfDay(period.to.adding(days: 1))
            var working: WorkingTimeLevels?
            if let workingTime = workingTimes.workingTime(of: scope, in: topology) {
                let hours = (hourRows[topology.scopeID(scope)] ?? []).filter { $0.windowStart >= start && $0.windowStart < end }
                working = try workingTimeLevels(of: scope, workingTime: workingTime, hourRows: hours, topology: topology)
            }
            lines.append(DensityReportLine.make(
                scope: scope, topology: topology, period: period, dayRows: rows.map { ($0.quantity, $0.values) },
                working: working, workingHours: working?.scheduledHours(from: start, to: end)))
        }
        return ReportJSON(from: period.from.description, to: period.to.description, months: period.months, lines: lines)
    }

    /// Occupancy and presence of `scope` in its working time, from its hour rows (`hourRows`, the period's)
    /// for hours wholly worked, and minute rows for the hours a shift starts or ends in.
    func workingTimeLevels(of scope: Scope, workingTime: WorkingTime, hourRows: [StoredFigure], topology: Topology) throws -> WorkingTimeLevels {
        var levels = WorkingTimeLevels(workingTime: workingTime)
        let id = topology.scopeID(scope)
        for quantity in [Quantity.occupancy, .presence] {
            let hours = hourRows.filter { $0.quantity == quantity }
            guard !hours.isEmpty else { continue }
            levels.addHours(hours.map { ($0.windowStart, $0.values) }, of: quantity)
            let partly = levels.partlyWorkedHours(hours.map(\.windowStart))
            // A few hours a working day (a shift's first and last, where there was data): their minutes only.
            for hour in partly.sorted() {
                let minutes = try store.figures(scope: scope.kind, id: id, resolution: .minute, quantity: quantity, from: hour, to: hour + 3600)
                levels.addMinutes(minutes.map { ($0.windowStart, $0.values) }, of: quantity, partlyWorkedHours: partly)
            }
        }
        return levels
    }

    /// The longest period a report covers: ten years of days.
    static let longestReport = 3660

    static func period(month: String?, from: String?, to: String?) throws(Problem) -> ReportPeriod {
        if let month {
            guard from == nil, to == nil else { throw Problem.badParameter("month", "give month, or from and to, not both") }
            let parts = month.split(separator: "-")
            guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let number = Int(parts[1]),
                (1...12).contains(number), year >= 1
            else {
                throw Problem.badParameter("month", "\"\(month)\" is not a month; write YYYY-MM, e.g. 2026-11")
            }
            return ReportPeriod(
                from: LocalDate(year: year, month: number, day: 1),
                to: LocalDate(year: year, month: number, day: LocalDate.daysIn(month: number, year: year)))
        }
        guard let from else { throw Problem.badParameter("month", "give month=YYYY-MM, or from=YYYY-MM-DD and to=YYYY-MM-DD") }
        guard let start = LocalDate(from), start.year >= 1 else { throw Problem.badParameter("from", "\"\(from)\" is not a date; write YYYY-MM-DD") }
        guard let to else { throw Problem.badParameter("to", "to is required with from (the last day of the period, YYYY-MM-DD)") }
        guard let end = LocalDate(to) else { throw Problem.badParameter("to", "\"\(to)\" is not a date; write YYYY-MM-DD") }
        guard start <= end else { throw Problem.badParameter("to", "to (\(to)) is before from (\(from))") }
        guard end.daysSinceEpoch - start.daysSinceEpoch < longestReport else {
            throw Problem.badParameter("to", "a report covers at most \(longestReport) days")
        }
        return ReportPeriod(from: start, to: end)
    }
}
