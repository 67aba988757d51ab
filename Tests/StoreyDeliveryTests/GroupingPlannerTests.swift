import StoreyStore
import Testing

@testable import StoreyDelivery

@Suite struct GroupingPlannerTests {
    func configuration(grouping: (inout Route) -> Void = { _ in }) -> DeliveryConfiguration {
        var route = Route(receiver: "hook")
        grouping(&route)
        var configuration = DeliveryConfiguration(
            receivers: [
                Receiver(name: "hook", kind: .webhook(WebhookReceiver(url: "http://127.0.0.1:1/"))),
                Receiver(name: "mail", kind: .email(EmailReceiver(host: "127.0.0.1", port: 25, from: "storey@example.com", to: ["a@example.com"]))),
            ],
            route: route)
        configuration.timeIntervals["always"] = TimeIntervalSet(name: "always", timeZone: .gmt, intervals: [TimeIntervalRule()])
        return configuration
    }

    func item(_ id: Int64, _ kind: String = "firing", fingerprint: String = "f1", receiver: String = "hook", routedAt: Int64 = 0, held: Bool = false, episode: Int = 1) -> WaitingItem {
        WaitingItem(
            channel: DeliveryChannel(receiver: receiver, recipient: receiver == "mail" ? "a@example.com" : "", groupKey: "0|\(fingerprint)"),
            route: "0", outboxID: id, fingerprint: fingerprint, episode: episode, kind: kind, routedAt: routedAt, held: held)
    }

    @Test func withoutWaitingEachNotificationIsItsOwnMessageInOrder() {
        let planner = GroupingPlanner(configuration: configuration())
        let plan = planner.plan([item(1), item(2, "resolved"), item(3, fingerprint: "f2")], facts: GroupingFacts(), now: 10)
        #expect(plan.messages.map(\.items) == [[1], [2], [3]])
        #expect(Set(plan.messages.map(\.messageKey)).count == 3)
        #expect(plan.messages.allSatisfy { $0.messageKey.hasPrefix("msg_") })
        #expect(planner.plan([item(1)], facts: GroupingFacts(), now: 99).messages[0].messageKey == plan.messages[0].messageKey, "the id depends only on what the message carries")
    }

    @Test func aGroupWaitsThenGoesOutTogetherAndLaterAfterItsInterval() {
        let planner = GroupingPlanner(configuration: configuration { $0.groupWait = 30; $0.groupInterval = 300 })
        let waiting = [item(1, routedAt: 1000), item(2, "resolved", routedAt: 5000)]
        let early = planner.plan(waiting, facts: GroupingFacts(), now: 20_000)
        #expect(early.messages.isEmpty)
        #expect(early.nextDueAt == 31_000)
        let due = planner.plan(waiting, facts: GroupingFacts(), now: 31_000)
        #expect(due.messages.map(\.items) == [[1, 2]])

        var facts = GroupingFacts()
        facts.lastMessageAt[waiting[0].channel] = 31_000
        let next = [item(3, "firing", routedAt: 40_000, episode: 2)]
        #expect(planner.plan(next, facts: facts, now: 100_000).nextDueAt == 331_000)
        #expect(planner.plan(next, facts: facts, now: 331_000).messages.map(\.items) == [[3]])
    }

    @Test func whileMutedItemsAreHeldAndAfterwardsOnlyEachAlertsLatestNoticeGoes() {
        var muted = configuration { $0.muteTimeIntervals = ["always"] }
        let planner = GroupingPlanner(configuration: muted)
        let plan = planner.plan([item(1), item(2, fingerprint: "f2")], facts: GroupingFacts(), now: 0)
        #expect(plan.messages.isEmpty)
        #expect(plan.held.map(\.1) == [1, 2])

        muted.route.muteTimeIntervals = []
        let after = GroupingPlanner(configuration: muted)
        let held = [
            item(1, held: true), item(3, "reminder", held: true),  // f1 still firing: its latest notice goes
            item(2, fingerprint: "f2", held: true), item(4, "resolved", fingerprint: "f2", held: true),  // f2 came and went unseen
            item(5, fingerprint: "f3"),  // arrived after the mute: as usual
        ]
        let resumed = after.plan(held, facts: GroupingFacts(), now: 0)
        #expect(resumed.messages.map(\.items) == [[3], [5]])
        #expect(resumed.skipped.map(\.1) == [1, 2, 4])
        #expect(resumed.skipped.map(\.2) == ["superseded while muted", "superseded while muted", "resolved while muted, never notified"])
    }

    @Test func remindersWithinTheRepeatIntervalAreSkipped() {
        let planner = GroupingPlanner(configuration: configuration { $0.repeatInterval = 3600 })
        let reminder = item(7, "reminder")
        var facts = GroupingFacts()
        facts.lastSent[ChannelEpisode(channel: reminder.channel, fingerprint: "f1", episode: 1)] = 1_000_000
        #expect(planner.plan([reminder], facts: facts, now: 1_000_000 + 1_800_000).skipped.map(\.2) == ["within repeat_interval"])
        #expect(planner.plan([reminder], facts: facts, now: 1_000_000 + 3_600_000).messages.map(\.items) == [[7]])
    }

    @Test func mailsOfOneAlertEpisodeThreadUnderItsFirstMail() {
        let planner = GroupingPlanner(configuration: configuration { $0.receiver = "mail" })
        let plan = planner.plan([item(1, receiver: "mail"), item(2, "resolved", receiver: "mail")], facts: GroupingFacts(), now: 0)
        #expect(plan.messages[0].messageKey == "<storey.f1.1@example.com>")
        #expect(plan.messages[0].threadKey == nil)
        #expect(plan.messages[1].messageKey == "<storey.f1.1.2@example.com>")
        #expect(plan.messages[1].threadKey == "<storey.f1.1@example.com>")
    }

    /// A firing alert is mailed, silenced, and told again when the silence ends: the second mail answers
    /// the first instead of carrying its Message-ID (a mail client drops a repeated id as a duplicate).
    @Test func aFiringMailAfterASilenceEndedAnswersTheFirstWithANewID() {
        let planner = GroupingPlanner(configuration: configuration { $0.receiver = "mail" })
        let again = item(7, receiver: "mail")
        #expect(planner.factsNeeded([again]).episodes == [ChannelEpisode(channel: again.channel, fingerprint: "f1", episode: 1)])
        var facts = GroupingFacts()
        facts.lastSent[ChannelEpisode(channel: again.channel, fingerprint: "f1", episode: 1)] = 1_000
        let plan = planner.plan([again], facts: facts, now: 5_000)
        #expect(plan.messages.map(\.messageKey) == ["<storey.f1.1.7@example.com>"])
        #expect(plan.messages.map(\.threadKey) == ["<storey.f1.1@example.com>"])
        // Both in one pass (the first never went out before): only the first is the thread's root.
        let both = planner.plan([item(1, receiver: "mail"), again], facts: GroupingFacts(), now: 5_000)
        #expect(both.messages.map(\.messageKey) == ["<storey.f1.1@example.com>", "<storey.f1.1.7@example.com>"])
        // A webhook's firing needs no such fact.
        #expect(planner.factsNeeded([item(8)]).episodes.isEmpty)
    }
}
