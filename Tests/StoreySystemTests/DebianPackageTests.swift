import Foundation
import StoreyTestSupport
import Testing

/// What the package holds (read on this machine with dpkg-deb) and how it installs, upgrades over itself
/// and purges (inside the container; see ContainerRun).
@Suite struct DebianPackageTests {
    @Test(.enabled(if: SystemTestEnvironment.canPackage, Comment(rawValue: SystemTestEnvironment.packagingMissing ?? "")))
    func packageHoldsTheServiceItsConfigurationAndItsDependencies() async throws {
        try SystemTestEnvironment.requirePackaging()
        let package = try await StoreyPackage.built.value
        #expect(package.lastPathComponent.hasPrefix("storey_") && package.lastPathComponent.hasSuffix("_amd64.deb"))
        let contents = try await StoreyPackage.inspect("--contents")
        for path in [
            "./usr/bin/storeyd", "./usr/bin/storey", "./lib/systemd/system/storeyd.service",
            "./usr/lib/sysusers.d/storey.conf", "./usr/lib/tmpfiles.d/storey.conf",
            "./etc/storey/storey.yaml", "./etc/storey/topology.yaml",
            "./usr/share/doc/storey/README.md", "./usr/share/doc/storey/PRODUCTION.md", "./usr/share/doc/storey/copyright",
            "./usr/share/doc/storey/examples/mosquitto/storey.conf", "./usr/share/doc/storey/examples/mosquitto/storey.acl",
            "./usr/share/doc/storey/changelog.gz", "./usr/share/lintian/overrides/storey",
            // The dashboard and the OpenAPI document, where storeyd looks for them (OperatorView.resourceFolders).
            "./usr/share/storey/Storey_StoreyAPI.resources/dashboard/index.html",
            "./usr/share/storey/Storey_StoreyAPI.resources/dashboard/dashboard.js",
            "./usr/share/storey/Storey_StoreyAPI.resources/dashboard/dashboard.css",
            "./usr/share/storey/Storey_StoreyAPI.resources/openapi.yaml",
        ] {
            #expect(contents.contains(" \(path)\n"), "\(path) is not in the package")
        }
        for line in contents.split(separator: "\n") {
            #expect(line.contains(" root/root "), "not owned by root: \(line)")
        }
        let depends = try await StoreyPackage.inspect("--field", ["Depends"])
        for dependency in ["libmosquitto1", "libc6", "systemd (>= 252)", "init-system-helpers"] {
            #expect(depends.contains(dependency), "Depends lacks \(dependency): \(depends)")
        }
        // Every example in Deploy/config is a conffile: upgrades keep the operator's edits.
        let conffiles = try await StoreyPackage.inspect("--info", ["conffiles"])
        let examples = try FileManager.default.contentsOfDirectory(atPath: Repository.file("Deploy/config").path)
        #expect(examples.contains("storey.yaml") && examples.contains("topology.yaml"))
        #expect(conffiles.split(separator: "\n").map(String.init).sorted() == examples.map { "/etc/storey/\($0)" }.sorted())
    }

    /// Debian's own checks of a package. Errors fail the test; a warning passes only if it is listed here
    /// with the reason it stays. (What lintian rightly flags but is so on purpose — the Swift packages
    /// linked in, the symbol table kept — is overridden in the package itself: Deploy/debian/lintian-overrides.)
    static let deliberateLintianWarnings: [String: String] = [
        "no-manual-page": "storey and storeyd describe themselves with --help (every command and option); README.md and PRODUCTION.md are the manual",
    ]

