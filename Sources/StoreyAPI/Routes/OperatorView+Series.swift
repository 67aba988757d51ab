import Foundation
import Hummingbird
import StoreyCore

/// `GET /api/v1/series?scope=KIND:ID&resolution=…&from=…&to=…[&figure=NAME]`: the figures of one scope,
/// window by window, oldest first. Windows with no stored rows are left out (no data is not zero).
extension OperatorView {
    struct SeriesJSON: Codable {
        var scope: String
        var resolution: String
        var from: String
        var to: String
        var figure: String?
        var windows: [SeriesWindowJSON]
    }

    struct SeriesWindowJSON: Codable {
        var windowStart: String
        /// The one figure asked for (with `figure=`).
        var value: Double?
        /// Every figure of the window (without `figure=`).
        var figures: FiguresJSON?
    }

    /// The longest period a series may cover at each resolution, and the default one.
    static func seriesLimits(_ resolution: Resolution) -> (maximum: Int64, default: Int64) {
        switch resolution {
        case .minute: (7 * 86400, 3600)
        case .hour: (366 * 86400, 86400)
        case .day: (10 * 366 * 86400, 31 * 86400)
        case .month: (50 * 366 * 86400, 366 * 86400)
        }
    }

    func addSeriesRoutes<Context: RequestContext>(to api: RouterGroup<Context>) {
        api.get("series") { request, _ -> Response in
            let query = SeriesQuery(request.uri.queryParameters)
            // Dashboards on a wall ask for the same series every few seconds: one computation a second
            // serves them all (a window still open moves on by the minute at most), made in the
            // background while the last one is given for up to 4 s more.
            let key = [query.scope, query.resolution, query.from, query.to, query.figure].map { $0 ?? "" }.joined(separator: "\u{1F}")
            let answer = try await BlockingWork.shared.run {
                try self.seriesCache.value(for: key, maximumAge: .seconds(1), servingStaleFor: .seconds(4)) { try JSONOutput.encoder.encode(try self.seriesJSON(query)) }
            }
            return answer.response(to: request)
        }
    }

    struct SeriesQuery: Sendable {
        var scope: String?
        var resolution: String?
        var from: String?
        var to: String?
        var figure: String?
        init(scope: String? = nil, resolution: String? = nil, from: String? = nil, to: String? = nil, figure: String? = nil) {
            self.scope = scope
            self.resolution = resolution
            self.from = from
            self.to = to
            self.figure = figure
        }
        init(_ parameters: Parameters) {
            self.init(
                scope: parameters["scope"].map(String.init), resolution: parameters["resolution"].map(String.init),
                from: parameters["from"].map(String.init), to: parameters["to"].map(String.init), figure: parameters["figure"].map(String.init))
        }
    }

    func seriesJSON(_ query: SeriesQuery) throws -> SeriesJSON {
        let snapshot = self.snapshot
        guard let scopeText = query.scope else {
            throw Problem.badParameter("scope", "scope is required: KIND:ID, e.g. tenant:xinda-electronics or building:tower-a")
        }
        let scope = try ScopeName.parse(scopeText, in: snapshot, parameter: "scope")
        var resolution = Resolution.hour
        if let text = query.resolution {
            guard let parsed = Resolution(rawValue: text) else {
                throw Problem.badParameter("resolution", "\"\(text)\" is not a resolution; use minute, hour, day or month")
            }
            resolution = parsed
        }
        var figure: FigureName?
        if let text = query.figure {
            guard let parsed = FigureName(rawValue: text) else {
                throw Problem.badParameter("figure", "\"\(text)\" is not a figure; use one of \(FigureName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            figure = parsed
        }
        let limits = Self.seriesLimits(resolution)
        let to = try query.to.map { try Self.instant($0, parameter: "to") } ?? clock()
        let from = try query.from.map { try Self.instant($0, parameter: "from") } ?? (to - limits.default)
        guard from < to else { throw Problem.badParameter("from", "from must be before to") }
        guard to - from <= limits.maximum else {
            throw Problem.badParameter("from", "a \(resolution.rawValue) series covers at most \(limits.maximum / 86400) days; ask for a shorter period or a coarser resolution")
        }
        let rows = try store.figures(scope: scope.kind, id: snapshot.topology.scopeID(scope), resolution: resolution, quantity: nil, from: from, to: to)
        let assembled = snapshot.assemble(rows)
        let windows = assembled.keys.map(\.windowStart).sorted().compactMap { start -> SeriesWindowJSON? in
            let figures = assembled[ScopeWindow(scope: scope, windowStart: start)]!
            if let figure {
                // A window without data for this figure is left out, as windows without rows are.
                guard let value = figure.value(of: figures) else { return nil }
                return SeriesWindowJSON(windowStart: Timestamps.format(seconds: start), value: value, figures: nil)
            }
            return SeriesWindowJSON(windowStart: Timestamps.format(seconds: start), value: nil, figures: FiguresJSON(figures, resolution: resolution))
        }
        return SeriesJSON(
            scope: scopeText, resolution: resolution.rawValue, from: Timestamps.format(seconds: from), to: Timestamps.format(seconds: to),
            figure: figure?.rawValue, windows: windows)
    }

    static func instant(_ text: String, parameter: String) throws(Problem) -> Int64 {
        guard let seconds = Timestamps.parse(text), seconds > -62_135_596_800, seconds < 253_402_300_800 else {
            throw Problem.badParameter(parameter, "\"\(text)\" is not an instant; write RFC 3339 (2026-11-27T08:00:00Z) or Unix seconds")
        }
        return seconds
    }
}
