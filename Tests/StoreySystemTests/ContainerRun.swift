import Foundation
import StoreyTestSupport

/// One boot of a systemd container (systemd-nspawn) in which `Container/probe.sh` installs Storey from
/// the package beside a mosquitto broker, drives `storeyd.service` through systemd, and writes what it
/// saw to files. Booted once per test run; each test asserts on the files.
///
/// The container boots this machine's own `/usr` on an empty root (`--volatile=yes`); `/usr` and `/var`
/// are overlays whose writes land in a temp folder, so installing the package (and dpkg's database)
/// leaves the host untouched. `--private-network` gives it its own loopback.
final class ContainerRun: Sendable {
    /// The probe's observations (`/tmp/out` in the container).
    let results: URL

    private init(results: URL) {
        self.results = results
    }

    static let shared: Task<ContainerRun, Error> = Task { try await boot() }

    /// A whole observation file, without the trailing newline.
    func text(_ name: String) -> String {
        let contents = (try? String(contentsOf: results.appendingPathComponent(name), encoding: .utf8)) ?? "<no \(name)>"
        return contents.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An observation that is a number (a missing or unreadable one is -1, which no assertion expects).
    func number(_ name: String) -> Int {
        Int(text(name)) ?? -1
    }

    /// `systemctl show -p A -p B` output as a dictionary.
    func properties(_ name: String) -> [String: String] {
        var properties: [String: String] = [:]
        for line in text(name).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return properties
    }

    private static func boot() async throws -> ContainerRun {
        try SystemTestEnvironment.requireContainer()
        let package = try await StoreyPackage.built.value
        let work = Repository.file(".build/system-tests/run")
        try? FileManager.default.removeItem(at: work)
        let input = work.appendingPathComponent("in")
        let output = work.appendingPathComponent("out")
        for folder in ["in/mosquitto", "in/certs", "out", "usr-upper", "var-upper"] {
            try FileManager.default.createDirectory(at: work.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let copies = [
            (package.path, "storey.deb"),
            (Repository.file("Tests/StoreySystemTests/Container/probe.sh").path, "probe.sh"),
            (Repository.file("Tests/StoreySystemTests/Container/broker.service").path, "broker.service"),
            (Repository.file("Tests/StoreySystemTests/Container/speed.conf").path, "speed.conf"),
            (Repository.file("Tests/StoreySystemTests/Container/topology-small.yaml").path, "topology-small.yaml"),
            (Repository.file("Deploy/mosquitto/storey.conf").path, "mosquitto/storey.conf"),
            (Repository.file("Deploy/mosquitto/storey.acl").path, "mosquitto/storey.acl"),
        ]
        for (source, name) in copies {
            try FileManager.default.copyItem(atPath: source, toPath: input.appendingPathComponent(name).path)
        }
        let certificates = try await TestCertificates.generate()
        for (source, name) in [(certificates.caFile, "ca.crt"), (certificates.serverCertFile, "server.crt"), (certificates.serverKeyFile, "server.key")] {
            try FileManager.default.copyItem(atPath: source, toPath: input.appendingPathComponent("certs/\(name)").path)
        }
        try UUID().uuidString.write(to: input.appendingPathComponent("mqtt-password"), atomically: true, encoding: .utf8)
        try UUID().uuidString.write(to: input.appendingPathComponent("gateway-password"), atomically: true, encoding: .utf8)

        try await prepareNspawn()
        let nspawn = try locateExecutable("systemd-nspawn", package: "systemd-container")
        let probeUnit = Repository.file("Tests/StoreySystemTests/Container/probe.service").path
        let arguments = [
            "--directory=/", "--volatile=yes", "--boot", "--register=no", "--keep-unit", "--console=pipe",
            "--machine=storey-system-test", "--private-network",
            "--overlay=/usr:\(work.path)/usr-upper:/usr", "--overlay=/var:\(work.path)/var-upper:/var",
            "--bind-ro=\(input.path):/tmp/in", "--bind=\(output.path):/tmp/out",
            // The host's alternatives (awk, …), which an empty /etc lacks.
            "--bind-ro=/etc/alternatives",
            "--bind-ro=\(probeUnit):/etc/systemd/system/storey-probe.service",
            // A first boot on an empty /etc enables every installed service by preset. Not Debian's own
            // mosquitto, which would take port 1883 from the test's broker, nor networkd's wait-online,
            // which holds network-online.target (and so storeyd's start) for two minutes.
            "systemd.mask=mosquitto.service", "systemd.mask=systemd-networkd-wait-online.service",
            "systemd.wants=storey-probe.service",
        ]
        let started = ContinuousClock.now
        let boot = try await runCommand(nspawn, arguments, timeout: .seconds(300))
        try (boot.output + boot.errorOutput).write(to: work.appendingPathComponent("console.log"), atomically: true, encoding: .utf8)
        // The overlays' upper layers hold the installed package and the container's /var: hundreds of MB.
        for folder in ["usr-upper", "var-upper", "in/storey.deb"] {
            try? FileManager.default.removeItem(at: work.appendingPathComponent(folder))
        }
        let run = ContainerRun(results: output)
        guard FileManager.default.fileExists(atPath: output.appendingPathComponent("done").path) else {
            throw TestSupportError("""
                the container's probe did not finish (nspawn exit \(boot.status) after \(ContinuousClock.now - started)); \
                see \(work.path)/console.log and out/journal.txt
                probe log:
                \(run.text("probe.log"))
                console (last lines):
                \((boot.output + boot.errorOutput).suffix(2000))
                """)
        }
        return run
    }

    /// nspawn refuses to boot a container unless `/run/systemd/nspawn` is a mount of its own (on hosts
    /// where PID 1 is not systemd, nothing has made it one).
    private static func prepareNspawn() async throws {
        let mountpoint = try locateExecutable("mountpoint", package: "util-linux")
        if try await runCommand(mountpoint, ["-q", "/run/systemd/nspawn"]).status == 0 { return }
        try FileManager.default.createDirectory(atPath: "/run/systemd/nspawn", withIntermediateDirectories: true)
        let mount = try locateExecutable("mount", package: "mount")
        let result = try await runCommand(mount, ["-t", "tmpfs", "tmpfs", "/run/systemd/nspawn"])
        guard result.status == 0 else { throw TestSupportError("cannot mount a tmpfs on /run/systemd/nspawn: \(result.errorOutput)") }
    }
}