    @Test(.enabled(if: SystemTestEnvironment.canLint, Comment(rawValue: SystemTestEnvironment.lintianMissing ?? "")))
    func lintianFindsNoErrorsAndNoWarningsButTheDeliberateOnes() async throws {
        try SystemTestEnvironment.requireLintian()
        let package = try await StoreyPackage.built.value
        let lintian = try locateExecutable("lintian", package: "lintian")
        let result = try await runCommand(lintian, ["--tag-display-limit", "0", "--display-info", package.path], timeout: .seconds(900))
        let tags = result.output.split(separator: "\n").filter { $0.count > 3 && $0.dropFirst().hasPrefix(": ") }
        let errors = tags.filter { $0.hasPrefix("E: ") }
        #expect(errors.isEmpty, "lintian errors:\n\(errors.joined(separator: "\n"))")
        #expect(result.status == 0, "lintian exit \(result.status): \(result.errorOutput.suffix(2000))")
        for warning in tags where warning.hasPrefix("W: ") {
            // "W: storey: TAG [DETAILS]"
            let tag = warning.split(separator: " ").dropFirst(2).first.map(String.init) ?? ""
            #expect(Self.deliberateLintianWarnings[tag] != nil, "lintian warning not known to be deliberate: \(warning)")
        }
        // Overrides that no longer match anything would hide nothing and mislead the next reader.
        #expect(!result.output.contains("unused-override") && !result.output.contains("mismatched-override"), "\(result.output)")
    }

    @Test(.enabled(if: SystemTestEnvironment.canBootContainer, Comment(rawValue: SystemTestEnvironment.containerMissing ?? "")))
    func installCreatesTheUserAndEnablesTheServiceWithoutStartingIt() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("install.rc") == 0, "dpkg -i: \(run.text("install.log"))")
        #expect(run.text("enabled-after-install") == "enabled")
        // The example configuration describes the demo tower: the operator starts storeyd once it describes theirs.
        #expect(run.text("active-after-install") == "inactive")
        #expect(run.text("install.log").contains("systemctl start storeyd"))
        #expect(run.text("user").hasPrefix("storey:x:"))
        #expect(run.text("user").hasSuffix(":/var/lib/storey:/usr/sbin/nologin"))
        #expect(run.text("folders") == "storey storey 750\nroot root 700")
    }

    @Test(.enabled(if: SystemTestEnvironment.canBootContainer, Comment(rawValue: SystemTestEnvironment.containerMissing ?? "")))
    func installedUnitVerifiesWithoutComplaint() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("verify.rc") == 0)
        #expect(run.text("verify.txt") == "", "systemd-analyze verify said: \(run.text("verify.txt"))")
    }

    @Test(.enabled(if: SystemTestEnvironment.canBootContainer, Comment(rawValue: SystemTestEnvironment.containerMissing ?? "")))
    func upgradeOverItselfKeepsConfigurationEditsAndRestartsTheService() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("upgrade.rc") == 0, "dpkg -i again: \(run.text("upgrade.log"))")
        #expect(run.text("config-after-upgrade") == "# edited by the operator")
        #expect(run.number("credential-line-after-upgrade") == 1)
        #expect(run.number("topology-after-upgrade") == 1)
        #expect(run.number("mainpid-after-upgrade") != run.number("mainpid-before-upgrade"))
        #expect(run.text("active-after-upgrade") == "active")
    }

    @Test(.enabled(if: SystemTestEnvironment.canBootContainer, Comment(rawValue: SystemTestEnvironment.containerMissing ?? "")))
    func removeStopsTheServiceAndPurgeRemovesStateConfigurationAndSecrets() async throws {
        let run = try await ContainerRun.shared.value
        #expect(run.number("remove.rc") == 0, "dpkg -r: \(run.text("remove.log"))")
        #expect(run.text("active-after-remove") == "inactive")
        // remove: binaries go; configuration and data stay.
        let afterRemove = run.text("after-remove")
        #expect(afterRemove.contains("'/usr/bin/storeyd': No such file"))
        #expect(afterRemove.contains("'/usr/bin/storey': No such file"))
        for kept in ["/etc/storey/storey.yaml", "/var/lib/storey/storey.db"] {
            #expect(afterRemove.split(separator: "\n").contains(Substring(kept)), "\(kept) went with remove: \(afterRemove)")
        }
        // purge: nothing of Storey is left.
        #expect(run.number("purge.rc") == 0, "dpkg -P: \(run.text("purge.log"))")
        let afterPurge = run.text("after-purge")
        for path in ["/etc/storey", "/var/lib/storey", "/etc/credstore/storey.mqtt-password", "/lib/systemd/system/storeyd.service"] {
            #expect(afterPurge.contains("\(path)': No such file"), "\(path) is still there: \(afterPurge)")
        }
        #expect(run.text("status-after-purge").contains("no packages found matching storey") || run.text("status-after-purge").contains("not-installed"))
    }
}
