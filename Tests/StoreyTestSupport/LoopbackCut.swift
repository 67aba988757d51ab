import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A network cut on loopback: an nftables table of its own (uniquely named, so parallel tests and the
/// host's own rules are untouched) that silently drops every TCP packet to or from one port, as a pulled
/// cable or a dead router would: no RST, no ICMP, the peers only notice by their keep-alives. Packets are
/// dropped where they arrive (the input hook), so a sender's writes still succeed, and a connect()
/// waits for SYN answers that never come, as it would across a real cut. Needs root and `nft` (Debian's
/// `nftables`). `restore()` (or deinit) deletes the table.
public final class LoopbackCut: Sendable {
    public let port: Int
    public let table: String
    private let nft: URL
    private let active = Mutex(false)

    /// Why a cut cannot be made here, or nil when it can (root and `nft` present).
    public static var unavailableReason: String? {
        if geteuid() != 0 { return "needs root to add nftables rules on loopback (scripts/test runs as root in CI)" }
        if (try? locateExecutable("nft", package: "nftables")) == nil { return "needs nft: apt-get install -y nftables" }
        return nil
    }

    public init(port: Int) throws {
        self.port = port
        table = "storey_cut_\(port)_\(UUID().uuidString.prefix(8).lowercased())"
        nft = try locateExecutable("nft", package: "nftables")
    }

    /// Starts dropping: from now on nothing reaches `port` or comes back from it.
    public func cut() async throws {
        let rules = """
            table inet \(table) {
              chain input {
                type filter hook input priority filter - 10; policy accept;
                iif "lo" tcp dport \(port) drop
                iif "lo" tcp sport \(port) drop
              }
            }
            """
        let result = try await runCommand(nft, ["-f", "-"], input: Data(rules.utf8), timeout: .seconds(20))
        guard result.status == 0 else { throw TestSupportError("nft could not add table \(table): \(result.errorOutput)") }
        active.withLock { $0 = true }
    }

    /// Ends the cut (deletes the table). Synchronous, for `defer`; safe to call twice.
    public func restore() {
        guard active.withLock({ state in defer { state = false }; return state }) else { return }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("\(table).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        guard let process = try? ChildProcess(nft.path, ["delete", "table", "inet", table], outputFile: output) else { return }
        while process.isRunning { usleep(2_000) }
        if process.terminationStatus != 0 {
            let message = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            FileHandle.standardError.write(Data("nft could not delete table \(table): \(message)\n".utf8))
        }
    }

    deinit {
        restore()
    }
}
