import Crypto
import Foundation
import StoreyStore

/// What the planner needs to know from earlier messages.
public struct GroupingFacts: Sendable, Equatable {
    /// When each gathering channel's latest message was made.
    public var lastMessageAt: [DeliveryChannel: Int64] = [:]
    /// When each alert episode last went out on its channel (any kind).
    public var lastSent: [ChannelEpisode: Int64] = [:]
    public init() {}
}

/// The outcome of one grouping pass.
public struct GroupingPlan: Sendable, Equatable {
    public var messages: [NewMessage] = []
    public var skipped: [(DeliveryChannel, Int64, String)] = []
    public var held: [(DeliveryChannel, Int64)] = []
    /// The earliest time (ms) a waiting group becomes due, if any waits.
    public var nextDueAt: Int64?

    public static func == (lhs: GroupingPlan, rhs: GroupingPlan) -> Bool {
        lhs.messages == rhs.messages && lhs.nextDueAt == rhs.nextDueAt
            && lhs.skipped.map { "\($0.0.receiver)|\($0.0.recipient)|\($0.1)|\($0.2)" } == rhs.skipped.map { "\($0.0.receiver)|\($0.0.recipient)|\($0.1)|\($0.2)" }
            && lhs.held.map { "\($0.0.receiver)|\($0.1)" } == rhs.held.map { "\($0.0.receiver)|\($0.1)" }
    }
}

/// Turns routed items into messages, as a value with no I/O:
/// - a route with no `group_wait` and no `group_interval` sends each notification as its own message, in order;
/// - otherwise a group's items wait `group_wait` (a new group) or `group_interval` (after its last
///   message) and go out together, as a group webhook or a digest mail;
/// - while a route is muted its items are held; when the mute ends, each held alert's latest notice goes
///   at once (a still-firing alert is told), older ones are skipped as superseded, and a resolution of
///   an alert never told is skipped;
/// - a reminder within `repeat_interval` of the alert's last message on that channel is skipped.
public struct GroupingPlanner: Sendable {
    public var configuration: DeliveryConfiguration
    /// Most notifications one group message carries; more go in the next.
    public var maxPerMessage = 100

    public init(configuration: DeliveryConfiguration) {
        self.configuration = configuration
    }

    /// The facts `plan` will look up for these items.
    public func factsNeeded(_ waiting: [WaitingItem]) -> (channels: Set<DeliveryChannel>, episodes: Set<ChannelEpisode>) {
        var channels = Set<DeliveryChannel>()
        var episodes = Set<ChannelEpisode>()
        for item in waiting {
            guard let match = configuration.route.match(atPath: item.route) else { continue }
            if !match.grouping.isImmediate { channels.insert(item.channel) }
            // A firing mail is its episode's thread root unless the episode already went out (fired again
            // when a silence ended): `message` must know.
            let mailedFiring = item.kind == "firing" && configuration.receiver(named: item.channel.receiver)?.isEmail == true
            if item.kind == "reminder" || item.held || mailedFiring {
                episodes.insert(ChannelEpisode(channel: item.channel, fingerprint: item.fingerprint, episode: item.episode))
            }
        }
        return (channels, episodes)
    }

