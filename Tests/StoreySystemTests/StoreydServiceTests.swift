import Foundation
import Testing

/// `storeyd.service` as the package installs it, under a real systemd in a container (see ContainerRun).
@Suite(.enabled(if: SystemTestEnvironment.canBootContainer, Comment(rawValue: SystemTestEnvironment.containerMissing ?? "")))
struct StoreydServiceTests {
    @Test func unitIsActiveOnlyOnceSubscribed() async throws {
        let run = try await ContainerRun.shared.value
        // Broker down: storeyd runs but has not sent READY=1.
        #expect(run.properties("state-without-broker")["ActiveState"] == "activating")
        #expect(run.properties("state-without-broker")["SubState"] == "start")
        let started = run.properties("state-with-broker")
        #expect(started["ActiveState"] == "active")
        // READY=1 comes with "Subscribed to mqtt://…; N points"; housekeeping may follow with "MQTT subscribed".
        #expect(started["StatusText"]?.lowercased().contains("subscribed") == true, "StatusText: \(started["StatusText"] ?? "")")
        #expect(run.text("journal-start.txt").contains("ready: subscribed and storing"))
    }

    @Test func installedServiceServesTheDashboardFromThePackagesResources() async throws {
        let run = try await ContainerRun.shared.value
        // Without the resource folder these answer 500 with a problem document ("… missing from this installation").
        #expect(run.text("dashboard-status") == "200 text/html; charset=utf-8")
        #expect(run.text("dashboard.html").contains("<script src=\"/dashboard.js\""))
        #expect(run.text("dashboard-js-status") == "200")
        #expect(run.text("dashboard.js").count > 1000)
        #expect(run.text("openapi-status") == "200")
    }

    @Test func serviceReadsItsCredentialAndNoOtherUserCan() async throws {
        let run = try await ContainerRun.shared.value
        // The broker refuses anonymous clients: being subscribed means the password credential was read.
        #expect(run.properties("state-with-broker")["ActiveState"] == "active")
        let modes = run.text("credential-modes").split(separator: "\n").map(String.init)
        #expect(modes.contains("storey 500 /run/credentials/storeyd.service"))
        #expect(modes.contains("storey 400 /run/credentials/storeyd.service/mqtt-password"))
        #expect(run.text("credential-as-nobody") == "refused")
        #expect(run.text("credential-as-storey-probe") == "refused")
        #expect(run.text("credential-as-nobody.err").contains("Permission denied"))
        #expect(run.text("credstore-mode") == "root root 600")
        // The unit's other credentials have no file in /etc/credstore: absent, and the start went ahead.
        #expect(!modes.contains { $0.contains("smtp-password") || $0.contains("api-tokens") })
    }

    @Test func exampleBrokerConfigurationAuthenticatesAndConfinesGateways() async throws {
        let run = try await ContainerRun.shared.value
        let received = run.text("acl-received")
        // The gateway of tower A publishes over the TLS listener; its write to tower B is dropped by the ACL.
        #expect(received.contains("storey/tower-a/3/a3-east/a3-east-kw 42.5"))
        #expect(!received.contains("storey/tower-b"))
        #expect(run.number("readings-accepted") >= 1)
    }

    @Test func brokerConnectionAboveDescriptor1024KeepsWorking() async throws {
        let run = try await ContainerRun.shared.value
        // LimitNOFILE=65536, or as much of it as the container may have (20,000 on the machine this was written on).
        #expect(run.number("max-open-files") == min(65536, run.number("container-open-files-limit")))
        #expect(run.number("max-open-files") > 1100)
        #expect(run.number("http-connections") == 1100)
        // With 1,100 HTTP clients holding the low numbers, the reconnection got one above 1024.
        #expect(run.number("mqtt-descriptor") > 1024, "MQTT socket descriptor: \(run.text("mqtt-descriptor"))")
        let accepted = run.text("accepted-with-high-descriptor").split(separator: " ").compactMap { Int($0) }
        #expect(accepted.count == 2 && accepted[1] > accepted[0], "readings accepted before/after: \(accepted)")
    }

    @Test func reloadAppliesAChangedTopology() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("reload.rc") == 0)
        // The packaged demo tower, then the test's three-point topology.
        #expect(run.number("points-before") > 3)
        #expect(run.number("topics-before") == run.number("points-before"))
        #expect(run.number("points-after") == 3)
        #expect(run.number("topics-after") == 3)
        #expect(run.number("topics-new-point") == 1)
    }

    @Test func reloadWithABrokenConfigurationKeepsRunningAndSaysWhy() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.text("active-after-broken-reload") == "active")
        #expect(run.number("points-after-broken-reload") == run.number("points-after"))
        let journal = run.text("journal-broken-reload.txt")
        #expect(journal.contains("reload refused: "))
        #expect(journal.contains("topology.yaml:"))
        #expect(journal.contains("\"wattage\" is not one of"))
        #expect(journal.contains("configuration NOT reloaded; still running the previous one"))
    }

    @Test func journalKeepsEachMessagesPriority() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.text("journal-priority-err.txt").contains("configuration NOT reloaded"))
        #expect(run.text("journal-priority-err.txt").contains("reload refused: /etc/storey/topology.yaml:"))
        #expect(run.text("journal-priority-notice.txt").contains("reloading configuration"))
        #expect(run.text("journal-priority-info.txt").contains("ready: subscribed and storing"))
        #expect(!run.text("journal-priority-info.txt").contains("configuration NOT reloaded"))
        #expect(!run.text("journal-priority-err.txt").contains("ready: subscribed"))
    }

    @Test func watchdogRestartsADaemonThatStoppedMakingProgress() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("restarts-after") == run.number("restarts-before") + 1)
        #expect(run.number("mainpid-after") != run.number("mainpid-before"))
        #expect(run.text("active-after-watchdog") == "active")
        let journal = run.text("journal-watchdog.txt")
        #expect(journal.contains("Watchdog timeout"))
        #expect(journal.contains("Failed with result 'watchdog'"))
        #expect(journal.contains("Scheduled restart job"))
    }

    @Test func stopDrainsAndExitsCleanly() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("stop.rc") == 0)
        let state = run.properties("state-after-stop")
        #expect(state["ActiveState"] == "inactive")
        #expect(state["Result"] == "success")
        #expect(state["ExecMainStatus"] == "0")
        let journal = run.text("journal-stop.txt")
        #expect(journal.contains("stopping: storing readings in hand"))
        #expect(journal.contains("stopped cleanly"))
        #expect(!journal.contains("SIGKILL"))
        // Draining takes well under a second here; nothing may sit out a timer (the underuse monitor's
        // evaluation interval is 15 s in the packaged configuration).
        #expect(run.number("stop-milliseconds") < 10_000, "systemctl stop took \(run.number("stop-milliseconds")) ms")
    }
}
