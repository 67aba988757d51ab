import Foundation
import StoreyTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The README's first command, `scripts/demo`, as a newcomer runs it: in a fresh clone of this
/// repository's committed tree, with nothing done first. It must build, start the broker, storeyd and the
/// simulator, print the dashboard's address and a token that works, and stop everything on Ctrl-C.
///
/// Slow (a release build in the new clone; minutes even with the dependencies from the release build
/// cache, scripts/release-build-cache), so it runs where the system tests are required (scripts/test as
/// root, as CI runs) or with STOREY_DEMO_TEST=1.
@Suite(.enabled(if: DemoEnvironment.enabled, "builds the demo in a fresh clone (minutes): runs in CI (scripts/test as root) or with STOREY_DEMO_TEST=1"),
       .timeLimit(.minutes(45)))
struct DemoTests {
    @Test func freshCloneShowsTheDashboardWithAWorkingTokenAndCtrlCStopsEverything() async throws {
        let git = try locateExecutable("git", package: "git")
        let curl = try locateExecutable("curl", package: "curl")
        let setsid = try locateExecutable("setsid", package: "util-linux")
        let work = try makeTemporaryDirectory(prefix: "storey-demo")
        defer { try? FileManager.default.removeItem(at: work) }
        let clone = work.appendingPathComponent("storey")
        // The committed tree, as a clone gets it (what is not committed is not tested here).
        let head = try await runCommand(git, ["-C", Repository.root.path, "rev-parse", "HEAD"])
        let cloned = try await runCommand(git, ["clone", "--quiet", "--no-checkout", Repository.root.path, clone.path], timeout: .seconds(120))
        #expect(cloned.status == 0, "\(cloned.errorOutput)")
        let checkout = try await runCommand(git, ["-C", clone.path, "checkout", "--quiet", head.output.trimmingCharacters(in: .whitespacesAndNewlines)])
        try #require(checkout.status == 0, "\(checkout.errorOutput)")

        let http = "127.0.0.1:\(freePort())"
        let brokerPort = freePort()
        var environment = ProcessInfo.processInfo.environment
        environment["STOREY_DEMO_HTTP"] = http
        environment["STOREY_DEMO_BROKER_PORT"] = "\(brokerPort)"
        let log = work.appendingPathComponent("demo.log").path
        // setsid: the demo leads a process group of its own, like a shell's foreground job, so that the
        // SIGINT below reaches what Ctrl-C in a terminal would.
        let demo = try ChildProcess(setsid.path, [clone.appendingPathComponent("scripts/demo").path], outputFile: log, environment: environment)
        defer { if demo.isRunning { kill(-demo.pid, SIGKILL) } }
        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        // Building takes minutes; then the address and the token.
        let deadline = ContinuousClock.now + .seconds(40 * 60)
        while !output().contains("token "), demo.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(2))
        }
        let printed = output()
        try #require(printed.contains("storeyd is up:  dashboard http://\(http)/"), "the demo did not print its dashboard address:\n\(printed.suffix(4000))")
        let token = try #require(printed.split(separator: "\n").first { $0.contains(" token ") }?
            .split(separator: " ").drop { $0 != "token" }.dropFirst().first.map(String.init), "no token in:\n\(printed.suffix(3000))")
        #expect(token.count >= 32)

        let dashboard = try await runCommand(curl, ["-s", "--max-time", "5", "-w", "\n%{http_code}", "http://\(http)/"])
        #expect(dashboard.output.hasSuffix("\n200"), "GET /: \(dashboard.output.suffix(300))")
        #expect(dashboard.output.contains("<script src=\"/dashboard.js\""))
        let live = ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://\(http)/api/v1/live"]
        #expect(try await runCommand(curl, live + ["-H", "Authorization: Bearer \(token)"]).output == "200")
        #expect(try await runCommand(curl, live + ["-H", "Authorization: Bearer \(token)x"]).output == "401")

        // The simulated tower's readings arrive.
        func accepted() async throws -> Double {
            let metrics = try await runCommand(curl, ["-s", "--max-time", "5", "http://\(http)/metrics"]).output
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("storey_readings_accepted_total ") }
            return line.flatMap { Double($0.split(separator: " ")[1]) } ?? 0
        }
        let readingsDeadline = ContinuousClock.now + .seconds(120)
        while try await accepted() < 1000, ContinuousClock.now < readingsDeadline { try await Task.sleep(for: .seconds(1)) }
        #expect(try await accepted() >= 1000, "\(output().suffix(3000))")

        // Ctrl-C.
        kill(-demo.pid, SIGINT)
        let stopDeadline = ContinuousClock.now + .seconds(60)
        while demo.isRunning, ContinuousClock.now < stopDeadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!demo.isRunning, "the demo still runs a minute after Ctrl-C")
        #expect(demo.terminationStatus == 130)
        #expect(output().contains("stopping…"))
        let storeydLog = (try? String(contentsOf: clone.appendingPathComponent(".build/demo/storeyd.log"), encoding: .utf8)) ?? ""
        #expect(storeydLog.contains("stopped cleanly"), "storeyd's last words: \(storeydLog.suffix(1500))")
        // Nothing it started is left: no process runs from the clone or on its run folder, and both ports are free.
        // (tee, which copies storeyd's log, ends at its end of file: allow it a moment.)
        let leftDeadline = ContinuousClock.now + .seconds(5)
        while !Self.processes(mentioning: clone.path).isEmpty, ContinuousClock.now < leftDeadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(Self.processes(mentioning: clone.path).isEmpty, "still running: \(Self.processes(mentioning: clone.path))")
        for port in [brokerPort, Int(http.split(separator: ":")[1])!] {
            #expect(try await runCommand(curl, ["-s", "--max-time", "2", "http://127.0.0.1:\(port)/"]).status == 7, "port \(port) still answers")
        }
    }

    /// Command lines of the processes whose arguments or working folder name `path`.
    static func processes(mentioning path: String) -> [String] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int32($0) != nil && Int32($0) != getpid() }
        return pids.compactMap { pid in
            let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")))
                .map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "\0", with: " ") } ?? ""
            let folder = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
            return commandLine.contains(path) || folder.hasPrefix(path) ? "\(pid): \(commandLine)" : nil
        }
    }
}

/// Whether DemoTests runs: where the system tests are required, or asked for.
enum DemoEnvironment {
    static var enabled: Bool {
        SystemTestEnvironment.required || ProcessInfo.processInfo.environment["STOREY_DEMO_TEST"] == "1"
    }
}
