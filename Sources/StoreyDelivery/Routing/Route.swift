/// A node of the routing tree, Alertmanager's way: an alert enters at the root and goes down to the
/// first child whose matchers all hold (or to every matching child while `continue` is set); the
/// deepest matching node's receiver gets it. Grouping and timing settings are inherited downwards.
public struct Route: Sendable, Equatable {
    public var receiver: String?
    public var matchers: [LabelMatcher] = []
    /// Labels that make a group; `["..."]` groups by every label (each alert alone).
    public var groupBy: [String]?
    public var groupWait: Double?
    public var groupInterval: Double?
    public var repeatInterval: Double?
    /// After a match, go on to the following siblings as well.
    public var `continue` = false
    public var muteTimeIntervals: [String] = []
    public var activeTimeIntervals: [String] = []
    public var routes: [Route] = []

    public init(receiver: String?, matchers: [LabelMatcher] = [], routes: [Route] = []) {
        self.receiver = receiver
        self.matchers = matchers
        self.routes = routes
    }
}

/// What one matching route decides for one alert.
public struct RouteMatch: Sendable, Equatable {
    /// The route's position in the tree (`0`, `0.1`, …): items remember it to find their timing again.
    public var path: String
    public var receiver: String
    public var grouping: Grouping
    public var muteTimeIntervals: [String]
    public var activeTimeIntervals: [String]
}

/// How a route's notifications are gathered into messages.
public struct Grouping: Sendable, Equatable {
    public var groupBy: [String] = ["..."]
    /// Seconds a new group waits for more alerts before its first message.
    public var groupWait: Double = 0
    /// Seconds between two messages of one group.
    public var groupInterval: Double = 0
    /// Seconds within which a reminder of an alert already notified on this route is not sent again.
    public var repeatInterval: Double = 4 * 3600

    public init(groupBy: [String] = ["..."], groupWait: Double = 0, groupInterval: Double = 0, repeatInterval: Double = 4 * 3600) {
        self.groupBy = groupBy
        self.groupWait = groupWait
        self.groupInterval = groupInterval
        self.repeatInterval = repeatInterval
    }

    /// The group an alert belongs to on this route: its values of the `group_by` labels.
    public func groupKey(path: String, labels: [String: String], fingerprint: String) -> String {
        if groupBy.contains("...") { return "\(path)|\(fingerprint)" }
        let parts = groupBy.sorted().map { "\($0)=\(labels[$0] ?? "")" }
        return "\(path)|{\(parts.joined(separator: ","))}"
    }
}

extension Route {
    /// The routes an alert with `labels` takes (at least the root's receiver, when it has one).
    public func matches(_ labels: [String: String]) -> [RouteMatch] {
        match(labels, path: "0", inherited: Grouping(), inheritedReceiver: nil, inheritedMutes: [], inheritedActive: [])
    }

    /// The settings of the route at `path`, for items routed earlier.
    public func match(atPath path: String) -> RouteMatch? {
        let steps = path.split(separator: ".").compactMap { Int($0) }
        guard steps.first == 0 else { return nil }
        var node = self
        var grouping = apply(to: Grouping())
        var receiver = self.receiver
        var mutes = muteTimeIntervals
        var active = activeTimeIntervals
        for step in steps.dropFirst() {
            guard node.routes.indices.contains(step) else { return nil }
            node = node.routes[step]
            grouping = node.apply(to: grouping)
            receiver = node.receiver ?? receiver
            mutes = node.muteTimeIntervals.isEmpty ? mutes : node.muteTimeIntervals
            active = node.activeTimeIntervals.isEmpty ? active : node.activeTimeIntervals
        }
        guard let receiver else { return nil }
        return RouteMatch(path: path, receiver: receiver, grouping: grouping, muteTimeIntervals: mutes, activeTimeIntervals: active)
    }

    private func apply(to inherited: Grouping) -> Grouping {
        var grouping = inherited
        if let groupBy { grouping.groupBy = groupBy }
        if let groupWait { grouping.groupWait = groupWait }
        if let groupInterval { grouping.groupInterval = groupInterval }
        if let repeatInterval { grouping.repeatInterval = repeatInterval }
        return grouping
    }

    private func match(
        _ labels: [String: String], path: String, inherited: Grouping, inheritedReceiver: String?, inheritedMutes: [String],
        inheritedActive: [String]
    ) -> [RouteMatch] {
        guard matchers.allSatisfy({ $0.matches(labels) }) else { return [] }
        let grouping = apply(to: inherited)
        let receiver = self.receiver ?? inheritedReceiver
        let mutes = muteTimeIntervals.isEmpty ? inheritedMutes : muteTimeIntervals
        let active = activeTimeIntervals.isEmpty ? inheritedActive : activeTimeIntervals
        var found: [RouteMatch] = []
        for (index, child) in routes.enumerated() {
            let matched = child.match(
                labels, path: "\(path).\(index)", inherited: grouping, inheritedReceiver: receiver, inheritedMutes: mutes,
                inheritedActive: active)
            found += matched
            if !matched.isEmpty && !child.continue { break }
        }
        if found.isEmpty, let receiver {
            found = [RouteMatch(path: path, receiver: receiver, grouping: grouping, muteTimeIntervals: mutes, activeTimeIntervals: active)]
        }
        return found
    }

    /// Every receiver the tree names, with the path of a route naming it.
    public var receiverNames: [(path: String, receiver: String)] {
        var names: [(String, String)] = []
        func walk(_ route: Route, _ path: String) {
            if let receiver = route.receiver { names.append((path, receiver)) }
            for (index, child) in route.routes.enumerated() { walk(child, "\(path).\(index)") }
        }
        walk(self, "0")
        return names
    }
}