    public func plan(_ waiting: [WaitingItem], facts: GroupingFacts, now: Int64) -> GroupingPlan {
        var plan = GroupingPlan()
        // Episodes that already have their thread's first mail, earlier or in this pass.
        var rooted = Set(facts.lastSent.keys)
        var order: [DeliveryChannel] = []
        var byChannel: [DeliveryChannel: [WaitingItem]] = [:]
        for item in waiting {
            if byChannel[item.channel] == nil { order.append(item.channel) }
            byChannel[item.channel, default: []].append(item)
        }
        for channel in order {
            let items = byChannel[channel]!
            guard let match = configuration.route.match(atPath: items[0].route),
                let receiver = configuration.receiver(named: channel.receiver)
            else { continue }  // the route or receiver left the configuration: they wait for it to return
            guard match.isActive(at: now, intervals: configuration.timeIntervals) else {
                plan.held += items.filter { !$0.held }.map { (channel, $0.outboxID) }
                continue
            }
            var sendable: [WaitingItem] = []
            // After a mute: only each alert's latest notice, and nothing about an alert never told.
            let held = items.filter(\.held)
            var latestHeld: [String: Int64] = [:]
            for item in held { latestHeld[item.fingerprint] = max(latestHeld[item.fingerprint] ?? 0, item.outboxID) }
            for item in items {
                let episode = ChannelEpisode(channel: channel, fingerprint: item.fingerprint, episode: item.episode)
                if item.held && latestHeld[item.fingerprint] != item.outboxID {
                    plan.skipped.append((channel, item.outboxID, "superseded while muted"))
                } else if item.held && item.kind == "resolved" && facts.lastSent[episode] == nil {
                    plan.skipped.append((channel, item.outboxID, "resolved while muted, never notified"))
                } else if item.kind == "reminder", let last = facts.lastSent[episode],
                    Double(now - last) < match.grouping.repeatInterval * 1000
                {
                    plan.skipped.append((channel, item.outboxID, "within repeat_interval"))
                } else {
                    sendable.append(item)
                }
            }
            guard !sendable.isEmpty else { continue }
            if match.grouping.isImmediate {
                for item in sendable {
                    plan.messages.append(message(channel, receiver: receiver, items: [item], rooted: &rooted))
                }
                continue
            }
            let due: Int64
            if let last = facts.lastMessageAt[channel] {
                due = max(sendable[0].routedAt, last + Int64(match.grouping.groupInterval * 1000))
            } else {
                due = sendable[0].routedAt + Int64(match.grouping.groupWait * 1000)
            }
            guard now >= due else {
                plan.nextDueAt = min(plan.nextDueAt ?? due, due)
                continue
            }
            var rest = sendable[...]
            while !rest.isEmpty {
                let chunk = Array(rest.prefix(maxPerMessage))
                rest = rest.dropFirst(chunk.count)
                plan.messages.append(message(channel, receiver: receiver, items: chunk, rooted: &rooted))
            }
        }
        return plan
    }

    /// A message with its lasting id: a webhook-id hashed from what it carries, or a Message-ID that
    /// names the alert episode (its first mail is the thread every later mail of the episode answers;
    /// a later firing mail of the same episode, once a silence ended, answers it too rather than reusing
    /// its id, which mail clients would drop as a duplicate). `rooted`: the episodes whose first mail
    /// exists on this channel.
    func message(_ channel: DeliveryChannel, receiver: Receiver, items: [WaitingItem], rooted: inout Set<ChannelEpisode>) -> NewMessage {
        let ids = items.map(\.outboxID)
        switch receiver.kind {
        case .webhook:
            return NewMessage(channel: channel, messageKey: "msg_" + Self.digest("\(channel.receiver)\u{0}\(channel.recipient)\u{0}\(ids)"), threadKey: nil, items: ids)
        case .email(let email):
            let domain = email.domain
            if items.count == 1 {
                let item = items[0]
                let root = "<storey.\(item.fingerprint).\(item.episode)@\(domain)>"
                let episode = ChannelEpisode(channel: channel, fingerprint: item.fingerprint, episode: item.episode)
                if item.kind == "firing" && rooted.insert(episode).inserted {
                    return NewMessage(channel: channel, messageKey: root, threadKey: nil, items: ids)
                }
                return NewMessage(channel: channel, messageKey: "<storey.\(item.fingerprint).\(item.episode).\(item.outboxID)@\(domain)>", threadKey: root, items: ids)
            }
            let key = "<storey.digest.\(Self.digest("\(channel.receiver)\u{0}\(channel.recipient)\u{0}\(ids)"))@\(domain)>"
            return NewMessage(channel: channel, messageKey: key, threadKey: nil, items: ids)
        }
    }

    static func digest(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

extension Grouping {
    /// No waiting: each notification is a message of its own, as soon as it is routed.
    public var isImmediate: Bool { groupWait == 0 && groupInterval == 0 }
}
