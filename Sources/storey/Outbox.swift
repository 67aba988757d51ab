import ArgumentParser
import Foundation
import StoreyConfig
import StoreyPostgres
import StoreyStore

/// `storey outbox --config PATH list|replay ID…`: what delivery has still to do, what it gave up on, and
/// replaying dead letters.
struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show alert delivery (pending messages, dead letters) or replay dead letters.",
        discussion: """
            list: one line per message — ID, STATE, RECEIVER, RECIPIENT, ATTEMPTS, AGE, REASON, OUTBOX IDS, LAST ERROR \
            (tab-separated), and on stderr a summary of the queue with the failed messages totalled by receiver, \
            state and last reason.
            replay ID…: send dead letters again from their first attempt; a running storeyd picks them up at its \
            next poll. Replaying a message of a receiver disabled by HTTP 410 enables the receiver again.
            With `storage: postgresql` both read and change the estate's shared outbox.
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case list, replay
    }

    @OptionGroup var options: ConfigOption

    @Argument(help: "list or replay.")
    var action: Action

    @Argument(help: "replay: message ids as `list` shows them.")
    var ids: [Int64] = []

    @Option(help: "list: pending, delivered, dead, or all (default: pending and dead).")
    var state: String?

    @Option(help: "list: at most this many messages (the newest).")
    var limit = 1000

    func validate() throws {
        if action == .replay && ids.isEmpty { throw ValidationError("replay needs the ids of dead letters (storey outbox list --state dead)") }
    }

    func run() async throws {
        let configuration = try options.load()
        switch configuration.storage {
        case .sqlite:
            try await run(on: try DeliveryStore(path: configuration.databasePath))
        case .postgresql(let storage):
            // An estate's outbox is shared by its instances: read and replayed in its database.
            try await withEstateDatabase(storage, command: "outbox") { try await run(on: PostgresDeliveryStore(database: $0, instance: storage.instance)) }
        }
    }

    private func run(on store: any DeliveryStorage) async throws {
        switch action {
        case .list: try await list(store)
        case .replay: try await replay(store)
        }
    }

    func list(_ store: any DeliveryStorage) async throws {
        var records: [DeliveryMessageRecord]
        switch state {
        case nil:
            records = try await store.messages(state: .pending, limit: limit) + store.messages(state: .dead, limit: limit)
            records.sort { $0.id < $1.id }
        case "all":
            records = try await store.messages(state: nil, limit: limit)
        case let text?:
            guard let parsed = DeliveryState(rawValue: text) else {
                throw ValidationError("--state must be pending, delivered, dead or all")
            }
            records = try await store.messages(state: parsed, limit: limit)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var out = ["ID", "STATE", "RECEIVER", "RECIPIENT", "ATTEMPTS", "AGE", "REASON", "OUTBOX", "LAST ERROR"].joined(separator: "\t") + "\n"
        for record in records {
            out += [
                String(record.id), record.state.rawValue, record.channel.receiver, record.channel.recipient.isEmpty ? "-" : record.channel.recipient,
                String(record.attempts), Self.age(now - record.createdAt), record.lastReason ?? "-",
                record.outboxIDs.map(String.init).joined(separator: ","), (record.lastError ?? "-").replacingOccurrences(of: "\n", with: " "),
            ].joined(separator: "\t") + "\n"
        }
        print(out, terminator: "")
        let statistics = try await store.statistics()
        let oldest = statistics.oldestUndeliveredAt.map { Self.age(now - $0) } ?? "-"
        var summary = """
            outbox: \(statistics.unrouted) not routed, \(statistics.waiting) waiting for their group or a mute, \
            \(statistics.pending) messages pending, \(statistics.dead) dead letters; oldest undelivered: \(oldest)

            """
        // Failures by receiver and last reason: which endpoint is in trouble, and how.
        for total in try await store.failureTotals() {
            summary += "  \(total.receiver): \(total.messages) \(total.state.rawValue) after \(total.reason)\n"
        }
        FileHandle.standardError.write(Data(summary.utf8))
    }

    static func age(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        if seconds < 120 { return "\(seconds)s" }
        if seconds < 7200 { return "\(seconds / 60)m" }
        if seconds < 172_800 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    func replay(_ store: any DeliveryStorage) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var missing: [Int64] = []
        for id in ids {
            if try await store.replay(id, now: now) { print("replaying \(id)") } else { missing.append(id) }
        }
        if !missing.isEmpty {
            FileHandle.standardError.write(Data("no dead letter with id \(missing.map(String.init).joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
