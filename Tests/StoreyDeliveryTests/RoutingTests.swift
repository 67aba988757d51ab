import Foundation
import StoreyCore
import Testing

@testable import StoreyDelivery

@Suite struct RoutingTests {
    let labels = ["alertname": "low-energy", "severity": "critical", "building": "t1", "tenant": "alpha", "chain": "electronics"]

    @Test func matchersReadAlertmanagerSyntax() throws {
        #expect(try LabelMatcher(parsing: #"severity="critical""#).matches(labels))
        #expect(try !LabelMatcher(parsing: #"severity!="critical""#).matches(labels))
        #expect(try LabelMatcher(parsing: #"building=~"t1|t2""#).matches(labels))
        #expect(try !LabelMatcher(parsing: #"building=~"t"#).matches(labels), "a regular expression matches the whole value")
        #expect(try LabelMatcher(parsing: #"floor!~".+""#).matches(labels), "a missing label is the empty value")
        #expect(try LabelMatcher(parsing: "tenant = alpha").matches(labels))
        #expect(throws: DeliveryError.self) { try LabelMatcher(parsing: "severity") }
        #expect(throws: DeliveryError.self) { try LabelMatcher(parsing: #"building=~"(""#) }
    }

    @Test func anAlertGoesToTheFirstMatchingChildUnlessItContinues() throws {
        var critical = Route(receiver: "pager", matchers: [try LabelMatcher(parsing: #"severity="critical""#)])
        critical.continue = true
        let electronics = Route(receiver: "chain-bot", matchers: [try LabelMatcher(parsing: #"chain="electronics""#)])
        let tenant = Route(receiver: "tenant-mail", matchers: [try LabelMatcher(parsing: #"tenant="alpha""#)])
        let root = Route(receiver: "ops", routes: [critical, electronics, tenant])

        #expect(root.matches(labels).map(\.receiver) == ["pager", "chain-bot"])
        #expect(root.matches(labels).map(\.path) == ["0.0", "0.1"])
        var warning = labels
        warning["severity"] = "warning"
        #expect(root.matches(warning).map(\.receiver) == ["chain-bot"])
        #expect(root.matches(["alertname": "x"]).map(\.receiver) == ["ops"], "no child matches: the root's receiver")
    }

    @Test func childrenInheritGroupingAndReceiverAndPathsFindThemAgain() throws {
        var child = Route(receiver: nil, matchers: [try LabelMatcher(parsing: #"building="t1""#)])
        child.groupWait = 30
        child.muteTimeIntervals = ["nights"]
        var root = Route(receiver: "ops", routes: [child])
        root.groupBy = ["building"]
        root.groupInterval = 300

        let match = try #require(root.matches(labels).first)
        #expect(match.receiver == "ops")
        #expect(match.grouping == Grouping(groupBy: ["building"], groupWait: 30, groupInterval: 300))
        #expect(match.muteTimeIntervals == ["nights"])
        #expect(root.match(atPath: match.path) == match)
        #expect(root.match(atPath: "0.7") == nil)
        #expect(match.grouping.groupKey(path: "0.0", labels: labels, fingerprint: "f") == "0.0|{building=t1}")
        #expect(Grouping().groupKey(path: "0", labels: labels, fingerprint: "f") == "0|f", "by default each alert is its own group")
    }

    @Test func timeIntervalsHoldInTheirOwnTimeZone() throws {
        let shanghai = TimeZone(identifier: "Asia/Shanghai")!
        let nights = TimeIntervalSet(name: "nights", timeZone: shanghai, intervals: [
            TimeIntervalRule(weekdays: [.monday, .tuesday, .wednesday, .thursday, .friday], times: [Shift("22:00-07:00")!]),
            TimeIntervalRule(dates: [LocalDate("2026-10-01")!...LocalDate("2026-10-07")!]),
        ])
        func at(_ text: String) -> Int64 {
            let formatter = ISO8601DateFormatter()
            return Int64(formatter.date(from: text)!.timeIntervalSince1970 * 1000)
        }
        #expect(nights.contains(at("2026-11-23T15:00:00Z")), "Monday 23:00 in Shanghai")
        #expect(nights.contains(at("2026-11-23T22:30:00Z")), "Tuesday 06:30 in Shanghai")
        #expect(!nights.contains(at("2026-11-23T23:30:00Z")), "Tuesday 07:30 in Shanghai")
        #expect(!nights.contains(at("2026-11-21T15:00:00Z")), "Saturday 23:00: not a weekday")
        #expect(nights.contains(at("2026-10-03T04:00:00Z")), "the National Day week, all day")

        var route = Route(receiver: "ops")
        route.muteTimeIntervals = ["nights"]
        let match = try #require(route.matches(labels).first)
        #expect(!match.isActive(at: at("2026-11-23T15:00:00Z"), intervals: ["nights": nights]))
        #expect(match.isActive(at: at("2026-11-24T03:00:00Z"), intervals: ["nights": nights]))
        var active = match
        active.muteTimeIntervals = []
        active.activeTimeIntervals = ["nights"]
        #expect(!active.isActive(at: at("2026-11-24T03:00:00Z"), intervals: ["nights": nights]), "outside its active intervals a route is muted")
    }
}
