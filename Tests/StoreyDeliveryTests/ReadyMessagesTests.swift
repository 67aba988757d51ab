@testable import StoreyStore
import Testing

@testable import StoreyDelivery

@Suite struct ReadyMessagesTests {
    let hook = DeliveryEndpoint(receiver: "hook", recipient: "")
    let mail = DeliveryEndpoint(receiver: "mail", recipient: "ops@example.com")

    func ready(_ id: Int64, _ endpoint: DeliveryEndpoint) -> ReadyMessage {
        ReadyMessage(
            record: DeliveryMessageRecord(
                id: id, channel: DeliveryChannel(receiver: endpoint.receiver, recipient: endpoint.recipient, groupKey: "g\(id)"),
                messageKey: "msg_\(id)", threadKey: nil, state: .pending, attempts: 0, nextAttemptAt: 0, lastError: nil, lastReason: nil,
                createdAt: 0, deliveredAt: nil, deadAt: nil),
            notifications: [])
    }

    @Test func eachEndpointGivesItsOwnMessagesOldestFirst() {
        var messages = ReadyMessages()
        messages.refill(hook, with: [ready(1, hook), ready(3, hook)], now: 0, generation: 0)
        messages.refill(mail, with: [ready(2, mail)], now: 0, generation: 0)
        #expect(messages.count == 3)
        #expect(messages.next(hook)?.record.id == 1)
        #expect(messages.next(mail)?.record.id == 2)
        #expect(messages.next(mail) == nil, "a drained endpoint never hands out another's messages")
        #expect(messages.next(hook)?.record.id == 3)
        #expect(messages.count == 0)
    }

    @Test func anEndpointIsReadAgainOnlyOnceDrainedAndAfterAChangeOrAQuarterSecond() {
        var messages = ReadyMessages()
        #expect(messages.needsRead(hook, now: 0, generation: 0), "never read")
        messages.refill(hook, with: [ready(1, hook)], now: 1000, generation: 5)
        #expect(!messages.needsRead(hook, now: 5000, generation: 6), "something is still ready")
        _ = messages.next(hook)
        #expect(!messages.needsRead(hook, now: 1100, generation: 5), "drained, but nothing changed since the read")
        #expect(messages.needsRead(hook, now: 1100, generation: 6), "an outcome was committed or messages were made")
        #expect(messages.needsRead(hook, now: 1000 + ReadyMessages.rereadAfter, generation: 5), "a retry may have fallen due")
        messages.refill(hook, with: [], now: 1100, generation: 6)
        #expect(!messages.needsRead(hook, now: 1200, generation: 6), "an empty read counts as a read")
        #expect(messages.needsRead(mail, now: 1200, generation: 6), "endpoints are read on their own")
    }

    @Test func aReloadForgetsWhatWasRead() {
        var messages = ReadyMessages()
        messages.refill(hook, with: [ready(1, hook)], now: 0, generation: 0)
        messages.removeAll()
        #expect(messages.next(hook) == nil)
        #expect(messages.needsRead(hook, now: 0, generation: 0))
    }
}
